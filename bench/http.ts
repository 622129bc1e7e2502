// Throughput of the built-in HTTP load driver next to wrk and autocannon, against the same trivial loopback server
// (bench/http-server.c, one epoll thread, so the server is not what is measured), at the same concurrency, in the
// same run, rounds interleaved so a busy shared machine hurts every driver alike. Every driver runs as a child
// process whose CPU time is read from /proc in steady state: CPU per request is the fair figure when the machine
// is shared (throughput then depends on how much CPU the scheduler happens to give). Then the RSS
// sampler's lateness at 10 ms while nothing runs and while the built-in driver runs flat out.
//
//   node scripts/bench.mjs http [--seconds 5] [--concurrency 32] [--rounds 2] [--write]
//
// (--write puts the table into bench/RESULTS.md under "HTTP load driver", leaving other sections alone.)
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release, tmpdir } from 'node:os';
import * as path from 'node:path';
import { startSampler } from '../src/core/sampler';
import type { LoadStats } from '../src/core/model';
import { httpLoadSchema, runLoad } from '../src/core/stress';
import { packageRoot } from '../src/core/workers';

const root = packageRoot();

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}
const seconds = arg('seconds', 5);
const concurrency = arg('concurrency', 32);
const rounds = arg('rounds', 2);
const write = process.argv.includes('--write');

const children: ChildProcess[] = [];
function killAll(): void {
  for (const c of children) {
    try {
      if (c.pid) process.kill(-c.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}
process.on('exit', killAll);
process.on('SIGINT', () => process.exit(130));

async function startServer(dir: string): Promise<{ pid: number; port: number }> {
  const bin = path.join(dir, 'http-server');
  execFileSync('cc', ['-O2', '-o', bin, path.join(root, 'bench', 'http-server.c')]);
  const child = spawn(bin, [], { detached: true, stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout!.once('data', (d: Buffer) => resolve(Number(String(d).trim())));
    child.once('exit', (code) => reject(new Error(`bench server exited (${code})`)));
  });
  return { pid: child.pid!, port };
}

const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;

/** user+system CPU milliseconds of a live process (all its threads), or null when it is gone. */
function cpuMsOf(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // fields[0] is stat field 3 (state); utime and stime are fields 14 and 15.
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLK_TCK;
  } catch {
    return null;
  }
}

/**
 * Runs a driver to completion in its own process group; returns stdout and the cores it used in steady state:
 * CPU time read from /proc between 1 s after the start and 0.5 s before the end, so start-up (a Node process
 * parsing its bundle) does not count against the short runs.
 */
function run(cmd: string, args: string[]): Promise<{ out: string; cores: number | null }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(child);
    let out = '';
    let err = '';
    let first: [number, number | null] | null = null;
    let cores: number | null = null;
    const t1 = setTimeout(() => (first = [performance.now(), cpuMsOf(child.pid!)]), 1000);
    const t2 = setTimeout(() => {
      const now = performance.now();
      const cpu = cpuMsOf(child.pid!);
      if (first && first[1] != null && cpu != null) cores = (cpu - first[1]) / (now - first[0]);
    }, seconds * 1000 - 500);
    child.stdout!.on('data', (d) => (out += d));
    child.stderr!.on('data', (d) => (err += d));
    child.on('error', reject);
    child.on('exit', (code) => {
      clearTimeout(t1);
      clearTimeout(t2);
      if (code !== 0) reject(new Error(`${cmd} exited ${code}: ${err}`));
      else resolve({ out, cores });
    });
  });
}

type Driver = 'built-in (undici, worker thread)' | 'wrk -t1' | 'autocannon';
const DRIVERS: Driver[] = ['built-in (undici, worker thread)', 'wrk -t1', 'autocannon'];
interface Measured { rps: number; cpuUsPerRequest: number; p99Ms: number | null; errors: number }

