// The trajectory of one memory series over one window (a load phase, an idle phase, a live series still growing):
// where the start-up ramp ends, the steady level, a robust trend with an interval that survives autocorrelation,
// and a class with what it would take to decide. Pure functions, no I/O, no Node imports (the webview imports this).
//
// Why these methods:
// - Samples arrive at ~20 Hz and are strongly autocorrelated (RSS moves in steps); per-bucket medians (1 s) make a
//   series whose points are closer to independent and where a single spike (a transient buffer) has no weight.
// - Theil-Sen (the median of all pairwise slopes) is unmoved by up to ~29 % outliers, unlike least squares, which a
//   swing between 240 and 540 MiB turns into "+194 MiB/min".
// - Its interval comes from the Mann-Kendall statistic with the Hamed-Rao (1998) variance correction: the variance
//   of S is inflated by the significant autocorrelation of the ranks of the detrended series, so a slowly wandering
//   plateau gets the wide interval it deserves instead of a falsely tight one. It is deterministic (no resampling),
//   so the same samples always give the same class.

import type { Trajectory, TrajectoryClass } from '../model';

export type { Trajectory, TrajectoryClass };

/** A point of a series: milliseconds and a value (bytes). */
export interface SeriesPoint { t: number; v: number }

export interface TrajectoryOptions {
  /** Width of the buckets whose medians make the tested series (default: 1 s, widened so there are at most maxPoints). */
  bucketMs?: number;
  maxPoints?: number;
  /** Relative practical-equivalence band, fraction of the steady level per minute (default 0.02). */
  bandFractionPerMin?: number;
  /** Lower bound of the band, bytes/min (default 256 KiB/min). */
  bandFloorBytesPerMin?: number;
  /** Relative spread above which a flat-looking series is "oscillating" (default 0.1). */
  oscillationFraction?: number;
}

// Practical-equivalence band: a slope within ±2 % of the steady level per minute is "flat". Why 2 %: growth at that
// rate doubles a process in under an hour (a user would call it a leak), while less than that adds under 2 % over a
// typical one-minute load phase, which is below the level differences allocators show between repeated runs of the
// same program. It is relative because a 1 MiB/min drift is noise for a 2 GiB cache and a leak for a 20 MiB daemon.
// The floor (256 KiB/min, 64 pages a minute) keeps page-granular RSS of tiny programs from deciding anything.
const DEFAULT_BAND_FRACTION = 0.02;
const DEFAULT_BAND_FLOOR = 256 * 1024;
// Oscillation: residual interquartile range of 10 % of the level. Beyond it, two environments whose levels differ
// by less than the swing cannot be ranked from one run, and the swing itself (an allocator giving memory back and
// taking it again) is worth saying.
const DEFAULT_OSCILLATION = 0.1;
// At least 10 settled buckets: the normal approximation of the Mann-Kendall statistic is accepted from n ≈ 10, and
// fewer points give an interval that is mostly its own uncertainty. Effective points (after autocorrelation) at
// least 5 for the same reason.
export const MIN_SETTLED = 10;
const MIN_EFFECTIVE = 5;
// A trend (rising, falling) can be called from fewer effective points, since its interval already carries the
// autocorrelation; but not from under two, where the series is in effect one block.
const MIN_TREND_EFFECTIVE = 2;
// ... unless one straight line explains the series almost entirely (nearlyLinear).
const NEARLY_LINEAR = 0.05;
const DEFAULT_MAX_POINTS = 120;
// Breaks looked for one after another at the start of a window (the corner of a fill, then the knee of its creep):
// three are enough for a fill-creep-level shape; more would start cutting trends into pieces.
const MAX_BREAKS = 3;
const Z95 = 1.959964;
// The slope interval is a 99 % one: a finding users act on ("a leak") must not come from a wandering plateau, and a
// 95 % interval lets one flat series in forty through as a trend before the materiality test.
const ZCI = 2.575829;

