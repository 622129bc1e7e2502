// The live memory of one debug session: a run of kind 'debug' on the engine for the debuggee's PID, fed to the
// status bar and (on demand) the run panel, with each stop of the debugger put on the run's timeline. Everything
// it holds is released when the session or the run ends, whichever comes first.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { discoverAllocators, verifyEnvironment } from '../../core/allocators';
import { readMemorySnapshot, SNAPSHOTS_FILE, type MemorySnapshot } from '../../core/debug';
import { residentBytes } from '../../core/os/proc';
import type { RunEvent, RunRecord, Sample } from '../../core/model';
import { formatMiB } from '../../core/units';
import { Lsp, type DebugRunEvent, type RunFinishedParams } from '../../protocol/lsp';
import type { EngineClient } from '../client';
import { allocatorOptions, runsDirectory, samplingIntervalMs } from '../config';
import { Commands } from '../constants';
import type { RunViewer } from '../panelBridge';

export interface DebugRunDeps {
  engine: EngineClient;
  viewer: RunViewer;
  log: vscode.LogOutputChannel;
  statusBar: vscode.StatusBarItem;
  /** Whether a run started by the Run commands is in flight (it owns the status bar then, too). */
  otherRunsActive(): boolean;
  openPanel: boolean;
  onEnded(run: DebugRun): void;
}

/** Where the PID came from, for the log. */
export type PidSource = 'process event' | 'attach configuration' | 'procfs';

export class DebugRun {
  pid: number | null = null;
  runId: string | null = null;
  runDir: string | null = null;
  record: RunRecord | null = null;
  ended = false;
  /** Set once the run was verified against the session's allocator environment. */
  verified = false;
  private readonly samples: Sample[] = [];
  private readonly events: RunEvent[] = [];
  private queued: DebugRunEvent[] = [];
  private lastRss: number | null = null;
  /** RSS at each stop, to show what the last step cost. */
  private readonly stopRss: (number | null)[] = [];
  private paused = false;
  private mirrored = false;

  constructor(readonly session: vscode.DebugSession, private readonly deps: DebugRunDeps) {}

  /** The allocator environment the session was launched with (set by our configuration provider), if any. */
  get environment(): string | null {
    const v = this.session.configuration['allocatorLab.environment'];
    return typeof v === 'string' && v ? v : null;
  }

  get envFolder(): string | null {
    const dir = this.record?.environments[0]?.dir;
    return this.runDir && dir ? path.join(this.runDir, dir) : null;
  }

  /** Starts the engine run for the debuggee; later calls are ignored. */
  async attach(pid: number, source: PidSource): Promise<void> {
    if (this.pid !== null || this.ended) return;
    this.pid = pid;
    this.deps.log.info(`[debug ${this.session.name}] debuggee PID ${pid} (from the ${source}); recording live memory`);
    const program = typeof this.session.configuration.program === 'string' ? path.basename(this.session.configuration.program) : this.session.name;
    const name = `debug-${program}${this.environment ? `-${this.environment}` : ''}`.replace(/[^\w.-]/g, '_');
    this.updateStatus();
    try {
      this.runId = await this.deps.engine.startRun({
        target: { kind: 'debug', pid, name }, runsDir: runsDirectory(), samplingIntervalMs: samplingIntervalMs(),
      }, {
        runStarted: (runDir, record) => {
          this.runDir = runDir;
          this.record = record;
          if (this.deps.openPanel) this.mirror();
        },
        environmentStarted: (index, env) => this.onRecord(index, env),
        environmentFinished: (index, env) => this.onRecord(index, env),
        samples: (index, samples) => {
          this.samples.push(...samples);
          if (this.mirrored && this.runDir) this.deps.viewer.pushSamples(this.runDir, index, samples);
          const last = samples[samples.length - 1];
          if (last) {
            this.lastRss = last.rssBytes;
            this.updateStatus();
          }
        },
        event: (index, event) => {
          this.events.push(event);
          if (this.mirrored && this.runDir) this.deps.viewer.pushEvent(this.runDir, index, event);
        },
        finished: (result) => this.onFinished(result),
      });
    } catch (e) {
      this.deps.log.error(`[debug ${this.session.name}] could not start recording: ${(e as Error).message}`);
      void vscode.window.showWarningMessage(`Allocator Lab could not record the memory of debug session "${this.session.name}": ${(e as Error).message}`);
      this.end();
      return;
    }
    const queued = this.queued;
    this.queued = [];
    for (const e of queued) void this.addEvent(e);
  }

  /** Puts an event on the run's timeline (queued until the run exists). */
  async addEvent(event: DebugRunEvent): Promise<void> {
    if (this.ended) return;
    if (!this.runId) {
      this.queued.push(event);
      return;
    }
    try {
      const { added } = await this.deps.engine.request(Lsp.addRunEvent, { runId: this.runId, event });
      if (!added) throw new Error(`no debug run ${this.runId} in flight (it ended, or the engine restarted)`);
    } catch (e) {
      this.deps.log.warn(`[debug ${this.session.name}] event not recorded: ${(e as Error).message}`);
    }
  }

