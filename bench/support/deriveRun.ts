// The other configurations of the accuracy benchmark, derived from one kept run made with the ledger and fixed
// durations, so that every configuration is judged on the same samples (a difference between columns is then the
// engine's, not the machine's):
// - without the ledger: the probe's figures are removed from every sample before the analysis;
// - until settled: each phase is replayed second by second through the same PhaseSettler the runner consults, and
//   ends where the runner would have ended it (its load's request count scaled to the shorter phase).
// What a replay cannot show: in a real run the next phase starts at the cut, so an idle phase follows a shorter load.
import { computeEnvironmentMetrics } from '../../src/core/analysis/metrics';
import { PhaseSettler } from '../../src/core/analysis/settle';
import { judgeRun } from '../../src/core/analysis/verdict';
import type { RunEvent, Sample } from '../../src/core/model';
import { openRun, type StoredRun } from '../../src/core/runs/store';

/** How often the runner looks at a phase run until settled (runner.ts SETTLE_CHECK_MS). */
const CHECK_MS = 1000;

const LEDGER_FIELDS = [
  'liveHeapBytes', 'allocatorHeldBytes', 'threadStacksBytes', 'allocatorMetadataBytes', 'directMmapBytes', 'lazyFreeBytes',
  'probeOverheadBytes', 'otherAnonBytes', 'allocatorFiguresAgeMs', 'allocatorStats',
] as const;

export function withoutLedger(samples: readonly Sample[]): Sample[] {
  return samples.map((s) => {
    const c: Sample = { ...s };
    for (const f of LEDGER_FIELDS) delete c[f];
    return c;
  });
}

/** The events with every phase ended where --until-settled would have ended it; `savedMs` is the time cut off. */
export function replaySettled(samples: readonly Sample[], events: readonly RunEvent[]): { events: RunEvent[]; savedMs: number } {
  const out = events.map((e) => ({ ...e })) as RunEvent[];
  let savedMs = 0;
  for (const start of out) {
    if (start.type !== 'phase-start') continue;
    const end = out.find((e) => e.type === 'phase-end' && e.index === start.index);
    if (!end || end.type !== 'phase-end' || end.reason !== 'duration') continue;
    const settler = new PhaseSettler(start.kind, start.t, { boundMs: end.t - start.t });
    for (let now = start.t + CHECK_MS; now < end.t; now += CHECK_MS) {
      // The settler looks only at the samples up to `now`, as it does while the run goes on.
      if (!settler.check(samples, now).settled) continue;
      const share = (now - start.t) / (end.t - start.t);
      savedMs += end.t - now;
      end.t = now;
      end.reason = 'settled';
      if (end.load) {
        end.load = { ...end.load, requests: Math.round(end.load.requests * share), durationMs: Math.round(end.load.durationMs * share) };
      }
      break;
    }
  }
  return { events: out, savedMs };
}

/** A kept run judged again by today's engine, without the ledger and/or until settled; `savedMs` as above (max over environments run one after another: their sum). */
export function deriveRun(dir: string, opts: { ledger: boolean; settled: boolean }): { run: StoredRun; savedMs: number } {
  const run = openRun(dir);
  let savedMs = 0;
  for (const e of run.environments) {
    if (!e.samples.length) continue;
    const samples = opts.ledger ? e.samples : withoutLedger(e.samples);
    let events = e.events;
    if (opts.settled) {
      const r = replaySettled(samples, events);
      events = r.events;
      savedMs += r.savedMs;
    }
    e.record.metrics = computeEnvironmentMetrics(samples, events);
  }
  if (opts.settled) run.record.scenario = { ...(run.record.scenario as object), untilSettled: true };
  judgeRun(run.record);
  return { run, savedMs };
}