/** Median of numbers (null for none). Sorts a copy. */
export function median(xs: readonly number[]): number | null {
  if (!xs.length) return null;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

function quantileSorted(s: readonly number[], q: number): number {
  const pos = (s.length - 1) * q;
  const lo = Math.floor(pos), hi = Math.ceil(pos);
  return s[lo] + (s[hi] - s[lo]) * (pos - lo);
}

/**
 * Reduces points to bucket medians (time = bucket centre) between startMs and endMs. Empty buckets are skipped, so
 * a gap in sampling does not invent points.
 */
export function bucketMedians(points: readonly SeriesPoint[], startMs: number, endMs: number, bucketMs: number): SeriesPoint[] {
  const out: SeriesPoint[] = [];
  let bucket: number[] = [];
  let current = -1;
  const flush = () => {
    if (bucket.length) out.push({ t: startMs + (current + 0.5) * bucketMs, v: median(bucket)! });
    bucket = [];
  };
  for (const p of points) {
    if (p.t < startMs || p.t > endMs) continue;
    const b = Math.min(Math.floor((p.t - startMs) / bucketMs), Math.max(0, Math.ceil((endMs - startMs) / bucketMs) - 1));
    if (b !== current) { flush(); current = b; }
    bucket.push(p.v);
  }
  flush();
  return out;
}

/** Theil-Sen slope (value per ms) and intercept of points, with every pairwise slope sorted; null for < 2 distinct t. */
export function theilSen(points: readonly SeriesPoint[]): { slope: number; intercept: number; slopes: Float64Array } | null {
  const n = points.length;
  const slopes: number[] = [];
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      const dt = points[j].t - points[i].t;
      if (dt !== 0) slopes.push((points[j].v - points[i].v) / dt);
    }
  }
  if (!slopes.length) return null;
  const sorted = Float64Array.from(slopes).sort();
  const m = sorted.length >> 1;
  const slope = sorted.length % 2 ? sorted[m] : (sorted[m - 1] + sorted[m]) / 2;
  const intercept = median(points.map((p) => p.v - slope * p.t))!;
  return { slope, intercept, slopes: sorted };
}

function ranks(xs: readonly number[]): number[] {
  const idx = xs.map((_, i) => i).sort((a, b) => xs[a] - xs[b]);
  const r = new Array<number>(xs.length);
  for (let i = 0; i < idx.length;) {
    let j = i;
    while (j + 1 < idx.length && xs[idx[j + 1]] === xs[idx[i]]) j++;
    for (let k = i; k <= j; k++) r[idx[k]] = (i + j) / 2 + 1;
    i = j + 1;
  }
  return r;
}

/**
 * Hamed-Rao variance correction factor n/n* (at least 1) from the significant autocorrelations of the ranks of the
 * detrended series. Negative autocorrelation would shrink the variance; it is not trusted (factor >= 1), so an
 * interval is never made narrower than the independent case.
 */
export function hamedRaoFactor(residuals: readonly number[]): number {
  const n = residuals.length;
  if (n < 4) return 1;
  const r = ranks(residuals);
  const mean = r.reduce((a, b) => a + b, 0) / n;
  const d = r.map((x) => x - mean);
  const c0 = d.reduce((a, x) => a + x * x, 0);
  if (c0 === 0) return 1;
  let sum = 0;
  for (let k = 1; k < n - 2; k++) {
    let ck = 0;
    for (let i = 0; i + k < n; i++) ck += d[i] * d[i + k];
    const rho = ck / c0;
    // Anderson's 95 % bounds for the autocorrelation of an independent series at lag k.
    const half = Z95 * Math.sqrt(n - k - 1) / (n - k);
    const centre = -1 / (n - k);
    if (rho > centre + half || rho < centre - half) sum += (n - k) * (n - k - 1) * (n - k - 2) * rho;
  }
  return Math.max(1, 1 + (2 / (n * (n - 1) * (n - 2))) * sum);
}

/**
 * Variance inflation of a trend estimate under lag-1 autocorrelation, (1 + r1) / (1 - r1) (the effective sample
 * size n(1 - r1)/(1 + r1) of Santer et al. 2000), with r1 bias-corrected for short series (Kendall: + (1 + 4 r1)/n).
 * Hamed-Rao counts only lags it finds significant, and on 30-60 points it misses much of a slowly wandering
 * plateau's autocorrelation; this catches what it misses.
 */
