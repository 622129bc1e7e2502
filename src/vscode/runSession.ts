// One run in flight as the editor sees it: cancellable progress, the live status bar item, the live panel, the
// log. Everything a run creates is owned here and disposed when the run ends.
import * as vscode from 'vscode';
import type { EnvironmentRecord, RunRecord } from '../core/model';
import { formatMiB } from '../core/units';
import type { RunFinishedParams, StartRunParams } from '../protocol/lsp';
import type { EngineClient, RunListener } from './client';
import { Commands, ContextKeys, type RunOutcome } from './constants';
import type { RunViewer } from './panelBridge';

export interface RunSessionDeps {
  engine: EngineClient;
  viewer: RunViewer;
  log: vscode.LogOutputChannel;
  statusBar: vscode.StatusBarItem;
  /** Called when the run is over, whatever the outcome (refreshes the runs view). */
  onEnded(session: RunSession): void;
}

export class RunSession implements vscode.Disposable {
  runId: string | null = null;
  runDir: string | null = null;
  record: RunRecord | null = null;
  private envIndex = -1;
  private envLabel = '';
  private lastRss: number | null = null;
  private readonly disposables: vscode.Disposable[] = [];
  private resolveOutcome!: (o: RunOutcome) => void;
  /** Resolves when the run is over (finished, cancelled, failed or interrupted). */
  readonly outcome = new Promise<RunOutcome>((r) => (this.resolveOutcome = r));
  private progress: vscode.Progress<{ message?: string }> | null = null;
  private ended = false;

  constructor(readonly title: string, private readonly deps: RunSessionDeps, private readonly openPanel: boolean) {}

