// Debugging sessions under an allocator environment: the one entry the extension calls.
import * as vscode from 'vscode';
import { ALLOCLAB_DEBUG_TYPE } from '../../core/debug';
import { Config } from '../constants';
import type { Ctx } from '../ctx';
import { registerDebugCommands } from './commands';
import { AllocatorConfigurationProvider, AlloclabLldbAdapterFactory, AlloclabLldbProvider } from './providers';
import { DebugSessions } from './tracker';

function setting<T>(key: string, fallback: T): T {
  return vscode.workspace.getConfiguration(Config.Section).get<T>(key, fallback);
}

/** Registers the debug trackers, configuration providers, the alloclab-lldb adapter and the debug commands. */
export function registerDebugFeatures(ctx: Ctx): vscode.Disposable[] {
  const sessions = new DebugSessions({
    engine: ctx.engine, viewer: ctx.viewer, log: ctx.log, statusBar: ctx.statusBar,
    otherRunsActive: () => ctx.activeSessions().length > 0,
    get openPanel() {
      return setting<boolean>(Config.DebugOpenPanel, false);
    },
  }, () => setting<boolean>(Config.DebugLiveMemory, true));
  return [
    sessions,
    vscode.debug.registerDebugConfigurationProvider('*', new AllocatorConfigurationProvider(ctx.log)),
    vscode.debug.registerDebugConfigurationProvider(ALLOCLAB_DEBUG_TYPE, new AlloclabLldbProvider()),
    vscode.debug.registerDebugAdapterDescriptorFactory(ALLOCLAB_DEBUG_TYPE, new AlloclabLldbAdapterFactory(ctx.log)),
    ...registerDebugCommands(ctx, sessions),
  ];
}