export function lag1Factor(residuals: readonly number[]): number {
  const n = residuals.length;
  if (n < 4) return 1;
  const mean = residuals.reduce((a, b) => a + b, 0) / n;
  let c0 = 0, c1 = 0;
  for (let i = 0; i < n; i++) {
    const d = residuals[i] - mean;
    c0 += d * d;
    if (i + 1 < n) c1 += d * (residuals[i + 1] - mean);
  }
  if (c0 === 0) return 1;
  const raw = c1 / c0;
  const r1 = Math.min(0.95, Math.max(0, raw + (1 + 4 * raw) / n));
  return (1 + r1) / (1 - r1);
}

/** Robust trend of points: Theil-Sen slope per minute with a 99 % interval corrected for autocorrelation. */
export function robustTrend(points: readonly SeriesPoint[]): { slopePerMin: number; interval: [number, number]; intercept: number; factor: number } | null {
  const ts = theilSen(points);
  if (!ts) return null;
  const n = points.length;
  const residuals = points.map((p) => p.v - (ts.intercept + ts.slope * p.t));
  const noise = curveResiduals(points) ?? residuals;
  const factor = Math.max(hamedRaoFactor(noise), lag1Factor(noise));
  // Variance of Mann-Kendall's S with the tie correction, inflated by the autocorrelation factor.
  const counts = new Map<number, number>();
  for (const p of points) counts.set(p.v, (counts.get(p.v) ?? 0) + 1);
  let ties = 0;
  for (const c of counts.values()) if (c > 1) ties += c * (c - 1) * (2 * c + 5);
  const varS = ((n * (n - 1) * (2 * n + 5) - ties) / 18) * factor;
  // Sen's interval: the slopes ranked (N - C)/2 and (N + C)/2 + 1, C = z * sqrt(Var S).
  const N = ts.slopes.length;
  const C = ZCI * Math.sqrt(Math.max(varS, 0));
  const lo = Math.round((N - C) / 2) - 1;
  const hi = Math.round((N + C) / 2);
  const pick = (i: number) => ts.slopes[Math.max(0, Math.min(N - 1, i))];
  return { slopePerMin: ts.slope * 60_000, interval: [pick(lo) * 60_000, pick(hi) * 60_000], intercept: ts.intercept, factor };
}

/**
 * The drift of points read as a random walk: the mean of the increments from one point to the next (per ms), with a
 * 99 % Student t interval. Why beside Mann-Kendall's: RSS that climbs in page- or arena-sized steps (a staircase)
 * is a random walk with a drift, not a trend under stationary noise. Around any line its residuals run long, so the
 * autocorrelation factor reads it as a plateau wandering with a long memory and gives Sen's interval the whole range
 * of pairwise slopes ("-763 to +1267 MiB/min" for a series that climbed 260 MiB in 60 s, and only ever upwards). The
 * increments of a walk are independent, and their mean is the drift: that is the test of a staircase.
 * It is valid or conservative under the other noises too: under stationary noise the increments are negatively
 * correlated (their mean is (last - first) / n, whose spread the interval overstates), and a swing adds as much down
 * as up. So both intervals hold under both readings, and the trajectory uses their intersection (a 98 % interval).
 * Null for fewer than MIN_SETTLED points.
 */
export function driftInterval(points: readonly SeriesPoint[]): { slope: number; interval: [number, number] } | null {
  if (points.length < MIN_SETTLED) return null;
  const d: number[] = [];
  for (let i = 1; i < points.length; i++) {
    const dt = points[i].t - points[i - 1].t;
    if (dt > 0) d.push((points[i].v - points[i - 1].v) / dt);
  }
  if (d.length < MIN_SETTLED - 1) return null;
  const mean = d.reduce((a, x) => a + x, 0) / d.length;
  const half = studentT99(d.length - 1) * standardDeviation(d) / Math.sqrt(d.length);
  return { slope: mean, interval: [mean - half, mean + half] };
}

/**
 * The two-sided 99 % quantile of Student's t with `df` degrees of freedom (Cornish-Fisher expansion about the
 * normal; within 0.5 % of the table from df = 5).
 */
export function studentT99(df: number): number {
  const z = ZCI, z3 = z ** 3, z5 = z ** 5, z7 = z ** 7;
  return z + (z3 + z) / (4 * df) + (5 * z5 + 16 * z3 + 3 * z) / (96 * df ** 2) + (3 * z7 + 19 * z5 + 17 * z3 - 15 * z) / (384 * df ** 3);
}

