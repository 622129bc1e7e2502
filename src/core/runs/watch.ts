// Watching a process we did not start: sample it until it exits, the duration ends or the user stops,
// and save it as a run like any other.
import * as path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { discoverAllocators, verifyEnvironment } from '../allocators';
import { computeEnvironmentMetrics } from '../analysis/metrics';
import { AlloclabError } from '../errors';
import { readProcText } from '../os/proc';
import type { RunEvent, RunKind, Sample } from '../model';
import { startSampler } from '../sampler';
import type { RunObserver, RunOutcome } from './runner';
import { RunWriter, SAMPLES_FILE } from './store';

export interface WatchRequest {
  pid: number;
  runsDir: string;
  outDir?: string;
  intervalMs: number;
  /** Stop watching after this long; without it, watch until the process exits or the signal aborts. */
  durationMs?: number;
  signal?: AbortSignal;
  /** 'watch' by default; a debugger session records as 'debug'. */
  kind?: RunKind;
  /** Run name (default: watch-<process name>). */
  name?: string;
  /** Receives a function that adds an event (e.g. a debugger stop) to the timeline, stamped with the current time. */
  onStart?(addEvent: (event: RunEventWithoutTime) => void): void;
}

type DistributiveOmit<T, K extends keyof T> = T extends unknown ? Omit<T, K> : never;
export type RunEventWithoutTime = DistributiveOmit<RunEvent, 't'>;

/** The command name of a process, from /proc/PID/comm. */
export function processName(pid: number): string {
  try {
    return readProcText(pid, 'comm').trim();
  } catch {
    throw new AlloclabError(`No process ${pid} (or its /proc entry cannot be read). Pick a running PID, e.g. from \`ps -ef\`.`, 'input');
  }
}

/** Samples an existing process and records it as a run of kind "watch". */
export async function watchProcess(req: WatchRequest, observer: RunObserver = {}): Promise<RunOutcome> {
  const name = processName(req.pid);
  const writer = RunWriter.create({
    runsDir: req.runsDir, outDir: req.outDir, name: req.name ?? `watch-${name.replace(/[^\w.-]/g, '_')}`, kind: req.kind ?? 'watch',
    scenarioPath: null, scenario: { pid: req.pid, intervalMs: req.intervalMs, durationMs: req.durationMs ?? null },
  });
  observer.runStarted?.(writer.dir, writer.record);
  const rec = writer.addEnvironment({
    env: 'attached', label: `PID ${req.pid} (${name})`, repetition: 1, appliedEnv: {}, pid: req.pid,
    startedAt: new Date().toISOString(), durationMs: null, verification: null, exit: null, error: null, metrics: null,
  });
  observer.environmentStarted?.(0, rec);
  const startNs = process.hrtime.bigint();
  const now = () => Number(process.hrtime.bigint() - startNs) / 1e6;
  const events: RunEvent[] = [];
  const emit = (e: RunEvent) => { events.push(e); writer.appendEvent(rec, e); observer.event?.(0, e); };
  req.onStart?.((e) => {
    emit({ ...e, t: now() } as RunEvent);
    // A later verification (a debugger checks the maps at the first stop, once libraries are loaded) is the one that counts.
    if (e.type === 'verified') {
      rec.verification = e.verification;
      writer.save();
    }
  });

  // What allocator is this process really running on? The maps tell (the glibc profile verifies nothing extra).
  const glibc = discoverAllocators().find((p) => p.id === 'glibc');
  if (glibc) {
    rec.verification = verifyEnvironment(req.pid, glibc);
    emit({ t: 0, type: 'verified', verification: rec.verification });
  }
  const samples: Sample[] = [];
  const sampler = startSampler({ pid: req.pid, startNs, intervalMs: req.intervalMs, samplesFile: path.join(writer.dir, rec.dir, SAMPLES_FILE) });
  sampler.onBatch((batch) => { samples.push(...batch); observer.samples?.(0, batch); });

  const stops: Promise<unknown>[] = [sampler.done];
  if (req.durationMs) stops.push(sleep(req.durationMs, undefined, { signal: req.signal }).catch(() => undefined));
  if (req.signal) stops.push(new Promise((r) => req.signal!.addEventListener('abort', r, { once: true })));
  await Promise.race(stops);
  const summary = await sampler.stop();
  if (summary.reason === 'exited') {
    emit({ t: now(), type: 'exit', code: null, signal: null, expected: false });
    rec.exit = { code: null, signal: null, expected: false };
  } else if (summary.reason === 'error') {
    rec.error = `Sampling stopped: ${summary.error}`;
  }
  rec.durationMs = now();
  rec.metrics = samples.length ? computeEnvironmentMetrics(samples, events) : null;
  // A debug run ends when its session does: that is its normal end, not a cancellation.
  writer.record.cancelled = !!req.signal?.aborted && req.kind !== 'debug';
  writer.record.complete = true;
  writer.save();
  observer.environmentFinished?.(0, rec);
  return { runDir: writer.dir, record: writer.record };
}