  /** A `stopped` event of the adapter: mark it, and verify the allocator at the first stop (libraries are loaded by then). */
  onStopped(body: { reason?: string; description?: string; threadId?: number } | undefined): void {
    this.paused = true;
    void this.addEvent({ type: 'debug-stop', reason: body?.reason ?? 'unknown', description: body?.description, threadId: body?.threadId });
    if (!this.verified) this.verify();
    this.stopRss.push(this.currentRss());
    this.updateStatus();
  }

  onContinued(): void {
    this.paused = false;
    this.updateStatus();
  }

  /** RSS now, read straight from procfs (a stop wants the figure of this moment, not the last sample). */
  private currentRss(): number | null {
    if (this.pid === null) return this.lastRss;
    return residentBytes(this.pid) ?? this.lastRss;
  }

  private verify(): void {
    const id = this.environment;
    if (!id || this.pid === null) return;
    const profile = discoverAllocators(allocatorOptions() as Parameters<typeof discoverAllocators>[0]).find((p) => p.id === id);
    if (!profile) return;
    this.verified = true;
    const verification = verifyEnvironment(this.pid, profile);
    void this.addEvent({ type: 'verified', verification });
    if (verification.applied) {
      this.deps.log.info(`[debug ${this.session.name}] ${id} verified: ${verification.mappedAllocator ?? 'glibc malloc'}`);
    } else {
      this.deps.log.warn(`[debug ${this.session.name}] ${id} not applied: ${verification.notAppliedReason}`);
      void vscode.window.showWarningMessage(`Allocator Lab: the debuggee does not run under ${id}: ${verification.notAppliedReason}`);
    }
  }

  /** Records the debuggee's memory breakdown now: a line of snapshots.ndjson in the run's environment folder and a note. */
  snapshot(label: string): MemorySnapshot {
    if (this.pid === null) throw new Error(`The PID of debug session "${this.session.name}" is not known yet; take the snapshot once it is paused.`);
    const snap = readMemorySnapshot(this.pid, label);
    const folder = this.envFolder;
    if (folder) fs.appendFileSync(path.join(folder, SNAPSHOTS_FILE), `${JSON.stringify(snap)}\n`);
    void this.addEvent({ type: 'note', level: 'info', message: `snapshot "${label}": RSS ${formatMiB(snap.rssBytes)}, anon ${formatMiB(snap.anonBytes)}, PSS ${formatMiB(snap.pssBytes)}` });
    return snap;
  }

  /** Opens the run panel on this run, with what was recorded so far, and keeps it fed. */
  mirror(): void {
    if (!this.runDir || !this.record) {
      void vscode.window.showInformationMessage(`Allocator Lab: debug session "${this.session.name}" has no recording yet (its PID is not known).`);
      return;
    }
    if (this.mirrored && !this.ended) {
      this.deps.viewer.revealLive();
      return;
    }
    if (this.ended) {
      void this.deps.viewer.showRun(this.runDir);
      return;
    }
    this.mirrored = true;
    this.deps.viewer.beginLive(this.runDir, this.record);
    if (this.samples.length) this.deps.viewer.pushSamples(this.runDir, 0, this.samples);
    for (const e of this.events) this.deps.viewer.pushEvent(this.runDir, 0, e);
  }

  private onRecord(index: number, env: RunRecord['environments'][number]): void {
    if (!this.record) return;
    this.record.environments[index] = env;
    if (this.mirrored && this.runDir) this.deps.viewer.updateRecord(this.runDir, this.record);
  }

  get statusText(): string {
    const rss = this.lastRss === null ? 'starting' : formatMiB(this.lastRss);
    const [prev, last] = this.stopRss.slice(-2);
    const delta = this.paused && this.stopRss.length > 1 && prev != null && last != null ? ` (${signed(last - prev)} since last stop)` : '';
    return `$(${this.paused ? 'debug-pause' : 'debug'}) ${this.paused && last != null ? formatMiB(last) : rss}${delta}${this.environment ? ` · ${this.environment}` : ''}`;
  }

  private updateStatus(): void {
    if (this.ended) return;
    const item = this.deps.statusBar;
    item.text = this.statusText;
    item.tooltip = `Allocator Lab: live memory of debug session "${this.session.name}"${this.pid ? ` (PID ${this.pid})` : ''}\n${this.environment ? `Allocator environment: ${this.environment}\n` : ''}Click to show the run panel.`;
    item.command = Commands.ShowDebugMemory;
    item.show();
  }

  private onFinished(result: RunFinishedParams): void {
    this.runDir = result.runDir ?? this.runDir;
    if (result.record) {
      this.record = result.record;
      if (this.mirrored && this.runDir) this.deps.viewer.updateRecord(this.runDir, result.record);
    }
    if (result.error) {
      this.deps.log.error(`[debug ${this.session.name}] recording failed: ${result.error.message}`);
    } else {
      this.deps.log.info(`[debug ${this.session.name}] recording saved in ${this.runDir}`);
    }
    this.end();
  }

  /** The session ended: stop recording (the engine saves the run). */
  async stop(): Promise<void> {
    if (this.runId && !this.ended) await this.deps.engine.cancelRun(this.runId).catch(() => false);
    else this.end();
  }

  private end(): void {
    if (this.ended) return;
    this.ended = true;
    if (!this.deps.otherRunsActive()) this.deps.statusBar.hide();
    this.deps.onEnded(this);
  }
}

function signed(bytes: number): string {
  return `${bytes >= 0 ? '+' : '−'}${formatMiB(Math.abs(bytes))}`;
}
