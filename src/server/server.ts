// The language server: hosts the engine outside the extension host, so a run's sampling and load never stall the
// editor, and a crash of the engine takes only this process down. Every target it started dies with it.
import { createConnection, ProposedFeatures, TextDocumentSyncKind } from 'vscode-languageserver/node';
import { killAllTargets } from '../core/launch';
import { Lsp } from '../protocol/lsp';
import { listProcesses } from './processes';
import { listAllocators, RunHost } from './runHost';

const connection = createConnection(ProposedFeatures.all);

// Targets live in their own process groups, so they would outlive us unless killed explicitly.
process.on('exit', () => killAllTargets());
for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) {
  process.on(sig, () => process.exit(0));
}
// The IPC channel closes when the extension host dies without a shutdown.
process.on('disconnect', () => process.exit(0));

const host = new RunHost({
  runStarted: (p) => void connection.sendNotification(Lsp.runStarted, p),
  progress: (p) => void connection.sendNotification(Lsp.progress, p),
  samples: (p) => void connection.sendNotification(Lsp.samples, p),
  event: (p) => void connection.sendNotification(Lsp.event, p),
  environmentStarted: (p) => void connection.sendNotification(Lsp.environmentStarted, p),
  environmentFinished: (p) => void connection.sendNotification(Lsp.environmentFinished, p),
  runFinished: (p) => void connection.sendNotification(Lsp.runFinished, p),
});

connection.onInitialize(() => ({
  capabilities: { textDocumentSync: TextDocumentSyncKind.None },
  serverInfo: { name: 'alloclab-server' },
}));

connection.onRequest(Lsp.startRun, (params) => ({ runId: host.start(params) }));
connection.onRequest(Lsp.cancelRun, (params) => ({ cancelled: host.cancel(params.runId) }));
connection.onRequest(Lsp.listAllocators, (params) => listAllocators(params ?? {}));
connection.onRequest(Lsp.listProcesses, () => listProcesses());
connection.onRequest(Lsp.activeRuns, () => host.ids());
connection.onRequest(Lsp.serverPid, () => process.pid);

// A clean shutdown closes run folders properly (complete, cancelled) before the process goes.
connection.onShutdown(() => host.cancelAll());

connection.listen();
