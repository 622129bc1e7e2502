// The diagnosis of a run: from each environment's trajectory (analysis/trajectory.ts) to one finding with a
// confidence, the figures it rests on, and what to deploy. Pure functions: no I/O; the words are rendered once, by
// analysis/diagnosisText.ts, from what this returns.
//
// How it reasons. Without the ledger, the allocators are the experiment: the same program doing the same work
// under several allocators. Memory that keeps growing under one and levels off under another is the allocator's
// (retention); memory that keeps growing under every one is the program's (a leak); a bounded level that changes
// little from one allocator to the next is the program's own bounded memory (a cache). With the ledger, the live
// heap says directly what the program keeps, and RSS above it is what the allocator holds.
import type {
  AllocatorHabit, Confidence, Diagnosis, DiagnosisEnvironment, DiagnosisEvidence, EnvironmentMetrics, EnvironmentRecord,
  Finding, Recommendation, Trajectory,
} from '../model';
import { formatMiB } from '../units';
import { diagnosisHeadline } from './diagnosisText';
import { allocatorHabits } from './habits';

const MiB = 1024 * 1024;

// Two steady levels differ materially when the lower is at least 20 % below the higher (the higher >= 1.25 x the
// lower) and by at least 8 MiB. Why: repeated runs of one allocator on one program differ in steady level by up to
// about 10 % (arena placement, thread timing), so a difference must be twice that to be the allocator's; the floor
// is about the fixed footprint allocators differ by before any work (metadata, per-thread caches, start-up
// mappings: a few MiB), which is not retention. The same threshold decides "the allocator changes little".
export const MATERIAL_LEVEL_FRACTION = 0.2;
export const MATERIAL_LEVEL_FLOOR = 8 * MiB;
// The finding names who owns most of the memory. Between bounded environments, the part of the higher level that
// the lowest does without is the allocator's; the part they share is the program's. The allocator's part is the
// larger one (retention) when the higher level is at least twice the lowest. A material difference short of that
// (jemalloc's page-rounded large blocks, a few arenas' slack) is said with its figures and priced by the
// recommendation, but the memory is still mostly the program's, and so is the finding. With the ledger the same
// share is measured inside one run: the free-but-resident bytes the allocator holds against the steady RSS.
const ALLOCATOR_SHARE = 0.5;
// A start-up ramp counts as the program filling its own memory (a cache) when it rises by at least 20 % of the
// steady level and by the same floor: less is within what any service maps while it warms up.
const MATERIAL_RAMP_FRACTION = 0.2;
// The recommendation: the lowest steady memory among environments within 10 % of the best throughput and of the
// best p99 (the brief's tolerance: what a user would accept as "as fast").
const PERFORMANCE_TOLERANCE = 0.1;
// Growth under one allocator whose interval lies entirely below a quarter of another's: three quarters or more of
// the faster growth is the allocator's, whatever the slower one settles to.
export const SLOWER_FRACTION = 0.25;
// A growth of something other than the heap explains RSS growth when it is at least half of it.
const EXPLAINS_FRACTION = 0.5;

/** One environment as the diagnosis weighs it (the median repetition). */
interface Weighed {
  rec: EnvironmentRecord;
  m: EnvironmentMetrics;
  tr: Trajectory;
  steady: number;
}

const BOUNDED = new Set(['flat', 'levelling-off', 'oscillating', 'falling']);

function isBounded(tr: Trajectory | null | undefined): boolean {
  return !!tr && BOUNDED.has(tr.class);
}

function isRising(tr: Trajectory | null | undefined): boolean {
  return tr?.class === 'rising';
}

/** Until settled, its load ended on the comparison with an earlier environment, its own class still undecided. */
function endedOnComparison(x: Weighed): boolean {
  return x.m.phases.some((p) => p.kind === 'load' && p.settledOn === 'comparison');
}

/** Why a load phase ended with its work done, before its bound: its driver exited, or it reached its request count. */
function workEnded(x: Weighed): 'driver-exit' | 'requests' | null {
  const p = x.m.phases.find((q) => q.kind === 'load' && (q.endReason === 'driver-exit' || q.endReason === 'requests'));
  return p ? p.endReason as 'driver-exit' | 'requests' : null;
}