/** Child mode: one built-in driver phase, statistics on stdout. */
async function builtinChild(url: string): Promise<void> {
  const dir = mkdtempSync(path.join(tmpdir(), 'alloclab-bench-'));
  try {
    const s = await runLoad(httpLoadSchema.parse({ driver: 'http', url, concurrency }), {
      port: null, durationMs: seconds * 1000, signal: new AbortController().signal, outDir: dir, phaseName: 'bench', baseDir: dir, allowRemote: false,
    });
    process.stdout.write(JSON.stringify(s));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Microseconds of CPU per request from steady-state cores used and the run's request rate. */
function perRequest(cores: number | null, rps: number): number {
  return cores == null || !(rps > 0) ? NaN : (cores * 1e6) / rps;
}

async function measure(driver: Driver, url: string): Promise<Measured> {
  if (driver === 'built-in (undici, worker thread)') {
    const { out, cores } = await run(process.execPath, [__filename, '--child-builtin', url, '--seconds', String(seconds), '--concurrency', String(concurrency)]);
    const s = JSON.parse(out) as LoadStats;
    const e = s.errors;
    return { rps: s.throughputRps, cpuUsPerRequest: perRequest(cores, s.throughputRps), p99Ms: s.latencyMs?.p99 ?? null, errors: e.status + e.connect + e.timeout + e.other };
  }
  if (driver === 'wrk -t1') {
    const { out, cores } = await run('wrk', ['-t1', `-c${concurrency}`, `-d${seconds}s`, '--latency', url]);
    const rps = Number(/Requests\/sec:\s*([\d.]+)/.exec(out)?.[1]);
    const p99 = /^\s*99%\s+([\d.]+)(us|ms|s)/m.exec(out);
    const p99Ms = p99 ? Number(p99[1]) * { us: 0.001, ms: 1, s: 1000 }[p99[2] as 'us' | 'ms' | 's'] : null;
    const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
    return { rps, cpuUsPerRequest: perRequest(cores, rps), p99Ms, errors: sock ? sock.slice(1).reduce((a, b) => a + Number(b), 0) : 0 };
  }
  const { out, cores } = await run(process.execPath, [path.join(root, 'node_modules', 'autocannon', 'autocannon.js'), '-j', '-c', String(concurrency), '-d', String(seconds), url]);
  const j = JSON.parse(out) as { requests: { total: number }; duration: number; latency: { p99: number }; errors: number; non2xx: number };
  const rps = j.requests.total / j.duration;
  return { rps, cpuUsPerRequest: perRequest(cores, rps), p99Ms: j.latency.p99, errors: j.errors + j.non2xx };
}

/** The sampler's lateness at 10 ms on the server process, optionally while `during` runs. */
async function samplerLateness(pid: number, during: () => Promise<unknown>) {
  const sampler = startSampler({ pid, startNs: process.hrtime.bigint(), intervalMs: 10, samplesFile: null, statusEveryMs: Infinity, pssEveryMs: Infinity });
  await during();
  const summary = await sampler.stop();
  return summary.timing ?? null;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];
const f = (v: number | null | undefined, d = 0) => (v == null || !Number.isFinite(v) ? '-' : v.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d }));

