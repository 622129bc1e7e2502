// The one services object: owns the engine client, the runs view, the status bar, the panel and the runs in
// flight. Extension-lifetime things go to the extension context; per-run things to the run session, which
// disposes them when the run ends.
import * as vscode from 'vscode';
import type { StartRunParams } from '../protocol/lsp';
import { EngineClient } from './client';
import { Config, Views, type RunOutcome } from './constants';
import { runsDirectory } from './config';
import { createRunViewer, type RunViewer } from './panelBridge';
import { RunSession } from './runSession';
import { RunsView } from './runsView';

export class Ctx implements vscode.Disposable {
  readonly log: vscode.LogOutputChannel;
  readonly engine: EngineClient;
  readonly viewer: RunViewer;
  readonly runsView: RunsView;
  readonly statusBar: vscode.StatusBarItem;
  private readonly sessions = new Set<RunSession>();
  private readonly disposables: vscode.Disposable[] = [];

  constructor(readonly context: vscode.ExtensionContext) {
    context.subscriptions.push(this);
    this.log = this.own(vscode.window.createOutputChannel('Allocator Lab', { log: true }));
    this.engine = this.own(new EngineClient(context.asAbsolutePath('dist/server.js'), this.log));
    this.viewer = createRunViewer(context, this.log);
    this.runsView = this.own(new RunsView(Views.Runs, runsDirectory));
    this.statusBar = this.own(vscode.window.createStatusBarItem('allocatorLab.liveRss', vscode.StatusBarAlignment.Left, 50));
    this.statusBar.name = 'Allocator Lab live RSS';
    this.own(vscode.workspace.onDidChangeConfiguration((e) => {
      if (e.affectsConfiguration(`${Config.Section}.${Config.RunsDirectory}`)) this.runsView.watch();
    }));
    this.own(this.engine.onDidRestart(() => {
      void vscode.window.showWarningMessage('The Allocator Lab engine restarted after it stopped unexpectedly. Runs in flight were interrupted and kept as incomplete.', 'Open Log')
        .then((a) => a && this.log.show());
      this.runsView.refresh();
    }));
  }

  private own<T extends vscode.Disposable>(d: T): T {
    this.disposables.push(d);
    return d;
  }

  /** Starts the engine; failures are logged and shown, the viewers keep working without it. */
  async start(): Promise<void> {
    try {
      await this.engine.start();
    } catch (e) {
      this.log.error(`engine failed to start: ${(e as Error).message}`);
      void vscode.window.showErrorMessage(`Allocator Lab could not start its engine: ${(e as Error).message}`, 'Open Log').then((a) => a && this.log.show());
    }
  }

  /** Runs something on the engine with progress, status bar and live panel; resolves when it is over. */
  run(title: string, params: Omit<StartRunParams, 'runId'>, opts: { openPanel: boolean }): Promise<RunOutcome> {
    const session = new RunSession(title, {
      engine: this.engine, viewer: this.viewer, log: this.log, statusBar: this.statusBar,
      onEnded: (s) => {
        this.sessions.delete(s);
        this.runsView.refresh();
        // Another run may still be going: let it own the status bar again.
        const other = [...this.sessions].pop();
        if (other) {
          this.statusBar.text = other.statusText;
          this.statusBar.show();
        }
      },
    }, opts.openPanel);
    this.sessions.add(session);
    return session.start(params);
  }

  activeSessions(): RunSession[] {
    return [...this.sessions];
  }

  dispose(): void {
    for (const s of this.sessions) s.dispose();
    this.sessions.clear();
    for (const d of this.disposables.splice(0).reverse()) d.dispose();
  }
}
