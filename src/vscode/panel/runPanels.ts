// The host side of the run panel: one webview panel per run folder, restored after a reload by a serializer whose
// state is the run folder. What goes to which panel and when is decided by RunRouter (./runRouter, unit tested);
// this file is the VS Code part: creating panels, their page, messages, save dialogs, opening sources.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { RunEvent, RunRecord, Sample } from '../../core/model';
import { trimCallName, trimEvent, trimRunFolder } from '../../core/ledger';
import { openRun } from '../../core/runs/store';
import { formatMiB } from '../../core/units';
import { isFromWebview, RUN_PANEL_VIEW_TYPE, type ExportFormat, type FromWebview, type RunSnapshot, type ToWebview } from '../../protocol/webview';
import type { RunViewer } from './viewer';
import { makeNonce, panelHtml } from './panelHtml';
import { panelHotspots } from './panelHotspots';
import { hotspotSettings } from '../config';
import { RunRouter, runKey, type PanelSink } from './runRouter';

/** Where the panel reports what users cannot see otherwise (the extension's output channel). */
export interface PanelLog {
  info(message: string): void;
  warn(message: string): void;
}

const FILTERS: Record<ExportFormat, Record<string, string[]>> = {
  png: { 'PNG image': ['png'] },
  csv: { CSV: ['csv'] },
  json: { JSON: ['json'] },
};

class RunPanel implements PanelSink {
  ready = false;
  readonly disposables: vscode.Disposable[] = [];

  constructor(readonly panel: vscode.WebviewPanel, readonly dir: string, private readonly log: PanelLog) {}

  get visible(): boolean {
    return this.panel.visible;
  }

  post(msg: ToWebview): void {
    void this.panel.webview.postMessage(msg).then(undefined, (e: Error) => this.log.warn(`run panel: ${e.message}`));
  }
}

export class RunPanels implements RunViewer, vscode.Disposable {
  private readonly panels = new Map<string, RunPanel>();
  private readonly router: RunRouter;

  private constructor(private readonly distUri: vscode.Uri, private readonly log: PanelLog) {
    this.router = new RunRouter((dir) => openRun(dir), (e) => void vscode.window.showErrorMessage(e.message));
  }

  /** Creates the panels service for the extension's lifetime and registers the serializer that restores panels. */
  static register(context: vscode.ExtensionContext, log: PanelLog = { info: () => undefined, warn: () => undefined }): RunPanels {
    const panels = new RunPanels(vscode.Uri.joinPath(context.extensionUri, 'dist'), log);
    context.subscriptions.push(
      panels,
      vscode.window.registerWebviewPanelSerializer(RUN_PANEL_VIEW_TYPE, {
        deserializeWebviewPanel: async (panel, state: unknown) => panels.restore(panel, state),
      }),
      // The webview also sees its body class change; the message covers a theme switch that keeps the class.
      vscode.window.onDidChangeActiveColorTheme(() => panels.router.broadcast({ type: 'theme' })),
    );
    return panels;
  }

  /** Opens (or reveals) the panel of a run folder: the live mirror when the run is in flight, else the stored run. */
  showRun(runDir: string): void {
    const key = runKey(runDir);
    const existing = this.panels.get(key);
    if (existing) {
      existing.panel.reveal(undefined, false);
      return;
    }
    const stored = this.storedUnlessLive(key, (message) => void vscode.window.showErrorMessage(message));
    if (stored === undefined) return;
    const title = this.router.snapshot(key)?.record.name ?? stored?.record.name ?? path.basename(key);
    const panel = vscode.window.createWebviewPanel(RUN_PANEL_VIEW_TYPE, `Run: ${title}`, vscode.ViewColumn.Active, this.webviewOptions());
    this.attach(panel, key, stored);
  }

  /** Starts mirroring a live run and opens (or refreshes) its panel. */
  beginLive(runDir: string, record: RunRecord): void {
    this.router.begin(runDir, record);
    const open = this.panels.get(runKey(runDir));
    if (open) open.panel.reveal(undefined, true);
    else this.showRun(runDir);
  }

  pushSamples(runDir: string, index: number, samples: Sample[]): void {
    this.router.samples(runDir, index, samples);
  }

  pushEvent(runDir: string, index: number, event: RunEvent): void {
    this.router.event(runDir, index, event);
  }

  updateRecord(runDir: string, record: RunRecord): void {
    this.router.record(runDir, record);
    // A profiled environment writes profile.json as it finishes: the table can show up during the run.
    const open = this.panels.get(runKey(runDir));
    if (open?.ready && open.visible) this.sendHotspots(open);
  }

  /** Reveals the panel of the live run, if there is one. */
  revealLive(): void {
    const dir = this.router.liveDir;
    if (dir) this.showRun(dir);
  }

  dispose(): void {
    for (const p of [...this.panels.values()]) p.panel.dispose();
    this.panels.clear();
    this.router.clear();
  }

  // ---- internals ----------------------------------------------------------------------------------------------

  private webviewOptions(): vscode.WebviewPanelOptions & vscode.WebviewOptions {
    return { enableScripts: true, localResourceRoots: [this.distUri], enableFindWidget: true };
  }