/**
 * The residuals of points around the best continuous two-segment line, for the autocorrelation of the noise (null
 * for fewer than 8 points). Around one straight line, a trend that bends (growth slowing as arenas fill, a cache
 * filling then creeping) leaves residuals in long runs: read as autocorrelated noise, the bend alone would inflate
 * the variance up to the cap and leave a clear rise "undecided" however long it ran. One bend is absorbed by the
 * second segment; a plateau that wanders back and forth more than once is not, and keeps its wide interval.
 */
function curveResiduals(points: readonly SeriesPoint[]): number[] | null {
  if (points.length < 8) return null;
  const brk = rampBreak(points, 3);
  if (!brk) return null;
  return brk.residuals;
}

/** Time-weighted mean of points (trapezoids), or null for none. */
export function timeAverage(points: readonly SeriesPoint[]): number | null {
  if (!points.length) return null;
  if (points.length === 1) return points[0].v;
  let area = 0;
  for (let i = 1; i < points.length; i++) area += ((points[i].v + points[i - 1].v) / 2) * (points[i].t - points[i - 1].t);
  const span = points.at(-1)!.t - points[0].t;
  return span > 0 ? area / span : median(points.map((p) => p.v));
}

/**
 * Where a start-up ramp ends: the break of a continuous two-segment line fitted by least squares to the bucket
 * medians, the break chosen so that at least `minTail` points stay after it. Returns the index of the first settled
 * point and the two segment slopes (per ms), or null with too few points.
 */
export function rampBreak(points: readonly SeriesPoint[], minTail: number): { index: number; early: number; late: number; sse: number; residuals: number[] } | null {
  const n = points.length;
  if (n < minTail + 3) return null;
  let best: { index: number; early: number; late: number; sse: number; beta: number[]; tau: number } | null = null;
  for (let k = 2; k <= n - minTail; k++) {
    const tau = points[k].t;
    // Basis: 1, min(t - t0, tau - t0), max(0, t - tau); solve the 3x3 normal equations.
    const t0 = points[0].t;
    const m = [[0, 0, 0], [0, 0, 0], [0, 0, 0]], r = [0, 0, 0];
    for (const p of points) {
      const x = [1, Math.min(p.t, tau) - t0, Math.max(0, p.t - tau)];
      for (let a = 0; a < 3; a++) {
        r[a] += x[a] * p.v;
        for (let b = 0; b < 3; b++) m[a][b] += x[a] * x[b];
      }
    }
    const beta = solve3(m, r);
    if (!beta) continue;
    let sse = 0;
    for (const p of points) {
      const e = p.v - (beta[0] + beta[1] * (Math.min(p.t, tau) - t0) + beta[2] * Math.max(0, p.t - tau));
      sse += e * e;
    }
    if (!best || sse < best.sse) best = { index: k, early: beta[1], late: beta[2], sse, beta, tau };
  }
  if (!best) return null;
  const { beta, tau } = best;
  const t0 = points[0].t;
  const residuals = points.map((p) => p.v - (beta[0] + beta[1] * (Math.min(p.t, tau) - t0) + beta[2] * Math.max(0, p.t - tau)));
  return { index: best.index, early: best.early, late: best.late, sse: best.sse, residuals };
}

function solve3(m: number[][], r: number[]): number[] | null {
  const a = m.map((row, i) => [...row, r[i]]);
  for (let c = 0; c < 3; c++) {
    let p = c;
    for (let i = c + 1; i < 3; i++) if (Math.abs(a[i][c]) > Math.abs(a[p][c])) p = i;
    if (Math.abs(a[p][c]) < 1e-12 * Math.max(1, Math.abs(a[0][0]))) return null;
    [a[c], a[p]] = [a[p], a[c]];
    for (let i = 0; i < 3; i++) {
      if (i === c) continue;
      const f = a[i][c] / a[c][c];
      for (let j = c; j < 4; j++) a[i][j] -= f * a[c][j];
    }
  }
  return [a[0][3] / a[0][0], a[1][3] / a[1][1], a[2][3] / a[2][2]];
}

