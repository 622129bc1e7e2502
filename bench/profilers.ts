// What attribution costs: throughput of the demo service in fixed-work mode (demo-controller --work N) under
// each backend, as a ratio of plain glibc measured in the same run; and the time to read and rank a heaptrack
// trace here next to `heaptrack_print` on the same file. Then the probe's sampled profiler (probe-sampled):
//   1. its cost on the demo service against the same allocator without the probe, at 64 KiB, 512 KiB and 2 MiB,
//      with the spread of the repeats (the noise) and its share of the target's CPU samples (perf);
//   2. its accuracy against heaptrack's exact figures on the same fixed work;
//   3. the cost of one stack capture, frame pointers against the unwinders, at depths 16 and 64.
//
//   node scripts/bench.mjs profilers [--work 300] [--threads 4] [--repeat 2] [--sampled-work 2000] [--sampled-repeat 5] [--perf-repeat 3] [--write]   (--write updates bench/RESULTS.md)
//
// Each mode runs --repeat times and keeps its best throughput: on a shared machine the worst runs measure the
// neighbours.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import * as path from 'node:path';
import { getBackend, JEMALLOC_PATHS, rankHotspots, readHeaptrackProfile, type AttributionBackend } from '../src/core/profilers';
import { profileRun } from '../src/core/runs/profile';
import { packageRoot } from '../src/core/workers';
import { writeResultsSection } from './support/results';
import { probeLibraryPath } from '../src/core/ledger/probe';
import { findSampleFiles, parseSampleFile, readProbeSampledProfile } from '../src/core/profilers/probeSampled';
import type { AllocationProfile } from '../src/core/profilers';

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
// The cost of the sampled probe is a few percent: a longer run and more repeats than the 10x tools need.
const sampledWork = opt('sampled-work', 2000);
const sampledRepeat = Math.max(1, opt('sampled-repeat', 5));
const sampledArgs = ['--work', String(sampledWork), '--threads', String(threads)];
// One perf record of the demo holds about 5,000 samples: its shares move by a few tenths of a point between runs.
const perfRepeat = Math.max(1, opt('perf-repeat', 3));
const ACCURACY_RUNS = Math.max(1, opt('accuracy-runs', 20));
const pct = (x: number | null) => (x == null ? '-' : `${(100 * x).toFixed(1)} %`);
const mib = (x: number) => (x / 1048576).toFixed(2);

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

let profiledRuns = 0;
const lastRunDir = new Map<string, string>();

