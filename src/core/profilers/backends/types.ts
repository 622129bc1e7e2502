// The shape every attribution backend has. A backend wraps a launch (prepare), reads what it recorded (collect),
// and recognises its raw files when they are opened on their own (format).
import type { AllocationProfile, Capabilities } from '../model';

/** A process to start: the target's command line and the variables to set on top of the inherited environment. */
export interface Launch {
  command: string;
  args: string[];
  env: Record<string, string>;
}

export interface CollectContext {
  /** Epoch milliseconds when the (wrapped) target was started. */
  startedAtMs: number;
  /** Process id of the launched command, when known (a backend that writes one file per process picks its own). */
  pid?: number;
}

export interface Availability {
  ok: boolean;
  reason: string | null;
  debianPackage: string | null;
}

/** How a backend's raw output is found and read outside a run (a trace given on the command line, a folder). */
export interface ProfileFormat {
  /** Names the kind of file, as detectProfileKind reports it. */
  kind: string;
  /** The path to read in a folder with these entries, or null when none of them is of this format. */
  inFolder(dir: string, names: string[]): string | null;
  /** True when a file of this base name is of this format. */
  isFile(baseName: string): boolean;
  read(file: string): Promise<AllocationProfile>;
}

export interface JemallocProfOptions {
  /** Dump every 2^N bytes allocated (default 24: 16 MiB). Lower for small programs, higher for busy services. */
  lgProfInterval?: number;
  /** Sample every 2^N bytes on average (default 17: 128 KiB, about 1.05x cost). */
  lgProfSample?: number;
}

/** Options of the backends that take any; each backend reads its own. */
export interface ProbeSampledOptions {
  /** Mean bytes between samples (default 524288). */
  intervalBytes?: number;
  /** Frames kept per stack (default 64, at most 128). */
  maxDepth?: number;
  /** How stacks are captured: auto (default: frame pointers where they agree with the unwinder), fp, libunwind, gcc. */
  unwinder?: 'auto' | 'fp' | 'libunwind' | 'gcc';
}

export interface BackendOptions {
  jemalloc?: JemallocProfOptions;
  probe?: ProbeSampledOptions;
}

export interface AttributionBackend {
  id: string;
  label: string;
  /** Typical slowdown of the target, in words (from measurements on the demo service). */
  cost: string;
  capabilities: Capabilities;
  /** The allocator environment (an id of `alloclab allocators`) the target runs under while profiled. */
  environment: string;
  /** True when the backend works under any allocator environment (`--env`); otherwise only under `environment`. */
  anyEnvironment?: boolean;
  available(): Availability;
  canApplyTo(binary: string): { ok: boolean; reason: string | null };
  /** Wraps the launch so the backend records into envDir (which must exist). */
  prepare(launch: Launch, envDir: string): Launch;
  /**
   * Asks the target to stop (SIGTERM), given the process group it was started in. heaptrack must not get the
   * group signal: its interpreter and compressor would die with the target and leave an empty trace.
   */
  terminate(pgid: number, binary: string): void;
  /** What to do when a profile has too few snapshots to measure growth (default: run longer). */
  fewSnapshotsHint?: string;
  /** Reads what the backend recorded in envDir after the target exited. */
  collect(envDir: string, ctx: CollectContext): Promise<AllocationProfile>;
  format: ProfileFormat;
}
