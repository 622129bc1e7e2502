// Settle, then stop (--until-settled): from a phase's live samples, whether what the phase is there to show is
// settled, so the phase can end before its duration (which becomes an upper bound). Pure; the runner asks once a
// second. What each phase is there to show:
// - warm-up: that start-up is over (its RSS no longer rises);
// - load: the trajectory class of RSS, and of the live heap when the ledger is on;
// - idle: how much memory comes back (RSS no longer falls).
// A class counts only once it has held for a third of the phase so far: a decision that flips when the window
// grows by half again was not one. "Rising" must hold longer, for half the phase and at least 15 s: a cache still
// filling looks exactly like a leak until it levels off, and calling a leak is the costly mistake. So a cache
// that fills for less than about 15 s is seen level before a leak is called; one that fills for longer needs a
// longer phase (its duration is the bound), and a leak costs 15 s more than a flat series to settle.
// A load or idle series that its bound cannot decide (still undecided, and its `need` reaches past the bound) ends
// the phase too, once that has held as long as a class must hold: running on would end it undecided all the same.
// The check then says `undecided`, and the runner says "stopped", not "settled". A rise that is slowing down (its
// second half under half the rate of its first) is not settled as rising: a cache filling towards its bound.
// A load phase also ends on the comparison: RSS is apart from an earlier environment's (the same phase, another
// allocator) by as much as the diagnosis calls the allocator's (most of the higher level is what the lower does
// without), and stays apart wherever its growth interval takes it by the bound. As the diagnosis reads growth: below
// a rise, it must grow at under a quarter of that rate; below a level, not rise at all; above a rise, not rise, or
// at over four times its rate (two rises alike may be one leak). The live heap still settles as a class.
import type { PhaseKind, Sample, SettledOn } from '../model';
import { formatMiB } from '../units';
import { allocatorDominates, SLOWER_FRACTION } from './diagnosis';
import { bucketMedians, classifyTrajectory, isDecided, MIN_SETTLED, seriesOf, theilSen, type SeriesPoint, type Trajectory, type TrajectoryClass } from './trajectory';

export interface SettleOptions {
  /**
   * Buckets of the live check. Default: the trajectory's own (as the run's analysis will classify the phase), so
   * a phase never ends settled on a finer series than the one its finding is drawn from.
   */
  bucketMs?: number;
  /** Share of the phase so far that a class must have held (default 1/3). */
  holdFraction?: number;
  /** And at least this long (default 2 s). */
  minHoldMs?: number;
  /** What "rising" must hold for: a share of the phase (default 1/2) and at least this long (default 15 s). */
  risingHoldFraction?: number;
  minRisingHoldMs?: number;
  /**
   * The phase's upper bound (its duration, ms). With it, a series still undecided whose `need` reaches past the
   * bound cannot be decided by running on either: the phase ends once that has held as long as a class must hold.
   */
  boundMs?: number;
  /** Earlier environments' finished runs of this (load) phase, under other allocators: what the comparison is against. */
  references?: readonly ComparisonReference[];
}

/** An earlier environment's finished load phase, as the comparison sees it. */
export interface ComparisonReference {
  label: string;
  /** The level its load reached: the steady level, or where a rise left it. */
  levelBytes: number;
  /** It rose (its trajectory's class). */
  rising: boolean;
  /** Its growth's 99 % interval (bytes/min), or null. */
  growthIntervalBytesPerMin: [number, number] | null;
}

/** The reference a finished load phase leaves for the comparison, from its samples (null without any). */
export function comparisonReference(label: string, samples: readonly Sample[], startMs: number, endMs: number): ComparisonReference | null {
  const points = seriesOf(samples.filter((s) => s.t >= startMs && s.t <= endMs), (s) => s.rssBytes);
  if (!points.length) return null;
  const t = classifyTrajectory(points, startMs, endMs);
  if (t.steadyBytes == null) return null;
  // As the diagnosis prices a default still growing: at where the load left it.
  const rising = t.class === 'rising';
  return { label, levelBytes: rising ? Math.max(t.steadyBytes, lastLevel(points, t, endMs)) : t.steadyBytes, rising, growthIntervalBytesPerMin: t.slopeIntervalBytesPerMin };
}

/** The median of a series' last bucket up to endMs (the steady level when there is none). */
function lastLevel(points: readonly SeriesPoint[], t: Trajectory, endMs: number): number {
  return bucketMedians(points, t.startMs, endMs, t.bucketMs).at(-1)?.v ?? t.steadyBytes ?? 0;
}

export interface SettleCheck {
  settled: boolean;
  /** Settled only in that its bound would not decide it either (a series still undecided): said as "stopped". */
  undecided?: boolean;
  /** When settled: on what (a series ended on the comparison makes it `comparison`, one undecided `undecided`). */
  on?: SettledOn;
  /** What was decided, or what is still open, in words (for progress and notes). */
  why: string;
}

