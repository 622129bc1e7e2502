// The data every layer shares: samples, events, run records. The on-disk run format (ARCHITECTURE.md) is
// exactly these shapes serialised as JSON, so changing a field here changes the file format: add, never rename.

export const RUN_SCHEMA_VERSION = 1;

/** One procfs reading of the target (summed over its process tree). Byte figures are named with units. */
export interface Sample {
  /** Milliseconds since the environment's start, monotonic clock. */
  t: number;
  rssBytes: number;
  /** From /proc/PID/status at a lower rate; absent on ticks where it was not read. */
  anonBytes?: number;
  fileBytes?: number;
  shmemBytes?: number;
  /** From smaps_rollup at a lower rate still (the read costs milliseconds on large processes). */
  pssBytes?: number;
  /** Cumulative user+system CPU time of the tree, milliseconds. */
  cpuMs?: number;
  threads?: number;
  /** Processes summed into this sample (the target and its children). */
  processes?: number;
  /**
   * The RSS ledger, with the probe (src/core/ledger/ledger.ts): live blocks in the heap (before the direct mmap
   * split existed, every live block), free memory the allocator holds, and the parts after them in drawing order.
   */
  liveHeapBytes?: number;
  allocatorHeldBytes?: number;
  threadStacksBytes?: number;
  allocatorMetadataBytes?: number;
  /** Large blocks the allocator mmapped directly (glibc): live, outside the heap. */
  directMmapBytes?: number;
  /** MADV_FREE pages (LazyFree): still in RSS, reclaimable by the kernel at any time. */
  lazyFreeBytes?: number;
  probeOverheadBytes?: number;
  /** The anonymous memory no measured part explains. */
  otherAnonBytes?: number;
  /** Age of the allocator figures the ledger of this sample used, ms (over 1 s: not current). */
  allocatorFiguresAgeMs?: number;
  /** The allocator's own figures, on the first sample that saw a new publication of them (a few per second). */
  allocatorStats?: AllocatorStats;
}

/** The allocator's figures and the ledger at one moment of a run: what its habits are judged from (analysis/habits.ts). */
export interface AllocatorSnapshot {
  at: 'load-end' | 'idle-end' | 'last';
  t: number;
  allocator: string;
  figures: Record<string, number>;
  rssBytes: number;
  anonBytes: number | null;
  /** Every live block (heap and direct mmaps). */
  liveBytes: number;
  heldBytes: number | null;
  lazyFreeBytes: number | null;
  /** Most threads seen up to then. */
  threads: number | null;
}

/** One publication of the allocator's own figures, by the probe inside the target. */
export interface AllocatorStats {
  /** The allocator serving malloc: glibc, jemalloc, tcmalloc, mimalloc. */
  allocator: string;
  /** Named figures (bytes unless the name says otherwise), e.g. glibc arenas, jemalloc dirtyBytes. */
  figures: Record<string, number>;
  /** Age of the figures when read, ms. */
  ageMs: number;
}

export type PhaseKind = 'warmup' | 'load' | 'idle';

/** Load statistics of one phase (built-in HTTP driver; external drivers report what they can). */
export interface LoadStats {
  requests: number;
  errors: { status: number; connect: number; timeout: number; other: number };
  durationMs: number;
  throughputRps: number;
  latencyMs?: { p50: number; p90: number; p99: number; max: number };
  /** Answers with a 3xx status (built-in HTTP driver): not followed, so neither successes nor errors. */
  redirects?: number;
  /**
   * False when an external driver's output could not be read: requests, throughput and latency are then unknown
   * (shown as "-"), not zero. Absent in runs written before the field existed (read as true).
   */
  parsed?: boolean;
}

/**
 * Why a phase ended: its duration ran out, its external driver exited (fixed work done), the `requests` bound
 * was reached, what it is there to show was settled (--until-settled), or the run was cancelled. Absent in runs
 * written before the field existed.
 */
export type PhaseEndReason = 'duration' | 'driver-exit' | 'requests' | 'settled' | 'cancelled';

/**
 * What a phase ended `settled` on: its trajectory class, the comparison with an earlier environment (its own class
 * still undecided), or its bound's inability to decide it either (`undecided`).
 */
export type SettledOn = 'class' | 'comparison' | 'undecided';

