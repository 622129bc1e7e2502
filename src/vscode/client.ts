// The extension's side of the engine: starts the language server over IPC and routes its run notifications to
// the run that asked for them. When the server dies, runs in flight are reported interrupted, the targets they
// started are killed from here too (a SIGKILLed server cannot clean up), and the server is restarted.
import { randomUUID } from 'node:crypto';
import * as vscode from 'vscode';
import type { RequestType } from 'vscode-jsonrpc';
import {
  CloseAction, ErrorAction, LanguageClient, State, TransportKind,
  type LanguageClientOptions, type ServerOptions,
} from 'vscode-languageclient/node';
import type { EnvironmentRecord, RunEvent, RunRecord, Sample } from '../core/model';
import { signalGroup } from '../core/os/groups';
import {
  Lsp, type AllocatorInfo, type AllocatorOptions, type ProcessInfo, type RunFinishedParams, type StartRunParams,
} from '../protocol/lsp';

/** What a run's owner hears from the engine. */
export interface RunListener {
  runStarted?(runDir: string, record: RunRecord): void;
  progress?(message: string): void;
  environmentStarted?(index: number, env: EnvironmentRecord): void;
  samples?(index: number, samples: Sample[]): void;
  event?(index: number, event: RunEvent): void;
  environmentFinished?(index: number, env: EnvironmentRecord): void;
  finished(result: RunFinishedParams): void;
}

const MAX_RESTARTS = 4;
const RESTART_WINDOW_MS = 3 * 60_000;

export class EngineClient implements vscode.Disposable {
  private readonly client: LanguageClient;
  private readonly listeners = new Map<string, { listener: RunListener; runDir: string | null; targets: Set<number> }>();
  private restarts: number[] = [];
  private readonly onDidRestartEmitter = new vscode.EventEmitter<void>();
  /** Fires after the server came back from an unexpected exit. */
  readonly onDidRestart = this.onDidRestartEmitter.event;

  constructor(serverModule: string, private readonly log: vscode.LogOutputChannel) {
    const serverOptions: ServerOptions = {
      run: { module: serverModule, transport: TransportKind.ipc },
      debug: { module: serverModule, transport: TransportKind.ipc, options: { execArgv: ['--nolazy', '--inspect=6019'] } },
    };
    const clientOptions: LanguageClientOptions = {
      documentSelector: [],
      outputChannel: log,
      errorHandler: {
        error: () => ({ action: ErrorAction.Continue }),
        closed: () => this.onServerClosed(),
      },
    };
    this.client = new LanguageClient('allocatorLab', 'Allocator Lab engine', serverOptions, clientOptions);
    this.client.onNotification(Lsp.runStarted, (p) => {
      const l = this.listeners.get(p.runId);
      if (!l) return;
      l.runDir = p.runDir;
      l.listener.runStarted?.(p.runDir, p.record);
    });
    this.client.onNotification(Lsp.progress, (p) => this.listeners.get(p.runId)?.listener.progress?.(p.message));
    this.client.onNotification(Lsp.environmentStarted, (p) => this.listeners.get(p.runId)?.listener.environmentStarted?.(p.index, p.env));
    this.client.onNotification(Lsp.samples, (p) => this.listeners.get(p.runId)?.listener.samples?.(p.index, p.samples));
    this.client.onNotification(Lsp.event, (p) => {
      const l = this.listeners.get(p.runId);
      if (!l) return;
      if (p.event.type === 'spawn') l.targets.add(p.event.pid);
      l.listener.event?.(p.index, p.event);
    });
    this.client.onNotification(Lsp.environmentFinished, (p) => {
      const l = this.listeners.get(p.runId);
      if (!l) return;
      if (p.env.pid != null) l.targets.delete(p.env.pid);
      l.listener.environmentFinished?.(p.index, p.env);
    });
    this.client.onNotification(Lsp.runFinished, (p) => {
      const l = this.listeners.get(p.runId);
      this.listeners.delete(p.runId);
      l?.listener.finished(p);
    });
  }

  start(): Promise<void> {
    return this.client.start();
  }