const DEFAULT_HOLD_FRACTION = 1 / 3;
const DEFAULT_MIN_HOLD_MS = 2000;
const DEFAULT_RISING_HOLD_FRACTION = 1 / 2;
const DEFAULT_MIN_RISING_HOLD_MS = 15_000;
const MAX_POINTS = 120;
// Slowing: the second half of the window growing at under half the first half's rate, each half of 4 buckets or more.
const SLOWING_FRACTION = 0.5;
const MIN_HALF = 4;

interface Held { cls: TrajectoryClass | 'beyond-bound' | 'apart'; sinceMs: number }

/** The classes of a negated idle series, in the words of the original. */
const IDLE_WORDS: Partial<Record<TrajectoryClass, string>> = {
  flat: 'level (nothing coming back)', 'levelling-off': 'given back, then level', falling: 'rising', oscillating: 'oscillating',
};

/** The classes that answer each phase's question (warm-up: start-up over; idle: no longer giving memory back). */
function answers(kind: PhaseKind, cls: TrajectoryClass): boolean {
  if (cls === 'too-short') return false;
  if (kind === 'warmup') return cls !== 'rising';
  // Idle series are classified upside down (below): "rising" there is memory still coming back.
  if (kind === 'idle') return cls !== 'rising';
  return true;
}

/**
 * A rise that is slowing down: over the phase so far, the second half grows at under half the rate of the first.
 * A cache filling towards its bound (keys drawn at random cover a keyspace ever more slowly) is "rising" at every
 * moment until it levels off; ended there, the phase would call a leak what a longer run shows bounded. A leak
 * grows at the same rate in both halves, so this only delays it (its phase still ends at its bound).
 */
function slowing(points: readonly SeriesPoint[], t: Trajectory, nowMs: number): boolean {
  // The whole window, not the part after the ramp cut: the cut follows the bend (a fill's knee is cut again and
  // again), and what is left after it is too short for its halves to differ. Theil-Sen gives a short fill at the
  // start of a leak little weight in the first half.
  const buckets = bucketMedians(points, t.startMs, nowMs, t.bucketMs);
  if (buckets.length < 2 * MIN_HALF) return false;
  const mid = buckets.length >> 1;
  const first = theilSen(buckets.slice(0, mid)), second = theilSen(buckets.slice(mid));
  return first != null && second != null && first.slope > 0 && second.slope < SLOWING_FRACTION * first.slope;
}

/** Where a series may be by the bound, at either end of its growth interval: [lowest, highest] (bytes). */
function reach(points: readonly SeriesPoint[], t: Trajectory, nowMs: number, remainingMs: number): [number, number] | null {
  const iv = t.slopeIntervalBytesPerMin;
  if (t.steadyBytes == null || !iv) return null;
  const last = lastLevel(points, t, nowMs);
  const min = remainingMs / 60_000;
  return [Math.min(t.steadyBytes, last) + Math.min(0, iv[0]) * min, Math.max(t.steadyBytes, last) + Math.max(0, iv[1]) * min];
}

/** Follows one phase of one environment; `check` is called with every sample so far and the time now (ms, the samples' clock). */
export class PhaseSettler {
  private readonly held = new Map<string, Held>();
  private readonly bucketMs: number | undefined;
  private readonly holdFraction: number;
  private readonly minHoldMs: number;
  private readonly risingHoldFraction: number;
  private readonly minRisingHoldMs: number;
  private readonly boundMs: number | undefined;
  private readonly references: readonly ComparisonReference[];

  constructor(readonly kind: PhaseKind, readonly startMs: number, opts: SettleOptions = {}) {
    this.bucketMs = opts.bucketMs;
    this.holdFraction = opts.holdFraction ?? DEFAULT_HOLD_FRACTION;
    this.minHoldMs = opts.minHoldMs ?? DEFAULT_MIN_HOLD_MS;
    this.risingHoldFraction = opts.risingHoldFraction ?? DEFAULT_RISING_HOLD_FRACTION;
    this.minRisingHoldMs = opts.minRisingHoldMs ?? DEFAULT_MIN_RISING_HOLD_MS;
    this.boundMs = opts.boundMs;
    this.references = opts.references ?? [];
  }

