// The custom requests and notifications between the extension (client) and the language server that hosts the
// engine. Both sides import this file, so a field renamed here breaks both at compile time, never at run time.
// No vscode import: the server and the unit tests run in plain Node.
import { NotificationType, RequestType } from 'vscode-jsonrpc';
import type { EnvironmentRecord, RunEvent, RunRecord, Sample } from '../core/model';
import type { Ranking } from '../core/profilers/model';

/** Custom allocator environments from the setting `allocatorLab.customAllocators`. */
export interface CustomAllocatorSetting {
  id: string;
  label?: string;
  library?: string;
  env?: Record<string, string>;
  description?: string;
}

/** The allocator discovery options the client sends with every request that needs them (from settings). */
export interface AllocatorOptions {
  custom?: CustomAllocatorSetting[];
  searchPaths?: string[];
}

/** What to run: a scenario file, a binary under several environments (no load), or an existing process. */
export type RunTarget =
  | { kind: 'scenario'; scenarioPath: string }
  | { kind: 'compare'; command: string; args: string[]; cwd: string; durationMs: number }
  | { kind: 'watch'; pid: number; durationMs: number | null }
  /** A debugger's debuggee: watched like 'watch', recorded as kind 'debug'; it ends when the client cancels it. */
  | { kind: 'debug'; pid: number; name: string }
  /**
   * Profiles allocation sites: a scenario file, or a binary run for durationMs (no load), under one attribution
   * backend (src/core/profilers). The environment folder gets profile.json; the client then activates it.
   */
  | { kind: 'profile'; backend: string; scenarioPath?: string; command?: string; args?: string[]; cwd?: string; durationMs?: number; lgProfInterval?: number };

type DistributiveOmit<T, K extends keyof T> = T extends unknown ? Omit<T, K> : never;
/** A run event without its time: the engine stamps it when it arrives. */
export type DebugRunEvent = DistributiveOmit<RunEvent, 't'>;

export interface StartRunParams {
  /** Chosen by the client so it can route notifications that arrive before the request's answer. */
  runId: string;
  target: RunTarget;
  /** Overrides the scenario's environments (ignored for watch). */
  environments?: string[];
  /** Overrides the load phase durations of a scenario. */
  durationOverrideMs?: number;
  /** Parent folder of run folders. */
  runsDir: string;
  allocators?: AllocatorOptions;
  /** Sampling interval for watch runs (scenarios carry their own). */
  samplingIntervalMs?: number;
  /** End each phase once it is settled (durations become upper bounds); default: the scenario's `untilSettled`. */
  untilSettled?: boolean;
}

export interface StartRunResult {
  runId: string;
}

export interface CancelRunParams {
  runId: string;
}

export interface AllocatorInfo {
  id: string;
  label: string;
  description: string;
  available: boolean;
  unavailableReason: string | null;
  debianPackage: string | null;
  preload: string | null;
  custom: boolean;
}

export interface ProcessInfo {
  pid: number;
  command: string;
  rssBytes: number;
}

export interface RunStartedParams {
  runId: string;
  runDir: string;
  record: RunRecord;
}
export interface RunProgressParams {
  runId: string;
  message: string;
}
export interface RunSamplesParams {
  runId: string;
  index: number;
  samples: Sample[];
}
export interface RunEventParams {
  runId: string;
  index: number;
  event: RunEvent;
}
export interface EnvironmentParams {
  runId: string;
  index: number;
  env: EnvironmentRecord;
}

/** Why a run failed. A scenario problem carries its position so the client can open the file there. */
export interface RunError {
  message: string;
  userError: boolean;
  name: string;
  location?: { file: string; line: number; column: number };
}

/** How a run ended. `error` is set when it failed; a user error (bad scenario, unknown allocator) has `userError`. */
export interface RunFinishedParams {
  runId: string;
  runDir: string | null;
  record: RunRecord | null;
  cancelled: boolean;
  error: RunError | null;
}

// ---- hotspots (src/server/hotspots.ts) ------------------------------------------------------------------------

/** The settings the server maps frames and picks lenses with (allocatorLab.sourceFileMap, allocatorLab.hotspots.*). */
export interface HotspotSettings {
  sourceFileMap: Record<string, string>;
  workspaceRoots: string[];
  /** How many top sites get a CodeLens. */
  top: number;
}

/** One frame of a hotspot's stack; `workspaceFile` is null when the frame's file is not in the workspace. */
export interface HotspotFrameInfo {
  function: string | null;
  file: string | null;
  line: number | null;
  module: string | null;
  address: string | null;
  workspaceFile: string | null;
  /** True for allocator, runtime and library-header frames. */
  system: boolean;
}