/** Environments that were measured cleanly (applied, not crashed), one per environment id: the median repetition by steady level. */
function weigh(envs: readonly EnvironmentRecord[]): Weighed[] {
  const groups = new Map<string, Weighed[]>();
  for (const rec of envs) {
    const m = rec.metrics;
    // A run that crashed or failed has truncated figures: it is reported, not compared.
    if (!m || m.samples === 0 || !m.trajectory || rec.verification?.applied === false || rec.error || (rec.exit && !rec.exit.expected)) continue;
    const steady = m.trajectory.steadyBytes ?? m.steadyRssBytes;
    if (steady == null) continue;
    const list = groups.get(rec.env) ?? [];
    list.push({ rec, m, tr: m.trajectory, steady });
    groups.set(rec.env, list);
  }
  return [...groups.values()].map((list) => {
    list.sort((a, b) => a.steady - b.steady);
    return list[(list.length - 1) >> 1];
  });
}

/** The default environment the others are priced against: glibc when it ran, else the first measured. */
function defaultOf(list: readonly Weighed[]): Weighed {
  return list.find((x) => x.rec.env === 'glibc') ?? list[0];
}

/** The level an environment reached: its steady level, or for one still rising, where the load left it. */
function levelReached(x: Weighed): number {
  if (!isRising(x.tr)) return x.steady;
  const lastLoad = x.m.phases.filter((p) => p.kind === 'load').at(-1);
  return Math.max(x.steady, lastLoad?.endRssBytes ?? 0);
}

function materiallyAbove(high: number, low: number): boolean {
  return high - low >= MATERIAL_LEVEL_FLOOR && low <= (1 - MATERIAL_LEVEL_FRACTION) * high;
}

/** Most of the higher level is what the lower one does without: the allocator's, not the program's. */
export function allocatorDominates(high: number, low: number): boolean {
  return high - low >= MATERIAL_LEVEL_FLOOR && high - low >= ALLOCATOR_SHARE * high;
}

const LOWER: Record<Confidence, Confidence> = { high: 'medium', medium: 'low', low: 'low' };

/** The setting that reproduces an environment in deployment: its variables without the probe's. */
export function deploymentSetting(appliedEnv: Record<string, string>): string {
  const parts: string[] = [];
  for (const [k, v] of Object.entries(appliedEnv)) {
    if (k.startsWith('ALLOCLAB_')) continue;
    const value = k === 'LD_PRELOAD' ? v.split(/[:\s]+/).filter((p) => p && !/alloclab-probe/.test(p)).join(':') : v;
    if (value) parts.push(`${k}=${value}`);
  }
  return parts.join(' ');
}

function ratio(a: number | null | undefined, b: number | null | undefined): number | null {
  return a != null && b != null && b > 0 ? a / b : null;
}

/** The environments within 10 % of the best throughput and of the best p99 among them (unknown figures do not count). */
function fastEnough(list: readonly Weighed[]): Weighed[] {
  const rps = list.map((x) => x.m.throughputRps).filter((x): x is number => x != null && x > 0);
  const p99 = list.map((x) => x.m.latencyP99Ms).filter((x): x is number => x != null && x > 0);
  const bestRps = rps.length ? Math.max(...rps) : null;
  const bestP99 = p99.length ? Math.min(...p99) : null;
  return list.filter((x) =>
    (bestRps == null || (x.m.throughputRps != null && x.m.throughputRps >= (1 - PERFORMANCE_TOLERANCE) * bestRps))
    && (bestP99 == null || (x.m.latencyP99Ms != null && x.m.latencyP99Ms <= (1 + PERFORMANCE_TOLERANCE) * bestP99)));
}

/**
 * The environment to deploy: the lowest steady memory among those within 10 % of the best throughput and p99,
 * when it needs materially less than the default; null when none helps.
 */