/** What happened to the target, in time order (events.ndjson). */
export type RunEvent =
  | { t: number; type: 'spawn'; pid: number; command: string; args: string[] }
  | { t: number; type: 'ready'; how: string }
  | { t: number; type: 'verified'; verification: Verification }
  | { t: number; type: 'phase-start'; phase: string; kind: PhaseKind; index: number }
  | { t: number; type: 'phase-end'; phase: string; kind: PhaseKind; index: number; load?: LoadStats; reason?: PhaseEndReason; settledOn?: SettledOn }
  | { t: number; type: 'exit'; code: number | null; signal: string | null; expected: boolean }
  | { t: number; type: 'debug-stop'; reason: string; description?: string; threadId?: number }
  | { t: number; type: 'trim'; pid: number; rssBeforeBytes: number; rssAfterBytes: number; returnedBytes: number; allocator: string }
  | { t: number; type: 'note'; level: 'info' | 'warning' | 'error'; message: string };

/** Did the allocator environment really take effect in the target? */
export interface Verification {
  applied: boolean;
  /** Why it was not applied (missing file, static binary, setuid, binary links its own allocator, ...). */
  notAppliedReason?: string;
  /** Path of the allocator library mapped in the target, or null when it runs on glibc malloc. */
  mappedAllocator: string | null;
  /** Every shared library mapped in the target at verification time. */
  mappedLibraries: string[];
}

export interface ExitInfo {
  code: number | null;
  signal: string | null;
  /** True when we stopped it (end of run, cancel); false when it died on its own (crash, OOM kill, exit). */
  expected: boolean;
}

/** Per-phase metrics (computed by core/analysis from samples and events). */
export interface PhaseMetrics {
  phase: string;
  kind: PhaseKind;
  index: number;
  startMs: number;
  endMs: number;
  startRssBytes: number;
  endRssBytes: number;
  peakRssBytes: number;
  /** Robust (Theil-Sen) growth of RSS over the settled part of the phase, bytes/min. */
  growthBytesPerMin: number | null;
  /** The least-squares slope over the whole phase, as computed before the robust one (kept for comparison). */
  lsGrowthBytesPerMin?: number | null;
  /** RSS trajectory of the phase (class, steady level, slope interval, ramp end). */
  trajectory?: Trajectory | null;
  /** Why the phase ended (from its phase-end event), when the run recorded it. */
  endReason?: PhaseEndReason;
  /** When it ended settled: on what. */
  settledOn?: SettledOn;
  /** For idle phases: ms from the phase start until half of what the idle phase gave back was given back. */
  returnHalfMs?: number | null;
  /** For idle phases: share of the RSS gained since the first load phase that was given back (0..1). */
  returnedFraction?: number | null;
  /** For idle phases: RSS returned after 1 s, 10 s, 60 s of idle (bytes, when the phase lasted that long). */
  returnedBytesAfter?: { '1s'?: number; '10s'?: number; '60s'?: number };
  load?: LoadStats;
}

