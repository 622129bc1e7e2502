// Runs in flight inside the server: starts them on the engine, forwards what the engine observes to the client,
// cancels them. Kept apart from the connection so it can be driven without LSP.
import * as path from 'node:path';
import { discoverAllocators } from '../core/allocators';
import { AlloclabError, ScenarioError } from '../core/errors';
import type { RunRecord } from '../core/model';
import { compareScenario, executeRun, type RunObserver } from '../core/runs/runner';
import { watchProcess } from '../core/runs/watch';
import { loadScenarioFile } from '../core/stress/scenario';
import { profileRun, type ProfileTarget } from '../core/runs/profile';
import { backendForRun } from './hotspots';
import type {
  AllocatorInfo, AllocatorOptions, DebugRunEvent, EnvironmentParams, RunEventParams, RunFinishedParams, RunProgressParams,
  RunSamplesParams, RunStartedParams, StartRunParams,
} from '../protocol/lsp';

/** Where the host sends what happens to runs (the LSP connection, or a test). */
export interface RunSink {
  runStarted(p: RunStartedParams): void;
  progress(p: RunProgressParams): void;
  samples(p: RunSamplesParams): void;
  event(p: RunEventParams): void;
  environmentStarted(p: EnvironmentParams): void;
  environmentFinished(p: EnvironmentParams): void;
  runFinished(p: RunFinishedParams): void;
}

export class RunHost {
  private readonly active = new Map<string, { abort: AbortController; done: Promise<void> }>();
  /** Debug runs in flight: how to put an event on their timeline. */
  private readonly debugRuns = new Map<string, (event: DebugRunEvent) => void>();

  constructor(private readonly sink: RunSink) {}

  /** Starts a run in the background; everything after this arrives through the sink. */
  start(params: StartRunParams): string {
    const { runId } = params;
    if (this.active.has(runId)) throw new AlloclabError(`A run with id ${runId} is already in flight.`, 'input');
    const abort = new AbortController();
    // The run starts on the next turn so the answer to startRun leaves before its first notification.
    const done = new Promise<void>((resolve) => setImmediate(resolve))
      .then(() => this.execute(params, abort.signal))
      .finally(() => this.active.delete(runId));
    this.active.set(runId, { abort, done });
    return runId;
  }

  /** Puts an event on a debug run's timeline; false when no such run is in flight (it ended, or the engine restarted). */
  addRunEvent(runId: string, event: DebugRunEvent): boolean {
    const add = this.debugRuns.get(runId);
    add?.(event);
    return !!add;
  }

  cancel(runId: string): boolean {
    const run = this.active.get(runId);
    if (!run) return false;
    run.abort.abort();
    return true;
  }

  ids(): string[] {
    return [...this.active.keys()];
  }

  /** Cancels every run and waits for them to close their run folders. */
  async cancelAll(): Promise<void> {
    for (const r of this.active.values()) r.abort.abort();
    await Promise.allSettled([...this.active.values()].map((r) => r.done));
  }

  private async execute(params: StartRunParams, signal: AbortSignal): Promise<void> {
    const { runId } = params;
    let runDir: string | null = null;
    let record: RunRecord | null = null;
    const observer: Required<RunObserver> = {
      runStarted: (dir, rec) => {
        runDir = dir;
        record = rec;
        this.sink.runStarted({ runId, runDir: dir, record: rec });
      },
      environmentStarted: (index, env) => this.sink.environmentStarted({ runId, index, env }),
      samples: (index, samples) => this.sink.samples({ runId, index, samples }),
      event: (index, event) => this.sink.event({ runId, index, event }),
      environmentFinished: (index, env) => this.sink.environmentFinished({ runId, index, env }),
      progress: (message) => this.sink.progress({ runId, message }),
    };
    try {
      const result = await this.dispatch(params, signal, observer);
      this.sink.runFinished({ runId, runDir: result.runDir, record: result.record, cancelled: result.record.cancelled || signal.aborted, error: null });
    } catch (e) {
      const err = e instanceof Error ? e : new Error(String(e));
      const cancelled = signal.aborted || err.name === 'CancelledError';
      this.sink.runFinished({
        runId, runDir, record, cancelled,
        error: cancelled ? null : {
          message: err.message, name: err.name, userError: err instanceof AlloclabError && err.kind === 'input',
          location: err instanceof ScenarioError ? { file: err.file, line: err.line, column: err.column } : undefined,
        },
      });
    }
  }

