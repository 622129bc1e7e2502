// Metrics of one environment's run, from its samples and events. Pure functions: no I/O.
import type { EnvironmentMetrics, LoadStats, PhaseEndReason, PhaseKind, PhaseMetrics, RunEvent, Sample, SettledOn, Trajectory } from '../model';
import { allocatorSnapshots } from './habits';
import { figuresFresh, ledgerCoverage, liveBytesOf } from './ledgerSeries';
import { classifyTrajectory, median, seriesOf, timeAverage } from './trajectory';

/** Least-squares slope of y over x, or null with fewer than 3 points or no spread in x. */
export function slope(xs: number[], ys: number[]): number | null {
  const n = xs.length;
  if (n < 3) return null;
  let sx = 0, sy = 0;
  for (let i = 0; i < n; i++) { sx += xs[i]; sy += ys[i]; }
  const mx = sx / n, my = sy / n;
  let num = 0, den = 0;
  for (let i = 0; i < n; i++) {
    const dx = xs[i] - mx;
    num += dx * (ys[i] - my);
    den += dx * dx;
  }
  return den > 0 ? num / den : null;
}

/** Robust (Theil-Sen, after the start-up ramp) growth of RSS in bytes per minute over startMs <= t <= endMs. */
export function growthBytesPerMin(samples: Sample[], startMs: number, endMs: number): number | null {
  const points = seriesOf(samples.filter((s) => s.t >= startMs && s.t <= endMs), (s) => s.rssBytes);
  return points.length ? classifyTrajectory(points, startMs, endMs).slopeBytesPerMin : null;
}

/** Least-squares growth of RSS in bytes per minute over the samples with startMs <= t <= endMs. */
export function lsGrowthBytesPerMin(samples: Sample[], startMs: number, endMs: number): number | null {
  return fitGrowth(samples, [[startMs, endMs]], (s) => s.rssBytes);
}

/** Least-squares growth of a figure, bytes per minute, over the samples inside any of the windows. */
function fitGrowth(samples: Sample[], windows: number[][], value: (s: Sample) => number): number | null {
  const xs: number[] = [], ys: number[] = [];
  for (const s of samples) {
    if (windows.some(([a, b]) => s.t >= a && s.t <= b)) { xs.push(s.t); ys.push(value(s)); }
  }
  const k = slope(xs, ys);
  return k == null ? null : k * 60_000;
}

interface PhaseWindow { phase: string; kind: PhaseKind; index: number; startMs: number; endMs: number; load?: LoadStats; reason?: PhaseEndReason; settledOn?: SettledOn }

/** Phase windows from phase-start/phase-end events; a phase without an end (crash, cancel) ends at the last sample. */
export function phaseWindows(events: RunEvent[], lastT: number): PhaseWindow[] {
  const out: PhaseWindow[] = [];
  const open = new Map<number, PhaseWindow>();
  for (const e of events) {
    if (e.type === 'phase-start') {
      const w: PhaseWindow = { phase: e.phase, kind: e.kind, index: e.index, startMs: e.t, endMs: lastT };
      open.set(e.index, w);
      out.push(w);
    } else if (e.type === 'phase-end') {
      const w = open.get(e.index);
      if (w) {
        w.endMs = e.t;
        w.load = e.load;
        if (e.reason) w.reason = e.reason;
        if (e.settledOn) w.settledOn = e.settledOn;
        open.delete(e.index);
      }
    }
  }
  return out;
}

function rssAt(samples: Sample[], t: number): number | null {
  // Last sample at or before t (samples are in time order).
  let lo = 0, hi = samples.length - 1, best: number | null = null;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (samples[mid].t <= t) { best = samples[mid].rssBytes; lo = mid + 1; } else hi = mid - 1;
  }
  return best;
}

function within(samples: Sample[], a: number, b: number): Sample[] {
  return samples.filter((s) => s.t >= a && s.t <= b);
}

