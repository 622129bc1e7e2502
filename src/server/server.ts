// The language server: hosts the engine outside the extension host, so a run's sampling and load never stall the
// editor, and a crash of the engine takes only this process down. Every target it started dies with it.
import {
  CodeLensRefreshRequest, CodeLensRequest, createConnection, HoverRequest, ProposedFeatures, TextDocumentSyncKind,
} from 'vscode-languageserver/node';
import { uriToPath, describeBackends, HotspotService, hotspotDocumentSelector } from './hotspots';
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

// Lenses are asked for again after every change of the active profile, so stale ones disappear.
let codeLensRefresh = false;
const hotspots = new HotspotService(() => {
  if (codeLensRefresh) void connection.sendRequest(CodeLensRefreshRequest.type).catch(() => undefined);
});
let dynamicHotspots = false;

connection.onInitialize((params) => {
  codeLensRefresh = !!params.capabilities.workspace?.codeLens?.refreshSupport;
  dynamicHotspots = !!params.capabilities.textDocument?.codeLens?.dynamicRegistration && !!params.capabilities.textDocument?.hover?.dynamicRegistration;
  return {
  capabilities: {
    textDocumentSync: TextDocumentSyncKind.None,
    // Registered for C and C++ documents only once initialized (the client's own selector is empty).
    ...(dynamicHotspots ? {} : { codeLensProvider: { resolveProvider: false }, hoverProvider: true }),
  },
  serverInfo: { name: 'alloclab-server' },
  };
});

connection.onInitialized(() => {
  if (!dynamicHotspots) return;
  void connection.client.register(CodeLensRequest.type, { documentSelector: hotspotDocumentSelector(), resolveProvider: false });
  void connection.client.register(HoverRequest.type, { documentSelector: hotspotDocumentSelector() });
});

connection.onCodeLens((p) => {
  const file = uriToPath(p.textDocument.uri);
  return file ? hotspots.codeLenses(file) : [];
});
connection.onHover((p) => {
  const file = uriToPath(p.textDocument.uri);
  return file ? hotspots.hover(file, p.position.line) : null;
});
connection.onRequest(Lsp.activateProfile, (p) => hotspots.activate(p.path, p.settings, p.ranking));
connection.onRequest(Lsp.diffProfiles, (p) => hotspots.diff(p.before, p.after, p.settings, p.ranking));
connection.onRequest(Lsp.setHotspotOptions, (p) => hotspots.setOptions(p));
connection.onRequest(Lsp.clearHotspots, () => {
  hotspots.clear();
  return null;
});
connection.onRequest(Lsp.hotspotsState, () => hotspots.state());
connection.onRequest(Lsp.listBackends, () => describeBackends());

connection.onRequest(Lsp.startRun, (params) => ({ runId: host.start(params) }));
connection.onRequest(Lsp.cancelRun, (params) => ({ cancelled: host.cancel(params.runId) }));
connection.onRequest(Lsp.addRunEvent, (params) => ({ added: host.addRunEvent(params.runId, params.event) }));
connection.onRequest(Lsp.listAllocators, (params) => listAllocators(params ?? {}));
connection.onRequest(Lsp.listProcesses, () => listProcesses());
connection.onRequest(Lsp.activeRuns, () => host.ids());
connection.onRequest(Lsp.serverPid, () => process.pid);

// A clean shutdown closes run folders properly (complete, cancelled) before the process goes.
connection.onShutdown(() => host.cancelAll());

connection.listen();
