// What the sampler's main-thread side and its worker thread say to each other.
import type { Sample } from '../model';

/** How the worker waits for the next deadline. */
export type SleepMode = 'atomics' | 'timer';

/**
 * Scheduling of the sampling thread: 'realtime' is SCHED_FIFO (readings on time even on a saturated machine),
 * 'raised' is nice -10, 'normal' leaves it as it is. Each falls back to the next where not permitted.
 */
export type SamplerPriority = 'realtime' | 'raised' | 'normal';

/** Index of the stop flag in the shared control array (0 = run, 1 = stop). */
export const STOP = 0;

export interface WorkerInit {
  pid: number;
  startNs: bigint;
  intervalMs: number;
  cpuEveryMs: number;
  statusEveryMs: number;
  pssEveryMs: number;
  rescanEveryMs: number;
  includeChildren: boolean;
  samplesFile: string | null;
  /** The preload probe's shared-memory file: live heap and allocator-held bytes at every reading. */
  probePath: string | null;
  batchMs: number;
  sleep: SleepMode;
  priority: SamplerPriority;
  /** Int32Array over it: [STOP]. The main thread sets it and notifies, which also wakes a sleeping worker at once. */
  control: SharedArrayBuffer;
}

/** How well the worker kept its schedule, and what it cost. */
export interface SamplerTiming {
  /** Readings taken on schedule (equals the summary's count unless the target ended mid-reading). */
  ticks: number;
  /** Deadlines passed over because a reading (or the machine) ran late. */
  skippedTicks: number;
  /** Actual reading time minus its deadline, milliseconds. */
  lateP50Ms: number;
  lateP99Ms: number;
  lateMaxMs: number;
  /** CPU time of the worker thread while sampling (from /proc/thread-self/schedstat), milliseconds. */
  workerCpuMs: number | null;
  /** smaps_rollup reads and the milliseconds they took (they grow with the target's size). */
  pssReads: number;
  pssMs: number;
  /** The scheduling the sampling thread got (realtime and raised need root or CAP_SYS_NICE). */
  priority: SamplerPriority;
  /** True when realtime scheduling was given up because readings took over a quarter of the time. */
  priorityDemoted: boolean;
}

export interface SamplerSummary {
  count: number;
  reason: 'stopped' | 'exited' | 'error';
  error?: string;
  timing?: SamplerTiming;
}

export type FromWorker = { type: 'batch'; samples: Sample[] } | { type: 'done'; summary: SamplerSummary };
