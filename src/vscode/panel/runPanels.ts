// The host side of the run panel: one webview panel per run folder, restored after a reload by a serializer whose
// state is the run folder. A live run is mirrored here (record, samples, events) independently of any panel, so
// closing the panel never stops or loses the run, and reopening it shows everything so far. Increments go only to
// a visible, ready panel; becoming visible again (or a reloaded webview saying "ready") gets a full snapshot.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { RunEvent, RunRecord, Sample } from '../../core/model';
import { openRun } from '../../core/runs/store';
import { isFromWebview, RUN_PANEL_VIEW_TYPE, type EnvironmentSnapshot, type ExportFormat, type FromWebview, type RunSnapshot, type ToWebview } from '../../protocol/webview';
import type { RunViewer } from '../panelBridge';
import { makeNonce, panelHtml } from './panelHtml';

/** Where the panel reports what users cannot see otherwise (the extension's output channel). */
export interface PanelLog {
  info(message: string): void;
  warn(message: string): void;
}

interface LiveRun {
  dir: string;
  record: RunRecord;
  environments: EnvironmentSnapshot[];
  /** Samples and events that arrived before the record named their environment. */
  early: Map<number, { samples: Sample[]; events: RunEvent[] }>;
  live: boolean;
}

interface OpenPanel {
  panel: vscode.WebviewPanel;
  dir: string;
  ready: boolean;
  /** The stored run, read once per panel (live runs come from the mirror instead). */
  stored: RunSnapshot | null;
  disposables: vscode.Disposable[];
}

const FILTERS: Record<ExportFormat, Record<string, string[]>> = {
  png: { 'PNG image': ['png'] },
  csv: { CSV: ['csv'] },
  json: { JSON: ['json'] },
};

const keyOf = (runDir: string) => path.resolve(runDir);

export class RunPanels implements RunViewer, vscode.Disposable {
  private readonly panels = new Map<string, OpenPanel>();
  private readonly runs = new Map<string, LiveRun>();
  private liveDir: string | null = null;

  private constructor(private readonly distUri: vscode.Uri, private readonly log: PanelLog) {}

  /** Creates the panels service for the extension's lifetime and registers the serializer that restores panels. */
  static register(context: vscode.ExtensionContext, log: PanelLog = { info: () => undefined, warn: () => undefined }): RunPanels {
    const panels = new RunPanels(vscode.Uri.joinPath(context.extensionUri, 'dist'), log);
    context.subscriptions.push(
      panels,
      vscode.window.registerWebviewPanelSerializer(RUN_PANEL_VIEW_TYPE, {
        deserializeWebviewPanel: async (panel, state: unknown) => panels.restore(panel, state),
      }),
      // The webview also sees the body class change; the message covers a theme whose class stays the same.
      vscode.window.onDidChangeActiveColorTheme(() => panels.broadcast({ type: 'theme' })),
    );
    return panels;
  }

  /** Opens (or reveals) the panel of a run folder: the live mirror when the run is in flight, else the stored run. */
  showRun(runDir: string): void {
    const key = keyOf(runDir);
    const existing = this.panels.get(key);
    if (existing) {
      existing.panel.reveal(undefined, false);
      return;
    }
    let stored: RunSnapshot | null = null;
    if (!this.runs.has(key)) {
      try {
        stored = openRun(key);
      } catch (e) {
        void vscode.window.showErrorMessage((e as Error).message);
        return;
      }
    }
    const title = this.runs.get(key)?.record.name ?? stored?.record.name ?? path.basename(key);
    const panel = vscode.window.createWebviewPanel(RUN_PANEL_VIEW_TYPE, `Run: ${title}`, vscode.ViewColumn.Active, this.webviewOptions());
    this.attach(panel, key, stored);
  }

  /** Starts mirroring a live run and opens its panel. */
  beginLive(runDir: string, record: RunRecord): void {
    const key = keyOf(runDir);
    this.runs.set(key, { dir: key, record, environments: [], early: new Map(), live: true });
    this.liveDir = key;
    this.syncEnvironments(this.runs.get(key)!);
    const open = this.panels.get(key);
    // A panel of this folder may exist from before (a rerun into the same --out folder): it now shows the new run.
    if (open) {
      open.stored = null;
      this.sendSnapshot(open);
      open.panel.reveal(undefined, true);
    } else this.showRun(key);
  }

