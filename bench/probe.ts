// What the preload probe costs the target: the same fixed work with and without it, next to heaptrack and
// valgrind massif on the same work, as throughput ratios against a baseline measured in the same run.
//
//   npm run build && npm run bench -- probe [--quick] [--reps N] [--write]   (--write: section "Probe" of bench/RESULTS.md)
//
// Throughput is work per CPU-second of the target (user + system, read from this process's reaped-children
// times, so heaptrack's helper processes count too) and, beside it, per wall-second. The machine is shared
// with other engineers: CPU time is the steadier figure there, wall time is shown for completeness. Probe and
// baseline runs alternate and the median of the repetitions is kept; heaptrack and massif run once, on a tenth
// (or less) of the work, and their throughput is scaled per unit of work. With perf installed, user-space
// instructions per unit of work are counted too: unlike time, they do not move with the machine's load.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import * as path from 'node:path';
import { probeEnvironment } from '../src/core/ledger';
import { packageRoot } from '../src/core/workers';

const JEMALLOC = '/usr/lib/x86_64-linux-gnu/libjemalloc.so.2';
const CLK_TCK = 100;

interface Workload {
  name: string;
  program: string;
  /** argv for `work` units of work */
  args: (work: number) => string[];
  unit: string;
  work: number;
  /** Work for the slow tools (heaptrack, massif). */
  toolWork: number;
}

interface Mode {
  name: string;
  baseline: string | null;
  /** Wraps the command and sets its environment. */
  prepare: (argv: string[], scratch: string) => { argv: string[]; env: Record<string, string> };
  tool?: boolean;
}

interface Row {
  workload: string;
  mode: string;
  baseline: string | null;
  work: number;
  cpuS: number;
  wallS: number;
  /** User-space instructions retired (perf stat), NaN without perf. */
  instructions: number;
  /** Share of CPU samples in probe code and the allocator calls it adds (probe modes, with perf). */
  probeShare?: number | null;
  /** Of which the probe's statistics thread ("alloclab-probe": allocator figures, memory map; kernel time included). */
  statsShare?: number | null;
  /** Spread of the repetitions' throughput (max - min over median): the noise a ratio must be read against. */
  noise?: number;
  unit: string;
}

function childCpuSeconds(): number {
  // Fields 16 and 17 of /proc/self/stat: CPU of waited-for children (and their waited-for descendants).
  const fields = readFileSync('/proc/self/stat', 'utf8').split(') ')[1].split(' ');
  return (Number(fields[13]) + Number(fields[14])) / CLK_TCK;
}

// Virtual machines often expose no hardware counters ("<not supported>"): then the column is left out.
const havePerf = /^\d+,/m.test(spawnSync('perf', ['stat', '-x,', '-e', 'instructions:u', '--', 'true'], { encoding: 'utf8' }).stderr ?? '');

function runOnce(w: Workload, m: Mode, work: number, scratch: string): Row {
  let { argv } = m.prepare([w.program, ...w.args(work)], scratch);
  const { env } = m.prepare([], scratch);
  // Instructions retired in user space (the target and its helper processes) do not depend on how busy the
  // shared machine is: the steadiest measure of the work a probe or tool adds.
  const perfOut = path.join(scratch, `perf.${process.hrtime.bigint()}`);
  if (havePerf) argv = ['perf', 'stat', '-x,', '-e', 'instructions:u', '-o', perfOut, '--', ...argv];
  const cpu0 = childCpuSeconds();
  const t0 = process.hrtime.bigint();
  const r = spawnSync(argv[0], argv.slice(1), { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 256 << 20 });
  const wallS = Number(process.hrtime.bigint() - t0) / 1e9;
  const cpuS = childCpuSeconds() - cpu0;
  if (r.error || r.status !== 0) {
    throw new Error(`${w.name} / ${m.name} failed (${r.error?.message ?? r.status ?? r.signal}): ${r.stderr?.toString().slice(-2000) ?? ''}`);
  }
  let instructions = NaN;
  if (havePerf) {
    const line = readFileSync(perfOut, 'utf8').split('\n').find((l) => l.includes('instructions'));
    instructions = Number(line?.split(',')[0]);
  }
  return { workload: w.name, mode: m.name, baseline: m.baseline, work, cpuS, wallS, instructions, unit: w.unit };
}

