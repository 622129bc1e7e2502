// What attribution costs: throughput of the demo service in fixed-work mode (demo-controller --work N) under
// each backend, as a ratio of plain glibc measured in the same run; and the time to read and rank a heaptrack
// trace here next to `heaptrack_print` on the same file.
//
//   node scripts/bench.mjs profilers [--work 300] [--threads 4] [--repeat 2] [--write]   (--write updates bench/RESULTS.md)
//
// Each mode runs --repeat times and keeps its best throughput: on a shared machine the worst runs measure the
// neighbours.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import * as path from 'node:path';
import { getBackend, JEMALLOC_PATHS, rankHotspots, readHeaptrackProfile, runProfiled, type AttributionBackend } from '../src/core/profilers';
import { packageRoot } from '../src/core/workers';

const args = process.argv.slice(2);
const opt = (name: string, def: number) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : def;
};
const work = opt('work', 300);
const threads = opt('threads', 4);
const repeat = Math.max(1, opt('repeat', 2));
const write = args.includes('--write');
const root = packageRoot();
const demo = path.join(root, 'native', 'build', 'demo-controller');
if (!existsSync(demo)) {
  console.error(`${demo} is missing: run \`make -C native\``);
  process.exit(1);
}
const demoArgs = ['--work', String(work), '--threads', String(threads)];

interface Row {
  mode: string;
  throughput: number;
  wallMs: number;
  collectMs: number | null;
  sites: number | null;
  ratio?: number;
}

function parseThroughput(out: string): number {
  const m = /= ([\d.]+) configs\/s/.exec(out);
  if (!m) throw new Error(`no throughput in output:\n${out.slice(-500)}`);
  return Number(m[1]);
}

function plain(mode: string, env: Record<string, string>): Row {
  const t0 = Date.now();
  const r = spawnSync(demo, demoArgs, { env: { ...process.env, ...env }, encoding: 'utf8', timeout: 600_000 });
  return { mode, throughput: parseThroughput(r.stdout + r.stderr), wallMs: Date.now() - t0, collectMs: null, sites: null };
}

async function profiled(backend: AttributionBackend, keep: string): Promise<Row> {
  let out = '';
  const t0 = Date.now();
  const r = await runProfiled({ backend, command: demo, args: demoArgs, durationMs: 600_000, outDir: keep, onOutput: (s) => (out += s) });
  const wallMs = Date.now() - t0;
  // Collect is part of runProfiled: time it again on the recorded files.
  const c0 = Date.now();
  await backend.collect(path.join(keep, 'profile'), { startedAtMs: c0 });
  return { mode: backend.id, throughput: parseThroughput(out), wallMs, collectMs: Date.now() - c0, sites: r.profile.sites.length };
}

async function main() {
  const tmp = mkdtempSync(path.join(tmpdir(), 'alloclab-bench-prof-'));
  const rows: Row[] = [];
  try {
    const best = async (f: () => Row | Promise<Row>): Promise<Row> => {
      const runs: Row[] = [];
      for (let i = 0; i < repeat; i++) runs.push(await f());
      const top = runs.reduce((a, b) => (b.throughput > a.throughput ? b : a));
      const collects = runs.map((r) => r.collectMs).filter((c): c is number => c != null);
      return { ...top, collectMs: collects.length ? Math.min(...collects) : null };
    };
    rows.push(await best(() => plain('glibc (baseline)', {})));
    const je = JEMALLOC_PATHS.find((p) => existsSync(p));
    if (je) rows.push(await best(() => plain('jemalloc (plain)', { LD_PRELOAD: je })));
    for (const id of ['jemalloc-prof', 'heaptrack', 'massif']) {
      const b = getBackend(id);
      if (!b.available().ok) continue;
      rows.push(await best(() => profiled(b, path.join(tmp, id))));
    }
    const base = rows[0].throughput;
    for (const r of rows) r.ratio = r.throughput / base;

    // Ranking a heaptrack trace: ours (stream, parse, rank) vs heaptrack_print's full text report.
    const trace = path.join(tmp, 'heaptrack', 'profile', 'heaptrack.zst');
    let rankRows: string[] = [];
    if (existsSync(trace)) {
      const runs = 3;
      let ours = Infinity;
      let theirs = Infinity;
      for (let i = 0; i < runs; i++) {
        const a = process.hrtime.bigint();
        const p = await readHeaptrackProfile(trace);
        rankHotspots(p, 'peak', { top: 20 });
        ours = Math.min(ours, Number(process.hrtime.bigint() - a) / 1e6);
        const b = process.hrtime.bigint();
        spawnSync('heaptrack_print', ['-f', trace], { stdio: 'ignore', timeout: 600_000 });
        theirs = Math.min(theirs, Number(process.hrtime.bigint() - b) / 1e6);
      }
      const lines = spawnSync('zstd', ['-dc', trace], { maxBuffer: 1 << 30 }).stdout.toString().split('\n').length;
      rankRows = [
        `| read + rank (alloclab) | ${ours.toFixed(0)} | 1.00 |`,
        `| heaptrack_print -f | ${theirs.toFixed(0)} | ${(theirs / ours).toFixed(2)} |`,
        '',
        `Trace: ${(statSync(trace).size / 1024).toFixed(0)} KiB compressed, ${lines} lines; best of ${runs}.`,
      ];
    }

    const table = [
      `Demo service \`demo-controller ${demoArgs.join(' ')}\` (fixed work), best of ${repeat}, ${cpus().length} cores, load average ${loadavg()[0].toFixed(1)} at the end.`,
      '',
      '| mode | configs/s | ratio to glibc | wall s | collect ms | sites |',
      '|---|---|---|---|---|---|',
      ...rows.map((r) => `| ${r.mode} | ${r.throughput.toFixed(1)} | ${r.ratio!.toFixed(2)} | ${(r.wallMs / 1000).toFixed(1)} | ${r.collectMs ?? '-'} | ${r.sites ?? '-'} |`),
      '',
      '| ranking a heaptrack trace | ms | ratio |',
      '|---|---|---|',
      ...rankRows,
    ].join('\n');
    console.log(table);
    if (write) writeSection(table);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

// Replaces only the "## Profilers" section of bench/RESULTS.md (other benchmarks own the other sections).
function writeSection(table: string): void {
  const file = path.join(root, 'bench', 'RESULTS.md');
  const text = existsSync(file) ? readFileSync(file, 'utf8') : '# Benchmark results\n';
  const section = `## Profilers\n\nMeasured ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC by \`node scripts/bench.mjs profilers --write\`.\n\n${table}\n`;
  const start = text.indexOf('\n## Profilers');
  let out: string;
  if (start < 0) out = text.replace(/\n*$/, '\n\n') + section;
  else {
    const next = text.indexOf('\n## ', start + 1);
    out = text.slice(0, start + 1) + section + (next < 0 ? '' : '\n' + text.slice(next + 1));
  }
  writeFileSync(file, out);
}

void main().catch((e) => {
  console.error(e);
  process.exit(1);
});
