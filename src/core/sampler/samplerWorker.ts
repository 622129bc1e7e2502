// The sampling loop, in a worker thread of its own so a busy event loop elsewhere (a load driver, the UI)
// cannot delay readings. Deadlines are absolute (origin + k * interval) so drift never accumulates, and the
// default sleep is Atomics.wait on the shared control word: it wakes within tens of microseconds of the
// deadline, where timers round to whole milliseconds, and the main thread's stop() wakes it at once. Where
// permitted the thread runs SCHED_FIFO: on a machine saturated by the load, normal scheduling alone delayed
// readings by tens of milliseconds at p99 (bench/RESULTS.md).
import { execFileSync } from 'node:child_process';
import { closeSync, openSync, writeSync } from 'node:fs';
import { setPriority } from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';
import { LEDGER_PARTS, ledger, readProbe } from '../ledger';
import type { Sample } from '../model';
import { LatenessHistogram } from './lateness';
import { STOP, type FromWorker, type SamplerPriority, type SamplerSummary, type WorkerInit } from './protocol';
import { TreeSampler } from './treeSampler';
import { ownThreadId, threadCpuNs } from '../os/proc';

const init = workerData as WorkerInit;
const control = new Int32Array(init.control);
const port = parentPort!;

const ownTid = ownThreadId;

function tryRun(file: string, args: string[]): boolean {
  try {
    execFileSync(file, args, { stdio: 'ignore', timeout: 5000 });
    return true;
  } catch {
    return false;
  }
}

/** Nice -10 for this thread only (setpriority takes a thread id on Linux). */
function raise(tid: number): boolean {
  try {
    setPriority(tid, -10);
    return true;
  } catch {
    return false;
  }
}

/** Applies the wanted scheduling to this thread, falling back where not permitted; returns what it got. */
function applyPriority(wanted: SamplerPriority): SamplerPriority {
  const tid = ownTid();
  // Node has no sched_setscheduler; chrt (util-linux) sets it for one thread id. Reset-on-fork keeps anything
  // ever spawned from this thread from inheriting realtime scheduling.
  if (wanted === 'realtime' && tryRun('chrt', ['--reset-on-fork', '--fifo', '--pid', '10', String(tid)])) return 'realtime';
  if (wanted !== 'normal' && raise(tid)) return 'raised';
  return 'normal';
}

/** Back from SCHED_FIFO to normal scheduling at nice -10 (or as is). */
function demote(): SamplerPriority {
  const tid = ownTid();
  tryRun('chrt', ['--other', '--pid', '0', String(tid)]);
  return raise(tid) ? 'raised' : 'normal';
}

function post(message: FromWorker): void {
  port.postMessage(message);
}

/** Holds samples until they are due to reach the main thread and the samples file. */
class SampleSink {
  private fd: number | null = null;
  private toPost: Sample[] = [];
  private toWrite: Sample[] = [];
  private lastPostMs: number;
  private lastWriteMs: number;
  private readonly writeEveryMs: number;
  /** Set when the samples file cannot be written: sampling must end. */
  error: string | null = null;

  constructor(private readonly file: string | null, private readonly postEveryMs: number, now: number) {
    this.lastPostMs = this.lastWriteMs = now;
    // Crash safety: whatever the batch size, the file never lags more than a second behind.
    this.writeEveryMs = Math.min(postEveryMs, 1000);
    if (file !== null) {
      try {
        this.fd = openSync(file, 'a');
      } catch (e) {
        this.fail(e);
      }
    }
  }

  add(sample: Sample, now: number): void {
    this.toPost.push(sample);
    if (this.fd !== null) this.toWrite.push(sample);
    if (now - this.lastPostMs >= this.postEveryMs) this.post(now);
    if (this.fd !== null && now - this.lastWriteMs >= this.writeEveryMs) this.write(now);
  }

  /** Writes and posts everything held, then closes the file. */
  finish(now: number): void {
    if (this.fd !== null) {
      this.write(now);
      try {
        if (this.fd !== null) closeSync(this.fd);
      } catch (e) {
        this.fail(e);
      }
      this.fd = null;
    }
    this.post(now);
  }

  private post(now: number): void {
    this.lastPostMs = now;
    if (this.toPost.length === 0) return;
    post({ type: 'batch', samples: this.toPost });
    this.toPost = [];
  }

  private write(now: number): void {
    this.lastWriteMs = now;
    if (this.toWrite.length === 0 || this.fd === null) return;
    let text = '';
    for (const s of this.toWrite) text += JSON.stringify(s) + '\n';
    this.toWrite = [];
    const bytes = Buffer.from(text);
    try {
      for (let off = 0; off < bytes.length; ) off += writeSync(this.fd, bytes, off);
    } catch (e) {
      this.fail(e);
    }
  }

  private fail(e: unknown): void {
    const err = e as NodeJS.ErrnoException;
    const why = err.code === 'ENOSPC' ? 'the disk is full' : err.code === 'EACCES' || err.code === 'EPERM' ? 'permission denied' : err.message;
    this.error =
      `Cannot write samples to ${this.file}: ${why}. Sampling stopped; ` +
      'free disk space or choose a writable folder for runs, then run again.';
    if (this.fd !== null) {
      try {
        closeSync(this.fd);
      } catch {
        // the error above is the one that matters
      }
      this.fd = null;
      this.toWrite = [];
    }
  }
}

