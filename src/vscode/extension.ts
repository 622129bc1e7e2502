// Entry point of the extension host side: builds the services object and the commands, and exposes a small API
// (used by the integration tests; other extensions may use it too).
import * as vscode from 'vscode';
import { registerCommands, savedRuns } from './commands';
import { runsDirectory } from './config';
import { Ctx } from './ctx';
import { registerDebugFeatures } from './debug';

export interface AllocatorLabApi {
  runsDirectory(): string;
  savedRuns: typeof savedRuns;
  /** The engine (language server) process id. */
  serverPid(): Promise<number>;
  /** Runs in flight on the engine. */
  activeRuns(): Promise<string[]>;
}

export async function activate(context: vscode.ExtensionContext): Promise<AllocatorLabApi> {
  const ctx = new Ctx(context);
  context.subscriptions.push(...registerCommands(ctx));
  context.subscriptions.push(...registerDebugFeatures(ctx));
  if (process.platform !== 'linux') {
    void vscode.window.showWarningMessage(`Allocator Lab runs its targets on Linux only; this extension host runs on ${process.platform}. Saved runs can be viewed; to run, open the workspace on Linux (Remote - SSH, WSL, Dev Containers).`);
  }
  await ctx.start();
  return {
    runsDirectory,
    savedRuns,
    serverPid: () => ctx.engine.serverPid(),
    activeRuns: () => ctx.engine.activeRuns(),
  };
}

export function deactivate(): void {
  // Everything is owned by Ctx, which the extension context disposes.
}
