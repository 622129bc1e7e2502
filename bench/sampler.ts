// What sampling RSS costs and how precisely it keeps time: the project's sampler (Atomics.wait or timer sleeps,
// with and without the lower-rate status/PSS reads) next to polling `ps -o rss` and the pidusage package, all in
// one run against a target of about 800 MB, while a busy loop runs in another thread of this process.
//
//   node scripts/bench.mjs sampler [--seconds 3] [--write]     (--write puts the table into bench/RESULTS.md)
//
// CPU is counted for every thread of this process except the load thread (so thread pools and the main thread
// receiving batches count too), plus the CPU of reaped children (ps), minus a baseline measured the same way
// with no sampler running. Jitter is a reading's start minus its deadline on the method's own grid.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync, mkdtempSync } from 'node:fs';
import { cpus, loadavg, release, tmpdir } from 'node:os';
import * as path from 'node:path';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import pidusage from 'pidusage';
import { startSampler, type SamplerOptions } from '../src/core/sampler';
import { TreeSampler } from '../src/core/sampler/treeSampler';
import { packageRoot } from '../src/core/workers';

const MiB = 1024 * 1024;
const TARGET_BYTES = 800 * MiB;

type Poller = 'ps -o rss' | 'pidusage' | 'wake-ups alone (no reading)';
type Method = 'none' | 'sampler' | 'sampler, nice -10' | 'sampler, normal priority' | 'sampler (timer sleeps)' | 'sampler+status+pss' | Poller;
const METHODS: Method[] = ['none', 'wake-ups alone (no reading)', 'sampler', 'sampler, nice -10', 'sampler, normal priority', 'sampler (timer sleeps)', 'sampler+status+pss', 'ps -o rss', 'pidusage'];
const isPoller = (m: Method): m is Poller => m === 'ps -o rss' || m === 'pidusage' || m.startsWith('wake-ups');

type WorkerJob =
  | { role: 'load'; control: SharedArrayBuffer }
  | { role: 'poll'; method: Poller; pid: number; intervalMs: number; startNs: bigint; control: SharedArrayBuffer };
/** `t`: reading times (ms since startNs); `late`: each reading's start minus its deadline (ms). */
type FromBenchWorker = { type: 'tid'; tid: number } | { type: 'times'; t: number[]; late: number[] } | { type: 'end' };

function ownTid(): number {
  return Number(readlinkSync('/proc/thread-self').split('/').pop());
}

// ---------------------------------------------------------------- worker side: the load, and the other pollers

function runLoad(control: Int32Array): void {
  parentPort!.postMessage({ type: 'tid', tid: ownTid() } satisfies FromBenchWorker);
  let x = 0;
  let keep: number[] = [];
  while (Atomics.load(control, 0) === 0) {
    for (let i = 0; i < 100_000; i++) x += Math.sqrt(i);
    keep = new Array(256).fill(x); // some garbage, so the collector has work too
  }
  parentPort!.postMessage({ type: 'end', keep: keep.length });
}

async function runPoll(job: Extract<WorkerJob, { role: 'poll' }>, control: Int32Array): Promise<void> {
  parentPort!.postMessage({ type: 'tid', tid: ownTid() } satisfies FromBenchWorker);
  const intervalNs = BigInt(Math.round(job.intervalMs * 1e6));
  const origin = process.hrtime.bigint();
  const times: number[] = [];
  const late: number[] = [];
  for (let k = 0n; Atomics.load(control, 0) === 0; ) {
    const deadline = origin + k * intervalNs;
    let now = process.hrtime.bigint();
    if (job.method !== 'pidusage') {
      // Synchronous like the project's sampler, so it gets the same precise sleep.
      if (now < deadline) Atomics.wait(control, 0, 0, Number(deadline - now) / 1e6);
    } else {
      // pidusage is asynchronous: it needs the event loop, hence timers.
      if (now < deadline) await new Promise((r) => setTimeout(r, Number(deadline - now) / 1e6));
    }
    if (Atomics.load(control, 0) !== 0) break;
    now = process.hrtime.bigint();
    if (now < deadline) continue;
    times.push(Number(now - job.startNs) / 1e6);
    late.push(Number(now - deadline) / 1e6);
    if (job.method === 'wake-ups alone (no reading)') {
      // The floor: what sleeping to a deadline and waking costs on this machine, without reading anything.
    } else if (job.method === 'ps -o rss') {
      const rss = Number(execFileSync('ps', ['-o', 'rss=', '-p', String(job.pid)], { encoding: 'utf8' }).trim());
      if (!(rss > 0)) throw new Error('ps gave no RSS');
    } else {
      const stat = await pidusage(job.pid);
      if (!(stat.memory > 0)) throw new Error('pidusage gave no memory');
    }
    if (times.length >= 100) parentPort!.postMessage({ type: 'times', t: times.splice(0), late: late.splice(0) } satisfies FromBenchWorker);
    const after = process.hrtime.bigint();
    k = k + 1n;
    // Same rule as the sampler: catch up less than half an interval, skip the rest.
    const current = (after - origin - intervalNs / 2n) / intervalNs + 1n;
    if (current > k) k = current;
  }
  if (job.method === 'pidusage') pidusage.clear();
  parentPort!.postMessage({ type: 'times', t: times, late } satisfies FromBenchWorker);
  parentPort!.postMessage({ type: 'end' } satisfies FromBenchWorker);
}