  get running(): boolean {
    return this.client.state === State.Running;
  }

  /** Starts a run; the listener hears everything until `finished`. Returns the run id. */
  async startRun(params: Omit<StartRunParams, 'runId'>, listener: RunListener): Promise<string> {
    const runId = randomUUID();
    // Registered before the request so notifications racing the answer are not lost.
    this.listeners.set(runId, { listener, runDir: null, targets: new Set() });
    try {
      await this.ready();
      await this.client.sendRequest(Lsp.startRun, { ...params, runId });
    } catch (e) {
      this.listeners.delete(runId);
      throw e;
    }
    return runId;
  }

  async cancelRun(runId: string): Promise<boolean> {
    if (!this.running) return false;
    return (await this.client.sendRequest(Lsp.cancelRun, { runId })).cancelled;
  }

  async listAllocators(opts: AllocatorOptions): Promise<AllocatorInfo[]> {
    await this.ready();
    return this.client.sendRequest(Lsp.listAllocators, opts);
  }

  async listProcesses(): Promise<ProcessInfo[]> {
    await this.ready();
    return this.client.sendRequest(Lsp.listProcesses, {});
  }

  async activeRuns(): Promise<string[]> {
    await this.ready();
    return this.client.sendRequest(Lsp.activeRuns, {});
  }

  /** The server's process id (tests kill it to check recovery). */
  /** Any typed request of src/protocol/lsp.ts, once the engine runs (it starts or restarts it). */
  async request<P, R>(type: RequestType<P, R, void>, params: P): Promise<R> {
    await this.ready();
    return this.client.sendRequest(type, params);
  }

  async serverPid(): Promise<number> {
    await this.ready();
    return this.client.sendRequest(Lsp.serverPid, {});
  }

  private async ready(): Promise<void> {
    if (this.client.state === State.Running) return;
    if (this.client.state === State.Stopped) {
      await this.client.start();
      return;
    }
    await new Promise<void>((resolve, reject) => {
      const sub = this.client.onDidChangeState((e) => {
        if (e.newState === State.Running) {
          sub.dispose();
          resolve();
        } else if (e.newState === State.Stopped) {
          sub.dispose();
          reject(new Error('The Allocator Lab engine stopped while starting; see the Allocator Lab output.'));
        }
      });
    });
  }

  private onServerClosed(): { action: CloseAction; handled: boolean } {
    const now = Date.now();
    this.restarts = this.restarts.filter((t) => now - t < RESTART_WINDOW_MS);
    const restart = this.restarts.length < MAX_RESTARTS;
    if (restart) this.restarts.push(now);
    const interrupted = [...this.listeners.entries()];
    this.listeners.clear();
    for (const [runId, l] of interrupted) {
      for (const pid of l.targets) signalGroup(pid, 'SIGKILL');
      this.log.warn(`run ${runId} interrupted: the engine process exited; ${l.targets.size} target(s) stopped`);
      l.listener.finished({
        runId, runDir: l.runDir, record: null, cancelled: false,
        error: {
          name: 'EngineExitedError', userError: false,
          message: 'The Allocator Lab engine stopped unexpectedly during the run. Its targets were stopped; the run is kept as incomplete. See the Allocator Lab output for details.',
        },
      });
    }
    if (restart) {
      this.log.warn('engine process exited; restarting it');
      // The client reports Running again once restarted; tell listeners (runs view) after that.
      const sub = this.client.onDidChangeState((e) => {
        if (e.newState === State.Running) {
          sub.dispose();
          this.onDidRestartEmitter.fire();
        }
      });
    } else {
      void vscode.window.showErrorMessage('The Allocator Lab engine keeps crashing and was not restarted. Reload the window to try again; the output has details.', 'Open Log')
        .then((a) => a && this.log.show());
    }
    return { action: restart ? CloseAction.Restart : CloseAction.DoNotRestart, handled: true };
  }

  dispose(): void {
    for (const l of this.listeners.values()) for (const pid of l.targets) signalGroup(pid, 'SIGKILL');
    this.onDidRestartEmitter.dispose();
    void this.client.stop(2000).catch(() => undefined);
  }
}
