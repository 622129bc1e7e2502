// The RSS ledger over time, as the panel stacks it and the metrics read it. Pure functions, no I/O, no Node
// imports (the browser bundle takes this file as it is).
//
// Freshness: a sample's allocator figures (every part but the live heap) come from the probe's last publication.
// Older than FRESH_FIGURES_MS they are not current: the live view draws the anonymous memory beyond the live heap
// as "unknown"; a stored run interpolates each part between the fresh samples on either side (the probe publishes
// every 250 ms, so a gap means the probe's thread waited for a core, not that memory jumped).
import { FRESH_FIGURES_MS } from '../ledger/ledger';
import type { Sample } from '../model';

/** One ledger sample split into the layers the panel stacks, bottom up (bytes). */
export interface LedgerPoint {
  t: number;
  rssBytes: number;
  liveHeapBytes: number;
  allocatorHeldBytes: number;
  threadStacksBytes: number;
  allocatorMetadataBytes: number;
  directMmapBytes: number;
  lazyFreeBytes: number;
  probeOverheadBytes: number;
  /** Anonymous memory no measured part explains (anon - the parts below it, at least 0). */
  otherAnonBytes: number;
  /** Anonymous memory beyond the live heap whose split is not known here (figures too old, nothing to interpolate). */
  unknownBytes: number;
  /** RssFile + RssShmem. */
  fileBytes: number;
  /** False when the run has no status reading at all: file-backed is then unknown (0) and anon is taken as RSS. */
  statusKnown: boolean;
  /** Where the allocator figures of this point come from. */
  figures: 'fresh' | 'interpolated' | 'unknown';
}

/** The parts that come from the allocator's figures (all but the live heap), in drawing order. */
const FIGURE_PARTS = [
  'allocatorHeldBytes', 'threadStacksBytes', 'allocatorMetadataBytes', 'directMmapBytes', 'lazyFreeBytes', 'probeOverheadBytes',
] as const;

/** The layers of the ledger chart, bottom up (fields of LedgerPoint). */
export const LEDGER_LAYERS = ['liveHeapBytes', ...FIGURE_PARTS, 'otherAnonBytes', 'unknownBytes', 'fileBytes'] as const;

export type LedgerLayer = (typeof LEDGER_LAYERS)[number];

/** True when some sample carries the probe's figures. */
export function hasLedger(samples: readonly Sample[]): boolean {
  return samples.some((s) => s.liveHeapBytes != null);
}

/** Every live block of a ledger sample: in the heap and mmapped directly (the figure a leak grows). */
export function liveBytesOf(s: Sample): number {
  return Math.max(0, s.liveHeapBytes ?? 0) + Math.max(0, s.directMmapBytes ?? 0);
}

/**
 * Whether a ledger sample's allocator figures were current when read. Samples written before the age was
 * recorded carry no other-anon figure either: taken as current, as they were then drawn.
 */
export function figuresFresh(s: Sample): boolean {
  if (s.allocatorFiguresAgeMs != null) return s.allocatorFiguresAgeMs <= FRESH_FIGURES_MS;
  return s.otherAnonBytes == null;
}

/** The file-backed figure of a sample that has the status breakdown (RssFile + RssShmem), else null. */
export function statusFile(s: Sample): number | null {
  return s.fileBytes != null || s.shmemBytes != null ? (s.fileBytes ?? 0) + (s.shmemBytes ?? 0) : null;
}

/**
 * The ledger samples split into layers. The anon/file split comes from /proc status at a lower rate than the
 * probe's figures: a sample without it takes anon as RSS minus the last file-backed figure seen (before the first
 * status reading, the first one that comes; file-backed memory moves slowly), as the sampler does.
 * `interpolate` (a stored run): stale figures are interpolated between fresh ones; else they are "unknown".
 */
export function ledgerPoints(samples: readonly Sample[], opts: { interpolate?: boolean } = {}): LedgerPoint[] {
  let first: number | null = null;
  for (const s of samples) if ((first = statusFile(s)) != null) break;
  const { points } = split(samples, 0, first);
  if (opts.interpolate) interpolate(points);
  return points;
}

/**
 * The ledger points of samples[start..] when `fileBefore` is the file-backed figure in force at `start` (null:
 * none known), and the figure in force after the last sample: lets a live view extend what it computed before.
 * Stale figures are drawn as unknown (a live view has no later figure to interpolate to).
 */
export function ledgerPointsFrom(samples: readonly Sample[], start: number, fileBefore: number | null): { points: LedgerPoint[]; file: number | null } {
  return split(samples, start, fileBefore);
}

