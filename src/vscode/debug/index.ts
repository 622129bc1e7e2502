// Debugging sessions under an allocator environment: the one entry the extension calls.
import * as vscode from 'vscode';
import { ALLOCLAB_DEBUG_TYPE } from '../../core/debug';
import { debugLiveMemory, debugOpenPanel } from '../config';
import type { FactoryHandlers } from '../commandTable';
import type { Ctx } from '../ctx';
import { debugCommandHandlers, registerSnapshotDocuments } from './commands';
import { AllocatorConfigurationProvider, AlloclabLldbAdapterFactory, AlloclabLldbProvider } from './providers';
import { DebugSessions } from './tracker';

/** Registers the debug trackers, configuration providers and the alloclab-lldb adapter; returns the debug commands' handlers. */
export function registerDebugFeatures(ctx: Ctx): { disposables: vscode.Disposable[]; handlers: FactoryHandlers<'debug'> } {
  const sessions = new DebugSessions({
    engine: ctx.engine, viewer: ctx.viewer, log: ctx.log, statusBar: ctx.statusBar,
    otherRunsActive: () => ctx.activeSessions().length > 0,
    get openPanel() {
      return debugOpenPanel();
    },
  }, debugLiveMemory);
  const disposables = [
    sessions,
    vscode.debug.registerDebugConfigurationProvider('*', new AllocatorConfigurationProvider(ctx.log)),
    vscode.debug.registerDebugConfigurationProvider(ALLOCLAB_DEBUG_TYPE, new AlloclabLldbProvider()),
    vscode.debug.registerDebugAdapterDescriptorFactory(ALLOCLAB_DEBUG_TYPE, new AlloclabLldbAdapterFactory(ctx.log)),
    ...registerSnapshotDocuments(),
  ];
  return { disposables, handlers: debugCommandHandlers(ctx, sessions) };
}