/** Metrics of one phase. `baselineRss` is the RSS before the first load phase (for "returned" in idle phases). */
export function phaseMetrics(samples: Sample[], w: PhaseWindow, baselineRss: number | null): PhaseMetrics {
  const inside = within(samples, w.startMs, w.endMs);
  const startRss = rssAt(samples, w.startMs) ?? inside[0]?.rssBytes ?? 0;
  const endRss = inside.at(-1)?.rssBytes ?? startRss;
  const peak = inside.reduce((m, s) => Math.max(m, s.rssBytes), startRss);
  const trajectory = inside.length ? classifyTrajectory(seriesOf(inside, (s) => s.rssBytes), w.startMs, w.endMs) : null;
  const m: PhaseMetrics = {
    phase: w.phase, kind: w.kind, index: w.index, startMs: w.startMs, endMs: w.endMs,
    startRssBytes: startRss, endRssBytes: endRss, peakRssBytes: peak,
    growthBytesPerMin: trajectory?.slopeBytesPerMin ?? null,
    lsGrowthBytesPerMin: lsGrowthBytesPerMin(samples, w.startMs, w.endMs),
    trajectory,
  };
  if (w.load) m.load = w.load;
  if (w.reason) m.endReason = w.reason;
  if (w.settledOn) m.settledOn = w.settledOn;
  if (w.kind === 'idle') {
    // How fast: the time until half of what the phase gave back (down to its settled level) was given back.
    // A phase still giving back at its end has no settled level yet: its end is as far as it got.
    const settled = Math.min(trajectory?.steadyBytes ?? endRss, endRss);
    const returned = startRss - settled;
    const half = returned > 0 ? inside.find((s) => s.rssBytes <= startRss - returned / 2) : undefined;
    m.returnHalfMs = half ? half.t - w.startMs : null;
    const gained = baselineRss == null ? null : startRss - baselineRss;
    m.returnedFraction = gained && gained > 0 ? clamp01((startRss - endRss) / gained) : null;
    const after: NonNullable<PhaseMetrics['returnedBytesAfter']> = {};
    for (const [key, ms] of [['1s', 1000], ['10s', 10_000], ['60s', 60_000]] as const) {
      if (w.endMs - w.startMs >= ms) {
        const r = rssAt(samples, w.startMs + ms);
        if (r != null) after[key] = startRss - r;
      }
    }
    m.returnedBytesAfter = after;
  }
  return m;
}

function clamp01(x: number): number {
  return Math.max(0, Math.min(1, x));
}

/**
 * Least-squares growth of a figure in bytes/min: fitted over all load phases together (the retention signal while
 * work is done), or without phases (compare, watch) over the second half of the run, after start-up.
 */
function seriesGrowth(samples: Sample[], loadPhases: PhaseMetrics[], lastT: number, value: (s: Sample) => number): number | null {
  const windows = loadPhases.length ? loadPhases.map((p) => [p.startMs, p.endMs]) : [[lastT / 2, lastT]];
  return fitGrowth(samples, windows, value);
}

/** The windows the environment's trajectories cover: the load phases, or the whole run when there are none. */
function loadWindows(loadPhases: PhaseMetrics[], lastT: number): number[][] {
  return loadPhases.length ? loadPhases.map((p) => [p.startMs, p.endMs]) : [[0, lastT]];
}

/** Trajectory of a figure over the load windows (samples outside them left out), or null without any point. */
function windowsTrajectory(samples: Sample[], windows: number[][], value: (s: Sample) => number | null | undefined): Trajectory | null {
  const points = seriesOf(samples.filter((s) => windows.some(([a, b]) => s.t >= a && s.t <= b)), value);
  if (!points.length) return null;
  return classifyTrajectory(points, windows[0][0], windows.at(-1)![1]);
}

/** Median of a figure over the settled part of a trajectory (after its ramp), or null. */
function settledMedian(samples: Sample[], tr: Trajectory | null, value: (s: Sample) => number | null | undefined): number | null {
  if (!tr) return null;
  const from = tr.rampEndMs ?? tr.startMs;
  return median(seriesOf(samples.filter((s) => s.t >= from && s.t <= tr.endMs), value).map((p) => p.v));
}

