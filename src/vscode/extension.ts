// Entry point of the extension host side: builds the services object and the commands, and exposes a small API
// (used by the integration tests; other extensions may use it too).
import * as vscode from 'vscode';
import { registerCommandTable } from './commandRegistry';
import { runCommandHandlers, savedRuns } from './commands';
import { runsDirectory } from './config';
import { Ctx } from './ctx';
import { registerDebugFeatures } from './debug';
import { registerHotspots } from './hotspots';
import type { HotspotsState } from '../protocol/lsp';

export interface AllocatorLabApi {
  runsDirectory(): string;
  savedRuns: typeof savedRuns;
  /** The engine (language server) process id. */
  serverPid(): Promise<number>;
  /** Runs in flight on the engine. */
  activeRuns(): Promise<string[]>;
  /** The active hotspots (null when none), and the Hotspots view's top-level items as shown. */
  hotspots(): { state: HotspotsState | null; items: { label: string; description: string; opens: boolean }[] };
}

export async function activate(context: vscode.ExtensionContext): Promise<AllocatorLabApi> {
  const ctx = new Ctx(context);
  const debug = registerDebugFeatures(ctx);
  const hotspots = registerHotspots(ctx);
  context.subscriptions.push(...debug.disposables, ...hotspots.disposables);
  context.subscriptions.push(...registerCommandTable({ runs: runCommandHandlers(ctx), debug: debug.handlers, hotspots: hotspots.handlers }));
  if (process.platform !== 'linux') {
    void vscode.window.showWarningMessage(`Allocator Lab runs its targets on Linux only; this extension host runs on ${process.platform}. Saved runs can be viewed; to run, open the workspace on Linux (Remote - SSH, WSL, Dev Containers).`);
  }
  await ctx.start();
  return {
    runsDirectory,
    savedRuns,
    serverPid: () => ctx.engine.serverPid(),
    activeRuns: () => ctx.engine.activeRuns(),
    hotspots: () => ({
      state: hotspots.view.current(),
      items: hotspots.view.getChildren().map((i) => ({ label: String(i.label), description: String(i.description ?? ''), opens: !!i.command })),
    }),
  };
}

export function deactivate(): void {
  // Everything is owned by Ctx, which the extension context disposes.
}