export interface EnvironmentMetrics {
  samples: number;
  peakRssBytes: number;
  finalRssBytes: number;
  /**
   * Robust slope of RSS over the load phases (or the whole run when there are none), bytes/min: Theil-Sen over
   * the part after the start-up ramp (analysis/trajectory.ts).
   */
  growthBytesPerMin: number | null;
  /** Its 99 % interval, corrected for autocorrelation. */
  growthIntervalBytesPerMin?: [number, number] | null;
  /** The least-squares slope over the same windows (the figure growthBytesPerMin was before it became robust). */
  lsGrowthBytesPerMin?: number | null;
  /** Median RSS of the settled part of the load: the level to compare across environments (not the peak). */
  steadyRssBytes?: number | null;
  /** Time-averaged RSS over the load phases. */
  meanRssBytes?: number | null;
  /** RSS trajectory over the load phases. */
  trajectory?: Trajectory | null;
  /** Trajectories of the live heap (ledger), of anonymous memory that is neither live heap nor allocator-held
   *  (ledger: thread stacks, direct mmap), and of file-backed + shared memory (status), over the load phases. */
  liveHeapTrajectory?: Trajectory | null;
  otherAnonTrajectory?: Trajectory | null;
  /** Trajectory of the free memory the allocator holds resident (ledger). */
  heldTrajectory?: Trajectory | null;
  fileTrajectory?: Trajectory | null;
  /** Median of the allocator-held bytes (ledger) over the settled part of the load. */
  steadyAllocatorHeldBytes?: number | null;
  steadyLiveHeapBytes?: number | null;
  /** Threads at the start and the end of the load phases (a rise hints at thread-stack growth). */
  threadsAtLoadStart?: number | null;
  threadsAtLoadEnd?: number | null;
  /** Share of RSS gained during load that was returned during the following idle phase (0..1). */
  returnedFraction: number | null;
  throughputRps: number | null;
  latencyP99Ms: number | null;
  requests: number | null;
  /** Peak RSS divided by requests served (memory per request, fair across allocators of different speed). */
  peakBytesPerRequest: number | null;
  /** The RSS ledger at the end of the run (the probe's last reading), when the probe was applied. */
  liveHeapBytes?: number | null;
  peakLiveHeapBytes?: number | null;
  allocatorHeldBytes?: number | null;
  /** Robust growth of the live heap over the load phases, bytes/min: a leak grows here, retention does not. */
  liveHeapGrowthBytesPerMin?: number | null;
  lsLiveHeapGrowthBytesPerMin?: number | null;
  /** The allocator's own figures at the end of the load, of the idle phase, and last (ledger runs). */
  allocatorSnapshots?: AllocatorSnapshot[];
  /** How much of the anonymous memory the ledger's measured parts explain (absent for runs before the split). */
  ledgerCoverage?: {
    explainedFraction: number;
    unexplainedBytes: number;
    unexplainedFractionOfRss: number;
    /** The measured parts miss anonymous RSS by at most 2 % of RSS. */
    withinTolerance: boolean;
    /** Share of ledger samples whose allocator figures were under 1 s old. */
    freshFraction: number;
  };
  phases: PhaseMetrics[];
}

/** One environment's execution inside a run (one folder under the run directory). */
export interface EnvironmentRecord {
  env: string;
  label: string;
  /** Folder name relative to the run directory. */
  dir: string;
  repetition: number;
  /** The variables the profile added to the target's environment. */
  appliedEnv: Record<string, string>;
  pid: number | null;
  startedAt: string;
  durationMs: number | null;
  verification: Verification | null;
  exit: ExitInfo | null;
  /** A failure of this environment's run (could not start, never ready, crashed), in words. */
  error: string | null;
  metrics: EnvironmentMetrics | null;
}

export type RunKind = 'scenario' | 'compare' | 'watch' | 'debug' | 'profile';

/** run.json */
export interface RunRecord {
  schemaVersion: number;
  id: string;
  name: string;
  kind: RunKind;
  createdAt: string;
  /** False until the run finished (or was cancelled and closed cleanly); an interrupted run stays false. */
  complete: boolean;
  cancelled: boolean;
  host: { hostname: string; cpus: number; kernel: string; node: string };
  scenarioPath: string | null;
  /** The scenario as resolved (overrides applied). */
  scenario: unknown;
  environments: EnvironmentRecord[];
  /** The diagnosis in words (rendered from `diagnosis`). */
  verdict: string | null;
  /** The structured finding (analysis/diagnosis.ts); absent in runs written before it existed. */
  diagnosis?: Diagnosis | null;
}

// ---- trajectories and the diagnosis ---------------------------------------------------------------------------

/** The classes a window's trajectory falls into (analysis/trajectory.ts). */
export type TrajectoryClass = 'rising' | 'levelling-off' | 'flat' | 'falling' | 'oscillating' | 'too-short';

