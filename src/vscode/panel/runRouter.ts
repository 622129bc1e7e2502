// Which run data goes to which panel, and when. No vscode import (a panel is a PanelSink), so the rules are unit
// tested in plain Node: a live run is mirrored independently of any panel (closing the panel does not lose the
// run); increments go only to a visible, ready panel; a panel that becomes visible or ready gets a full snapshot.
import * as path from 'node:path';
import type { RunEvent, RunRecord, Sample } from '../../core/model';
import type { EnvironmentSnapshot, RunSnapshot, ToWebview } from '../../protocol/webview';

/** The view of one panel the router needs. */
export interface PanelSink {
  readonly visible: boolean;
  /** The webview said "ready" (its script runs and listens). */
  readonly ready: boolean;
  post(msg: ToWebview): void;
}

interface LiveRun {
  dir: string;
  record: RunRecord;
  environments: EnvironmentSnapshot[];
  /** Samples and events that arrived before the record named their environment. */
  early: Map<number, { samples: Sample[]; events: RunEvent[] }>;
  live: boolean;
}

interface Attached { sink: PanelSink; stored: RunSnapshot | null }

/** Run folders compare by absolute path. */
export const runKey = (runDir: string) => path.resolve(runDir);

export class RunRouter {
  private readonly runs = new Map<string, LiveRun>();
  private readonly panels = new Map<string, Attached>();
  private liveKey: string | null = null;

  /** `readRun` reads a stored run (openRun) and may throw; `onError` hears what a snapshot could not read. */
  constructor(private readonly readRun: (dir: string) => RunSnapshot, private readonly onError: (e: Error) => void = () => undefined) {}

  /** The run folder of the run in flight, if any. */
  get liveDir(): string | null {
    return this.liveKey;
  }

  isMirrored(runDir: string): boolean {
    return this.runs.has(runKey(runDir));
  }

  /** Connects a panel to a run folder (one panel per folder; a stored run may be passed when already read). */
  attach(runDir: string, sink: PanelSink, stored: RunSnapshot | null = null): void {
    this.panels.set(runKey(runDir), { sink, stored });
  }

  /** Disconnects a closed panel; the mirror of a finished run goes with it (the folder on disk has it all). */
  detach(runDir: string, sink: PanelSink): void {
    const key = runKey(runDir);
    if (this.panels.get(key)?.sink === sink) this.panels.delete(key);
    const run = this.runs.get(key);
    if (run && !run.live) this.runs.delete(key);
  }

  /** Starts mirroring a run in flight (a rerun into the same folder replaces what a panel showed). */
  begin(runDir: string, record: RunRecord): void {
    const key = runKey(runDir);
    const run: LiveRun = { dir: key, record, environments: [], early: new Map(), live: true };
    this.runs.set(key, run);
    this.liveKey = key;
    this.syncEnvironments(run);
    const p = this.panels.get(key);
    if (p) {
      p.stored = null;
      this.sendSnapshot(key);
    }
  }

  samples(runDir: string, index: number, samples: Sample[]): void {
    const run = this.runs.get(runKey(runDir));
    if (!run || !samples.length) return;
    const env = run.environments[index];
    if (!env) {
      this.earlyOf(run, index).samples.push(...samples);
      return;
    }
    env.samples.push(...samples);
    this.sendIncrement(run.dir, { type: 'samples', index, samples });
  }

  event(runDir: string, index: number, event: RunEvent): void {
    const run = this.runs.get(runKey(runDir));
    if (!run) return;
    const env = run.environments[index];
    if (!env) {
      this.earlyOf(run, index).events.push(event);
      return;
    }
    env.events.push(event);
    this.sendIncrement(run.dir, { type: 'event', index, event });
  }

  record(runDir: string, record: RunRecord): void {
    const key = runKey(runDir);
    const run = this.runs.get(key);
    if (!run) return;
    run.record = record;
    const before = run.environments.length;
    const hadEarly = run.early.size > 0;
    this.syncEnvironments(run);
    run.live = !record.complete && !record.cancelled;
    // Early samples were never sent: a new environment that brings some goes out as a snapshot.
    if (hadEarly && run.environments.length !== before) this.sendSnapshot(key);
    else this.sendIncrement(key, { type: 'record', record });
    if (!run.live) {
      if (this.liveKey === key) this.liveKey = null;
      if (!this.panels.has(key)) this.runs.delete(key);
    }
  }

  /** Everything a panel of `runDir` shows: the live mirror, else the stored run (read once per panel). */
  snapshot(runDir: string): RunSnapshot | null {
    const key = runKey(runDir);
    const run = this.runs.get(key);
    if (run) return { dir: run.dir, live: run.live, record: run.record, environments: run.environments };
    const p = this.panels.get(key);
    if (!p) return null;
    p.stored ??= this.readRun(key);
    return { ...p.stored, dir: key, live: false };
  }

  /** Sends the full state to the panel of `runDir` when it can show it (visible and ready). */
  sendSnapshot(runDir: string): void {
    const key = runKey(runDir);
    const p = this.panels.get(key);
    if (!p || !p.sink.ready || !p.sink.visible) return;
    let run: RunSnapshot | null;
    try {
      run = this.snapshot(key);
    } catch (e) {
      this.onError(e as Error);
      return;
    }
    if (run) p.sink.post({ type: 'snapshot', run });
  }

  /** A message for every visible, ready panel (theme changes). */
  broadcast(msg: ToWebview): void {
    for (const p of this.panels.values()) if (p.sink.ready && p.sink.visible) p.sink.post(msg);
  }

  /** Forgets everything (extension shutdown). */
  clear(): void {
    this.runs.clear();
    this.panels.clear();
    this.liveKey = null;
  }

  private sendIncrement(key: string, msg: ToWebview): void {
    const p = this.panels.get(key);
    // A hidden panel gets nothing now and a full snapshot when it shows again.
    if (p && p.sink.ready && p.sink.visible) p.sink.post(msg);
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
}