/** "40 s" style wording of a duration to run longer. */
function needWords(ms: number): string {
  const s = Math.ceil(ms / 1000);
  return s < 120 ? `run ${s} s longer` : `run ${Math.ceil(s / 60)} min longer`;
}

/**
 * Extra time for an interval of half-width `half` to shrink to `target`: the half-width of a slope estimate over a
 * regularly sampled window shrinks as n^-3/2 (sqrt(n) from averaging, n from the longer lever arm).
 */
function extraMsFor(half: number, target: number, n: number, bucketMs: number): number | null {
  if (!(target > 0) || !(half > 0)) return null;
  if (half <= target) return 0;
  const n2 = n * Math.pow(half / target, 2 / 3);
  return Math.ceil(n2 - n) * bucketMs;
}

/**
 * The end of a start-up transient in bucket medians (a ramp up as caches fill, or a drop after a warm-up peak): the
 * break of the two-segment fit, accepted only when the early segment moves materially, clearly faster than the
 * rest, and by more than the noise around the rest; null when there is none.
 */
function transientEnd(buckets: readonly SeriesPoint[], opts: TrajectoryOptions, knee: boolean): { index: number; rise: number; sse: number } | null {
  const brk = rampBreak(buckets, MIN_SETTLED);
  if (!brk || brk.early === 0) return null;
  const tail = buckets.slice(brk.index);
  const tailTrend = robustTrend(tail);
  if (!tailTrend) return null;
  const level = median(tail.map((p) => p.v))!;
  const band = bandFor(level, opts);
  const rise = brk.early * (buckets[brk.index].t - buckets[0].t);
  // The noise is the standard deviation of the tail around its trend, not a median-based figure: a swinging
  // tail is bimodal, and a median absolute deviation of a two-level series can be 0.
  const noise = standardDeviation(tail.map((p) => p.v - (tailTrend.intercept + (tailTrend.slopePerMin / 60_000) * p.t)));
  const early = brk.early * 60_000;
  // A drop is a start-up transient only when what follows is level (a warm-up peak, then the steady state): a
  // drop followed by a climb is the series wandering, and trimming it would make a trend out of the climb. The
  // same holds upside down: a ramp may be followed by a level or a slower creep (a cache filling, then churning),
  // but a climb followed by a descent is the series wandering (a random walk goes up, then down), and trimming the
  // climb would make a fall out of the descent.
  const steep = early > 0 ? early > band && tailTrend.interval[1] < early && tailTrend.interval[1] >= 0
    : -early > band && tailTrend.interval[0] > early && tailTrend.interval[0] <= 0 && tailTrend.interval[1] >= 0;
  // A ramp must move the level by more than the noise, and by more than flat allows in a minute (the band): less
  // is not a start-up transient. The knee after a ramp (its creep) only has to stand out of the noise and move
  // the level by 1 %: it is cut off because its slope is not the steady state's, whatever its size.
  return steep && Math.abs(rise) > Math.max(3 * noise, knee ? 0.01 * level : band) ? { index: brk.index, rise, sse: brk.sse } : null;
}

/**
 * The end of a start-up transient of any shape (a bump, a warm-up burst given back): the split of the points into
 * two constant levels, accepted when that fits at least twice as well as one straight line (the same number of
 * parameters, so a trend is never cut into a step) and the levels differ by more than the noise and the band.
 * `rise` is the settled level against the first point.
 */