async function main(): Promise<void> {
  for (const [bin, hint] of [['wrk', 'apt-get install wrk'], ['cc', 'apt-get install gcc']]) {
    try {
      execFileSync('which', [bin], { stdio: 'ignore' });
    } catch {
      throw new Error(`${bin} is missing (${hint})`);
    }
  }
  const dir = mkdtempSync(path.join(tmpdir(), 'alloclab-bench-http-'));
  try {
    const server = await startServer(dir);
    const url = `http://127.0.0.1:${server.port}/`;
    const load0 = loadavg()[0];
    const results = new Map<Driver, Measured[]>(DRIVERS.map((d) => [d, []]));
    for (let r = 0; r < rounds; r++) {
      for (const d of DRIVERS) {
        const m = await measure(d, url);
        results.get(d)!.push(m);
        console.error(`round ${r + 1}: ${d}: ${f(m.rps)} req/s`);
      }
    }
    const quiet = await samplerLateness(server.pid, () => new Promise((res) => setTimeout(res, 3000)));
    const busy = await samplerLateness(server.pid, () => measure('built-in (undici, worker thread)', url));
    const load1 = loadavg()[0];

    const base = median(results.get('wrk -t1')!.map((m) => m.rps));
    const lines: string[] = [];
    lines.push(`Measured ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC on ${cpus().length} x ${cpus()[0]?.model.trim()}, Linux ${release()}, Node ${process.versions.node}; ` +
      `load average ${load0.toFixed(1)} before, ${load1.toFixed(1)} after (the machine is shared: compare ratios, not absolute figures).`);
    lines.push(`Server: bench/http-server.c (one epoll thread). ${concurrency} connections, keep-alive, ${seconds} s per driver, ${rounds} interleaved rounds; median shown. CPU per request: the driver process's user+system CPU rate from 1 s after start to 0.5 s before the end, divided by its requests/s.`);
    lines.push('');
    lines.push('| driver | requests/s (median) | rounds | vs wrk -t1 | vs autocannon | CPU per request | CPU vs wrk | p99 latency | errors |');
    lines.push('|---|---|---|---|---|---|---|---|---|');
    const wrkCpu = median(results.get('wrk -t1')!.map((m) => m.cpuUsPerRequest));
    const ac = median(results.get('autocannon')!.map((m) => m.rps));
    for (const d of DRIVERS) {
      const ms = results.get(d)!;
      const rps = median(ms.map((m) => m.rps));
      const cpu = median(ms.map((m) => m.cpuUsPerRequest));
      lines.push(`| ${d} | ${f(rps)} | ${ms.map((m) => f(m.rps)).join(' / ')} | ${f(rps / base, 2)}x | ${f(rps / ac, 2)}x | ${f(cpu, 1)} µs | ${f(cpu / wrkCpu, 2)}x | ${f(median(ms.map((m) => m.p99Ms ?? NaN)), 2)} ms | ${ms.reduce((a, m) => a + m.errors, 0)} |`);
    }
    const own = median(results.get('built-in (undici, worker thread)')!.map((m) => m.rps));
    lines.push('');
    lines.push(`Goals for the built-in driver: at least autocannon's throughput: ${own >= ac ? 'met' : 'not met'} (${f(own / ac, 2)}x); ` +
      `at least 60 % of wrk's: ${own >= 0.6 * base ? 'met' : 'not met'} (${f((own / base) * 100)} %).`);
    lines.push('');
    lines.push('RSS sampler (src/core/sampler, 10 ms, RSS only) on the server process, lateness against its deadlines:');
    lines.push('');
    lines.push('| while | readings | skipped ticks | late p50 | late p99 | late max |');
    lines.push('|---|---|---|---|---|---|');
    for (const [name, t] of [['idle (3 s)', quiet], [`built-in driver flat out (${seconds} s)`, busy]] as const) {
      lines.push(t ? `| ${name} | ${t.ticks} | ${t.skippedTicks} | ${f(t.lateP50Ms, 3)} ms | ${f(t.lateP99Ms, 3)} ms | ${f(t.lateMaxMs, 3)} ms |` : `| ${name} | - | - | - | - | - |`);
    }
    const table = lines.join('\n');
    console.log(table);
    if (write) {
      const file = path.join(root, 'bench', 'RESULTS.md');
      const heading = '## HTTP load driver';
      const section = `${heading}\n\n\`node scripts/bench.mjs http --seconds ${seconds} --concurrency ${concurrency} --rounds ${rounds}\`\n\n${table}\n`;
      const old = existsSync(file) ? readFileSync(file, 'utf8') : '# Benchmark results\n';
      const start = old.indexOf(`${heading}\n`);
      let next = start >= 0 ? old.indexOf('\n## ', start + heading.length) : -1;
      if (next >= 0) next += 1;
      const updated = start < 0 ? `${old.trimEnd()}\n\n${section}` : `${old.slice(0, start)}${section}${next >= 0 ? `\n${old.slice(next)}` : ''}`;
      writeFileSync(file, updated);
      console.error(`wrote ${heading} in ${file}`);
    }
  } finally {
    killAll();
    rmSync(dir, { recursive: true, force: true });
  }
}

const childUrl = process.argv.indexOf('--child-builtin');
(childUrl >= 0 ? builtinChild(process.argv[childUrl + 1]) : main()).catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exitCode = 1;
});
