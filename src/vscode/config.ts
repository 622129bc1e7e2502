// The allocatorLab.* settings, read in one place with their defaults.
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { AllocatorOptions, CustomAllocatorSetting } from '../protocol/lsp';
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
