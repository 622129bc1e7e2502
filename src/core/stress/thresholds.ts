// `failOn` thresholds, e.g. "growth>5MiB/min,peak>+20%,p99>200ms,throughput<-10%,returned<50%".
// Absolute values carry units; a signed percentage (+20%, -10%) is relative to the baseline environment of the
// same run, so one scenario file can say "no more than 20 % above glibc" without knowing glibc's numbers.
import { formatGrowth, formatMiB, parseBytes, parseDuration } from '../units';

export type ThresholdMetric = 'growth' | 'peak' | 'final' | 'p99' | 'throughput' | 'returned';
export type ThresholdOp = '>' | '>=' | '<' | '<=';

export interface Threshold {
  metric: ThresholdMetric;
  op: ThresholdOp;
  /** Absolute: in the metric's base unit (bytes, bytes/min, ms, requests/s, fraction 0..1). Relative: the signed fraction (+0.2 for +20%). */
  value: number;
  relative: boolean;
  /** The item as written, for messages. */
  text: string;
}

/** The figures thresholds are checked against (a subset of EnvironmentMetrics). */
export interface ThresholdInput {
  growthBytesPerMin: number | null;
  peakRssBytes: number;
  finalRssBytes: number;
  latencyP99Ms?: number | null;
  throughputRps?: number | null;
  returnedFraction?: number | null;
}

const METRICS: Record<ThresholdMetric, { key: keyof ThresholdInput; unit: string; format: (v: number) => string }> = {
  growth: { key: 'growthBytesPerMin', unit: 'a rate such as 5MiB/min', format: formatGrowth },
  peak: { key: 'peakRssBytes', unit: 'a size such as 512MiB', format: formatMiB },
  final: { key: 'finalRssBytes', unit: 'a size such as 512MiB', format: formatMiB },
  p99: { key: 'latencyP99Ms', unit: 'a duration such as 200ms', format: (v) => `${+v.toFixed(2)} ms` },
  throughput: { key: 'throughputRps', unit: 'requests per second such as 1000', format: (v) => `${+v.toFixed(1)} req/s` },
  returned: { key: 'returnedFraction', unit: 'a percentage such as 50%', format: (v) => `${+(v * 100).toFixed(1)}%` },
};

/** Parses a failOn string into thresholds; throws an Error naming the bad item and what was expected. */
export function parseFailOn(text: string): Threshold[] {
  const out: Threshold[] = [];
  for (const raw of text.split(',')) {
    const item = raw.trim();
    if (!item) continue;
    const m = /^([a-z0-9]+)\s*(>=|<=|>|<)\s*(.+)$/i.exec(item);
    if (!m) throw new Error(`"${item}" is not a threshold; write e.g. growth>5MiB/min, peak>+20%, p99>200ms`);
    const metric = m[1].toLowerCase() as ThresholdMetric;
    if (!(metric in METRICS)) throw new Error(`"${item}": unknown metric "${m[1]}"; known: ${Object.keys(METRICS).join(', ')}`);
    const op = m[2] as ThresholdOp;
    const valueText = m[3].trim();
    const rel = /^([+-]\d+(?:\.\d+)?)%$/.exec(valueText);
    if (rel) {
      out.push({ metric, op, value: Number(rel[1]) / 100, relative: true, text: item });
      continue;
    }
    let value: number;
    try {
      value = parseAbsolute(metric, valueText);
    } catch (e) {
      throw new Error(`"${item}": ${(e as Error).message}; expected ${METRICS[metric].unit}, or +N%/-N% relative to the baseline`);
    }
    out.push({ metric, op, value, relative: false, text: item });
  }
  if (out.length === 0) throw new Error('failOn is empty; write e.g. "growth>5MiB/min,peak>+20%"');
  return out;
}

function parseAbsolute(metric: ThresholdMetric, text: string): number {
  switch (metric) {
    case 'growth': {
      const m = /^(.+?)\s*\/\s*(min|s|h)$/.exec(text);
      if (!m) throw new Error(`"${text}" has no time unit`);
      return parseBytes(m[1]) * { s: 60, min: 1, h: 1 / 60 }[m[2] as 's' | 'min' | 'h'];
    }
    case 'peak':
    case 'final':
      return parseBytes(text);
    case 'p99':
      return parseDuration(text);
    case 'throughput': {
      const m = /^(\d+(?:\.\d+)?)\s*(rps|\/s)?$/.exec(text);
      if (!m) throw new Error(`"${text}" is not a number`);
      return Number(m[1]);
    }
    case 'returned': {
      const m = /^(\d+(?:\.\d+)?)%$/.exec(text);
      if (!m) throw new Error(`"${text}" is not a percentage`);
      return Number(m[1]) / 100;
    }
  }
}

function crosses(v: number, op: ThresholdOp, limit: number): boolean {
  switch (op) {
    case '>':
      return v > limit;
    case '>=':
      return v >= limit;
    case '<':
      return v < limit;
    case '<=':
      return v <= limit;
  }
}

/**
 * Returns, in words, every threshold the current environment crosses. A metric that is unknown (null) is not
 * judged; a relative threshold is judged only when a baseline with that metric is given.
 */
export function evaluateThresholds(thresholds: readonly Threshold[], current: ThresholdInput, baseline?: ThresholdInput | null): string[] {
  const crossed: string[] = [];
  for (const t of thresholds) {
    const { key, format } = METRICS[t.metric];
    const v = current[key];
    if (v == null || !Number.isFinite(v)) continue;
    if (t.relative) {
      const b = baseline?.[key];
      if (b == null || !Number.isFinite(b)) continue;
      // |b| keeps the direction of "+20%" when the baseline is negative (growth can be).
      const limit = b + Math.abs(b) * t.value;
      if (crosses(v, t.op, limit)) {
        crossed.push(`${t.metric} ${format(v)} ${t.op} ${t.value >= 0 ? '+' : ''}${+(t.value * 100).toFixed(2)}% of the baseline's ${format(b)} (limit ${format(limit)})`);
      }
    } else if (crosses(v, t.op, t.value)) {
      crossed.push(`${t.metric} ${format(v)} ${t.op} ${format(t.value)}`);
    }
  }
  return crossed;
}