const havePerfRecord = spawnSync('perf', ['record', '-q', '-o', '/dev/null', '--', 'true'], { stdio: 'ignore' }).status === 0;

/**
 * Share of the target's CPU samples spent in the probe's own code plus the allocator calls it adds
 * (malloc_usable_size, nallocx), from one `perf record` run. A share of samples barely moves with the machine's
 * load, unlike a ratio of times; null without perf.
 */
function probeShare(w: Workload, m: Mode, scratch: string): { total: number; stats: number } | null {
  if (!havePerfRecord) return null;
  const data = path.join(scratch, `perf.${process.hrtime.bigint()}.data`);
  const { argv, env } = m.prepare([w.program, ...w.args(w.work)], scratch);
  const r = spawnSync('perf', ['record', '-q', '-F', '2000', '-o', data, '--', ...argv], { env: { ...process.env, ...env }, stdio: 'ignore' });
  if (r.status !== 0) return null;
  const report = spawnSync('perf', ['report', '-i', data, '--stdio', '--sort', 'comm,dso,sym'], { encoding: 'utf8', maxBuffer: 64 << 20 });
  rmSync(data, { force: true });
  let total = 0;
  let stats = 0;
  for (const line of (report.stdout ?? '').split('\n')) {
    const m2 = /^\s*([\d.]+)%\s+(\S+)\s+(\S+)\s+\[[.k]\]\s+(.*)$/.exec(line);
    if (!m2) continue;
    const pct = Number(m2[1]);
    // The statistics thread (named by the probe): every sample of it, in the probe, libc or the kernel (smaps).
    if (m2[2] === 'alloclab-probe') {
      stats += pct;
      total += pct;
    } else if (m2[3] === 'liballoclab-probe.so' || /^(malloc_usable_size|nallocx|tc_nallocx)\b/.test(m2[4].trim())) total += pct;
  }
  return { total: total / 100, stats: stats / 100 };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

function main(): void {
  const args = process.argv.slice(2);
  const quick = args.includes('--quick');
  const reps = Number(args[args.indexOf('--reps') + 1]) || (quick ? 1 : 3);
  const build = path.join(packageRoot(), 'native', 'build');
  const scratch = mkdtempSync(path.join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'alloclab-probe-bench-'));
  let shmSeq = 0;
  const probe = (preload?: string) => (argv: string[]) => ({
    argv,
    env: probeEnvironment(path.join(scratch, `p${shmSeq++}`), preload ? { LD_PRELOAD: preload } : {}),
  });
  const modes: Mode[] = [
    { name: 'glibc', baseline: null, prepare: (argv) => ({ argv, env: {} }) },
    { name: 'glibc + probe', baseline: 'glibc', prepare: probe() },
    {
      name: 'glibc + probe, no statistics thread',
      baseline: 'glibc',
      prepare: (argv) => ({ argv, env: { ...probe()(argv).env, ALLOCLAB_PROBE_NO_STATS: '1' } }),
    },
    { name: 'jemalloc', baseline: null, prepare: (argv) => ({ argv, env: { LD_PRELOAD: JEMALLOC } }) },
    { name: 'jemalloc + probe', baseline: 'jemalloc', prepare: probe(JEMALLOC) },
    {
      name: 'heaptrack',
      baseline: 'glibc',
      tool: true,
      prepare: (argv, dir) => ({ argv: ['heaptrack', '-o', path.join(dir, `heaptrack.${shmSeq++}`), ...argv], env: {} }),
    },
    {
      name: 'valgrind massif',
      baseline: 'glibc',
      tool: true,
      prepare: (argv, dir) => ({ argv: ['valgrind', '--tool=massif', '-q', `--massif-out-file=${path.join(dir, `massif.${shmSeq++}`)}`, ...argv], env: {} }),
    },
  ];
  const scale = quick ? 0.25 : 1;
  const workloads: Workload[] = [
    {
      name: 'probebench: 4 threads of malloc/free churn (worst case)',
      program: path.join(build, 'probebench'),
      args: (n) => ['4', String(Math.round(n / 4))],
      unit: 'M ops',
      work: 40e6 * scale,
      toolWork: 1e6 * scale,
    },
    {
      name: 'demo-controller --work, 8 threads (JSON configs, LRU cache)',
      program: path.join(build, 'demo-controller'),
      args: (n) => ['--work', String(n), '--threads', '8', '--cache-mb', '16'],
      unit: 'configs',
      work: Math.round(1000 * scale),
      toolWork: Math.round(100 * scale),
    },
  ];
  for (const w of workloads) if (!existsSync(w.program)) throw new Error(`${w.program} is missing: run \`make -C native\``);
  const haveJemalloc = existsSync(JEMALLOC);
  const rows: Row[] = [];
  try {
    for (const w of workloads) {
      const fast = modes.filter((m) => !m.tool && (haveJemalloc || !m.name.startsWith('jemalloc')));
      const samples = new Map<string, Row[]>();
      // Alternate the modes so a change in the machine's load falls on all of them alike.
      for (let i = 0; i < reps; i++) {
        for (const m of fast) {
          const r = runOnce(w, m, w.work, scratch);
          samples.set(m.name, [...(samples.get(m.name) ?? []), r]);
          process.stderr.write(`${w.name} | ${m.name}: ${r.cpuS.toFixed(2)} s CPU, ${r.wallS.toFixed(2)} s wall\n`);
        }
      }
      for (const m of fast) {
        const rs = samples.get(m.name)!;
        const share = m.name.includes('probe') ? probeShare(w, m, scratch) : undefined;
        const tputs = rs.map((r) => r.work / r.cpuS);
        rows.push({
          probeShare: share === undefined ? undefined : share?.total ?? null,
          statsShare: share === undefined ? undefined : share?.stats ?? null,
          noise: rs.length > 1 ? (Math.max(...tputs) - Math.min(...tputs)) / median(tputs) : NaN,
          ...rs[0],
          cpuS: median(rs.map((r) => r.cpuS)),
          wallS: median(rs.map((r) => r.wallS)),
          instructions: median(rs.map((r) => r.instructions)),
        });
      }
      for (const m of modes.filter((x) => x.tool)) {
        try {
          const r = runOnce(w, m, w.toolWork, scratch);
          rows.push(r);
          process.stderr.write(`${w.name} | ${m.name}: ${r.cpuS.toFixed(2)} s CPU, ${r.wallS.toFixed(2)} s wall\n`);
        } catch (e) {
          process.stderr.write(`${m.name} skipped: ${(e as Error).message.split('\n')[0]}\n`);
        }
      }
    }
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
  const table = render(rows, reps);
  console.log(table);
  if (args.includes('--write')) writeResults(table);
}

function render(rows: Row[], reps: number): string {
  const f = (n: number, d = 2) => (Number.isFinite(n) ? n.toFixed(d) : '-');
  const perUnit = (r: Row) => (r.unit === 'M ops' ? r.work / 1e6 : r.work);
  const out: string[] = [];
  out.push('## Probe');
  out.push('');
  out.push(
    `Generated by \`bench/probe.ts\` on ${new Date().toISOString().slice(0, 10)}: ${cpus().length} cores, load average ` +
      `${loadavg()[0].toFixed(1)} at the end (the machine is shared with other engineers' builds and tests, so treat ` +
      `single-digit percentages as noise-level). Throughput = work per CPU-second of the target (wall-second beside it), ` +
      `median of ${reps} alternating runs for the fast modes; heaptrack and massif once, on less work. Ratio = ` +
      'throughput / throughput of the baseline on the same workload in the same run (1.00 = no cost).' +
      (rows.some((r) => Number.isFinite(r.instructions))
        ? ' The instruction ratio (user-space instructions per unit of work, `perf stat`, baseline over mode) does not ' +
          'depend on the machine\'s load: judge the probe by it; CPU and wall ratios also carry the noise.'
        : ' No hardware counters on this machine (perf reports instructions as not supported), so only times are shown.') +
      ' "Probe\'s share of CPU samples" (one `perf record` run, cpu-clock): samples in liballoclab-probe.so plus the ' +
      'malloc_usable_size / nallocx calls it makes, over all samples of the target: the cost of the probe measured ' +
      'inside one run, so it does not swing with the load as the time ratios do. It overstates the cost somewhat: on ' +
      'free the probe is the first to read the block\'s header, so the cache miss that free() would take lands in the probe. ' +
      'Of it, "statistics thread": every sample of the probe\'s own thread (named alloclab-probe), kernel time included: ' +
      'what the allocator figures and the memory map (/proc/self/smaps, 4 times a second) cost. "no statistics thread" ' +
      '(ALLOCLAB_PROBE_NO_STATS) counts only. "Baseline noise": (max - min) / median of the baseline\'s throughput over ' +
      'its repetitions: a ratio closer to 1 than that is within the noise.',
  );
  out.push('');
  const ins = rows.some((r) => Number.isFinite(r.instructions));
  out.push(`| workload | mode | work | CPU s | wall s | throughput / CPU-s | ratio vs baseline (CPU) | baseline noise | ratio (wall) | probe's share of CPU samples | of which statistics thread |${ins ? ' instructions / unit | ratio (instructions) |' : ''}`);
  out.push(`|---|---|---|---|---|---|---|---|---|---|---|${ins ? '---|---|' : ''}`);
  for (const r of rows) {
    const base = r.baseline ? rows.find((b) => b.workload === r.workload && b.mode === r.baseline) : undefined;
    const tput = perUnit(r) / r.cpuS;
    const wallT = perUnit(r) / r.wallS;
    const ratio = base ? tput / (perUnit(base) / base.cpuS) : NaN;
    const wallRatio = base ? wallT / (perUnit(base) / base.wallS) : NaN;
    // Instructions per unit of work, and the baseline's per-unit figure over ours (a throughput-like ratio).
    const ipu = r.instructions / perUnit(r);
    const insRatio = base ? base.instructions / perUnit(base) / ipu : NaN;
    out.push(
      `| ${r.workload} | ${r.mode}${base ? ` (vs ${base.mode})` : ' (baseline)'} | ${f(perUnit(r), r.unit === 'M ops' ? 1 : 0)} ${r.unit} | ${f(r.cpuS)} | ${f(r.wallS)} | ${f(tput, 1)} | ${base ? f(ratio, 3) : '1'} | ${base && Number.isFinite(base.noise ?? NaN) ? `±${f((base.noise ?? NaN) * 50, 1)} %` : '-'} | ${base ? f(wallRatio, 3) : '1'} | ${typeof r.probeShare === 'number' ? `${f(r.probeShare * 100, 1)} %` : '-'} | ${typeof r.statsShare === 'number' ? `${f(r.statsShare * 100, 2)} %` : '-'} |${ins ? ` ${f(ipu / 1e6, 2)} M | ${base ? f(insRatio, 3) : '1'} |` : ''}`,
    );
  }
  return out.join('\n');
}

function writeResults(section: string): void {
  const file = path.join(packageRoot(), 'bench', 'RESULTS.md');
  const old = existsSync(file) ? readFileSync(file, 'utf8') : '# Benchmark results\n';
  // Replace only this benchmark's section; other benchmarks own theirs.
  const re = /^## Probe\n[\s\S]*?(?=^## |(?![\s\S]))/m;
  const next = re.test(old) ? old.replace(re, section + '\n') : old.replace(/\n*$/, '\n\n') + section + '\n';
  writeFileSync(file, next);
  console.log(`wrote ${file}`);
}

main();