  pushSamples(runDir: string, index: number, samples: Sample[]): void {
    const run = this.runs.get(keyOf(runDir));
    if (!run || !samples.length) return;
    const env = run.environments[index];
    if (env) env.samples.push(...samples);
    else this.earlyOf(run, index).samples.push(...samples);
    if (env) this.sendIncrement(run.dir, { type: 'samples', index, samples });
  }

  pushEvent(runDir: string, index: number, event: RunEvent): void {
    const run = this.runs.get(keyOf(runDir));
    if (!run) return;
    const env = run.environments[index];
    if (env) env.events.push(event);
    else this.earlyOf(run, index).events.push(event);
    if (env) this.sendIncrement(run.dir, { type: 'event', index, event });
  }

  updateRecord(runDir: string, record: RunRecord): void {
    const key = keyOf(runDir);
    const run = this.runs.get(key);
    if (!run) return;
    run.record = record;
    const before = run.environments.length;
    this.syncEnvironments(run);
    run.live = !record.complete && !record.cancelled;
    const open = this.panels.get(key);
    // Early samples were never sent, so a new environment goes out as a snapshot; otherwise the record suffices.
    if (open && run.environments.length !== before) this.sendSnapshot(open);
    else this.sendIncrement(key, { type: 'record', record });
    if (!run.live) {
      if (this.liveDir === key) this.liveDir = null;
      // Finished and nobody looking: the run folder on disk has it all.
      if (!open) this.runs.delete(key);
    }
  }

  /** Reveals the panel of the live run, if there is one. */
  revealLive(): void {
    if (this.liveDir) this.showRun(this.liveDir);
  }

  dispose(): void {
    for (const p of [...this.panels.values()]) p.panel.dispose();
    this.panels.clear();
    this.runs.clear();
  }

  // ---- internals ----------------------------------------------------------------------------------------------

  private webviewOptions(): vscode.WebviewPanelOptions & vscode.WebviewOptions {
    return { enableScripts: true, localResourceRoots: [this.distUri], enableFindWidget: true };
  }

  private async restore(panel: vscode.WebviewPanel, state: unknown): Promise<void> {
    const runDir = typeof state === 'object' && state && typeof (state as { runDir?: unknown }).runDir === 'string' ? (state as { runDir: string }).runDir : null;
    if (!runDir || !fs.existsSync(runDir)) {
      this.log.warn(`run panel not restored: ${runDir ? `${runDir} no longer exists` : 'no run folder in its state'}`);
      panel.dispose();
      return;
    }
    const key = keyOf(runDir);
    if (this.panels.has(key)) {
      panel.dispose();
      return;
    }
    let stored: RunSnapshot | null = null;
    if (!this.runs.has(key)) {
      try {
        stored = openRun(key);
      } catch (e) {
        this.log.warn(`run panel not restored: ${(e as Error).message}`);
        panel.dispose();
        return;
      }
    }
    panel.webview.options = this.webviewOptions();
    this.attach(panel, key, stored);
  }

  private attach(panel: vscode.WebviewPanel, key: string, stored: RunSnapshot | null): void {
    const open: OpenPanel = { panel, dir: key, ready: false, stored, disposables: [] };
    this.panels.set(key, open);
    const webview = panel.webview;
    webview.html = panelHtml({
      cspSource: webview.cspSource,
      scriptUri: webview.asWebviewUri(vscode.Uri.joinPath(this.distUri, 'webview.js')).toString(),
      styleUri: webview.asWebviewUri(vscode.Uri.joinPath(this.distUri, 'webview.css')).toString(),
      nonce: makeNonce(),
      title: panel.title,
    });
    open.disposables.push(
      webview.onDidReceiveMessage((msg: unknown) => this.onMessage(open, msg)),
      panel.onDidChangeViewState((e) => {
        if (e.webviewPanel.visible && open.ready) this.sendSnapshot(open);
      }),
      panel.onDidDispose(() => {
        for (const d of open.disposables) d.dispose();
        if (this.panels.get(key) === open) this.panels.delete(key);
        const run = this.runs.get(key);
        // Closing the panel of a live run keeps the mirror (the run goes on; reopening shows it).
        if (run && !run.live) this.runs.delete(key);
      }),
    );
  }