export function recommend(list: readonly Weighed[]): Recommendation | null {
  if (list.length < 2) return null;
  const base = defaultOf(list);
  // A rising environment has no steady level to deploy on: its median is only where it was mid-run. The best
  // throughput and p99 are those of every measured environment, settled or not: a rate does not wait for memory
  // to settle, and an environment much slower than one still settling is not the one to deploy.
  const fast = new Set(fastEnough(list));
  const candidates = list.filter((x) => fast.has(x) && x.tr.class !== 'too-short' && !isRising(x.tr)).sort((a, b) => a.steady - b.steady);
  const pick = candidates[0];
  // A default that keeps growing has no level: it is priced at where the load left it, and any bounded environment
  // helps, since the default's memory has no bound at all.
  const baseGrows = isRising(base.tr);
  const baseLevel = levelReached(base);
  if (!pick || pick === base || (!baseGrows && !materiallyAbove(baseLevel, pick.steady))) return null;
  const setting = deploymentSetting(pick.rec.appliedEnv);
  const rec: Recommendation = {
    env: pick.rec.env,
    setting,
    memoryRatio: pick.steady / baseLevel,
    throughputRatio: ratio(pick.m.throughputRps, base.m.throughputRps),
    p99Ratio: ratio(pick.m.latencyP99Ms, base.m.latencyP99Ms),
    text: '',
  };
  const against = baseGrows ? `${formatMiB(baseLevel)} at the end of the load under ${base.rec.label}, still growing` : `${formatMiB(baseLevel)} under ${base.rec.label}`;
  const price = [`steady memory ${formatMiB(pick.steady)} against ${against} (${rec.memoryRatio.toFixed(2)}x)`];
  if (rec.throughputRatio != null) price.push(`throughput ${rec.throughputRatio.toFixed(2)}x`);
  if (rec.p99Ratio != null) price.push(`p99 ${rec.p99Ratio.toFixed(2)}x`);
  rec.text = `Deploy with ${setting || `${pick.rec.label} (no variable to set)`}: ${price.join(', ')}.`;
  return rec;
}

/**
 * An environment that is not recommended only because it did not settle: it needs materially less than the
 * default's level, within 10 % of the best throughput and p99 of every measured environment.
 */
function unsettledCandidate(list: readonly Weighed[]): Diagnosis['unsettledCandidate'] {
  if (list.length < 2) return null;
  const base = defaultOf(list);
  const baseLevel = levelReached(base);
  const pick = fastEnough(list).filter((x) => x !== base && x.tr.class === 'too-short' && materiallyAbove(baseLevel, x.steady))
    .sort((a, b) => a.steady - b.steady)[0];
  return pick ? { env: pick.rec.env, label: pick.rec.label, steadyRssBytes: pick.steady, defaultLabel: base.rec.label, defaultRssBytes: baseLevel } : null;
}

/** What the run's environments say about work done: caveats that lower the confidence of a comparison. */
function workCaveats(list: readonly Weighed[], scenario: unknown): string[] {
  const out: string[] = [];
  const reasons = new Map<string, Set<string>>();
  for (const x of list) {
    for (const p of x.m.phases) {
      if (p.kind !== 'load') continue;
      if (p.endReason) {
        const set = reasons.get(p.phase) ?? new Set<string>();
        set.add(`${p.endReason}:${x.rec.env}`);
        reasons.set(p.phase, set);
      }
      if (p.load && p.load.parsed === false) out.push(`The load driver's output could not be read under ${x.rec.label} (phase ${p.phase}): its work done is unknown.`);
      const bound = requestsBound(scenario, p.phase);
      if (bound != null && p.load && p.load.parsed !== false && p.load.requests < bound) {
        out.push(`Under ${x.rec.label} the phase ${p.phase} ended after ${p.load.requests} of its ${bound} requests: the environments did not do the same work.`);
      }
    }
  }
  for (const [phase, set] of reasons) {
    const byReason = new Map<string, string[]>();
    for (const item of set) {
      const [reason, env] = item.split(/:(.*)/s);
      byReason.set(reason, [...(byReason.get(reason) ?? []), env]);
    }
    const exited = byReason.get('driver-exit');
    const cut = [...(byReason.get('duration') ?? []), ...(byReason.get('cancelled') ?? [])];
    if (exited?.length && cut.length) {
      const label = (env: string) => list.find((x) => x.rec.env === env)?.rec.label ?? env;
      out.push(`In phase ${phase} the load driver finished its work under ${exited.map(label).join(', ')} but was stopped at the phase's end under ${cut.map(label).join(', ')}: the environments did different work.`);
    }
  }
  // Work done: the environment with the lowest steady level must not owe it to doing less (an open-model load gives
  // each the same; a closed one gives the faster more). Under 90 % of the work of the highest is unequal.
  const known = list.filter((x) => x.m.requests != null && x.m.requests > 0);
  if (known.length >= 2) {
    const lowest = [...known].sort((a, b) => a.steady - b.steady)[0], highest = [...known].sort((a, b) => b.steady - a.steady)[0];
    if (lowest !== highest && lowest.m.requests! < (1 - PERFORMANCE_TOLERANCE) * highest.m.requests!) {
      out.push(`${lowest.rec.label} served ${lowest.m.requests} requests against ${highest.m.requests} under ${highest.rec.label}: part of its lower level may be less work done.`);
    }
  }
  return [...new Set(out)];
}