  /**
   * The comparison, once it has held as long as a class must: RSS is far below or far above an earlier environment's
   * level (most of the higher is what the lower does without) wherever its growth interval takes it by the bound.
   * Its growth must tell it apart too (see the top of this file). Its words, or null.
   */
  private apart(points: readonly SeriesPoint[], t: Trajectory, nowMs: number, elapsed: number): string | null {
    const key = 'RSS apart';
    let found: string | null = null;
    if (this.references.length && this.boundMs != null && elapsed >= MIN_SETTLED * t.bucketMs) {
      const r = reach(points, t, nowMs, Math.max(0, this.startMs + this.boundMs - nowMs));
      for (const ref of r ? this.references : []) {
        const [low, high] = r!;
        // As the diagnosis reads growth: the slower of two rises, at under a quarter of the other's rate (its interval's
        // top against the other's bottom), is the allocator's difference; below a level, a rise of its own is not; two
        // rises alike may be one leak.
        const iv = t.slopeIntervalBytesPerMin!, refIv = ref.growthIntervalBytesPerMin;
        const rising = t.class === 'rising';
        const below = ref.rising ? refIv != null && iv[1] < SLOWER_FRACTION * refIv[0] : !rising;
        const above = !rising || !ref.rising || (refIv != null && refIv[1] < SLOWER_FRACTION * iv[0]);
        if (below && allocatorDominates(ref.levelBytes, high)) found = `RSS at most ${formatMiB(high)} by the bound, at most half of ${ref.label}'s ${formatMiB(ref.levelBytes)}`;
        else if (above && allocatorDominates(low, ref.levelBytes)) found = `RSS at least ${formatMiB(low)} by the bound, at least twice ${ref.label}'s ${formatMiB(ref.levelBytes)}`;
        if (found) break;
      }
    }
    if (!found) {
      this.held.delete(key);
      return null;
    }
    const since = this.held.get(key)?.sinceMs ?? nowMs;
    this.held.set(key, { cls: 'apart', sinceMs: since });
    return nowMs - since >= Math.max(this.minHoldMs, elapsed * this.holdFraction) ? found : null;
  }

  /** Is what this phase is there to show settled, from the samples so far? */
  check(samples: readonly Sample[], nowMs: number): SettleCheck {
    const inside = samples.filter((s) => s.t >= this.startMs && s.t <= nowMs);
    const series: [string, (s: Sample) => number | undefined][] = [['RSS', (s) => s.rssBytes]];
    if (this.kind === 'load' && inside.some((s) => s.liveHeapBytes != null)) series.push(['live heap', (s) => s.liveHeapBytes]);
    const elapsed = nowMs - this.startMs;
    // Theil-Sen costs n^2 in the buckets: widen them on long phases so a check stays around 120 points.
    const bucketMs = this.bucketMs && Math.max(this.bucketMs, Math.ceil(elapsed / MAX_POINTS / this.bucketMs) * this.bucketMs);
    const open: string[] = [];
    const decided: string[] = [];
    let undecided = false, compared = false;
    for (const [name, value] of series) {
      // The trajectory finds start-up ramps that rise; memory given back in idle is the same shape upside down
      // (a drop, then a level), so idle series are negated: their ramp is then found and "levelling-off" means
      // it has stopped coming back.
      const points = seriesOf(inside, value);
      if (this.kind === 'idle') for (const p of points) p.v = -p.v;
      const t = classifyTrajectory(points, this.startMs, nowMs, bucketMs ? { bucketMs } : {});
      // Undecided, and by the trajectory's own estimate (an interval narrowing as n^-3/2) not decidable before the
      // bound: running on to the bound would end the phase undecided all the same, only later. Not in a warm-up,
      // whose length is also what keeps start-up out of the load phase that follows.
      // Only once the window holds enough buckets for any class: a bound shorter than that (an idle phase of 8 s)
      // never decides a class, and the phase is there for its own figures (what came back), so it runs to its bound.
      const beyond = this.kind !== 'warmup' && !isDecided(t) && this.boundMs != null && t.needMs != null &&
        elapsed >= MIN_SETTLED * t.bucketMs && nowMs + t.needMs > this.startMs + this.boundMs;
      const cls = beyond ? 'beyond-bound' : t.class;
      const prev = this.held.get(name);
      const held: Held = prev && prev.cls === cls ? prev : { cls, sinceMs: nowMs };
      this.held.set(name, held);
      const needHold = t.class === 'rising'
        ? Math.max(this.minRisingHoldMs, elapsed * this.risingHoldFraction)
        : Math.max(this.minHoldMs, elapsed * this.holdFraction);
      // On the comparison: only what would otherwise stay open.
      const apart = name === 'RSS' && this.kind === 'load' ? this.apart(points, t, nowMs, elapsed) : null;
      let still: string | null = null;
      if (beyond && nowMs - held.sinceMs >= needHold) {
        undecided = true;
        decided.push(`${name} undecided (${t.need} needed, past the phase's bound)`);
      } else if (!isDecided(t)) still = `${name}: ${t.need ?? 'undecided'}`;
      else if (!answers(this.kind, t.class)) still = `${name} ${this.kind === 'idle' ? 'still coming back' : t.class}`;
      else if (t.class === 'rising' && slowing(points, t, nowMs)) still = `${name} rising, but slowing: it may level off`;
      else if (nowMs - held.sinceMs < needHold) still = `${name} ${t.class} for ${((nowMs - held.sinceMs) / 1000).toFixed(0)} s of ${(needHold / 1000).toFixed(0)} s`;
      else decided.push(`${name} ${this.kind === 'idle' ? IDLE_WORDS[t.class] ?? t.class : t.class}`);
      if (still && apart) {
        decided.push(apart);
        compared = true;
      } else if (still) open.push(still);
    }
    if (open.length) return { settled: false, why: open.join(', ') };
    return { settled: true, why: decided.join(', '), on: undecided ? 'undecided' : compared ? 'comparison' : 'class', ...(undecided ? { undecided } : {}) };
  }
}