  private onMessage(open: OpenPanel, msg: unknown): void {
    if (!isFromWebview(msg)) {
      this.log.warn(`run panel sent an invalid message: ${JSON.stringify(msg)?.slice(0, 200)}`);
      return;
    }
    const m: FromWebview = msg;
    switch (m.type) {
      case 'ready':
        open.ready = true;
        this.sendSnapshot(open);
        break;
      case 'export':
        void this.saveExport(open, m.format, m.data, m.suggestedName);
        break;
      case 'openSource':
        void this.openSource(open, m.file, m.line);
        break;
      case 'log':
        (m.level === 'info' ? this.log.info : this.log.warn).call(this.log, `run panel: ${m.message}`);
        break;
    }
  }

  private snapshotOf(open: OpenPanel): RunSnapshot | null {
    const run = this.runs.get(open.dir);
    if (run) return { dir: run.dir, live: run.live, record: run.record, environments: run.environments };
    if (!open.stored) {
      try {
        open.stored = openRun(open.dir);
      } catch (e) {
        this.log.warn((e as Error).message);
        return null;
      }
    }
    return { ...open.stored, dir: open.dir, live: false };
  }

  private sendSnapshot(open: OpenPanel): void {
    if (!open.ready || !open.panel.visible) return;
    const run = this.snapshotOf(open);
    if (run) this.post(open, { type: 'snapshot', run });
  }

  private sendIncrement(key: string, msg: ToWebview): void {
    const open = this.panels.get(key);
    // A hidden panel gets nothing now and a full snapshot when it shows again.
    if (open && open.ready && open.panel.visible) this.post(open, msg);
  }

  private broadcast(msg: ToWebview): void {
    for (const open of this.panels.values()) if (open.ready && open.panel.visible) this.post(open, msg);
  }

  private post(open: OpenPanel, msg: ToWebview): void {
    void open.panel.webview.postMessage(msg).then(undefined, (e: Error) => this.log.warn(`run panel: ${e.message}`));
  }

  private earlyOf(run: LiveRun, index: number): { samples: Sample[]; events: RunEvent[] } {
    let e = run.early.get(index);
    if (!e) run.early.set(index, (e = { samples: [], events: [] }));
    return e;
  }

  /** Makes the mirror's environments follow the record (new environments take their early samples). */
  private syncEnvironments(run: LiveRun): void {
    run.record.environments.forEach((rec, i) => {
      const env = run.environments[i];
      if (env) {
        env.record = rec;
        return;
      }
      const early = run.early.get(i);
      run.early.delete(i);
      run.environments[i] = { record: rec, samples: early?.samples ?? [], events: early?.events ?? [] };
    });
  }

  private async saveExport(open: OpenPanel, format: ExportFormat, data: string, suggestedName: string): Promise<void> {
    const target = await vscode.window.showSaveDialog({
      defaultUri: vscode.Uri.file(path.join(open.dir, suggestedName)),
      filters: FILTERS[format],
      title: `Export the run as ${format.toUpperCase()}`,
    });
    if (!target) return;
    const bytes = format === 'png'
      ? Buffer.from(data.slice('data:image/png;base64,'.length), 'base64')
      : Buffer.from(data, 'utf8');
    try {
      await vscode.workspace.fs.writeFile(target, bytes);
      this.post(open, { type: 'exported', format, file: target.fsPath });
    } catch (e) {
      void vscode.window.showErrorMessage(`Cannot write ${target.fsPath}: ${(e as Error).message}. Pick another location.`);
    }
  }

  private async openSource(open: OpenPanel, file: string, line: number): Promise<void> {
    // Relative paths are relative to the run's working folder (the scenario's), else to the workspace.
    const scenario = this.snapshotOf(open)?.record.scenarioPath;
    const bases = [scenario ? path.dirname(scenario) : null, ...(vscode.workspace.workspaceFolders ?? []).map((f) => f.uri.fsPath)];
    const candidates = path.isAbsolute(file) ? [file] : bases.filter((b): b is string => !!b).map((b) => path.join(b, file));
    const found = candidates.find((c) => fs.existsSync(c));
    if (!found) {
      void vscode.window.showWarningMessage(`Source file ${file} not found (looked in ${candidates.join(', ') || 'no folder'}).`);
      return;
    }
    const pos = new vscode.Position(line - 1, 0);
    await vscode.window.showTextDocument(vscode.Uri.file(found), { selection: new vscode.Range(pos, pos), viewColumn: vscode.ViewColumn.Beside });
  }
}