// ---------------------------------------------------------------- main side

/** CPU nanoseconds of every thread of this process, by thread id. */
function threadCpu(): Map<number, number> {
  const out = new Map<number, number>();
  for (const tid of readdirSync('/proc/self/task')) {
    try {
      out.set(Number(tid), Number(readFileSync(`/proc/self/task/${tid}/schedstat`, 'latin1').split(' ')[0]));
    } catch {
      // thread ended meanwhile
    }
  }
  return out;
}

let ticksPerSecond = 100;

/** CPU milliseconds of reaped children (cutime + cstime). */
function childrenCpuMs(): number {
  const f = readFileSync('/proc/self/stat', 'latin1');
  const rest = f.slice(f.lastIndexOf(')') + 2).split(' ');
  return ((Number(rest[13]) + Number(rest[14])) * 1000) / ticksPerSecond;
}

interface CpuMark {
  threads: Map<number, number>;
  childrenMs: number;
}
function cpuMark(): CpuMark {
  return { threads: threadCpu(), childrenMs: childrenCpuMs() };
}
function cpuSpentMs(a: CpuMark, b: CpuMark, exclude: number): number {
  let ns = 0;
  for (const [tid, v] of b.threads) if (tid !== exclude) ns += v - (a.threads.get(tid) ?? 0);
  return ns / 1e6 + (b.childrenMs - a.childrenMs);
}

function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}

interface Row {
  method: Method;
  intervalMs: number;
  samples: number;
  expected: number;
  windowMs: number;
  cpuMs: number;
  jitterP50: number;
  jitterP99: number;
  jitterMax: number;
}

