// Command ids, their argument types, and the other ids package.json mirrors. The commands themselves are listed
// in commandTable.ts; a unit test checks package.json's contributes.commands against that table both ways.
// Runtime-free of vscode (type imports only) so plain-Node unit tests can import the ids.
import type * as vscode from 'vscode';

export const enum Commands {
  RunScenario = 'allocatorLab.runScenario',
  WatchProcess = 'allocatorLab.watchProcess',
  CompareAllocators = 'allocatorLab.compareAllocators',
  StopRun = 'allocatorLab.stopRun',
  OpenRun = 'allocatorLab.openRun',
  CompareRuns = 'allocatorLab.compareRuns',
  ShowAllocators = 'allocatorLab.showAllocators',
  NewScenario = 'allocatorLab.newScenario',
  ShowLivePanel = 'allocatorLab.showLivePanel',
  OpenLog = 'allocatorLab.openLog',
  RefreshRuns = 'allocatorLab.refreshRuns',
  DeleteRun = 'allocatorLab.deleteRun',
  RevealRun = 'allocatorLab.revealRun',
  DebugWithAllocator = 'allocatorLab.debugWithAllocator',
  MemorySnapshot = 'allocatorLab.memorySnapshot',
  CompareSnapshots = 'allocatorLab.compareSnapshots',
  ShowDebugMemory = 'allocatorLab.showDebugMemory',
  ProfileAllocationSites = 'allocatorLab.profileAllocationSites',
  OpenProfile = 'allocatorLab.openProfile',
  DiffProfiles = 'allocatorLab.diffProfiles',
  ClearHotspots = 'allocatorLab.clearHotspots',
  HotspotsRankBy = 'allocatorLab.hotspotsRankBy',
  RevealHotspot = 'allocatorLab.revealHotspot',
  OpenHotspot = 'allocatorLab.openHotspot',
  ConfigureSourceFileMap = 'allocatorLab.configureSourceFileMap',
}

/** Options that let a caller (a test, another extension) skip the pickers. */
export interface RunOptions {
  environments?: string[];
  durationMs?: number;
  /** End each phase once settled (durations as upper bounds); given, the quick pick is not shown. */
  untilSettled?: boolean;
  /** Do not open the live panel (headless callers). */
  noPanel?: boolean;
}

/** A saved run as the runs view and commands pass it around. */
export interface RunRef {
  runDir: string;
}

/** What launch commands resolve to: the run folder and how it ended (undefined when the user backed out). */
export interface RunOutcome {
  runDir: string | null;
  complete: boolean;
  cancelled: boolean;
  error: string | null;
}

export interface CommandArgs {
  [Commands.RunScenario]: [scenario?: vscode.Uri, options?: RunOptions];
  [Commands.WatchProcess]: [pid?: number, options?: RunOptions];
  [Commands.CompareAllocators]: [binary?: vscode.Uri, selected?: vscode.Uri[], options?: RunOptions & { args?: string[] }];
  [Commands.StopRun]: [];
  [Commands.OpenRun]: [run?: RunRef | vscode.Uri | string];
  [Commands.CompareRuns]: [first?: RunRef, selected?: RunRef[]];
  [Commands.ShowAllocators]: [];
  [Commands.NewScenario]: [folder?: vscode.Uri];
  [Commands.ShowLivePanel]: [];
  [Commands.OpenLog]: [];
  [Commands.RefreshRuns]: [];
  [Commands.DeleteRun]: [run?: RunRef, selected?: RunRef[], options?: { confirm?: boolean }];
  [Commands.RevealRun]: [run?: RunRef];
  [Commands.DebugWithAllocator]: [configuration?: string, environment?: string];
  [Commands.MemorySnapshot]: [label?: string];
  [Commands.CompareSnapshots]: [run?: RunRef, picks?: [number, number]];
  [Commands.ShowDebugMemory]: [];
  [Commands.ProfileAllocationSites]: [target?: vscode.Uri, options?: ProfileOptions];
  [Commands.OpenProfile]: [profile?: vscode.Uri | RunRef | string];
  [Commands.DiffProfiles]: [before?: RunRef | string, after?: RunRef | string];
  [Commands.ClearHotspots]: [];
  [Commands.HotspotsRankBy]: [ranking?: import('../core/profilers/model').Ranking];
  [Commands.RevealHotspot]: [rank?: number];
  [Commands.OpenHotspot]: [rank?: number, frame?: number];
  [Commands.ConfigureSourceFileMap]: [];
}

