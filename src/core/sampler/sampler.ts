// The RSS sampler as the rest of the engine sees it: startSampler runs the loop in a worker thread and hands
// batches of samples back; sampleOnce and processTree read synchronously on the calling thread.
import { Worker } from 'node:worker_threads';
import { AlloclabError } from '../errors';
import type { Sample } from '../model';
import { workerPath } from '../workers';
import { ProcessTreeScanner } from '../os/proc';
import { STOP, type FromWorker, type SamplerPriority, type SamplerSummary, type SleepMode, type WorkerInit } from './protocol';
import { TreeSampler } from './treeSampler';

export type { SamplerPriority, SamplerSummary, SamplerTiming, SleepMode } from './protocol';

export interface SamplerOptions {
  pid: number;
  /** process.hrtime.bigint() at the environment's start: a sample's t is milliseconds since then. */
  startNs: bigint;
  /** Default 50; 10 is sustained. */
  intervalMs?: number;
  /** CPU time and thread count (/proc/PID/stat): default 100 (the kernel counts CPU in 10 ms ticks anyway). */
  cpuEveryMs?: number;
  /** /proc/PID/status breakdown (RssAnon/RssFile/RssShmem): default 250. */
  statusEveryMs?: number;
  /** /proc/PID/smaps_rollup PSS: default 1000 (costs milliseconds on large processes); Infinity turns it off. */
  pssEveryMs?: number;
  /** Default true: sum the process tree. */
  includeChildren?: boolean;
  /** How often the tree is searched for new children: default 500. */
  rescanEveryMs?: number;
  /** Append one JSON Sample per line, at least every second (a crash loses at most the last second). */
  samplesFile: string | null;
  /** The preload probe's shared-memory file (src/core/ledger): adds liveHeapBytes / allocatorHeldBytes to samples. */
  probePath?: string | null;
  /** How often batches reach the main thread: default 200. */
  batchMs?: number;
  /** How the worker sleeps between readings: default 'atomics' (lower jitter; 'timer' exists for comparison). */
  sleep?: SleepMode;
  /**
   * Scheduling of the sampling thread: default 'realtime' (SCHED_FIFO where permitted, else nice -10, else as is).
   * On a machine saturated by the load, normal scheduling delays readings by tens of milliseconds; the thread
   * sleeps between readings, and gives realtime up by itself if readings ever take over a quarter of its time.
   */
  priority?: SamplerPriority;
}

export interface RssSampler {
  onBatch(cb: (samples: Sample[]) => void): void;
  /** Resolves when sampling ended: stop() called, or the process disappeared (then `reason: 'exited'`). */
  readonly done: Promise<SamplerSummary>;
  /** Ends sampling; resolves after the last batch was delivered and the samples file closed. */
  stop(): Promise<SamplerSummary>;
}

function positive(name: string, value: number, min: number): number {
  if (!(value >= min)) {
    throw new AlloclabError(`Sampler ${name} must be a number of milliseconds >= ${min} (got ${value}); use e.g. 50ms.`, 'input');
  }
  return value;
}

/** Starts sampling `pid` (and by default its descendants) in a worker thread. */
export function startSampler(opts: SamplerOptions): RssSampler {
  if (!Number.isInteger(opts.pid) || opts.pid <= 0) throw new AlloclabError(`Cannot sample pid ${opts.pid}: not a process id.`, 'input');
  const control = new SharedArrayBuffer(4);
  const init: WorkerInit = {
    pid: opts.pid,
    startNs: opts.startNs,
    intervalMs: positive('interval', opts.intervalMs ?? 50, 1),
    cpuEveryMs: positive('CPU interval', opts.cpuEveryMs ?? 100, 0),
    statusEveryMs: positive('status interval', opts.statusEveryMs ?? 250, 0),
    pssEveryMs: positive('PSS interval', opts.pssEveryMs ?? 1000, 0),
    rescanEveryMs: positive('children rescan interval', opts.rescanEveryMs ?? 500, 0),
    includeChildren: opts.includeChildren ?? true,
    samplesFile: opts.samplesFile,
    probePath: opts.probePath ?? null,
    batchMs: positive('batch interval', opts.batchMs ?? 200, 0),
    sleep: opts.sleep ?? 'atomics',
    priority: opts.priority ?? 'realtime',
    control,
  };
  const flags = new Int32Array(control);
  const listeners: ((samples: Sample[]) => void)[] = [];
  const worker = new Worker(workerPath('sampler'), { workerData: init });

  let settle!: (s: SamplerSummary) => void;
  let settled = false;
  const done = new Promise<SamplerSummary>((resolve) => {
    settle = (s) => {
      if (settled) return;
      settled = true;
      resolve(s);
      // The summary is the worker's last message; nothing is lost by ending it now.
      void worker.terminate();
    };
  });
  let count = 0;
  worker.on('message', (m: FromWorker) => {
    if (m.type === 'batch') {
      count += m.samples.length;
      for (const cb of listeners) cb(m.samples);
    } else settle(m.summary);
  });
  worker.on('error', (e) => settle({ count, reason: 'error', error: `The sampler failed: ${e.message}` }));
  worker.on('exit', (code) => settle({ count, reason: 'error', error: `The sampler thread ended unexpectedly (exit code ${code}).` }));

  return {
    onBatch(cb) {
      listeners.push(cb);
    },
    done,
    stop() {
      Atomics.store(flags, STOP, 1);
      Atomics.notify(flags, STOP);
      return done;
    },
  };
}

/**
 * One synchronous full reading (RSS, CPU, status breakdown, PSS) of `pid` and, by default, its descendants; t = 0.
 * Costs milliseconds on a large target (smaps_rollup, and a scan of /proc for children): not for a hot loop.
 */
export function sampleOnce(pid: number, includeChildren = true): Sample | null {
  const tree = new TreeSampler({ pid, includeChildren, cpuEveryMs: 0, statusEveryMs: 0, pssEveryMs: 0, rescanEveryMs: 0 });
  try {
    return tree.read(0, 0);
  } finally {
    tree.close();
  }
}

/** `pid` followed by its descendants, breadth first; empty when `pid` does not exist. */
export function processTree(pid: number): number[] {
  return new ProcessTreeScanner().tree(pid);
}
