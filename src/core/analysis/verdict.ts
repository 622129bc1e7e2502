// The comparison across environments in words: what the numbers say about retention versus leaks.
import type { EnvironmentMetrics, EnvironmentRecord } from '../model';
import { formatGrowth, formatMiB } from '../units';

const MiB = 1024 * 1024;

/** Growth that counts as "keeps growing": at least 1 MiB/min and 2 % of the final RSS per minute. */
export function isGrowing(m: EnvironmentMetrics): boolean {
  const g = m.growthBytesPerMin;
  return g != null && g > MiB && g > 0.02 * Math.max(m.finalRssBytes, 1);
}

interface Measured { rec: EnvironmentRecord; m: EnvironmentMetrics }

/**
 * What the ledger (probe) says of RSS growth: 'leak' when the live heap grows with RSS (at least half as fast),
 * 'retention' when RSS grows and the live heap does not keep up (under a quarter as fast), null when there is no
 * ledger, no RSS growth, or the figures sit in between.
 */
export function ledgerReading(m: EnvironmentMetrics): 'leak' | 'retention' | null {
  if (m.liveHeapBytes == null || m.liveHeapGrowthBytesPerMin == null || !isGrowing(m)) return null;
  const rss = m.growthBytesPerMin!;
  const live = Math.max(0, m.liveHeapGrowthBytesPerMin);
  if (live >= 0.5 * rss) return 'leak';
  if (live < 0.25 * rss) return 'retention';
  return null;
}

/** Aggregates repetitions of one environment to one figure set (the median run by peak RSS). */
function medianByEnv(envs: EnvironmentRecord[]): Measured[] {
  const groups = new Map<string, Measured[]>();
  for (const rec of envs) {
    // A run that crashed or failed has truncated figures: it is reported, not compared.
    if (!rec.metrics || rec.metrics.samples === 0 || rec.verification?.applied === false || rec.error || (rec.exit && !rec.exit.expected)) continue;
    const list = groups.get(rec.env) ?? [];
    list.push({ rec, m: rec.metrics });
    groups.set(rec.env, list);
  }
  return [...groups.values()].map((list) => {
    list.sort((a, b) => a.m.peakRssBytes - b.m.peakRssBytes);
    return list[(list.length - 1) >> 1];
  });
}

function pct(a: number, b: number): string {
  return `${Math.round((1 - a / b) * 100)} %`;
}