function stopRequested(): boolean {
  return Atomics.load(control, STOP) !== 0;
}

/** Sleeps until `deadline`; false when stop was requested meanwhile. */
// Times in the loop are performance.now() milliseconds (the same monotonic clock as hrtime, as a plain number:
// no BigInt allocated per reading).

function sleepAtomics(deadline: number): boolean {
  for (;;) {
    if (stopRequested()) return false;
    const now = performance.now();
    if (now >= deadline) return true;
    Atomics.wait(control, STOP, 0, deadline - now);
  }
}

async function sleepTimer(deadline: number): Promise<boolean> {
  for (;;) {
    if (stopRequested()) return false;
    const now = performance.now();
    if (now >= deadline) return true;
    await new Promise((resolve) => setTimeout(resolve, deadline - now));
  }
}

// The probe's counters are one pread of a 4.6 KB file: cheap enough for every reading. The allocator's own
// figures in it are refreshed by the probe every ~250 ms; the ledger uses the status breakdown when this
// reading has it, else RSS minus the last file-backed figure seen.
let lastFileBytes: number | undefined;
let lastShmemBytes: number | undefined;
let lastPublication = -1;
function addLedger(sample: Sample, probePath: string): void {
  const probe = readProbe(probePath);
  if (!probe) return;
  if (sample.fileBytes != null) {
    lastFileBytes = sample.fileBytes;
    lastShmemBytes = sample.shmemBytes;
  }
  const l = ledger({ ...sample, fileBytes: sample.fileBytes ?? lastFileBytes, shmemBytes: sample.shmemBytes ?? lastShmemBytes }, probe);
  for (const part of LEDGER_PARTS) sample[part] = l[part];
  if (l.figuresAgeMs !== null) sample.allocatorFiguresAgeMs = Math.round(l.figuresAgeMs);
  const stats = probe.stats;
  if (stats && stats.publications !== lastPublication && probe.allocator !== 'unknown') {
    lastPublication = stats.publications;
    const figures = stats[probe.allocator];
    if (figures) sample.allocatorStats = { allocator: probe.allocator, figures: { ...figures }, ageMs: Math.round(stats.ageMs) };
  }
}

async function run(): Promise<SamplerSummary> {
  let priority = applyPriority(init.priority);
  let priorityDemoted = false;
  const tree = new TreeSampler({
    pid: init.pid,
    includeChildren: init.includeChildren,
    cpuEveryMs: init.cpuEveryMs,
    statusEveryMs: init.statusEveryMs,
    pssEveryMs: init.pssEveryMs,
    rescanEveryMs: init.rescanEveryMs,
  });
  const late = new LatenessHistogram();
  const cpuStart = threadCpuNs();
  const interval = init.intervalMs;
  const origin = performance.now();
  // Sample times count from the caller's startNs (hrtime, main thread); performance.now() is per thread.
  const tOffset = Number(process.hrtime.bigint() - init.startNs) / 1e6 - performance.now();
  const sink = new SampleSink(init.samplesFile, init.batchMs, origin);
  let count = 0;
  let skipped = 0;
  // A realtime thread that stopped sleeping would starve the machine: watch the share of time spent reading.
  let windowStart = origin;
  let busy = 0;
  let reason: SamplerSummary['reason'] = 'stopped';
  let error: string | undefined;
  try {
    if (sink.error) throw new Error(sink.error);
    for (let k = 0; ; ) {
      const deadline = origin + k * interval;
      const awake = init.sleep === 'timer' ? await sleepTimer(deadline) : sleepAtomics(deadline);
      if (!awake) break;
      const now = performance.now();
      late.add((now - deadline) * 1e6);
      const sample = tree.read(now + tOffset, now - origin);
      if (!sample) {
        reason = 'exited';
        break;
      }
      if (init.probePath) addLedger(sample, init.probePath);
      count++;
      sink.add(sample, now);
      if (sink.error) throw new Error(sink.error);
      const after = performance.now();
      busy += after - now;
      if (after - windowStart >= 1000) {
        if (priority === 'realtime' && busy * 4 > after - windowStart) {
          priority = demote();
          priorityDemoted = true;
        }
        windowStart = after;
        busy = 0;
      }
      // Catch up on a deadline missed by less than half an interval; skip those further back, never burst.
      const firstCurrent = Math.floor((after - origin - interval / 2) / interval) + 1;
      if (firstCurrent > k + 1) skipped += firstCurrent - (k + 1);
      k = Math.max(k + 1, firstCurrent);
    }
  } catch (e) {
    reason = 'error';
    error = e instanceof Error ? e.message : String(e);
  }
  tree.close();
  sink.finish(performance.now());
  if (sink.error && reason !== 'error') {
    reason = 'error';
    error = sink.error;
  }
  const cpuEnd = threadCpuNs();
  return {
    count,
    reason,
    ...(error !== undefined ? { error } : {}),
    timing: {
      ticks: late.count,
      skippedTicks: skipped,
      lateP50Ms: late.quantileMs(0.5),
      lateP99Ms: late.quantileMs(0.99),
      lateMaxMs: late.maxMs,
      workerCpuMs: cpuStart !== null && cpuEnd !== null ? (cpuEnd - cpuStart) / 1e6 : null,
      pssReads: tree.pssReads,
      pssMs: tree.pssMs,
      priority,
      priorityDemoted,
    },
  };
}

void run().then((summary) => post({ type: 'done', summary }));