function requestsBound(scenario: unknown, phase: string): number | null {
  const phases = (scenario as { phases?: { name?: string; requests?: number }[] } | null)?.phases;
  if (!Array.isArray(phases)) return null;
  const name = phase.replace(/#\d+$/, '');
  const p = phases.find((x) => x?.name === phase) ?? phases.find((x) => x?.name === name);
  return typeof p?.requests === 'number' ? p.requests : null;
}

/** The allocator an environment really ran with and its settings (the variables it adds, other than LD_PRELOAD). */
function configurationOf(x: Weighed): string {
  const { LD_PRELOAD: preload, ...rest } = x.rec.appliedEnv;
  const settings = deploymentSetting(rest);
  // The mapped library is the truth; a record without it (a run killed before verification) names what it asked for.
  const allocator = x.rec.verification?.mappedAllocator ?? (deploymentSetting(preload ? { LD_PRELOAD: preload } : {}) || 'glibc');
  return `${allocator}${settings ? ` ${settings}` : ''}`;
}

function configurations(list: readonly Weighed[]): number {
  return new Set(list.map(configurationOf)).size;
}

function environmentView(x: Weighed): DiagnosisEnvironment {
  return {
    env: x.rec.env,
    label: x.rec.label,
    configuration: configurationOf(x),
    trajectory: x.tr.class,
    steadyRssBytes: x.steady,
    meanRssBytes: x.m.meanRssBytes ?? null,
    peakRssBytes: x.m.peakRssBytes,
    growthBytesPerMin: x.tr.slopeBytesPerMin,
    growthIntervalBytesPerMin: x.tr.slopeIntervalBytesPerMin,
    liveHeapTrajectory: x.m.liveHeapTrajectory?.class ?? null,
    liveHeapSteadyBytes: x.m.liveHeapTrajectory?.steadyBytes ?? null,
    liveHeapGrowthBytesPerMin: x.m.liveHeapTrajectory?.slopeBytesPerMin ?? null,
    throughputRps: x.m.throughputRps,
    latencyP99Ms: x.m.latencyP99Ms,
    requests: x.m.requests,
    loadEndReasons: x.m.phases.filter((p) => p.kind === 'load' && p.endReason).map((p) => p.endReason!),
  };
}

function trajectoryEvidence(x: Weighed): DiagnosisEvidence[] {
  const env = x.rec.dir;
  const out: DiagnosisEvidence[] = [
    { env, metric: 'trajectory', value: null, unit: x.tr.class, text: `${x.rec.label}: RSS ${x.tr.class}` },
    { env, metric: 'steadyRssBytes', value: x.steady, unit: 'bytes', text: `${x.rec.label}: steady RSS ${formatMiB(x.steady)}` },
  ];
  if (x.tr.slopeBytesPerMin != null && x.tr.slopeIntervalBytesPerMin) {
    const [lo, hi] = x.tr.slopeIntervalBytesPerMin;
    out.push({ env, metric: 'growthBytesPerMin', value: x.tr.slopeBytesPerMin, unit: 'bytes/min',
      text: `${x.rec.label}: growth ${mibPerMin(x.tr.slopeBytesPerMin)} (99 % interval ${mibPerMin(lo)} to ${mibPerMin(hi)})` });
  }
  out.push({ env, metric: 'peakRssBytes', value: x.m.peakRssBytes, unit: 'bytes', text: `${x.rec.label}: peak RSS ${formatMiB(x.m.peakRssBytes)}` });
  if (x.tr.rampEndMs != null) {
    out.push({ env, metric: 'rampEndMs', value: x.tr.rampEndMs, unit: 'ms', text: `${x.rec.label}: start-up ramp ended ${((x.tr.rampEndMs - x.tr.startMs) / 1000).toFixed(0)} s into the load` });
  }
  if (x.m.requests != null) out.push({ env, metric: 'requests', value: x.m.requests, unit: 'requests', text: `${x.rec.label}: ${x.m.requests} requests served` });
  const live = x.m.liveHeapTrajectory;
  if (live) {
    out.push({ env, metric: 'liveHeapTrajectory', value: null, unit: live.class, text: `${x.rec.label}: live heap ${live.class}` });
    if (x.m.steadyLiveHeapBytes != null) out.push({ env, metric: 'steadyLiveHeapBytes', value: x.m.steadyLiveHeapBytes, unit: 'bytes', text: `${x.rec.label}: steady live heap ${formatMiB(x.m.steadyLiveHeapBytes)}` });
    if (x.m.steadyAllocatorHeldBytes != null) out.push({ env, metric: 'steadyAllocatorHeldBytes', value: x.m.steadyAllocatorHeldBytes, unit: 'bytes', text: `${x.rec.label}: held free by the allocator ${formatMiB(x.m.steadyAllocatorHeldBytes)}` });
  }
  return out;
}

function levelRatio(x: Weighed, best: Weighed): DiagnosisEvidence {
  return { env: x.rec.dir, metric: 'levelRatio', value: x.steady / best.steady, unit: 'ratio',
    text: `${x.rec.label}: steady RSS ${(x.steady / best.steady).toFixed(2)}x that of ${best.rec.label}` };
}

function mibPerMin(b: number): string {
  const v = b / MiB;
  return `${v >= 0 ? '+' : ''}${v.toFixed(1)} MiB/min`;
}

/** The live heap (ledger) grows, and by more than flat allows at the scale of the whole process: a leak's signal. */
function liveGrows(x: Weighed): boolean {
  const live = x.m.liveHeapTrajectory;
  return isRising(live) && (live!.slopeBytesPerMin ?? 0) >= (x.tr.bandBytesPerMin ?? 0);
}

/** The live heap's growth is at most a fraction of RSS growth, for certain (its interval's top below it). */
function liveExplainsLittle(x: Weighed): boolean {
  const top = x.m.liveHeapTrajectory?.slopeIntervalBytesPerMin?.[1];
  return top != null && top < EXPLAINS_FRACTION * Math.max(0, x.tr.slopeBytesPerMin ?? 0);
}

/**
 * Where RSS growth goes when it is not the live heap. With the ledger, RSS = live + held + other anonymous + file,
 * so the growths add up the same way: the largest of the held, other-anonymous and file-backed slopes (robust
 * point estimates) is where it goes. Without the ledger only file-backed growth and a climbing thread count can be
 * seen; null when nothing but the heap explains it.
 */
function growthOutsideLive(x: Weighed): { what: 'held' | 'file-backed' | 'anonymous, outside the heap' | 'thread stacks'; slope: number | null } | null {
  const rss = x.tr.slopeBytesPerMin ?? 0;
  if (rss <= 0) return null;
  const slopeOf = (t: Trajectory | null | undefined) => t?.slopeBytesPerMin ?? null;
  const file = slopeOf(x.m.fileTrajectory);
  if (x.m.liveHeapTrajectory) {
    if (!liveExplainsLittle(x)) return null;
    const parts: [NonNullable<ReturnType<typeof growthOutsideLive>>['what'], number | null][] = [
      ['held', slopeOf(x.m.heldTrajectory)], ['anonymous, outside the heap', slopeOf(x.m.otherAnonTrajectory)], ['file-backed', file],
    ];
    const [what, slope] = parts.filter(([, v]) => v != null).sort((a, b) => b[1]! - a[1]!)[0] ?? ['held', null];
    return { what, slope };
  }
  if (isRising(x.m.fileTrajectory) && (file ?? 0) >= EXPLAINS_FRACTION * rss) return { what: 'file-backed', slope: file };
  // Without the ledger, a thread count that keeps climbing with RSS is the one visible sign of stack growth.
  const a = x.m.threadsAtLoadStart, b = x.m.threadsAtLoadEnd;
  if (a != null && b != null && b >= a + 4 && b >= 1.5 * a) return { what: 'thread stacks', slope: null };
  return null;
}

interface Reading {
  finding: Finding;
  confidence: Confidence;
  /** Environment ids the finding rests on. */
  basis: string[];
  evidence: DiagnosisEvidence[];
  next: string | null;
  detail: Record<string, string | number | null>;
}

/** The finding from the weighed environments (before the caveats lower its confidence). */
function read(list: readonly Weighed[], ranUntilSettled: boolean, single: boolean): Reading {
  const ids = list.map((x) => x.rec.env);
  const rising = list.filter((x) => isRising(x.tr));
  const bounded = list.filter((x) => isBounded(x.tr));
  const undecided = list.filter((x) => x.tr.class === 'too-short');
  const withLedger = list.filter((x) => x.m.liveHeapTrajectory);
  const secondAllocator = list.some((x) => x.rec.env === 'as-shipped')
    ? 'The binary links its own allocator, so no other can be swapped in: relink it against glibc malloc to compare allocators.'
    : null;
  const ev: DiagnosisEvidence[] = [];
  const longest = () => {
    const ms = Math.max(...undecided.map((x) => x.tr.needMs ?? 0));
    if (!(ms > 0)) return null;
    // One ended on the comparison (until settled: apart from another allocator, its own trend not needed for that)
    // runs longer only without --until-settled; one whose load ended with its work done (the driver exited, or the
    // request count was reached), only with more work, whatever the bound; one that hit its phase bound, only with
    // a longer bound.
    const compared = undecided.filter(endedOnComparison);
    const done = undecided.filter((x) => !compared.includes(x) && workEnded(x));
    const bounded = undecided.filter((x) => !compared.includes(x) && !done.includes(x));
    const names = (xs: Weighed[]) => xs.map((x) => x.rec.label).join(', ');
    const their = (xs: Weighed[]) => (xs.length > 1 ? 'their' : 'its');
    const how = [
      ...(bounded.length ? [ranUntilSettled ? 'raise the load phase\'s duration bound' : 'or with --until-settled'] : []),
      ...(done.some((x) => workEnded(x) === 'driver-exit') ? ['give the load driver more work'] : []),
      ...(done.some((x) => workEnded(x) === 'requests') ? ['raise the load phase\'s request count'] : []),
      ...(compared.length ? ['without --until-settled'] : []),
    ].join(', and ');
    const why = [
      ...(bounded.length ? [`${names(bounded)} did not settle`] : []),
      ...(done.length ? [`${names(done)} did not settle before ${their(done)} load's work was done`] : []),
      ...(compared.length ? [`${names(compared)} ended on the comparison with another allocator, ${their(compared)} own trend undecided`] : []),
    ].join('; ');
    return `Run the load ${Math.ceil(ms / 1000)} s longer (${how}): ${why}.`;
  };

  // With the ledger, live memory growing under every allocator is a leak by definition, whatever RSS shows yet.
  if (withLedger.length === list.length && withLedger.every(liveGrows)) {
    return { finding: 'leak', confidence: withLedger.length >= 2 ? 'high' : 'medium', basis: ids, evidence: ev, next: null, detail: {} };
  }

  if (rising.length && rising.length === list.length) {
    // Growing under every allocator: the program's memory, unless the ledger or the breakdown says otherwise.
    const outside = rising.map(growthOutsideLive);
    const nonHeap = outside.map((o) => (o && o.what !== 'held' ? o : null));
    if (nonHeap.every((n) => n)) {
      for (const [i, x] of rising.entries()) {
        const n = nonHeap[i]!;
        ev.push({ env: x.rec.dir, metric: 'nonHeapGrowth', value: n.slope, unit: n.slope == null ? 'threads' : 'bytes/min',
          text: n.slope == null ? `${x.rec.label}: threads ${x.m.threadsAtLoadStart} -> ${x.m.threadsAtLoadEnd}` : `${x.rec.label}: ${n.what} memory grows ${mibPerMin(n.slope)}` });
      }
      const stacksOnly = nonHeap.every((n) => n!.what === 'thread stacks');
      return { finding: 'non-heap-growth', confidence: stacksOnly ? 'low' : withLedger.length || !single ? 'medium' : 'low', basis: ids, evidence: ev,
        next: withLedger.length ? null : 'Run with --ledger to see the live heap beside RSS.', detail: { what: nonHeap[0]!.what } };
    }
    if (withLedger.length) {
      if (withLedger.every(liveGrows)) {
        return { finding: 'leak', confidence: withLedger.length >= 2 ? 'high' : 'medium', basis: ids, evidence: ev, next: null, detail: {} };
      }
      if (outside.every((o) => o?.what === 'held')) {
        // RSS grows, the live heap does not: every allocator keeps what the program frees.
        return { finding: 'allocator-retention', confidence: withLedger.length >= 2 ? 'high' : 'medium', basis: ids, evidence: ev,
          next: null, detail: { everywhere: 1 } };
      }
      return { finding: 'inconclusive', confidence: 'low', basis: ids, evidence: ev,
        next: 'Run the load longer: the live heap neither clearly grows nor stays apart from RSS under every allocator.', detail: {} };
    }
    return { finding: 'leak', confidence: single ? 'low' : 'medium', basis: ids, evidence: ev,
      next: single ? secondAllocator ?? 'Run under a second allocator (e.g. --env glibc,jemalloc) and with --ledger: growth under every allocator, with the live heap growing, is a leak.'
        : 'Run with --ledger to confirm that the live heap grows with RSS.', detail: {} };
  }

  if (rising.length && bounded.length) {
    // Grows under some allocators and stays bounded under others for the same work: the growth is the allocator's.
    const liveRising = rising.filter(liveGrows);
    if (liveRising.length) {
      return { finding: 'inconclusive', confidence: 'low', basis: ids, evidence: ev,
        next: `Run the load longer: the live heap grows under ${liveRising.map((x) => x.rec.label).join(', ')} while RSS is bounded under ${bounded.map((x) => x.rec.label).join(', ')}.`, detail: {} };
    }
    // A rise that has not yet carried the level materially above the bounded environments' is a drift, not yet a
    // difference in memory: it may go on (the allocator's retention) or level off at the same level (the program's
    // own memory, reached more slowly). Only a longer load tells them apart.
    const apart = rising.filter((x) => bounded.some((b) => materiallyAbove(levelReached(x), b.steady)));
    if (!apart.length) {
      return { finding: 'inconclusive', confidence: 'low', basis: ids, evidence: ev,
        next: `Run the load longer: ${rising.map((x) => x.rec.label).join(', ')} still rises but is not yet materially above ${bounded.map((x) => x.rec.label).join(', ')}; a rise that goes on is the allocator's, one that levels off at the same level is the program's.`, detail: {} };
    }
    return { finding: 'allocator-retention', confidence: undecided.length ? 'medium' : 'high', basis: [...rising, ...bounded].map((x) => x.rec.env), evidence: ev,
      next: undecided.length ? longest() : null, detail: {} };
  }

  if (rising.length) {
    // Growing far more slowly elsewhere for the same work, for certain (the slower one's interval top under a
    // quarter of the bottom of the fastest's), whether that one is still settling or itself rising slowly: at least
    // three quarters of the fastest growth is the allocator's. Not when the live heap grows with it (a leak).
    const bottom = (x: Weighed) => x.tr.slopeIntervalBytesPerMin?.[0] ?? 0;
    const fastest = [...rising].sort((a, b) => bottom(b) - bottom(a))[0];
    const slower = bottom(fastest) > 0 && !liveGrows(fastest) ? [...undecided, ...rising].filter((u) => {
      const top = u.tr.slopeIntervalBytesPerMin?.[1];
      return u !== fastest && top != null && top < SLOWER_FRACTION * bottom(fastest);
    }) : [];
    if (slower.length) {
      for (const u of slower) {
        ev.push({ env: u.rec.dir, metric: 'growthUpperBytesPerMin', value: u.tr.slopeIntervalBytesPerMin![1], unit: 'bytes/min',
          text: `${u.rec.label}: growth at most ${mibPerMin(u.tr.slopeIntervalBytesPerMin![1])}` });
      }
      const faster = rising.filter((x) => !slower.includes(x));
      return { finding: 'allocator-retention', confidence: 'medium', basis: [...faster, ...slower].map((x) => x.rec.env), evidence: ev,
        next: longest(), detail: { slower: 1 } };
    }
  }

  // Compare the steady levels, and (ledger) what the allocator holds beside the live heap.
  const best = [...list].sort((a, b) => a.steady - b.steady)[0];
  const above = list.filter((x) => materiallyAbove(x.steady, best.steady));
  // Those where most of the level is what the lowest does without: the allocator's part is the larger one.
  const far = above.filter((x) => allocatorDominates(x.steady, best.steady));

  if (undecided.length) {
    // Not settled, but a gap in level where most of the higher is the allocator's, for the same work, is already
    // the allocator's (medium: a longer run could still see the lower one climb). An environment below the gap that
    // rises slowly does not change that, as long as its growth, at the top of its interval and over as long again
    // as it ran, would close less than half the gap; one above it rising is the allocator's growth, unless its
    // live heap grows with it.
    const lowestFar = Math.min(...far.map((x) => x.steady));
    const gapHolds = (r: Weighed) => far.includes(r) ? !liveGrows(r)
      : (r.tr.slopeIntervalBytesPerMin?.[1] ?? Infinity) * ((r.tr.endMs - r.tr.startMs) / 60_000) < (lowestFar - r.steady) / 2;
    if (far.length && rising.every(gapHolds)) {
      ev.push(...far.map((x) => levelRatio(x, best)));
      return { finding: 'allocator-retention', confidence: 'medium', basis: [...far, best].map((x) => x.rec.env), evidence: ev,
        next: longest(), detail: { best: best.rec.env } };
    }
    return { finding: 'inconclusive', confidence: 'low', basis: undecided.map((x) => x.rec.env), evidence: ev, next: longest(), detail: {} };
  }

  // Bounded everywhere.
  const holding = withLedger.filter((x) => {
    const held = x.m.steadyAllocatorHeldBytes;
    return held != null && held >= ALLOCATOR_SHARE * x.steady && held >= MATERIAL_LEVEL_FLOOR;
  });
  if (far.length || holding.length) {
    for (const x of holding) {
      ev.push({ env: x.rec.dir, metric: 'heldFraction', value: x.m.steadyAllocatorHeldBytes! / x.steady, unit: 'ratio',
        text: `${x.rec.label}: the allocator holds ${formatMiB(x.m.steadyAllocatorHeldBytes)} free of ${formatMiB(x.steady)} resident` });
    }
    ev.push(...far.map((x) => levelRatio(x, best)));
    const confidence: Confidence = far.length && holding.length ? 'high' : far.length ? (withLedger.length ? 'medium' : 'high') : 'medium';
    return { finding: 'allocator-retention', confidence, basis: [...new Set([...far, ...holding, best].map((x) => x.rec.env))], evidence: ev, next: null,
      detail: { best: best.rec.env } };
  }
  // A material difference in level that leaves most of the memory the program's is said as figures under the
  // program's own finding, not as retention.
  ev.push(...above.map((x) => levelRatio(x, best)));
  const filled = list.filter((x) => x.tr.rampRiseBytes != null && x.tr.rampRiseBytes >= MATERIAL_RAMP_FRACTION * x.steady && x.tr.rampRiseBytes >= MATERIAL_LEVEL_FLOOR);
  if (filled.length) {
    // The program fills memory and then keeps it, at about the same level whatever the allocator: its own.
    const liveAgrees = withLedger.every((x) => !liveGrows(x));
    const confidence: Confidence = single ? 'low' : withLedger.length && liveAgrees ? 'high' : 'medium';
    return { finding: 'application-memory', confidence, basis: ids, evidence: ev,
      next: single ? secondAllocator ?? 'Run under a second allocator (e.g. --env glibc,jemalloc) to see whether the level depends on the allocator.' : null, detail: {} };
  }
  const oscillating = list.filter((x) => x.tr.class === 'oscillating');
  return { finding: 'stable', confidence: single || oscillating.length ? 'medium' : 'high', basis: ids, evidence: ev,
    next: null, detail: {} };
}

/**
 * The diagnosis of a run from its environment records (their metrics carry the trajectories) and, for the bounds
 * of its phases, the resolved scenario.
 */
export function diagnose(envs: readonly EnvironmentRecord[], scenario: unknown = null): Diagnosis {
  const list = weigh(envs);
  // Allocator habits seen in the run, from the probe's figures (the ledger).
  const habits: AllocatorHabit[] = allocatorHabits(envs);
  const environments: Record<string, DiagnosisEnvironment> = {};
  for (const x of list) environments[x.rec.dir] = environmentView(x);
  if (!list.length) {
    const d: Diagnosis = {
      finding: 'inconclusive', confidence: 'low', summary: '', next: 'Fix what stopped every environment (see the notes) and run again.',
      evidence: [], environments, recommendation: null, habits, caveats: [],
    };
    d.summary = diagnosisHeadline(d);
    return d;
  }
  // One allocator configuration, however many environments ran it (a binary that links jemalloc, run as shipped
  // and with jemalloc preloaded, is one): nothing to compare with.
  const single = configurations(list) === 1;
  const r = read(list, (scenario as { untilSettled?: unknown } | null)?.untilSettled === true, single);
  const caveats = workCaveats(list, scenario);
  if (single && r.finding !== 'inconclusive') {
    caveats.push(list.length === 1 ? `Only ${list[0].rec.label} was measured: no other allocator to compare with.`
      : `Only one allocator was measured: ${list.map((x) => x.rec.label).join(' and ')} ran the same one (${list[0].rec.verification?.mappedAllocator ?? 'glibc malloc'}) with the same settings, so there is no other allocator to compare with.`);
  }
  let confidence = r.confidence;
  // Each kind of doubt lowers the confidence one step (not once per sentence: two sentences on one doubt are one doubt).
  const kinds = new Set(caveats.map((c) => (c.startsWith('Only') ? 'single' : 'work')));
  if (kinds.has('work')) confidence = LOWER[confidence];
  const basis = new Set(r.basis);
  const evidence = [...list.filter((x) => basis.has(x.rec.env)).flatMap(trajectoryEvidence), ...r.evidence];
  const d: Diagnosis = {
    finding: r.finding, confidence, summary: '', next: r.next, evidence, environments,
    recommendation: r.finding === 'inconclusive' ? null : recommend(list), habits, caveats,
  };
  d.unsettledCandidate = d.recommendation ? null : unsettledCandidate(list);
  d.summary = diagnosisHeadline(d);
  return d;
}