/** One ranked site as the editor shows it. Lines are 1-based (as in the profile). */
export interface HotspotInfo {
  rank: number;
  /** The ranked quantity (bytes/min, bytes, count, bytes; for a diff, the change). */
  value: number;
  function: string | null;
  file: string | null;
  line: number | null;
  module: string | null;
  address: string | null;
  workspaceFile: string | null;
  growthBytesPerMin: number | null;
  peakBytes: number;
  allocations: number | null;
  leakedBytes: number | null;
  /** The figures the backend supports, e.g. "+12.3 MiB/min · 1.2M allocs · 48.0 MiB at peak". */
  figures: string;
  frames: HotspotFrameInfo[];
  userFrame: number;
  /** Set in a diff: the compared quantity before and after (null when the site is missing on that side). */
  before?: number | null;
  after?: number | null;
}

export interface RankingInfo {
  id: Ranking;
  supported: boolean;
  /** Why not, when unsupported. */
  reason: string | null;
}

/** The active profile as the tree view and the panel show it. */
export interface HotspotsState {
  /** What was opened (a run folder, a profile file) and a short label for it. */
  source: string;
  label: string;
  backend: string;
  ranking: Ranking;
  rankings: RankingInfo[];
  sampled: boolean;
  /** Set when this is a diff: the baseline's source. */
  baseline: string | null;
  /** The other environments of a run folder (their figures appear in hovers). */
  environments: string[];
  hotspots: HotspotInfo[];
  warnings: string[];
}

export interface ActivateProfileParams {
  /** A run folder, an environment folder, profile.json, a heaptrack .zst/.gz, massif.out.*, or jemalloc .heap dumps. */
  path: string;
  settings: HotspotSettings;
  ranking?: Ranking;
}

export interface DiffProfilesParams {
  before: string;
  after: string;
  settings: HotspotSettings;
  ranking?: Ranking;
}

/** An attribution backend as the Profile command's picker shows it. */
export interface BackendInfo {
  id: string;
  label: string;
  cost: string;
  capabilities: Record<Ranking, boolean>;
  available: boolean;
  reason: string | null;
  debianPackage: string | null;
}

/** Every custom message, by name. */
/** The command a hotspot lens runs: the extension's Reveal Hotspot (its argument is the rank). */
export const HOTSPOT_LENS_COMMAND = 'allocatorLab.revealHotspot';

export const Lsp = {
  startRun: new RequestType<StartRunParams, StartRunResult, void>('alloclab/startRun'),
  cancelRun: new RequestType<CancelRunParams, { cancelled: boolean }, void>('alloclab/cancelRun'),
  /** Adds an event (a debugger stop, a snapshot note) to the debug run in flight `runId`, stamped by the engine's clock. */
  addRunEvent: new RequestType<{ runId: string; event: DebugRunEvent }, { added: boolean }, void>('alloclab/addRunEvent'),
  listAllocators: new RequestType<AllocatorOptions, AllocatorInfo[], void>('alloclab/listAllocators'),
  /** Processes the user may watch (from /proc), biggest RSS first. */
  listProcesses: new RequestType<Record<string, never>, ProcessInfo[], void>('alloclab/listProcesses'),
  /** Ids of runs in flight. */
  activeRuns: new RequestType<Record<string, never>, string[], void>('alloclab/activeRuns'),
  /** The server's process id (tests kill it to check that the client recovers). */
  serverPid: new RequestType<Record<string, never>, number, void>('alloclab/serverPid'),

  /** Makes a profile the active one: lenses and hovers follow it (a codeLens refresh is sent). */
  activateProfile: new RequestType<ActivateProfileParams, HotspotsState, void>('alloclab/activateProfile'),
  /** Activates the difference between two profiles: sites by how much they grew. */
  diffProfiles: new RequestType<DiffProfilesParams, HotspotsState, void>('alloclab/diffProfiles'),
  /** Changes the ranking or the settings of the active profile; null when none is active. */
  setHotspotOptions: new RequestType<{ ranking?: Ranking; settings?: HotspotSettings }, HotspotsState | null, void>('alloclab/setHotspotOptions'),
  clearHotspots: new RequestType<Record<string, never>, null, void>('alloclab/clearHotspots'),
  hotspotsState: new RequestType<Record<string, never>, HotspotsState | null, void>('alloclab/hotspotsState'),
  listBackends: new RequestType<Record<string, never>, BackendInfo[], void>('alloclab/listBackends'),

  runStarted: new NotificationType<RunStartedParams>('alloclab/runStarted'),
  progress: new NotificationType<RunProgressParams>('alloclab/progress'),
  samples: new NotificationType<RunSamplesParams>('alloclab/samples'),
  event: new NotificationType<RunEventParams>('alloclab/event'),
  environmentStarted: new NotificationType<EnvironmentParams>('alloclab/environmentStarted'),
  environmentFinished: new NotificationType<EnvironmentParams>('alloclab/environmentFinished'),
  runFinished: new NotificationType<RunFinishedParams>('alloclab/runFinished'),
} as const;
