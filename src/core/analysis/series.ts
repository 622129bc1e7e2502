// Series maths shared by the run panel (webview, in the browser) and the host / report writer (Node): drawing
// decimation, the figures of a row of the metrics table, CSV export. Pure functions, no I/O, no Node imports,
// so the browser bundle can take this file as it is.
import type { EnvironmentMetrics, RunEvent, Sample } from '../model';
import { computeEnvironmentMetrics } from './metrics';

/**
 * Thins samples to at most about 2 per bucket for drawing: in each of `buckets` equal time slices it keeps the
 * lowest and the highest RSS sample (in time order), so peaks and dips survive; the first and last samples stay.
 * `value` picks the figure whose extremes are kept (RSS unless told otherwise).
 */
export function decimateMinMax<T extends { t: number } = Sample>(
  samples: readonly T[], buckets: number, value: (s: T) => number = (s) => (s as unknown as Sample).rssBytes,
): T[] {
  const n = samples.length;
  buckets = Math.max(1, Math.floor(buckets));
  if (n <= 2 * buckets + 2) return samples.slice();
  const t0 = samples[0].t;
  const span = samples[n - 1].t - t0;
  if (!(span > 0)) return [samples[0], samples[n - 1]];
  const out: T[] = [samples[0]];
  let i = 1;
  for (let b = 0; b < buckets && i < n - 1; b++) {
    const end = t0 + (span * (b + 1)) / buckets;
    let lo = -1, hi = -1, loV = 0, hiV = 0;
    for (; i < n - 1 && (samples[i].t <= end || b === buckets - 1); i++) {
      const v = value(samples[i]);
      if (lo < 0 || v < loV) { lo = i; loV = v; }
      if (hi < 0 || v > hiV) { hi = i; hiV = v; }
    }
    if (lo < 0) continue;
    if (lo === hi) out.push(samples[lo]);
    else if (lo < hi) out.push(samples[lo], samples[hi]);
    else out.push(samples[hi], samples[lo]);
  }
  out.push(samples[n - 1]);
  return out;
}

/** Index of the sample nearest in time to `t` (samples in time order), or -1 when there are none. */
export function nearestSampleIndex(samples: readonly Sample[], t: number): number {
  if (!samples.length) return -1;
  let lo = 0, hi = samples.length - 1;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (samples[mid].t <= t) lo = mid; else hi = mid;
  }
  return Math.abs(samples[lo].t - t) <= Math.abs(samples[hi].t - t) ? lo : hi;
}

/** The metrics a table row shows: the stored ones, or (live, interrupted) computed from what arrived so far. */
export function displayMetrics(stored: EnvironmentMetrics | null, samples: Sample[], events: RunEvent[]): EnvironmentMetrics | null {
  if (stored && stored.samples >= samples.length) return stored;
  if (!samples.length) return stored;
  return computeEnvironmentMetrics(samples, events);
}

/** One environment's data for the CSV export. */
export interface CsvEnvironment { env: string; label: string; repetition: number; samples: readonly Sample[] }

const CSV_COLUMNS: [string, (s: Sample) => number | undefined][] = [
  ['rss_bytes', (s) => s.rssBytes],
  ['anon_bytes', (s) => s.anonBytes],
  ['file_bytes', (s) => s.fileBytes],
  ['shmem_bytes', (s) => s.shmemBytes],
  ['pss_bytes', (s) => s.pssBytes],
  ['cpu_ms', (s) => s.cpuMs],
  ['threads', (s) => s.threads],
  ['live_heap_bytes', (s) => s.liveHeapBytes],
  ['allocator_held_bytes', (s) => s.allocatorHeldBytes],
  ['thread_stacks_bytes', (s) => s.threadStacksBytes],
  ['allocator_metadata_bytes', (s) => s.allocatorMetadataBytes],
  ['direct_mmap_bytes', (s) => s.directMmapBytes],
  ['lazy_free_bytes', (s) => s.lazyFreeBytes],
  ['probe_overhead_bytes', (s) => s.probeOverheadBytes],
  ['other_anon_bytes', (s) => s.otherAnonBytes],
  ['allocator_figures_age_ms', (s) => s.allocatorFiguresAgeMs],
];

function csvField(text: string): string {
  return /[",\n\r]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** Every sample of every environment as CSV (one row per sample; t in seconds since that environment's start). */
export function samplesCsv(envs: readonly CsvEnvironment[]): string {
  const lines = [['t_s', 'env', 'label', 'repetition', ...CSV_COLUMNS.map(([name]) => name)].join(',')];
  for (const e of envs) {
    const prefix = [csvField(e.env), csvField(e.label), String(e.repetition)];
    for (const s of e.samples) {
      const values = CSV_COLUMNS.map(([, get]) => {
        const v = get(s);
        return v == null ? '' : String(v);
      });
      lines.push([String(+(s.t / 1000).toFixed(3)), ...prefix, ...values].join(','));
    }
  }
  return lines.join('\n') + '\n';
}

/** A file name for an export of run `id` (letters, digits, dot, dash, underscore only). */
export function exportFileName(id: string, ext: string): string {
  const base = id.replace(/[^\w.-]+/g, '_').replace(/^[.]+/, '').slice(0, 150) || 'run';
  return `${base}.${ext}`;
}

// The RSS ledger, as the panel stacks it: in ledgerSeries.ts (the metrics read it too).
export {
  COVERAGE_TOLERANCE, figuresFresh, hasLedger, LEDGER_LAYERS, ledgerCoverage, ledgerPoints, ledgerPointsFrom, ledgerTotal,
  liveBytesOf, stackLedger, statusFile,
} from './ledgerSeries';
export type { LedgerCoverage, LedgerLayer, LedgerPoint } from './ledgerSeries';