/** Options of Profile Allocation Sites that skip its pickers (tests, other extensions). */
export interface ProfileOptions extends RunOptions {
  backend?: string;
  args?: string[];
  /** jemalloc-prof: a heap dump every 2^N bytes allocated (lower for small programs). */
  lgProfInterval?: number;
}

export interface CommandResults {
  [Commands.RunScenario]: RunOutcome | undefined;
  [Commands.WatchProcess]: RunOutcome | undefined;
  [Commands.CompareAllocators]: RunOutcome | undefined;
  [Commands.StopRun]: boolean;
  [Commands.OpenRun]: void;
  [Commands.CompareRuns]: void;
  [Commands.ShowAllocators]: void;
  [Commands.NewScenario]: vscode.Uri | undefined;
  [Commands.ShowLivePanel]: void;
  [Commands.OpenLog]: void;
  [Commands.RefreshRuns]: void;
  [Commands.DeleteRun]: number;
  [Commands.RevealRun]: void;
  /** True when the debug session started (undefined when launching is refused here). */
  [Commands.DebugWithAllocator]: boolean | undefined;
  /** The snapshot recorded (a MemorySnapshot of core/debug), undefined when none could be taken. */
  [Commands.MemorySnapshot]: import('../core/debug').MemorySnapshot | undefined;
  /** The comparison as markdown (also opened in an editor). */
  [Commands.CompareSnapshots]: string | undefined;
  [Commands.ShowDebugMemory]: void;
  /** The active hotspots after the command (undefined when the user backed out or it failed). */
  [Commands.ProfileAllocationSites]: import('../protocol/lsp').HotspotsState | undefined;
  [Commands.OpenProfile]: import('../protocol/lsp').HotspotsState | undefined;
  [Commands.DiffProfiles]: import('../protocol/lsp').HotspotsState | undefined;
  [Commands.ClearHotspots]: void;
  [Commands.HotspotsRankBy]: import('../protocol/lsp').HotspotsState | undefined;
  [Commands.RevealHotspot]: void;
  /** The editor opened on the site's (or frame's) line, undefined when the frame has no local file. */
  [Commands.OpenHotspot]: vscode.TextEditor | undefined;
  [Commands.ConfigureSourceFileMap]: void;
}

export const enum Views {
  Container = 'allocatorLab',
  Runs = 'allocatorLab.runs',
  Hotspots = 'allocatorLab.hotspots',
}

export const enum Config {
  Section = 'allocatorLab',
  RunsDirectory = 'runsDirectory',
  DefaultEnvironments = 'defaultEnvironments',
  SamplingIntervalMs = 'samplingIntervalMs',
  CustomAllocators = 'customAllocators',
  LibrarySearchPaths = 'librarySearchPaths',
  DebugLiveMemory = 'debug.liveMemory',
  DebugAdapterPath = 'debug.adapterPath',
  DebugOpenPanel = 'debug.openPanel',
  SourceFileMap = 'sourceFileMap',
  HotspotsTop = 'hotspots.codeLensCount',
  HotspotsRanking = 'hotspots.ranking',
}

export const enum ContextKeys {
  Running = 'allocatorLab.running',
  HotspotsActive = 'allocatorLab.hotspotsActive',
}

export const SCENARIO_GLOB = '**/*.alloclab.json';
export const EXTENSION_ID = 'alloclab.allocator-lab';