export function levelShift(buckets: readonly SeriesPoint[], opts: TrajectoryOptions = {}): { index: number; rise: number; sse: number } | null {
  const n = buckets.length;
  if (n < MIN_SETTLED + 2) return null;
  const sum = [0], sq = [0];
  for (const p of buckets) { sum.push(sum.at(-1)! + p.v); sq.push(sq.at(-1)! + p.v * p.v); }
  const sse = (a: number, b: number) => sq[b] - sq[a] - ((sum[b] - sum[a]) ** 2) / (b - a);
  let best = -1, bestSse = Infinity;
  for (let k = 2; k <= n - MIN_SETTLED; k++) {
    const e = sse(0, k) + sse(k, n);
    if (e < bestSse) { bestSse = e; best = k; }
  }
  if (best < 0) return null;
  // Least squares line over all points, for the comparison.
  const mt = buckets.reduce((a, p) => a + p.t, 0) / n, mv = sum[n] / n;
  let num = 0, den = 0;
  for (const p of buckets) { num += (p.t - mt) * (p.v - mv); den += (p.t - mt) ** 2; }
  const k1 = den > 0 ? num / den : 0;
  const lineSse = buckets.reduce((a, p) => a + (p.v - (mv + k1 * (p.t - mt))) ** 2, 0);
  if (!(bestSse * 2 < lineSse)) return null;
  const head = (sum[best]) / best, tailMean = (sum[n] - sum[best]) / (n - best);
  const tail = buckets.slice(best);
  const noise = standardDeviation(tail.map((p) => p.v));
  const level = median(tail.map((p) => p.v))!;
  if (Math.abs(tailMean - head) <= Math.max(3 * noise, bandFor(level, opts))) return null;
  return { index: best, rise: level - buckets[0].v, sse: bestSse };
}