  private async restore(panel: vscode.WebviewPanel, state: unknown): Promise<void> {
    const runDir = typeof state === 'object' && state && typeof (state as { runDir?: unknown }).runDir === 'string' ? (state as { runDir: string }).runDir : null;
    const key = runDir ? runKey(runDir) : null;
    if (!key || !fs.existsSync(key) || this.panels.has(key)) {
      if (!key || !fs.existsSync(key)) this.log.warn(`run panel not restored: ${key ? `${key} no longer exists` : 'no run folder in its state'}`);
      panel.dispose();
      return;
    }
    const stored = this.storedUnlessLive(key, (message) => {
      this.log.warn(`run panel not restored: ${message}`);
      panel.dispose();
    });
    if (stored === undefined) return;
    panel.webview.options = this.webviewOptions();
    this.attach(panel, key, stored);
  }

  /** The stored run, or null when the run is live (mirrored in memory); undefined after `failed` was told why it cannot be read. */
  private storedUnlessLive(key: string, failed: (message: string) => void): RunSnapshot | null | undefined {
    if (this.router.isMirrored(key)) return null;
    try {
      return openRun(key);
    } catch (e) {
      failed((e as Error).message);
      return undefined;
    }
  }

  private attach(panel: vscode.WebviewPanel, key: string, stored: RunSnapshot | null): void {
    const open = new RunPanel(panel, key, this.log);
    this.panels.set(key, open);
    this.router.attach(key, open, stored);
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
        if (e.webviewPanel.visible) {
          this.router.sendSnapshot(key);
          this.sendHotspots(open);
        }
      }),
      panel.onDidDispose(() => {
        for (const d of open.disposables) d.dispose();
        if (this.panels.get(key) === open) this.panels.delete(key);
        // A live run goes on without its panel; reopening it shows everything so far.
        this.router.detach(key, open);
      }),
    );
  }

  private onMessage(open: RunPanel, msg: unknown): void {
    if (!isFromWebview(msg)) {
      this.log.warn(`run panel sent an invalid message: ${JSON.stringify(msg)?.slice(0, 200)}`);
      return;
    }
    const m: FromWebview = msg;
    switch (m.type) {
      case 'ready':
        open.ready = true;
        this.router.sendSnapshot(open.dir);
        this.sendHotspots(open);
        break;
      case 'export':
        void this.saveExport(open, m.format, m.data, m.suggestedName);
        break;
      case 'openSource':
        void this.openSource(open, m.file, m.line);
        break;
      case 'trim':
        void this.trim(open, m.index);
        break;
      case 'log':
        if (m.level === 'info') this.log.info(`run panel: ${m.message}`);
        else this.log.warn(`run panel: ${m.message}`);
        break;
    }
  }

  /** The hotspot tables of the run's profiled environments (none: the webview hides the section). */
  private sendHotspots(open: RunPanel): void {
    const { workspaceRoots, sourceFileMap } = hotspotSettings();
    try {
      open.post({ type: 'hotspots', tables: panelHotspots(open.dir, workspaceRoots, sourceFileMap) });
    } catch (e) {
      this.log.warn(`run panel hotspots: ${(e as Error).message}`);
    }
  }

  private async saveExport(open: RunPanel, format: ExportFormat, data: string, suggestedName: string): Promise<void> {
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
      open.post({ type: 'exported', format, file: target.fsPath });
    } catch (e) {
      void vscode.window.showErrorMessage(`Cannot write ${target.fsPath}: ${(e as Error).message}. Pick another location.`);
    }
  }

  /**
   * The live "what would come back" experiment: the running target of the run is asked, through its probe, to
   * give free memory back; the trim event goes to the run folder (as `alloclab trim RUN_DIR` does) and to the panel.
   */
  private async trim(open: RunPanel, index: number): Promise<void> {
    try {
      const { result, env } = await trimRunFolder(open.dir);
      const at = this.router.snapshot(open.dir)?.record.environments.findIndex((e) => e.dir === env.dir) ?? -1;
      const t = Number(result.doneNs - result.probeStartNs) / 1e6;
      if (at >= 0) this.router.event(open.dir, at, trimEvent(result, t));
      const message = `${env.label}: RSS ${formatMiB(result.rssBeforeBytes)} -> ${formatMiB(result.rssAfterBytes)}, ` +
        `${formatMiB(Math.max(0, result.returnedBytes))} returned by ${trimCallName(result.allocator)}` +
        (result.returnedBytes > 0 ? ': retained by the allocator, not leaked.' : ': nothing came back.');
      open.post({ type: 'trimmed', index: at >= 0 ? at : index, returnedBytes: result.returnedBytes, message });
      void vscode.window.showInformationMessage(message);
    } catch (e) {
      const message = (e as Error).message;
      open.post({ type: 'trimmed', index, returnedBytes: null, message });
      void vscode.window.showErrorMessage(message);
    }
  }

  private async openSource(open: RunPanel, file: string, line: number): Promise<void> {
    // Relative paths are relative to the scenario's folder (the target's working folder), else to the workspace.
    let scenario: string | null = null;
    try {
      scenario = this.router.snapshot(open.dir)?.record.scenarioPath ?? null;
    } catch {
      scenario = null;
    }
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