async function profiled(backend: AttributionBackend, parent: string): Promise<Row> {
  // A run folder takes one run: each repetition gets its own.
  const keep = `${parent}-${++profiledRuns}`;
  lastRunDir.set(backend.id, keep);
  const t0 = Date.now();
  const r = await profileRun({ backend, target: { command: demo, args: demoArgs, durationMs: 600_000, cwd: keep }, runsDir: keep, outDir: keep });
  const wallMs = Date.now() - t0;
  const { envDir, profile } = r.profiles[0];
  const out = ['stdout.log', 'stderr.log'].map((f) => readFileSync(path.join(envDir, f), 'utf8')).join('');
  // Collect is part of the run: time it again on the recorded files.
  const c0 = Date.now();
  await backend.collect(path.join(envDir, 'profile'), { startedAtMs: c0 });
  return { mode: backend.id, throughput: parseThroughput(out), wallMs, collectMs: Date.now() - c0, sites: profile.sites.length };
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
    // The run folder of the heaptrack mode: its one environment folder keeps the raw trace in profile/.
    const trace = path.join(lastRunDir.get('heaptrack') ?? path.join(tmp, 'heaptrack'), `01-${getBackend('heaptrack').environment}`, 'profile', 'heaptrack.zst');
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

    // probe-sampled: cost, accuracy against heaptrack's exact figures (same fixed work), capture cost.
    const sampledTables: string[] = [];
    if (existsSync(probeLibraryPath())) {
      const allocators = [{ name: 'glibc', lib: null }, ...(je ? [{ name: 'jemalloc', lib: je }] : [])];
      const cost = measureCost({ demo, demoArgs: sampledArgs, allocators, repeat: sampledRepeat, scratch: tmp, throughput: parseThroughput });
      sampledTables.push(
        `### probe-sampled: cost on the demo service`,
        '',
        `\`demo-controller ${sampledArgs.join(' ')}\` (fixed work), median of ${sampledRepeat} runs per mode, modes alternated. Ratio = throughput / the same allocator's plain run (no probe at all); noise = (max - min) / median of that mode's runs. CPU shares: median of ${perfRepeat} \`perf record -F 2000\` runs per mode (the probe is set on the target only, through \`env\`, not on perf). "probe" is every sample in liballoclab-probe.so and the unwinder libraries, every sample of the probe's own threads (alloclab-*, kernel time included), and the malloc_usable_size/nallocx samples beyond those of the same allocator's plain run (the probe calls them for its samples only); "sampling" is the sampling code and the unwinders. "probe (range)" is the lowest and highest of the runs. The shares barely move with the machine's load; the ratios do (load average ${loadavg()[0].toFixed(1)} after these runs).`,
        '',
        '| mode | configs/s | noise | ratio to same allocator | probe share of CPU samples | probe (range) | sampling share | unwinder (auto) |',
        '|---|---|---|---|---|---|---|---|',
        ...cost.map((r) => `| ${r.mode} | ${r.throughput.toFixed(0)} | ±${(100 * r.spread).toFixed(1)} % | ${r.ratio!.toFixed(3)} | ${pct(r.probeShare)} | ${r.probeRange ? `${pct(r.probeRange[0])} - ${pct(r.probeRange[1])}` : '-'} | ${pct(r.samplingShare)} | ${r.unwinder ?? '-'} |`),
        ...rows.filter((r) => r.mode === 'heaptrack' || r.mode === 'massif').map((r) => `| ${r.mode} (vs glibc, table above) | ${r.throughput.toFixed(0)} | - | ${r.ratio!.toFixed(3)} | - | - | - | - |`),
        '',
      );
      const volume = path.join(root, 'native', 'build', 'proftest-volume');
      const heaptrack = getBackend('heaptrack');
      if (heaptrack.available().ok && existsSync(volume)) {
        const exactDir = path.join(tmp, 'accuracy-exact');
        const exact = (await profileRun({ backend: heaptrack, target: { command: volume, args: [], durationMs: 600_000, cwd: tmp }, runsDir: exactDir, outDir: exactDir })).profiles[0].profile;
        // The sampled side is cheap (full speed): run it many times, since one run's order and coverage are draws
        // from the sampler's distribution. The table shows the first run; the sentence gives the rates over all.
        const accs: ReturnType<typeof compareAccuracy>[] = [];
        let sampled: AllocationProfile | null = null;
        for (let i = 0; i < ACCURACY_RUNS; i++) {
          const dir = path.join(tmp, `accuracy-${i}`);
          mkdirSync(dir, { recursive: true });
          spawnSync(volume, [], { env: { ...process.env, ...sampledEnv(dir, 524288, null) }, stdio: 'ignore', timeout: 600_000 });
          const profile = await readProbeSampledProfile(dir);
          sampled ??= profile;
          accs.push(compareAccuracy(exact, profile));
        }
        const acc = accs[0];
        const orderRuns = accs.filter((a) => a.top10Same).length;
        const within = accs.reduce((n, a) => n + a.above1Within, 0), lines = accs.reduce((n, a) => n + a.above1, 0);
        sampledTables.push(
          `### probe-sampled: accuracy against heaptrack (exact), 512 KiB`,
          '',
          `native/proftest/volume.c (twelve sites, 1.5 GiB allocated in all, the same on every run: a fixed volume; the demo service's volume changes with its timing, and heaptrack's slowdown changes that timing) once under heaptrack (every allocation) and ${ACCURACY_RUNS} times under glibc + probe-sampled at 512 KiB (the first: ${sampled?.sampling?.samples ?? '?'} samples); allocated bytes per user line. Top 10 in the same order: **${orderRuns} of ${ACCURACY_RUNS} runs** (the first: ${acc.top10Same ? 'yes' : 'no'}; neighbours 25 % apart at 1-3 % of the total are 1.3 to 1.7 sigma apart at this interval, so an occasional swap there is the sampler's resolution, not a bias). Lines above 1 % of the total within 2 sigma of the exact figure: **${within} of ${lines} (${(100 * within / Math.max(1, lines)).toFixed(0)} %)** over all runs (about 95 % expected); the first run: ${acc.above1Within} of ${acc.above1}.`,
          '',
          '| exact rank | sampled rank | user line | exact MiB | sampled MiB | 1-sigma MiB | share | within 2 sigma |',
          '|---|---|---|---|---|---|---|---|',
          ...acc.rows.slice(0, 12).map((r) => `| ${r.exactRank} | ${r.sampledRank || '-'} | ${r.site} | ${mib(r.exactBytes)} | ${mib(r.estimate)} | ${mib(r.error)} | ${(100 * r.share).toFixed(1)} % | ${r.share > 0.01 ? (r.within2Sigma ? 'yes' : 'no') : '-'} |`),
          '',
        );
      }
      const capture = measureCapture(path.join(root, 'native', 'build', 'capturebench'));
      if (capture.length) {
        sampledTables.push(
          '### probe-sampled: one stack capture',
          '',
          `native/probetest/capturebench (built with frame pointers) calls the probe's capture 20,000 times from a call chain deeper than the depth; best of 3; load average ${loadavg()[0].toFixed(1)}. "frames" is what each method returned. libunwind runs with its per-thread cache; _Unwind_Backtrace (libgcc) parses .eh_frame on every call.`,
          '',
          '| method | depth | frames | ns per capture | ratio to frame pointers |',
          '|---|---|---|---|---|',
          ...capture.map((c) => `| ${c.method} | ${c.depth} | ${c.frames} | ${c.ns} | ${(c.ns / capture.find((x) => x.method === 'fp' && x.depth === c.depth)!.ns).toFixed(1)} |`),
          '',
        );
      }
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
      '',
      ...sampledTables,
    ].join('\n');
    console.log(table);
    if (write) writeSection(table);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

// Replaces only the "## Profilers" section of bench/RESULTS.md (other benchmarks own the other sections).
function writeSection(table: string): void {
  writeResultsSection('## Profilers', 'node scripts/bench.mjs profilers --write', table);
}

// ---- the probe's sampled profiler ----------------------------------------------------------------------

const INTERVALS = [65536, 524288, 2097152];

interface CostRow {
  mode: string;
  /** Median throughput over the repeats. */
  throughput: number;
  /** (max - min) / median of the repeats: the noise of this row. */
  spread: number;
  ratio: number | null;
  /** Share of CPU samples in the probe (all of it) and in its sampling part (sampling.c and the unwinders). */
  probeShare: number | null;
  /** Lowest and highest probe share of the perf runs. */
  probeRange: [number, number] | null;
  samplingShare: number | null;
  unwinder: string | null;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

const SAMPLING_SYMBOLS = /^(sampling_|capture|put_record|ring_|live_|draw_countdown|uniform01|mono_ns|thread_ring|claim_ring|spin_|learn_stack|gcc_step|alloclab_probe_capture)/;
const UNWINDER_DSO = /^(libunwind\.so\.8|libunwind-x86_64\.so\.8|liblzma\.so\.5)$/;

interface Shares {
  probe: number;
  sampling: number;
  /** Share of samples in malloc_usable_size/nallocx (whoever called them). */
  sizeCalls: number;
}

/**
 * Shares of the probe and of its sampling part in one `perf record` of the command; null without perf. The
 * environment goes to the target only (through `env`): set on perf, the probe would run inside perf too.
 */
function perfShares(argv: string[], env: Record<string, string>, scratch: string): Shares | null {
  const data = path.join(scratch, `perf.${process.hrtime.bigint()}.data`);
  const vars = Object.entries(env).map(([k, v]) => `${k}=${v}`);
  const r = spawnSync('perf', ['record', '-q', '-F', '2000', '-o', data, '--', 'env', ...vars, ...argv], { stdio: 'ignore' });
  if (r.status !== 0) return null;
  const report = spawnSync('perf', ['report', '-i', data, '--stdio', '--sort', 'comm,dso,sym'], { encoding: 'utf8', maxBuffer: 64 << 20 });
  rmSync(data, { force: true });
  const out: Shares = { probe: 0, sampling: 0, sizeCalls: 0 };
  for (const line of (report.stdout ?? '').split('\n')) {
    const m = /^\s*([\d.]+)%\s+(\S+)\s+(\S+)\s+\[[.k]\]\s+(.*)$/.exec(line);
    if (!m) continue;
    const share = Number(m[1]) / 100;
    const [comm, dso, sym] = [m[2], m[3], m[4].trim()];
    const unwinder = UNWINDER_DSO.test(dso) || (dso === 'libgcc_s.so.1' && /^(_Unwind_|uw_|execute_cfa|search_object|_Unwind_Find_FDE)/.test(sym));
    const ownThread = comm.startsWith('alloclab-');
    if (/^(malloc_usable_size|nallocx)\b/.test(sym)) out.sizeCalls += share;
    else if (dso === 'liballoclab-probe.so' || unwinder || ownThread) out.probe += share;
    if (unwinder || ownThread || (dso === 'liballoclab-probe.so' && SAMPLING_SYMBOLS.test(sym))) out.sampling += share;
  }
  return out;
}

/** Environment of a sampled run into dir (the probe first in LD_PRELOAD, then the allocator). */
function sampledEnv(dir: string, interval: number, allocator: string | null): Record<string, string> {
  return {
    LD_PRELOAD: [probeLibraryPath(), allocator].filter(Boolean).join(':'),
    ALLOCLAB_PROBE_SAMPLE_DIR: dir,
    ALLOCLAB_PROBE_SAMPLE_INTERVAL: String(interval),
  };
}

/** Cost rows: for each allocator, its plain run (the baseline) and the probe at each interval; alternated. */
function measureCost(o: {
  demo: string; demoArgs: string[]; allocators: { name: string; lib: string | null }[]; repeat: number; scratch: string;
  throughput: (out: string) => number;
}): CostRow[] {
  const rows: CostRow[] = [];
  for (const a of o.allocators) {
    const modes = [{ name: `${a.name} (baseline)`, interval: 0 }, ...INTERVALS.map((iv) => ({ name: `${a.name} + probe-sampled ${iv / 1024} KiB`, interval: iv }))];
    const runs = new Map<string, number[]>();
    // Alternate the modes so a change in the machine's load hits them all alike.
    for (let rep = 0; rep < o.repeat; rep++) {
      for (const m of modes) {
        const dir = path.join(o.scratch, `cost-${rows.length}-${m.interval}-${rep}`);
        mkdirSync(dir, { recursive: true });
        const env = m.interval ? sampledEnv(dir, m.interval, a.lib) : a.lib ? { LD_PRELOAD: a.lib } : {};
        const r = spawnSync(o.demo, o.demoArgs, { env: { ...process.env, ...env }, encoding: 'utf8', timeout: 600_000 });
        const list = runs.get(m.name) ?? [];
        list.push(o.throughput(r.stdout + r.stderr));
        runs.set(m.name, list);
        rmSync(dir, { recursive: true, force: true });
      }
    }
    const base = median(runs.get(modes[0].name)!);
    // What the program and its allocator spend in malloc_usable_size/nallocx without the probe: not the probe's.
    const plainSizeCalls = median(Array.from({ length: perfRepeat }, () => perfShares([o.demo, ...o.demoArgs], a.lib ? { LD_PRELOAD: a.lib } : {}, o.scratch)?.sizeCalls ?? 0));
    for (const m of modes) {
      const xs = runs.get(m.name)!;
      const med = median(xs);
      const probe: number[] = [];
      const sampling: number[] = [];
      let unwinder: string | null = null;
      if (m.interval) {
        for (let i = 0; i < perfRepeat; i++) {
          const dir = path.join(o.scratch, `perf-${m.interval}-${i}`);
          mkdirSync(dir, { recursive: true });
          const shares = perfShares([o.demo, ...o.demoArgs], sampledEnv(dir, m.interval, a.lib), o.scratch);
          if (shares) {
            probe.push(shares.probe + Math.max(0, shares.sizeCalls - plainSizeCalls));
            sampling.push(shares.sampling);
          }
          unwinder ??= unwinderOf(dir);
          rmSync(dir, { recursive: true, force: true });
        }
      }
      rows.push({
        mode: m.name, throughput: med, spread: (Math.max(...xs) - Math.min(...xs)) / med, ratio: med / base,
        probeShare: probe.length ? median(probe) : null, probeRange: probe.length ? [Math.min(...probe), Math.max(...probe)] : null,
        samplingShare: sampling.length ? median(sampling) : null, unwinder,
      });
    }
  }
  return rows;
}

function unwinderOf(dir: string): string | null {
  try {
    const [f] = findSampleFiles(dir);
    return f ? parseSampleFile(f).unwinder : null;
  } catch {
    return null;
  }
}

interface AccuracyRow {
  site: string;
  exactBytes: number;
  estimate: number;
  error: number;
  share: number;
  within2Sigma: boolean;
  exactRank: number;
  sampledRank: number;
}

/** Allocated bytes per user line (file base name:line), with the combined 1-sigma error of its stacks. */
function bytesByLine(p: AllocationProfile): Map<string, { bytes: number; error: number }> {
  const out = new Map<string, { bytes: number; error: number }>();
  for (const h of rankHotspots(p, 'peak')) {
    const key = h.file && h.line ? `${path.basename(h.file)}:${h.line} ${h.function ?? ''}` : `${h.function ?? '??'} (${h.module ? path.basename(h.module) : '?'})`;
    const members = p.sites.filter((s) => h.siteIds.includes(s.id));
    const cur = out.get(key) ?? { bytes: 0, error: 0 };
    const err2 = members.reduce((s, m) => s + (m.bytesError ?? 0) ** 2, 0);
    out.set(key, { bytes: cur.bytes + (h.allocatedBytes ?? 0), error: Math.sqrt(cur.error ** 2 + err2) });
  }
  return out;
}

/** Sampled figures against exact ones, per user line: top 10 by exact bytes, and every line above 1 %. */
function compareAccuracy(exact: AllocationProfile, sampled: AllocationProfile): { rows: AccuracyRow[]; top10Same: boolean; above1: number; above1Within: number } {
  const e = bytesByLine(exact);
  const s = bytesByLine(sampled);
  const total = [...e.values()].reduce((a, b) => a + b.bytes, 0);
  const exactOrder = [...e.entries()].sort((a, b) => b[1].bytes - a[1].bytes);
  const sampledOrder = [...s.entries()].sort((a, b) => b[1].bytes - a[1].bytes).map(([k]) => k);
  const rows: AccuracyRow[] = exactOrder.map(([site, v], i) => {
    const est = s.get(site) ?? { bytes: 0, error: 0 };
    return {
      site, exactBytes: v.bytes, estimate: est.bytes, error: est.error, share: v.bytes / total,
      within2Sigma: Math.abs(est.bytes - v.bytes) <= 2 * est.error, exactRank: i + 1, sampledRank: sampledOrder.indexOf(site) + 1,
    };
  });
  const top10 = rows.slice(0, 10);
  const above = rows.filter((r) => r.share > 0.01);
  return { rows, top10Same: top10.every((r) => r.sampledRank === r.exactRank), above1: above.length, above1Within: above.filter((r) => r.within2Sigma).length };
}

/** Runs the capture benchmark program at each depth; rows of (method, depth, frames, ns). */
function measureCapture(program: string): { method: string; depth: number; frames: number; ns: number }[] {
  const dir = mkdtempSync(path.join(tmpdir(), 'alloclab-capture-'));
  const out: { method: string; depth: number; frames: number; ns: number }[] = [];
  try {
    for (const depth of [16, 64]) {
      const r = spawnSync(program, [String(depth), '20000'], { env: { ...process.env, ...sampledEnv(dir, 1 << 30, null) }, encoding: 'utf8', timeout: 120_000 });
      for (const line of r.stdout.split('\n')) {
        const m = /^method (\S+) depth (\d+) frames (\d+) ns_per_capture (\d+)/.exec(line);
        if (m) out.push({ method: m[1], depth: Number(m[2]), frames: Number(m[3]), ns: Number(m[4]) });
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return out;
}

void main().catch((e) => {
  console.error(e);
  process.exit(1);
});