/** One window's trajectory, with the figures it rests on. Rates are bytes per minute, times ms on the samples' clock. */
export interface Trajectory {
  class: TrajectoryClass;
  startMs: number;
  endMs: number;
  /** Median of the settled part (after the ramp): the level to compare, not the peak (time average when oscillating). */
  steadyBytes: number | null;
  /** Time-weighted mean over the whole window. */
  meanBytes: number | null;
  peakBytes: number | null;
  /** Theil-Sen slope of the settled part. */
  slopeBytesPerMin: number | null;
  /** 99 % interval of that slope, corrected for autocorrelation. */
  slopeIntervalBytesPerMin: [number, number] | null;
  /** The practical-equivalence band used: slopes within ±band count as flat. */
  bandBytesPerMin: number | null;
  /** Where the start-up transient (a ramp, or a drop after a warm-up peak) ended (ms), or null when there was none. */
  rampEndMs: number | null;
  /** Rise over the start-up ramp (bytes; negative for a drop after a warm-up peak), when there was one. */
  rampRiseBytes: number | null;
  /** Interquartile range of the settled samples around their trend line (bytes). */
  spreadBytes: number | null;
  /** Buckets in the settled part, and the effective number once autocorrelation is accounted for. */
  settledPoints: number;
  effectivePoints: number | null;
  bucketMs: number;
  /** How much longer the window would have to run to decide between classes, or null when it is decided. */
  needMs: number | null;
  /** The same in words, e.g. "run 40 s longer", or null. */
  need: string | null;
}

/** What the diagnosis finds (analysis/diagnosis.ts). */
export type Finding = 'leak' | 'allocator-retention' | 'application-memory' | 'non-heap-growth' | 'stable' | 'inconclusive';
export type Confidence = 'high' | 'medium' | 'low';

/** A habit of one allocator seen in a run (filled by the ledger's analysis/habits.ts), with advice when there is one. */
export interface AllocatorHabit { allocator: string; habit: string; evidence: string; advice: string | null }

/** One figure the finding rests on. `env` is the environment folder (e.g. 01-glibc), or null for the run. */
export interface DiagnosisEvidence { env: string | null; metric: string; value: number | null; unit: string; text: string }

/** One environment as the diagnosis saw it. */
export interface DiagnosisEnvironment {
  env: string;
  label: string;
  trajectory: TrajectoryClass;
  steadyRssBytes: number | null;
  meanRssBytes: number | null;
  peakRssBytes: number | null;
  growthBytesPerMin: number | null;
  growthIntervalBytesPerMin: [number, number] | null;
  liveHeapTrajectory: TrajectoryClass | null;
  /** The live heap's steady level and robust growth (ledger), when it ran. */
  liveHeapSteadyBytes?: number | null;
  liveHeapGrowthBytesPerMin?: number | null;
  throughputRps: number | null;
  latencyP99Ms: number | null;
  requests: number | null;
  /** Why its load phases ended (phase-end reason), in order; unknown for runs before the field existed. */
  loadEndReasons: string[];
  /**
   * The allocator library it really ran with (glibc when none was mapped) and its settings: environments with the
   * same one are one point of comparison. Absent in runs judged before the field existed.
   */
  configuration?: string;
}

/** The environment to deploy, with its price against the default. Ratios are this environment over the default. */
export interface Recommendation {
  env: string;
  setting: string;
  memoryRatio: number;
  throughputRatio: number | null;
  p99Ratio: number | null;
  text: string;
}

/** The structured finding of a run (stored in run.json and the CLI's --json as `diagnosis`). */
export interface Diagnosis {
  finding: Finding;
  confidence: Confidence;
  /** The headline in words. */
  summary: string;
  /** What would decide an inconclusive case (or raise a low confidence), or null. */
  next: string | null;
  evidence: DiagnosisEvidence[];
  /** Keyed by environment folder (e.g. 01-glibc). */
  environments: Record<string, DiagnosisEnvironment>;
  recommendation: Recommendation | null;
  /**
   * When nothing is recommended: the environment that needs materially less than the default at comparable
   * throughput and p99 but did not settle (so it is not recommended yet). Absent in runs judged before it existed.
   */
  unsettledCandidate?: { env: string; label: string; steadyRssBytes: number; defaultLabel: string; defaultRssBytes: number } | null;
  habits: AllocatorHabit[];
  /** What lowered the confidence (unequal work, a driver killed before it finished, an unread driver output...). */
  caveats: string[];
}

/** One environment as the panel sees it: its record plus everything sampled so far. */
export interface EnvironmentSnapshot { record: EnvironmentRecord; samples: Sample[]; events: RunEvent[] }

/**
 * A whole run (a StoredRun from src/core/runs/store is one). `dir` is the run folder, when known; `live` is true
 * while the run is still going (more samples will come), so an incomplete record is not shown as interrupted.
 */
export interface RunSnapshot { dir?: string; live?: boolean; record: RunRecord; environments: EnvironmentSnapshot[] }