function startWorker(job: WorkerJob): { worker: Worker; tid: Promise<number>; times: number[]; late: number[]; ended: Promise<void> } {
  const worker = new Worker(__filename, { workerData: job });
  const times: number[] = [];
  const late: number[] = [];
  let gotTid!: (tid: number) => void;
  const tid = new Promise<number>((r) => (gotTid = r));
  const ended = new Promise<void>((resolve, reject) => {
    worker.on('message', (m: FromBenchWorker) => {
      if (m.type === 'tid') gotTid(m.tid);
      else if (m.type === 'times') {
        times.push(...m.t);
        late.push(...m.late);
      }
      else resolve();
    });
    worker.on('error', reject);
  });
  return { worker, tid, times, late, ended };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function measure(method: Method, intervalMs: number, pid: number, seconds: number, loadTid: number, samplesFile: string): Promise<Row> {
  const warmupMs = 500;
  const startNs = process.hrtime.bigint();
  const nowMs = () => Number(process.hrtime.bigint() - startNs) / 1e6;
  const times: number[] = [];
  // Lateness of every reading of the run (warm-up included: the sampler measures it itself, exactly).
  let lateness: { p50: number; p99: number; max: number } = { p50: NaN, p99: NaN, max: NaN };
  let stopIt: () => Promise<void>;
  if (method === 'none') {
    stopIt = async () => {};
  } else if (!isPoller(method)) {
    const opts: SamplerOptions = { pid, startNs, intervalMs, samplesFile, statusEveryMs: Infinity, pssEveryMs: Infinity };
    if (method === 'sampler+status+pss') Object.assign(opts, { statusEveryMs: 250, pssEveryMs: 1000 });
    if (method === 'sampler (timer sleeps)') opts.sleep = 'timer';
    if (method === 'sampler, normal priority') opts.priority = 'normal';
    if (method === 'sampler, nice -10') opts.priority = 'raised';
    const sampler = startSampler(opts);
    sampler.onBatch((b) => times.push(...b.map((s) => s.t)));
    stopIt = async () => {
      const summary = await sampler.stop();
      if (summary.reason !== 'stopped') throw new Error(`sampler ended: ${summary.reason} ${summary.error ?? ''}`);
      const t = summary.timing!;
      lateness = { p50: t.lateP50Ms, p99: t.lateP99Ms, max: t.lateMaxMs };
    };
  } else {
    const control = new Int32Array(new SharedArrayBuffer(4));
    const w = startWorker({ role: 'poll', method, pid, intervalMs, startNs, control: control.buffer as SharedArrayBuffer });
    await w.tid;
    stopIt = async () => {
      Atomics.store(control, 0, 1);
      Atomics.notify(control, 0);
      await w.ended;
      times.push(...w.times);
      await w.worker.terminate();
      const sorted = [...w.late].sort((x, y) => x - y);
      lateness = { p50: quantile(sorted, 0.5), p99: quantile(sorted, 0.99), max: sorted[sorted.length - 1] };
    };
  }
  await sleep(warmupMs);
  const from = nowMs();
  const a = cpuMark();
  await sleep(seconds * 1000);
  const b = cpuMark();
  const to = nowMs();
  await stopIt();
  return {
    method,
    intervalMs,
    samples: times.filter((t) => t >= from && t < to).length,
    expected: method === 'none' ? 0 : Math.round((to - from) / intervalMs),
    windowMs: to - from,
    cpuMs: cpuSpentMs(a, b, loadTid),
    jitterP50: lateness.p50,
    jitterP99: lateness.p99,
    jitterMax: lateness.max,
  };
}

/** CPU microseconds of one reading with warm caches (a tight loop, no sleeps): the floor under every row. */
function hotReadingUs(pid: number, cpuEveryMs: number): number {
  const tree = new TreeSampler({ pid, includeChildren: false, cpuEveryMs, statusEveryMs: Infinity, pssEveryMs: Infinity, rescanEveryMs: Infinity });
  const n = 20_000;
  for (let i = 0; i < 2000; i++) tree.read(i, i);
  const before = Number(readFileSync('/proc/thread-self/schedstat', 'latin1').split(' ')[0]);
  for (let i = 0; i < n; i++) tree.read(i, i);
  const after = Number(readFileSync('/proc/thread-self/schedstat', 'latin1').split(' ')[0]);
  tree.close();
  return (after - before) / n / 1000;
}

function table(rows: Row[], seconds: number): string {
  const out: string[] = [];
  out.push('| method | interval | samples / expected | CPU ms (net) | CPU ms per 1,000 samples | % of one core at 100 Hz | % of one core at this interval | CPU vs ps | jitter p50 | jitter p99 | jitter max |');
  out.push('|---|---|---|---|---|---|---|---|---|---|---|');
  const f = (n: number, d = 2) => (Number.isFinite(n) ? n.toFixed(d) : '-');
  for (const interval of [...new Set(rows.map((r) => r.intervalMs))]) {
    const group = rows.filter((r) => r.intervalMs === interval);
    const base = group.find((r) => r.method === 'none')!;
    const per1000 = (r: Row) => (r.samples ? ((r.cpuMs - base.cpuMs) / r.samples) * 1000 : NaN);
    const ps = group.find((r) => r.method === 'ps -o rss');
    for (const r of group) {
      const net = r.cpuMs - base.cpuMs;
      if (r.method === 'none') {
        out.push(`| none (baseline: load thread excluded, ${f(r.cpuMs, 1)} ms in ${seconds} s) | ${interval} ms | - | 0 | - | - | - | - | - | - | - |`);
        continue;
      }
      const ratio = ps && per1000(ps) > 0 ? per1000(r) / per1000(ps) : NaN;
      out.push(
        `| ${r.method} | ${interval} ms | ${r.samples} / ${r.expected} | ${f(net, 1)} | ${f(per1000(r), 1)} | ${f(per1000(r) / 100, 3)} % | ${f((net / r.windowMs) * 100, 3)} % | ${f(ratio, 3)}x | ${f(r.jitterP50, 3)} ms | ${f(r.jitterP99, 3)} ms | ${f(r.jitterMax, 3)} ms |`,
      );
    }
  }
  return out.join('\n');
}

function writeResults(section: string): void {
  const file = path.join(packageRoot(), 'bench', 'RESULTS.md');
  const old = existsSync(file) ? readFileSync(file, 'utf8') : '# Benchmark results\n';
  // Replace only this benchmark's section; other benchmarks own theirs.
  const re = /^## Sampler\n[\s\S]*?(?=^## |(?![\s\S]))/m;
  const next = re.test(old) ? old.replace(re, section + '\n') : old.replace(/\n*$/, '\n\n') + section + '\n';
  writeFileSync(file, next);
  console.log(`wrote ${file}`);
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const seconds = Number(args[args.indexOf('--seconds') + 1]) || 3;
  const root = packageRoot();
  ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' })) || 100;
  execFileSync('make', ['-s', '-C', path.join(root, 'native', 'samplertest')], { stdio: 'inherit' });
  const target = spawn(path.join(root, 'native', 'build', 'samplertest'), ['hold', String(TARGET_BYTES)], {
    stdio: ['pipe', 'pipe', 'inherit'],
    detached: true,
  });
  const killTarget = () => {
    try {
      process.kill(-target.pid!, 'SIGKILL');
    } catch {
      // gone
    }
  };
  process.on('exit', killTarget);
  const loadControl = new Int32Array(new SharedArrayBuffer(4));
  const load = startWorker({ role: 'load', control: loadControl.buffer as SharedArrayBuffer });
  const dir = mkdtempSync(path.join(tmpdir(), 'alloclab-bench-'));
  try {
    await new Promise<void>((resolve, reject) => {
      target.stdout.once('data', () => resolve());
      target.once('exit', () => reject(new Error('the target ended before touching its memory')));
    });
    const rss = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${target.pid}/status`, 'utf8'))![1]) * 1024;
    const loadTid = await load.tid;
    const hotRss = hotReadingUs(target.pid!, Infinity);
    const hotStat = hotReadingUs(target.pid!, 0);
    const loadBefore = loadavg()[0];
    const rows: Row[] = [];
    for (const interval of [10, 50]) {
      for (const method of METHODS) {
        const row = await measure(method, interval, target.pid!, seconds, loadTid, path.join(dir, 'samples.ndjson'));
        rows.push(row);
        process.stderr.write(`  ${method} @ ${interval} ms: ${row.samples} samples, ${row.cpuMs.toFixed(1)} ms CPU\n`);
      }
    }
    const when = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    const section = [
      '## Sampler',
      '',
      `${when}; ${cpus().length} cores (shared with other work: load average ${loadBefore.toFixed(1)} before, ${loadavg()[0].toFixed(1)} after), ` +
        `Linux ${release()}, Node ${process.version}. Target: native/samplertest holding ${(rss / MiB).toFixed(0)} MiB RSS; ` +
        `a busy loop runs in another thread of the sampling process throughout. ${seconds} s per row after 0.5 s warm-up. ` +
        'CPU: all threads of the sampling process except the load thread, plus reaped children (ps), minus the baseline row. ' +
        'Jitter: start of a reading minus its deadline, over the whole row (warm-up included). ' +
        'The sampler rows write a samples file as in a real run; "sampler" is the default (RSS every tick, CPU/threads ' +
        'every 100 ms, sampling thread SCHED_FIFO, Atomics.wait sleeps); "+status+pss" adds the status breakdown ' +
        'every 250 ms and smaps_rollup PSS every 1 s (the defaults of startSampler). "wake-ups alone" is a thread ' +
        'that sleeps to the same deadlines and reads nothing: what 100 wake-ups a second cost on this machine. ' +
        `With warm caches (a tight loop, no sleeps) one reading costs ${hotRss.toFixed(1)} µs (RSS) or ` +
        `${hotStat.toFixed(1)} µs (RSS + CPU/threads from stat): the rest of each row's cost is waking up cold.`,
      '',
      table(rows, seconds),
      '',
    ].join('\n');
    console.log(section);
    if (args.includes('--write')) writeResults(section);
  } finally {
    Atomics.store(loadControl, 0, 1);
    await load.ended;
    await load.worker.terminate();
    killTarget();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (isMainThread) {
  main().catch((e) => {
    console.error(e);
    process.exitCode = 1;
  });
} else {
  const job = workerData as WorkerJob;
  const control = new Int32Array(job.control);
  if (job.role === 'load') runLoad(control);
  else void runPoll(job, control);
}