  private dispatch(params: StartRunParams, signal: AbortSignal, observer: Required<RunObserver>): Promise<{ runDir: string; record: RunRecord }> {
    const t = params.target;
    const allocators = toDiscovery(params.allocators);
    switch (t.kind) {
      case 'scenario':
        return executeRun({
          kind: 'scenario', loaded: loadScenarioFile(t.scenarioPath), environments: params.environments,
          durationOverrideMs: params.durationOverrideMs, runsDir: params.runsDir, allocators, signal,
          untilSettled: params.untilSettled,
        }, observer);
      case 'compare': {
        const envs = params.environments?.length ? params.environments : ['glibc', 'jemalloc'];
        const loaded = compareScenario(t.command, t.args, t.durationMs, envs, t.cwd);
        if (params.samplingIntervalMs) loaded.scenario.sampling = { intervalMs: params.samplingIntervalMs };
        return executeRun({
          kind: 'compare', loaded, environments: envs,
          runsDir: params.runsDir, allocators, signal, untilSettled: params.untilSettled,
        }, observer);
      }
      case 'watch':
        return watchProcess({ pid: t.pid, durationMs: t.durationMs ?? undefined, intervalMs: params.samplingIntervalMs ?? 100, runsDir: params.runsDir, signal }, observer);
      case 'debug':
        return watchProcess({
          pid: t.pid, kind: 'debug', name: t.name, intervalMs: params.samplingIntervalMs ?? 100, runsDir: params.runsDir, signal,
          onStart: (add) => this.debugRuns.set(params.runId, add),
        }, observer).finally(() => this.debugRuns.delete(params.runId));
      case 'profile':
        return profileTargetRun(t, params, allocators, signal, observer);
    }
  }
}

/** A scenario or a binary under one attribution backend; profile.json lands in the environment folder. */
function profileTargetRun(
  t: Extract<StartRunParams['target'], { kind: 'profile' }>, params: StartRunParams, allocators: ReturnType<typeof toDiscovery>,
  signal: AbortSignal, observer: Required<RunObserver>,
): Promise<{ runDir: string; record: RunRecord }> {
  const backend = backendForRun(t.backend, t.lgProfInterval);
  let target: ProfileTarget;
  if (t.scenarioPath) target = { scenario: loadScenarioFile(t.scenarioPath), durationOverrideMs: params.durationOverrideMs };
  else if (t.command) target = { command: t.command, args: t.args ?? [], durationMs: t.durationMs ?? 10_000, cwd: t.cwd ?? path.dirname(t.command) };
  else throw new AlloclabError('A profile run needs a scenario file or a binary.', 'input');
  return profileRun({ backend, target, runsDir: params.runsDir, allocators, signal }, observer);
}

function toDiscovery(opts: AllocatorOptions | undefined) {
  return {
    custom: opts?.custom?.map((c) => ({ ...c, library: c.library ? path.resolve(c.library) : undefined })),
    searchPaths: opts?.searchPaths,
  };
}

/** The allocator environments of this machine, as the client shows them. */
export function listAllocators(opts: AllocatorOptions): AllocatorInfo[] {
  return discoverAllocators(toDiscovery(opts)).map((p) => ({
    id: p.id, label: p.label, description: p.description, available: p.available, unavailableReason: p.unavailableReason,
    debianPackage: p.debianPackage, preload: p.preload, custom: p.custom,
  }));
}
