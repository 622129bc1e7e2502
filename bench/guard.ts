// What the launch guard costs and how fast it cleans up: starting a program through the exec helper
// (PR_SET_PDEATHSIG, then exec) next to starting it directly, alternated in one run; then `alloclab compare`
// SIGKILLed while its target has a child and a setsid daemon: the time until no process of the run is left,
// and the memory of the watchdog that does it.
//
//   node scripts/bench.mjs guard [--rounds 200] [--kills 3] [--write]   (--write puts the tables into bench/RESULTS.md)
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import * as path from 'node:path';
import { execHelperPath } from '../src/core/os/groups';
import { listPids, processCommand, readEnviron, readProcLink, residentBytes } from '../src/core/os/proc';
import { packageRoot } from '../src/core/workers';

const MARK = 'ALLOCLAB_GUARD_BENCH';
const root = packageRoot();

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.floor(s.length / 2)] : NaN;
}

function startToExit(file: string, args: string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const c = spawn(file, args, { stdio: 'ignore', detached: true });
    c.once('error', reject);
    c.once('exit', () => resolve(Number(process.hrtime.bigint() - t0) / 1e6));
  });
}

async function waitFor(cond: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) return false;
    await new Promise((r) => setTimeout(r, 10));
  }
  return true;
}

function marked(mark: string): number[] {
  return listPids().filter((p) => readEnviron(p)?.get(MARK) === mark);
}

async function killOnce(escaper: string): Promise<{ cleanupMs: number; left: number; watchdogRss: number | null }> {
  const mark = randomUUID();
  const cli = spawn(process.execPath, [path.join(root, 'bin', 'alloclab'), 'compare', '--env', 'glibc', '--duration', '60s', '--out', path.join('/tmp', `alloclab-guard-bench-${mark}`), '--', escaper, 'fork', 'setsid'], {
    stdio: 'ignore', env: { ...process.env, [MARK]: mark },
  });
  const escapers = () => marked(mark).filter((p) => { try { return readProcLink(p, 'exe') === escaper; } catch { return false; } });
  if (!(await waitFor(() => escapers().length >= 3, 30_000))) throw new Error('the target tree did not start');
  const watchdog = marked(mark).find((p) => /workers\/watchdog\.js/.test(processCommand(p) ?? ''));
  const watchdogRss = watchdog ? residentBytes(watchdog) : null;
  const exited = new Promise((r) => cli.once('exit', r));
  const t0 = performance.now();
  cli.kill('SIGKILL');
  await exited;
  await waitFor(() => marked(mark).length === 0, 10_000);
  const cleanupMs = performance.now() - t0;
  const left = marked(mark);
  for (const p of left) try { process.kill(p, 'SIGKILL'); } catch { /* gone */ }
  return { cleanupMs, left: left.length, watchdogRss };
}

function writeResults(section: string): void {
  const file = path.join(root, 'bench', 'RESULTS.md');
  const old = existsSync(file) ? readFileSync(file, 'utf8') : '# Benchmark results\n';
  const re = /^## Launch guard\n[\s\S]*?(?=^## |(?![\s\S]))/m;
  const next = re.test(old) ? old.replace(re, section + '\n') : old.replace(/\n*$/, '\n\n') + section + '\n';
  writeFileSync(file, next);
  console.log(`wrote ${file}`);
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const opt = (name: string, d: number) => { const i = args.indexOf(name); return i >= 0 ? Number(args[i + 1]) : d; };
  const rounds = opt('--rounds', 200);
  const kills = opt('--kills', 3);
  const helper = execHelperPath();
  const escaper = path.join(root, 'native', 'build', 'escaper');
  if (!helper || !existsSync(escaper)) throw new Error('native/build/alloclab-exec or escaper is missing: run `make -C native`');

  const direct: number[] = [];
  const guarded: number[] = [];
  for (let i = 0; i < rounds; i++) {
    direct.push(await startToExit('/bin/true', []));
    guarded.push(await startToExit(helper, [String(process.pid), '/bin/true']));
  }
  const d = median(direct);
  const g = median(guarded);

  const runs = [];
  for (let i = 0; i < kills; i++) runs.push(await killOnce(escaper));
  const rss = runs.map((r) => r.watchdogRss).filter((x): x is number => x !== null);

  const lines = [
    '## Launch guard',
    '',
    `Measured ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC by \`node scripts/bench.mjs guard --write\`; ${cpus().length} cores, load average ${loadavg()[0].toFixed(1)} at the end.`,
    '',
    `Starting \`/bin/true\` in its own session and waiting for its exit, ${rounds} times each, alternated; median.`,
    '',
    '| start | ms | ratio |',
    '|---|---|---|',
    `| direct spawn (baseline) | ${d.toFixed(2)} | 1.00 |`,
    `| through alloclab-exec (PR_SET_PDEATHSIG, exec) | ${g.toFixed(2)} | ${(g / d).toFixed(2)} |`,
    '',
    `\`alloclab compare\` SIGKILLed while its target has a child and a setsid daemon, ${kills} times: from the kill until no process of the run is left.`,
    '',
    '| kill | cleanup ms | processes left | watchdog RSS MiB |',
    '|---|---|---|---|',
    ...runs.map((r, i) => `| ${i + 1} | ${r.cleanupMs.toFixed(0)} | ${r.left} | ${r.watchdogRss === null ? '-' : (r.watchdogRss / 1048576).toFixed(1)} |`),
    '',
    `Median cleanup ${median(runs.map((r) => r.cleanupMs)).toFixed(0)} ms; watchdog ${rss.length ? (median(rss) / 1048576).toFixed(1) : '-'} MiB resident (one per engine process).`,
  ];
  const section = lines.join('\n');
  console.log(section);
  if (args.includes('--write')) writeResults(section);
}

void main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