  /** Starts the run on the engine under a cancellable progress notification; resolves when it is over. */
  async start(params: Omit<StartRunParams, 'runId'>): Promise<RunOutcome> {
    const listener: RunListener = {
      runStarted: (runDir, record) => {
        this.runDir = runDir;
        this.record = record;
        this.deps.log.info(`[${this.title}] run folder ${runDir}`);
        if (this.openPanel) this.deps.viewer.beginLive(runDir, record);
      },
      progress: (message) => {
        this.deps.log.info(`[${this.title}] ${message}`);
        this.progress?.report({ message });
      },
      environmentStarted: (index, env) => this.onEnvironment(index, env, false),
      samples: (index, samples) => {
        if (!this.runDir) return;
        this.deps.viewer.pushSamples(this.runDir, index, samples);
        const last = samples[samples.length - 1];
        // The status follows the newest environment (the one before it may still be idling out).
        if (last && index >= this.envIndex) {
          this.envIndex = index;
          this.lastRss = last.rssBytes;
          this.updateStatus();
        }
      },
      event: (index, event) => {
        if (!this.runDir) return;
        this.deps.viewer.pushEvent(this.runDir, index, event);
        if (event.type === 'note' && event.level !== 'info') this.deps.log.warn(`[${this.title}] ${event.message}`);
        if (event.type === 'exit' && !event.expected) {
          this.deps.log.warn(`[${this.title}] target exited on its own (code ${event.code}, signal ${event.signal})`);
        }
      },
      environmentFinished: (index, env) => this.onEnvironment(index, env, true),
      finished: (result) => this.finish(result),
    };
    this.updateStatus();
    void vscode.commands.executeCommand('setContext', ContextKeys.Running, true);
    void vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: `Allocator Lab: ${this.title}`, cancellable: true },
      (progress, token) => {
        this.progress = progress;
        this.disposables.push(token.onCancellationRequested(() => void this.cancel()));
        return this.outcome;
      },
    );
    try {
      this.runId = await this.deps.engine.startRun(params, listener);
      this.deps.log.info(`[${this.title}] started (run id ${this.runId})`);
    } catch (e) {
      this.finish({ runId: '', runDir: null, record: null, cancelled: false, error: { message: (e as Error).message, userError: false, name: 'EngineError' } });
    }
    return this.outcome;
  }

  async cancel(): Promise<void> {
    if (this.ended || !this.runId) return;
    this.deps.log.info(`[${this.title}] cancelling`);
    this.progress?.report({ message: 'stopping…' });
    await this.deps.engine.cancelRun(this.runId);
  }

  get statusText(): string {
    const rss = this.lastRss == null ? 'starting' : formatMiB(this.lastRss);
    return `$(pulse) ${rss}${this.envLabel ? ` · ${this.envLabel}` : ''}`;
  }

  private onEnvironment(index: number, env: EnvironmentRecord, finished: boolean): void {
    if (this.record) {
      this.record.environments[index] = env;
      if (this.runDir) this.deps.viewer.updateRecord(this.runDir, this.record);
    }
    if (!finished) {
      this.envIndex = index;
      this.envLabel = env.label || env.env;
      this.lastRss = null;
      this.progress?.report({ message: `${env.label || env.env} (${index + 1}/${this.record?.environments.length ?? '?'})` });
    } else {
      const m = env.metrics;
      this.deps.log.info(`[${this.title}] ${env.env}: ${env.error ? `error: ${env.error}` : `peak ${formatMiB(m?.peakRssBytes)}, final ${formatMiB(m?.finalRssBytes)}`}`);
    }
    this.updateStatus();
  }

  private updateStatus(): void {
    const item = this.deps.statusBar;
    item.text = this.statusText;
    item.tooltip = `Allocator Lab: ${this.title}${this.envIndex >= 0 ? `\nEnvironment ${this.envIndex + 1}: ${this.envLabel}` : ''}\nClick to show the live panel.`;
    item.command = Commands.ShowLivePanel;
    item.show();
  }

  private finish(result: RunFinishedParams): void {
    if (this.ended) return;
    this.ended = true;
    this.runDir = result.runDir ?? this.runDir;
    if (result.record) {
      this.record = result.record;
      if (this.runDir) this.deps.viewer.updateRecord(this.runDir, result.record);
    }
    const outcome: RunOutcome = {
      runDir: this.runDir,
      complete: !!result.record?.complete,
      cancelled: result.cancelled,
      error: result.error?.message ?? null,
    };
    this.deps.statusBar.hide();
    void vscode.commands.executeCommand('setContext', ContextKeys.Running, false);
    if (result.error) {
      this.deps.log.error(`[${this.title}] ${result.error.name}: ${result.error.message}`);
      const where = result.error.location;
      const actions = where ? ['Open Scenario', 'Open Log'] : result.error.userError ? ['Open Log', 'Open Settings'] : ['Open Log'];
      void vscode.window.showErrorMessage(`Allocator Lab: ${result.error.message}`, ...actions).then((a) => {
        if (a === 'Open Log') this.deps.log.show();
        if (a === 'Open Scenario' && where) {
          const pos = new vscode.Position(Math.max(0, where.line - 1), Math.max(0, where.column - 1));
          void vscode.window.showTextDocument(vscode.Uri.file(where.file), { selection: new vscode.Range(pos, pos) });
        }
        if (a === 'Open Settings') void vscode.commands.executeCommand('workbench.action.openSettings', 'allocatorLab');
      });
    } else if (result.cancelled) {
      this.deps.log.info(`[${this.title}] cancelled`);
      void vscode.window.showInformationMessage(`Allocator Lab: ${this.title} was stopped; what was recorded is kept.`);
    } else {
      const verdict = result.record?.verdict;
      this.deps.log.info(`[${this.title}] finished${verdict ? `: ${verdict}` : ''}`);
      void vscode.window.showInformationMessage(`Allocator Lab: ${this.title} finished.${verdict ? ` ${verdict}` : ''}`, 'Open Run').then((a) => {
        if (a === 'Open Run' && this.runDir) void this.deps.viewer.showRun(this.runDir);
      });
    }
    this.resolveOutcome(outcome);
    this.deps.onEnded(this);
    this.dispose();
  }

  dispose(): void {
    for (const d of this.disposables.splice(0)) d.dispose();
  }
}