/** Classifies a series over [startMs, endMs] (defaults: its first and last points). Points must be in time order. */
export function classifyTrajectory(points: readonly SeriesPoint[], startMs?: number, endMs?: number, opts: TrajectoryOptions = {}): Trajectory {
  const start = startMs ?? points[0]?.t ?? 0;
  const end = endMs ?? points.at(-1)?.t ?? start;
  const inside = points.filter((p) => p.t >= start && p.t <= end);
  const span = Math.max(0, end - start);
  const maxPoints = opts.maxPoints ?? DEFAULT_MAX_POINTS;
  const bucketMs = opts.bucketMs ?? Math.max(1000, Math.ceil(span / maxPoints / 1000) * 1000);
  const buckets = bucketMedians(inside, start, end, bucketMs);
  const peak = inside.length ? inside.reduce((m, p) => Math.max(m, p.v), -Infinity) : null;
  const base: Trajectory = {
    class: 'too-short', startMs: start, endMs: end, steadyBytes: median(inside.map((p) => p.v)), meanBytes: timeAverage(inside),
    peakBytes: peak, slopeBytesPerMin: null, slopeIntervalBytesPerMin: null, bandBytesPerMin: null, rampEndMs: null,
    rampRiseBytes: null, spreadBytes: null, settledPoints: buckets.length, effectivePoints: null, bucketMs,
    needMs: Math.max(0, MIN_SETTLED - buckets.length) * bucketMs, need: null,
  };
  if (buckets.length < MIN_SETTLED) {
    // Too few points to decide, but a slope with its (wide) interval is still a figure worth showing.
    const few = buckets.length >= 3 ? robustTrend(buckets) : null;
    if (few) {
      base.slopeBytesPerMin = few.slopePerMin;
      base.slopeIntervalBytesPerMin = few.interval;
      base.bandBytesPerMin = bandFor(base.steadyBytes ?? 0, opts);
      base.effectivePoints = buckets.length / few.factor;
    }
    base.need = needWords(base.needMs!);
    return base;
  }

  // The start-up transient (a ramp up as caches fill, or a drop after a warm-up peak): accepted only when the early
  // segment moves materially, clearly faster than the rest, and by more than the noise around the settled part;
  // otherwise the whole window counts as settled.
  let settledFrom = 0;
  let rampRise: number | null = null;
  // A cache that fills fast, then creeps up as it churns (fragmentation), then stops, has a knee, not a corner: the
  // break is looked for again in what follows the first one, a few times, each accepted by the same test.
  for (let round = 0; round < MAX_BREAKS; round++) {
    const part = buckets.slice(settledFrom);
    // A ramp and a step both may fit; the one that fits better says where the transient ended.
    const ramp = transientEnd(part, opts, round > 0), step = levelShift(part, opts);
    const brk = ramp && step ? (step.sse < ramp.sse ? step : ramp) : ramp ?? step;
    if (!brk) break;
    // A knee must leave at least as much as it cuts off: a level seen for less time than the creep before it is not
    // yet a level (a staircase that pauses near the end of the window is still climbing), and the cut would leave a
    // tail too short to say anything of the creep that made most of the window.
    if (round > 0 && part.length - brk.index < brk.index) break;
    rampRise = (rampRise ?? 0) + brk.rise;
    settledFrom += brk.index;
    // A drop (a warm-up peak) is not followed by further ramps: what follows it is the steady state by the test.
    if (brk.rise < 0) break;
  }
  const settled = buckets.slice(settledFrom);
  const trend = robustTrend(settled)!;
  const steady = median(settled.map((p) => p.v))!;
  const band = bandFor(steady, opts);
  const settledStart = settledFrom ? buckets[settledFrom].t - bucketMs / 2 : start;
  const rawSettled = inside.filter((p) => p.t >= settledStart);
  const resid = rawSettled.map((p) => p.v - (trend.intercept + (trend.slopePerMin / 60_000) * p.t)).sort((a, b) => a - b);
  const spread = resid.length ? quantileSorted(resid, 0.75) - quantileSorted(resid, 0.25) : 0;
  const effective = settled.length / trend.factor;
  // Two intervals, each right under one reading of the noise: Mann-Kendall's (a trend under stationary noise) and the
  // drift's (a random walk), each valid or conservative under the other reading too: their intersection. Disjoint,
  // they disagree on the model and Mann-Kendall's (the primary) stands. The slope stays Theil-Sen's, brought inside
  // the interval when the drift narrowed it.
  const drift = driftInterval(settled);
  const mk = trend.interval;
  const dr = drift ? [drift.interval[0] * 60_000, drift.interval[1] * 60_000] as const : null;
  const meet = dr != null && dr[0] <= mk[1] && dr[1] >= mk[0];
  const lo = meet ? Math.max(mk[0], dr[0]) : mk[0];
  const hi = meet ? Math.min(mk[1], dr[1]) : mk[1];
  const s = Math.min(hi, Math.max(lo, trend.slopePerMin));
  // The drift clears the band on its own: a climb (or descent) in steps, decided whatever the effective points.
  const driftDecides = meet && (dr[0] > band || dr[1] < -band);
  const out: Trajectory = {
    ...base, steadyBytes: steady, slopeBytesPerMin: s, slopeIntervalBytesPerMin: [lo, hi], bandBytesPerMin: band,
    rampEndMs: settledFrom ? settledStart : null, rampRiseBytes: rampRise, spreadBytes: spread,
    settledPoints: settled.length, effectivePoints: effective, needMs: null, need: null,
  };
  // abs: a series may be negated (an idle phase read upside down by the settler); its level is then below zero.
  const oscillating = spread > (opts.oscillationFraction ?? DEFAULT_OSCILLATION) * Math.abs(steady);

  const settledSpanMin = (settled.at(-1)!.t - settled[0].t + bucketMs) / 60_000;
  const fewEffective = effective < MIN_EFFECTIVE;
  // The data's own range bounds any trend in it: when the settled bucket medians never spread further apart than
  // the band allows over the whole settled span, no change faster than the band happened in this window, whatever
  // the interval says. This matters for RSS that moves in page- or arena-sized steps: a flat series with one step
  // has residuals that look strongly autocorrelated (a long run on each side of the step), which inflates the
  // variance factor and leaves Sen's interval wider than anything the data's range allows, so the window would stay
  // "too-short" however long it ran. Noise only widens the range, so this test can only err towards "undecided".
  const settledRange = settled.reduce((m, p) => Math.max(m, p.v), -Infinity) - settled.reduce((m, p) => Math.min(m, p.v), Infinity);
  const withinBandByRange = settled.length >= MIN_SETTLED && settledRange <= band * settledSpanMin;
  if (withinBandByRange) {
    out.class = rampRise != null && rampRise > band ? 'levelling-off' : oscillating ? 'oscillating' : 'flat';
  } else if (settled.length < MIN_SETTLED || (effective < MIN_TREND_EFFECTIVE && !driftDecides && !nearlyLinear(settled, trend.intercept, trend.slopePerMin / 60_000))) {
    out.class = 'too-short';
    const moreEffective = Math.ceil((MIN_EFFECTIVE - effective) * trend.factor);
    out.needMs = Math.max(MIN_SETTLED - settled.length, moreEffective, 1) * bucketMs;
  } else if (lo > 0 && s > band) {
    // The interval already carries the autocorrelation: clearing zero is evidence even from few effective points.
    out.class = 'rising';
  } else if (hi < 0 && s < -band) {
    out.class = 'falling';
  } else if (fewEffective) {
    // "No trend" needs more: an interval from under five effective points is mostly the uncertainty of its own width.
    out.class = 'too-short';
    out.needMs = Math.max(1, Math.ceil((MIN_EFFECTIVE - effective) * trend.factor)) * bucketMs;
  } else if (lo >= -band && hi <= band) {
    out.class = rampRise != null && rampRise > band ? 'levelling-off' : oscillating ? 'oscillating' : 'flat';
  } else if (oscillating && lo <= 0 && hi >= 0 && Math.abs(s) * settledSpanMin < spread) {
    // Swings hide a slow trend: no trend is detectable, and over the window the trend estimate moves the level by
    // less than the swing does; the interval is wider than the band. A class of its own; `need` says how long it
    // would take to bound the trend within the band.
    out.class = 'oscillating';
    out.needMs = extraMsFor((hi - lo) / 2, Math.max(band - Math.abs(s), band / 2), settled.length, bucketMs);
  } else {
    // Undecided: how long until the interval either fits in the band (flat) or clears zero (rising / falling)?
    out.class = 'too-short';
    const half = (hi - lo) / 2;
    const options = [
      Math.abs(s) < band ? extraMsFor(half, band - Math.abs(s), settled.length, bucketMs) : null,
      Math.abs(s) > band ? extraMsFor(half, Math.abs(s), settled.length, bucketMs) : null,
    ].filter((x): x is number => x != null && x > 0);
    // At the edge of the band neither decision comes soon: ask for at least as long again.
    out.needMs = options.length ? Math.min(...options) : Math.max(span, MIN_SETTLED * bucketMs);
  }
  // A swinging series is bimodal more often than not (memory taken, given back, taken again): its median falls on
  // one mode or the other by a few samples' difference. Its level is then the time average of the settled part.
  if (out.class === 'oscillating') out.steadyBytes = timeAverage(rawSettled) ?? steady;
  if (out.needMs != null) out.need = needWords(out.needMs);
  if (out.needMs === 0) { out.needMs = null; out.need = null; }
  return out;
}