/** One paragraph comparing the environments of a run. */
export function verdict(envs: EnvironmentRecord[]): string {
  const parts: string[] = [];
  const measured = medianByEnv(envs);
  const notApplied = [...new Map(envs.filter((e) => e.verification?.applied === false).map((e) => [e.env, e])).values()];
  const crashed = envs.filter((e) => e.exit && !e.exit.expected && (e.exit.signal || (e.exit.code ?? 0) !== 0));
  const failed = envs.filter((e) => e.error && !crashed.includes(e));

  if (!measured.length) {
    parts.push('No environment produced measurements.');
  } else {
    const base = measured.find((x) => x.rec.env === 'glibc') ?? measured[0];
    const growing = measured.filter((x) => isGrowing(x.m));
    const flat = measured.filter((x) => !isGrowing(x.m));
    const best = [...measured].sort((a, b) => a.m.peakRssBytes - b.m.peakRssBytes)[0];

    if (isGrowing(base.m)) {
      parts.push(`RSS keeps growing under ${base.rec.label} (${formatGrowth(base.m.growthBytesPerMin)}, peak ${formatMiB(base.m.peakRssBytes)})`);
      const flatBest = [...flat].sort((a, b) => a.m.peakRssBytes - b.m.peakRssBytes)[0];
      const slowest = [...growing].filter((x) => x !== base).sort((a, b) => a.m.growthBytesPerMin! - b.m.growthBytesPerMin!)[0];
      if (flatBest) {
        parts[parts.length - 1] += ` and is flat under ${flatBest.rec.label} at ${formatMiB(flatBest.m.peakRssBytes)} (${pct(flatBest.m.peakRssBytes, base.m.peakRssBytes)} lower): allocator retention, not a leak.`;
      } else if (growing.length === measured.length && growing.every((x) => ledgerReading(x.m) === 'retention')) {
        parts[parts.length - 1] += ', and under every other environment too, but the live heap does not keep up with RSS anywhere: the allocators hold freed memory (or a cache is still filling). Run longer to see where RSS levels off.';
      } else if (slowest && slowest.m.growthBytesPerMin! < 0.25 * base.m.growthBytesPerMin!) {
        const times = base.m.growthBytesPerMin! / Math.max(slowest.m.growthBytesPerMin!, 1);
        parts[parts.length - 1] += `; under ${slowest.rec.label} it grows ${times >= 10 ? Math.round(times) : times.toFixed(1)}x slower (${formatGrowth(slowest.m.growthBytesPerMin)}, peak ${formatMiB(slowest.m.peakRssBytes)}, ${pct(slowest.m.peakRssBytes, base.m.peakRssBytes)} lower): most of the growth under ${base.rec.label} is allocator retention, not a leak. The smaller growth left under every environment is the program's own (an unbounded map, a slow leak): profile allocation sites to find it.`;
      } else if (growing.length === measured.length && measured.length > 1) {
        parts[parts.length - 1] += ', and under every other environment too: this looks like a real leak or unbounded growth in the program; profile allocation sites to find it.';
      } else {
        parts[parts.length - 1] += '.';
      }
    } else {
      parts.push(`RSS is flat under ${base.rec.label} (${formatGrowth(base.m.growthBytesPerMin)}, peak ${formatMiB(base.m.peakRssBytes)}).`);
      if (best !== base && best.m.peakRssBytes < 0.8 * base.m.peakRssBytes) {
        parts.push(`${best.rec.label} needs ${pct(best.m.peakRssBytes, base.m.peakRssBytes)} less at peak (${formatMiB(best.m.peakRssBytes)}).`);
      }
    }
    const others = growing.filter((x) => x !== base);
    if (others.length) parts.push(`Growth during load: ${others.map((x) => `${x.rec.label} ${formatGrowth(x.m.growthBytesPerMin)}`).join(', ')}.`);

    const forceNew = measured.find((x) => x.rec.env === 'glibcxx-force-new');
    if (forceNew && base !== forceNew && Math.abs(forceNew.m.peakRssBytes - base.m.peakRssBytes) < 0.1 * base.m.peakRssBytes) {
      parts.push('GLIBCXX_FORCE_NEW made no difference (on GCC 12 it affects only libstdc++\'s pool allocators, not std::allocator).');
    }

    const withRps = measured.filter((x) => x.m.throughputRps);
    if (base.m.throughputRps && withRps.length > 1) {
      const fastest = [...withRps].sort((a, b) => b.m.throughputRps! - a.m.throughputRps!)[0];
      const slowest = [...withRps].sort((a, b) => a.m.throughputRps! - b.m.throughputRps!)[0];
      if (fastest !== base && fastest.m.throughputRps! > 1.1 * base.m.throughputRps) {
        parts.push(`${fastest.rec.label} served ${(fastest.m.throughputRps! / base.m.throughputRps).toFixed(1)}x the throughput of ${base.rec.label}.`);
      }
      if (slowest !== base && slowest.m.throughputRps! < 0.8 * base.m.throughputRps) {
        parts.push(`${slowest.rec.label} costs throughput (${(slowest.m.throughputRps! / base.m.throughputRps).toFixed(1)}x).`);
      }
    }

    // The ledger (probe): is the growth in the live heap (a leak) or in what the allocator keeps (retention)?
    for (const x of measured.filter((y) => y.m.liveHeapBytes != null)) {
      const m = x.m;
      const held = m.allocatorHeldBytes ?? 0;
      const reading = ledgerReading(m);
      if (reading === 'leak') {
        parts.push(`Under ${x.rec.label} the live heap grows with RSS (${formatGrowth(m.liveHeapGrowthBytesPerMin)}, ${formatMiB(m.liveHeapBytes)} at the end): the program keeps more and more memory, a leak or an unbounded cache.`);
      } else if (reading === 'retention') {
        parts.push(`Under ${x.rec.label} RSS grows ${formatGrowth(m.growthBytesPerMin)} but the live heap only ${formatGrowth(m.liveHeapGrowthBytesPerMin)} (${formatMiB(m.liveHeapBytes)} at the end); the allocator holds ${formatMiB(held)} free but resident: retention, not a leak.`);
      } else if (held > m.liveHeapBytes! && held > 0.3 * m.finalRssBytes) {
        parts.push(`Under ${x.rec.label} the live heap is flat at ${formatMiB(m.liveHeapBytes)}; the allocator holds ${formatMiB(held)} free but resident: retention, not a leak.`);
      } else {
        parts.push(`Under ${x.rec.label} the live heap ends at ${formatMiB(m.liveHeapBytes)} and the allocator holds ${formatMiB(held)} free.`);
      }
    }

    const returned = measured.filter((x) => x.m.returnedFraction != null);
    if (returned.length) {
      parts.push(`After load, memory returned in the idle phase: ${returned.map((x) => `${x.rec.label} ${Math.round(x.m.returnedFraction! * 100)} %`).join(', ')}.`);
    }
  }
  for (const e of notApplied) {
    parts.push(`${e.label} was not applied (${e.verification?.notAppliedReason ?? 'unknown reason'}), so it is not compared.`);
  }
  for (const e of crashed) {
    parts.push(`The target ${e.exit!.signal ? `was killed by ${e.exit!.signal}` : `exited with code ${e.exit!.code}`} under ${e.label}.`);
  }
  for (const e of failed) parts.push(`${e.label} failed: ${e.error}`);
  return parts.join(' ');
}
