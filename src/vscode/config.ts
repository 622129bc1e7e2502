// The allocatorLab.* settings, read in one place with their defaults and types: nothing else in the extension
// calls getConfiguration for them.
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { Ranking } from '../core/profilers/model';
import type { AllocatorOptions, CustomAllocatorSetting, HotspotSettings } from '../protocol/lsp';
import { Config } from './constants';

function section(): vscode.WorkspaceConfiguration {
  return vscode.workspace.getConfiguration(Config.Section);
}

/** The first workspace folder, where relative settings resolve. */
export function workspaceRoot(): string | undefined {
  return vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
}

/** Absolute runs folder: the setting (relative to the workspace), else <workspace>/.alloclab/runs, else ~/.alloclab/runs. */
export function runsDirectory(): string {
  const root = workspaceRoot() ?? path.join(process.env.HOME ?? '/tmp', '.alloclab');
  const configured = section().get<string>(Config.RunsDirectory, '').trim();
  if (configured) return path.resolve(root, configured);
  return workspaceRoot() ? path.join(root, '.alloclab', 'runs') : path.join(root, 'runs');
}

export function defaultEnvironments(): string[] {
  return section().get<string[]>(Config.DefaultEnvironments, ['glibc', 'jemalloc']);
}

export function samplingIntervalMs(): number {
  return section().get<number>(Config.SamplingIntervalMs, 100);
}

/** Custom allocator profiles and search paths, library paths resolved against the workspace. */
export function allocatorOptions(): AllocatorOptions {
  const root = workspaceRoot() ?? process.cwd();
  const custom = section().get<CustomAllocatorSetting[]>(Config.CustomAllocators, []).filter((c) => c && typeof c.id === 'string');
  return {
    custom: custom.map((c) => ({ ...c, library: c.library ? path.resolve(root, c.library) : undefined })),
    searchPaths: section().get<string[]>(Config.LibrarySearchPaths, []).map((p) => path.resolve(root, p)),
  };
}

/** allocatorLab.sourceFileMap with ${workspaceFolder} expanded, the workspace folders, and the lens count. */
export function hotspotSettings(): HotspotSettings {
  const root = workspaceRoot() ?? process.cwd();
  const raw = section().get<Record<string, string>>(Config.SourceFileMap, {}) ?? {};
  const sourceFileMap: Record<string, string> = {};
  for (const [from, to] of Object.entries(raw)) {
    if (typeof to === 'string') sourceFileMap[from] = path.resolve(root, to.replace(/\$\{workspaceFolder\}/g, root));
  }
  return {
    sourceFileMap,
    workspaceRoots: (vscode.workspace.workspaceFolders ?? []).map((f) => f.uri.fsPath),
    top: Math.max(1, section().get<number>(Config.HotspotsTop, 20)),
  };
}

/** allocatorLab.hotspots.ranking, or undefined when it names no ranking. */
export function hotspotsRanking(): Ranking | undefined {
  const r = section().get<string>(Config.HotspotsRanking, 'growth');
  return (['growth', 'peak', 'calls', 'leaked'] as const).find((x) => x === r);
}

/** allocatorLab.debug.openPanel: open the live panel for debug sessions. */
export function debugOpenPanel(): boolean {
  return section().get<boolean>(Config.DebugOpenPanel, false);
}

/** allocatorLab.debug.liveMemory: sample debug sessions' memory. */
export function debugLiveMemory(): boolean {
  return section().get<boolean>(Config.DebugLiveMemory, true);
}

/** allocatorLab.debug.adapterPath, or undefined to search PATH. */
export function debugAdapterPath(): string | undefined {
  return section().get<string>(Config.DebugAdapterPath, '').trim() || undefined;
}