/**
 * A series that one straight line explains almost entirely (residuals around the Theil-Sen line with a standard
 * deviation under 5 % of what the line rises over the window: R^2 above about 0.97). Its interval is then narrow
 * because every pairwise slope agrees, and the autocorrelation of what little is left (a leak counted to the byte
 * has residuals of a few bytes, in a pattern) says nothing about the trend: a count of effective points is no
 * reason to leave it undecided. A plateau that wanders is not nearly linear: its excursions are of the size of its
 * drift.
 */
function nearlyLinear(points: readonly SeriesPoint[], intercept: number, slopePerMs: number): boolean {
  const rise = Math.abs(slopePerMs) * (points.at(-1)!.t - points[0].t);
  if (!(rise > 0)) return false;
  return standardDeviation(points.map((p) => p.v - (intercept + slopePerMs * p.t))) < NEARLY_LINEAR * rise;
}

function bandFor(level: number, opts: TrajectoryOptions): number {
  return Math.max(opts.bandFloorBytesPerMin ?? DEFAULT_BAND_FLOOR, (opts.bandFractionPerMin ?? DEFAULT_BAND_FRACTION) * Math.abs(level));
}

function standardDeviation(xs: readonly number[]): number {
  if (xs.length < 2) return 0;
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  return Math.sqrt(xs.reduce((a, x) => a + (x - mean) * (x - mean), 0) / (xs.length - 1));
}

/** A decided class: one a longer run would not be asked for. */
export function isDecided(t: Trajectory): boolean {
  return t.class !== 'too-short';
}

/** A sample figure as a series (samples without it are left out): e.g. `seriesOf(samples, (s) => s.rssBytes)`. */
export function seriesOf<S extends { t: number }>(samples: readonly S[], value: (s: S) => number | null | undefined): SeriesPoint[] {
  const out: SeriesPoint[] = [];
  for (const s of samples) {
    const v = value(s);
    if (v != null && Number.isFinite(v)) out.push({ t: s.t, v });
  }
  return out;
}
