// One model for every attribution backend (jemalloc profiling, heaptrack, massif): call sites with their live
// bytes over time. Serialised as profile.json in a run folder, so add fields, never rename them.
import { AlloclabError } from '../errors';

export const PROFILE_SCHEMA_VERSION = 1;

export type Ranking = 'growth' | 'peak' | 'calls' | 'leaked';
export const RANKINGS: readonly Ranking[] = ['growth', 'peak', 'calls', 'leaked'];

/** Which rankings a backend's data can support honestly. */
export interface Capabilities {
  growth: boolean;
  peak: boolean;
  calls: boolean;
  leaked: boolean;
}

/** One stack frame; fields the backend could not resolve are null. */
export interface Frame {
  function: string | null;
  file: string | null;
  line: number | null;
  /** The shared object or executable holding the code. */
  module: string | null;
  /** Runtime instruction address as hex ("0x..."), or null when the backend does not give one. */
  address: string | null;
  /** GNU build-id of the module (hex), when known: with `offset`, names the code across runs and machines. */
  buildId?: string | null;
  /** Offset of the instruction in the module's file (hex), independent of where the module was loaded. */
  offset?: string | null;
}

/** One allocation stack. Frames are innermost first; `userFrame` names the site. */
export interface CallSite {
  id: string;
  frames: Frame[];
  /** Index into frames of the first frame in the user's code (allocator, libc and library headers skipped). */
  userFrame: number;
  /** Live bytes at each snapshot of the profile (same length as AllocationProfile.snapshots). */
  liveBytes: number[];
  peakBytes: number;
  allocations: number | null;
  allocatedBytes: number | null;
  leakedBytes: number | null;
  /** Allocations freed right after they were made, with nothing allocated in between (heaptrack only). */
  temporaryAllocations?: number;
  /** Sampled profiles: the 1-sigma statistical error of allocatedBytes. */
  bytesError?: number;
  /** Sampled profiles: too few samples at this interval to rank the site (its figures are estimates, not zero). */
  belowResolution?: boolean;
  /** Sampled profiles: how many samples the figures rest on. */
  samples?: number;
  /** Blocks still live at the end of the recording (estimated when sampled). */
  inuseObjects?: number;
}

export interface AllocationProfile {
  schemaVersion: number;
  backend: string;
  capabilities: Capabilities;
  /** Snapshot times, milliseconds since the target started. */
  snapshots: { t: number }[];
  sites: CallSite[];
  /** True when the sizes are estimates from sampling (jemalloc). */
  sampled: boolean;
  /** Things the user should know about this profile (no debug info, truncated trace, ...). */
  warnings: string[];
  /** The files the profile was read from. */
  sources: string[];
  /** Load phases (ms since the target started), when the profile was recorded during a scenario run. */
  windows?: { startMs: number; endMs: number }[];
  /** The loaded modules, when the backend knows them (for pprof mappings and later symbolization). */
  modules?: ProfileModule[];
  /** How a sampling backend sampled (probe-sampled). */
  sampling?: SamplingInfo;
}

export interface ProfileModule {
  path: string;
  buildId: string | null;
  /** Where its symbols came from (see debuginfo.ts), when it was symbolized by us. */
  symbols?: string;
}

export interface SamplingInfo {
  /** Mean bytes between samples. */
  intervalBytes: number;
  maxDepth: number;
  /** How stacks were captured: 'fp', 'libunwind', 'gcc' or 'none'. */
  unwinder: string;
  samples: number;
  /** Samples lost because a thread's buffer was full. */
  dropped: number;
  /** Sampled blocks whose free could not be tracked (the live-block table was full). */
  untracked: number;
  /** Sampled blocks still tracked for frees at the probe's last tick (absent from older probes). */
  liveTracked?: number;
  /** Bytes the probe had written into the sample file by its last tick (absent from older probes). */
  bytesWritten?: number;
  /** True when the target exited normally (what is live at the end was not freed at exit). */
  exited: boolean;
}

/** The largest value, at least 0. A loop, since spreading 100k+ snapshots into Math.max overflows the stack. */
export function peakOf(values: readonly number[]): number {
  let peak = 0;
  for (const v of values) if (v > peak) peak = v;
  return peak;
}

/** A profile file that cannot be read: truncated, corrupt, or of an unknown kind. */
export class ProfileFormatError extends AlloclabError {
  constructor(readonly file: string, readonly line: number | null, detail: string) {
    super(`${file}${line != null ? `:${line}` : ''}: ${detail}`, 'input');
  }
}

/** The backend's tool is not installed. */
export class BackendUnavailableError extends AlloclabError {
  constructor(readonly backend: string, reason: string, readonly debianPackage: string | null) {
    super(`Attribution backend "${backend}" is not available: ${reason}.${debianPackage ? ` Install it with \`apt-get install ${debianPackage}\`.` : ''}`, 'environment');
  }
}

/** A ranking the profile's backend cannot compute (never faked). */
export class UnsupportedRankingError extends AlloclabError {
  constructor(readonly backend: string, readonly ranking: Ranking, supported: Ranking[]) {
    super(`The ${backend} profile cannot rank by ${ranking}. It supports: ${supported.join(', ') || 'nothing'}. Record with a backend that supports ${ranking} (\`alloclab profile --backend heaptrack\` supports all rankings).`, 'input');
  }
}

export class UnknownBackendError extends AlloclabError {
  constructor(id: string, known: string[]) {
    super(`Unknown attribution backend "${id}". Known: ${known.join(', ')}.`, 'input');
  }
}