function split(samples: readonly Sample[], start: number, fileBefore: number | null): { points: LedgerPoint[]; file: number | null } {
  let file = fileBefore;
  const points: LedgerPoint[] = [];
  for (let i = start; i < samples.length; i++) {
    const s = samples[i];
    file = statusFile(s) ?? file;
    if (s.liveHeapBytes == null) continue;
    const f = Math.max(0, file ?? 0);
    const anon = s.anonBytes ?? Math.max(0, s.rssBytes - f);
    const p: LedgerPoint = {
      t: s.t, rssBytes: s.rssBytes, liveHeapBytes: Math.max(0, s.liveHeapBytes),
      allocatorHeldBytes: 0, threadStacksBytes: 0, allocatorMetadataBytes: 0, directMmapBytes: 0, lazyFreeBytes: 0, probeOverheadBytes: 0,
      otherAnonBytes: 0, unknownBytes: 0, fileBytes: f, statusKnown: file != null, figures: 'fresh',
    };
    if (figuresFresh(s)) {
      for (const part of FIGURE_PARTS) p[part] = Math.max(0, s[part] ?? 0);
      settle(p, anon);
    } else {
      p.figures = 'unknown';
      p.unknownBytes = Math.max(0, anon - p.liveHeapBytes);
    }
    points.push(p);
  }
  return { points, file };
}

/** Other anon = what the parts leave of anon. Live heap can exceed anon (allocated, never touched): the stack then stands above RSS, honestly. */
function settle(p: LedgerPoint, anon: number): void {
  let parts = p.liveHeapBytes;
  for (const part of FIGURE_PARTS) parts += p[part];
  p.otherAnonBytes = Math.max(0, anon - parts);
}

function interpolate(points: LedgerPoint[]): void {
  let prev = -1;
  for (let i = 0; i < points.length; i++) {
    if (points[i].figures !== 'unknown') {
      prev = i;
      continue;
    }
    let next = i + 1;
    while (next < points.length && points[next].figures === 'unknown') next++;
    if (prev < 0 || next >= points.length) {
      i = next - 1;
      continue;
    }
    const a = points[prev], b = points[next];
    for (let k = i; k < next; k++) {
      const p = points[k];
      const w = b.t > a.t ? (p.t - a.t) / (b.t - a.t) : 0;
      for (const part of FIGURE_PARTS) p[part] = a[part] + (b[part] - a[part]) * w;
      // The interpolated parts cannot take more than anon leaves beside the live heap: held gives way first.
      const anon = p.liveHeapBytes + p.unknownBytes;
      let over = p.liveHeapBytes;
      for (const part of FIGURE_PARTS) over += p[part];
      over -= Math.max(anon, p.liveHeapBytes);
      if (over > 0) p.allocatorHeldBytes = Math.max(0, p.allocatorHeldBytes - over);
      p.unknownBytes = 0;
      p.figures = 'interpolated';
      settle(p, anon);
    }
    i = next - 1;
  }
}

/** Top of the stack of one point: the sum of its layers. */
export function ledgerTotal(p: LedgerPoint): number {
  let total = 0;
  for (const layer of LEDGER_LAYERS) total += p[layer];
  return total;
}

/**
 * The points as uPlot data for a stacked area chart: [t in seconds, then the cumulative sum of the layers bottom
 * up, each divided by `unit`]. The last row is the top of the stack.
 */
export function stackLedger(points: readonly LedgerPoint[], unit = 1): number[][] {
  const rows: number[][] = [points.map((p) => p.t / 1000)];
  const acc = points.map(() => 0);
  for (const layer of LEDGER_LAYERS) {
    rows.push(points.map((p, j) => (acc[j] += p[layer]) / unit));
  }
  return rows;
}

/** How much of the anonymous memory the measured parts explain (EnvironmentMetrics.ledgerCoverage). */
export interface LedgerCoverage {
  /** Median over the samples with fresh figures of (anon - other anon) / anon. */
  explainedFraction: number;
  /** Median other anon, bytes, and as a share of RSS. */
  unexplainedBytes: number;
  unexplainedFractionOfRss: number;
  /** The measured parts miss anon by at most 2 % of RSS. */
  withinTolerance: boolean;
  /** Share of the ledger samples whose allocator figures were fresh (under 1 s old). */
  freshFraction: number;
}

/** Tolerance of the coverage check: the measured parts may miss anon by this share of RSS. */
export const COVERAGE_TOLERANCE = 0.02;

/** Coverage of the ledger over a run's samples, or null without ledger samples that carry the split parts. */
export function ledgerCoverage(samples: readonly Sample[]): LedgerCoverage | null {
  const withParts = samples.filter((s) => s.liveHeapBytes != null && s.otherAnonBytes != null);
  if (!withParts.length) return null;
  const points = ledgerPoints(withParts).filter((p) => p.figures === 'fresh');
  if (!points.length) return { explainedFraction: 0, unexplainedBytes: 0, unexplainedFractionOfRss: 0, withinTolerance: false, freshFraction: 0 };
  const median = (xs: number[]) => {
    const v = xs.slice().sort((a, b) => a - b);
    return v[Math.floor(v.length / 2)];
  };
  const other = median(points.map((p) => p.otherAnonBytes));
  const ofRss = median(points.map((p) => (p.rssBytes > 0 ? p.otherAnonBytes / p.rssBytes : 0)));
  const explained = median(points.map((p) => {
    const anon = ledgerTotal(p) - p.fileBytes;
    return anon > 0 ? Math.min(1, (anon - p.otherAnonBytes) / anon) : 1;
  }));
  return {
    explainedFraction: explained, unexplainedBytes: other, unexplainedFractionOfRss: ofRss,
    withinTolerance: ofRss <= COVERAGE_TOLERANCE, freshFraction: points.length / withParts.length,
  };
}