/** Everything the comparison table shows for one environment. */
export function computeEnvironmentMetrics(samples: Sample[], events: RunEvent[]): EnvironmentMetrics {
  const lastT = samples.at(-1)?.t ?? 0;
  const windows = phaseWindows(events, lastT);
  const firstLoad = windows.find((w) => w.kind === 'load');
  const baseline = firstLoad ? rssAt(samples, firstLoad.startMs) : null;
  const phases = windows.map((w) => phaseMetrics(samples, w, baseline));

  const loadPhases = phases.filter((p) => p.kind === 'load');
  const lw = loadWindows(loadPhases, lastT);
  const trajectory = windowsTrajectory(samples, lw, (s) => s.rssBytes);
  const idle = phases.filter((p) => p.kind === 'idle' && p.returnedFraction != null);
  // An external driver whose output could not be read did work we cannot count: unknown, not zero.
  const loads = loadPhases.map((p) => p.load).filter((l): l is LoadStats => !!l && l.parsed !== false);
  const requests = loads.length ? loads.reduce((a, l) => a + l.requests, 0) : null;
  const loadMs = loads.reduce((a, l) => a + l.durationMs, 0);
  const peak = samples.reduce((m, s) => Math.max(m, s.rssBytes), 0);
  const p99s = loads.map((l) => l.latencyMs?.p99).filter((x): x is number => x != null);
  const inLoad = samples.filter((s) => lw.some(([a, b]) => s.t >= a && s.t <= b));
  const withLedger = samples.filter((s) => s.liveHeapBytes != null);
  let ledgerFigures: Partial<EnvironmentMetrics> = {};
  if (withLedger.length) {
    const live = windowsTrajectory(withLedger, lw, liveBytesOf);
    // Anonymous memory that is neither live heap nor allocator-held: thread stacks, direct mmap, the probe itself.
    const otherAnon = windowsTrajectory(withLedger, lw, (s) => s.otherAnonBytes ?? (s.anonBytes == null ? null : s.anonBytes - liveBytesOf(s) - (s.allocatorHeldBytes ?? 0)));
    // Held at the end: the last sample whose figures were current (stale ones are not the end's figure).
    const lastHeld = withLedger.filter((s) => s.allocatorHeldBytes != null && figuresFresh(s)).at(-1)?.allocatorHeldBytes;
    const coverage = ledgerCoverage(withLedger);
  const snapshots = allocatorSnapshots(samples, windows);
    ledgerFigures = {
      liveHeapBytes: liveBytesOf(withLedger.at(-1)!),
      peakLiveHeapBytes: withLedger.reduce((m, s) => Math.max(m, liveBytesOf(s)), 0),
      allocatorHeldBytes: lastHeld ?? null,
      liveHeapGrowthBytesPerMin: live?.slopeBytesPerMin ?? null,
      lsLiveHeapGrowthBytesPerMin: seriesGrowth(withLedger, loadPhases, lastT, liveBytesOf),
      liveHeapTrajectory: live,
      otherAnonTrajectory: otherAnon,
      heldTrajectory: windowsTrajectory(withLedger.filter(figuresFresh), lw, (s) => s.allocatorHeldBytes),
      steadyLiveHeapBytes: settledMedian(withLedger, live, liveBytesOf),
      steadyAllocatorHeldBytes: settledMedian(withLedger.filter(figuresFresh), trajectory, (s) => s.allocatorHeldBytes),
      ...(coverage ? { ledgerCoverage: coverage } : {}),
    ...(snapshots.length ? { allocatorSnapshots: snapshots } : {}),
    };
  }
  const threads = inLoad.filter((s) => s.threads != null);
  return {
    ...ledgerFigures,
    samples: samples.length,
    peakRssBytes: peak,
    finalRssBytes: samples.at(-1)?.rssBytes ?? 0,
    growthBytesPerMin: trajectory?.slopeBytesPerMin ?? null,
    growthIntervalBytesPerMin: trajectory?.slopeIntervalBytesPerMin ?? null,
    lsGrowthBytesPerMin: seriesGrowth(samples, loadPhases, lastT, (s) => s.rssBytes),
    steadyRssBytes: trajectory?.steadyBytes ?? null,
    meanRssBytes: timeAverage(seriesOf(inLoad, (s) => s.rssBytes)),
    trajectory,
    fileTrajectory: windowsTrajectory(samples, lw, (s) => (s.fileBytes == null && s.shmemBytes == null ? null : (s.fileBytes ?? 0) + (s.shmemBytes ?? 0))),
    threadsAtLoadStart: threads[0]?.threads ?? null,
    threadsAtLoadEnd: threads.at(-1)?.threads ?? null,
    returnedFraction: idle.length ? idle.at(-1)!.returnedFraction! : null,
    throughputRps: requests != null && loadMs > 0 ? (requests * 1000) / loadMs : null,
    latencyP99Ms: p99s.length ? Math.max(...p99s) : null,
    requests,
    peakBytesPerRequest: requests ? peak / requests : null,
    phases,
  };
}

/**
 * The share of one core the target used over fromMs..toMs (0.25: a quarter of a core), from the cumulative CPU
 * time of its samples; null when fewer than two samples in the window carry it, or they span under half the window.
 */
export function cpuShare(samples: readonly Sample[], fromMs: number, toMs: number): number | null {
  let first: Sample | undefined, last: Sample | undefined;
  for (const s of samples) {
    if (s.cpuMs == null || s.t < fromMs || s.t > toMs) continue;
    first ??= s;
    last = s;
  }
  if (!first || !last || last.t - first.t < (toMs - fromMs) / 2) return null;
  return (last.cpuMs! - first.cpuMs!) / (last.t - first.t);
}
