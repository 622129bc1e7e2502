// The one renderer of a diagnosis in words, for the CLI, the panel, the report and the run list. Pure, no Node
// imports (the webview imports it). The finding is stated once, first; every later sentence is tagged with the
// finding it belongs to, or with none when it only states figures, and only sentences of the diagnosis's own finding
// (or none) are rendered, so no sentence can contradict the headline.
import type { Diagnosis, DiagnosisEnvironment, EnvironmentRecord, Finding, TrajectoryClass } from '../model';
import { formatGrowth, formatMiB } from '../units';

/** One rendered sentence and the finding it belongs to (null: figures only, true under any finding). */
export interface DiagnosisSentence { text: string; finding: Finding | null }

/** The name each finding is announced with; no other sentence uses these words. */
export const FINDING_TITLES: Record<Finding, string> = {
  'leak': 'Leak',
  'allocator-retention': 'Allocator retention',
  'application-memory': 'The program\'s own memory',
  'non-heap-growth': 'Growth outside the heap',
  'stable': 'Stable',
  'inconclusive': 'Inconclusive',
};

/** What each finding means for the user, said once after the headline; it belongs to that finding only. */
export const FINDING_SENTENCES: Record<Finding, string | null> = {
  'leak': 'The program keeps more and more memory (a leak, or a map or cache without a bound): profile allocation sites to find it (alloclab profile).',
  'allocator-retention': 'The allocator keeps memory that the program freed, resident: a different allocator, or fewer arenas, gives it back.',
  'application-memory': 'It is memory the program itself keeps (a cache, a pool); to lower it, bound what the program keeps.',
  'non-heap-growth': 'Look at thread stacks, mmap\'d regions and mapped files rather than malloc: a heap profiler will not show it.',
  'stable': null,
  'inconclusive': null,
};

/** A trajectory class as a sentence says it. */
export const CLASS_WORDS: Record<TrajectoryClass, string> = {
  'rising': 'rising', 'levelling-off': 'levelling off', 'flat': 'flat', 'falling': 'falling', 'oscillating': 'oscillating',
  'too-short': 'not settled',
};

function envs(d: Diagnosis): DiagnosisEnvironment[] {
  return Object.values(d.environments);
}

function list(xs: string[]): string {
  return xs.length <= 1 ? xs.join('') : `${xs.slice(0, -1).join(', ')} and ${xs.at(-1)}`;
}

function levelOf(e: DiagnosisEnvironment): string {
  return `${e.label} ${formatMiB(e.steadyRssBytes)}`;
}

/** The headline: the finding, its confidence, and the one reason, in one sentence. */
export function diagnosisHeadline(d: Diagnosis): string {
  const all = envs(d);
  const rising = all.filter((e) => e.trajectory === 'rising');
  const bounded = all.filter((e) => e.trajectory !== 'rising' && e.trajectory !== 'too-short');
  const title = `${FINDING_TITLES[d.finding]} (${d.confidence} confidence)`;
  const growth = (e: DiagnosisEnvironment) => `${e.label} ${formatGrowth(e.growthBytesPerMin)}`;
  switch (d.finding) {
    case 'leak':
      return `${title}: RSS keeps growing under ${all.length > 1 ? 'every allocator' : all[0]?.label ?? 'the target'} (${list(rising.map(growth))})${all.some((e) => e.liveHeapTrajectory === 'rising') ? ', and the live heap grows with it' : ''}.`;
    case 'allocator-retention': {
      const slower = d.evidence.filter((x) => x.metric === 'growthUpperBytesPerMin');
      if (rising.length && slower.length) {
        const atMost = slower.map((x) => `${formatGrowth(x.value)} under ${d.environments[x.env!]?.label ?? x.env}`);
        // An environment that rises slowly is named once, with its bound, not also among the fast ones.
        const fast = rising.filter((e) => !slower.some((x) => d.environments[x.env!] === e));
        return `${title}, not a leak: RSS keeps growing under ${list(fast.map(growth))}, and at most ${list(atMost)} for the same work.`;
      }
      if (rising.length && bounded.length) {
        return `${title}, not a leak: RSS keeps growing under ${list(rising.map(growth))} but stays bounded under ${list(bounded.map(levelOf))} for the same work.`;
      }
      // A gap in level decided it (some environments may still be settling or creeping up below the gap).
      const ratios = d.evidence.filter((x) => x.metric === 'levelRatio');
      const best = [...all].sort((a, b) => (a.steadyRssBytes ?? 0) - (b.steadyRssBytes ?? 0))[0];
      if (ratios.length && best) {
        const high = ratios.map((x) => d.environments[x.env!]).filter(Boolean);
        return `${title}: at their steady level ${list(high.map((e) => `${levelOf(e)} (${((e.steadyRssBytes ?? 0) / (best.steadyRssBytes || 1)).toFixed(1)}x)`))} against ${levelOf(best)} for the same work.`;
      }
      if (rising.length) {
        return `${title}, not a leak: RSS grows under ${list(rising.map(growth))} while the live heap does not; the allocators keep memory the program freed.`;
      }
      const held = d.evidence.filter((x) => x.metric === 'heldFraction');
      return `${title}: ${list(held.map((x) => x.text))}.`;
    }
    case 'application-memory': {
      // A material difference between allocators that leaves most of the memory the program's: its size, not "little".
      const top = d.evidence.filter((x) => x.metric === 'levelRatio').sort((a, b) => (b.value ?? 0) - (a.value ?? 0))[0];
      const effect = new Set(all.map((e) => e.configuration ?? e.env)).size < 2 ? ''
        : top ? `; the allocator changes it by up to ${(top.value ?? 1).toFixed(1)}x (${d.environments[top.env!]?.label ?? top.env}), less than the program's own part`
        : '; changing the allocator changes little';
      return `${title}: RSS rises to a bounded level and stays there (${list(all.map(levelOf))})${effect}.`;
    }
    case 'non-heap-growth': {
      const what = d.evidence.filter((x) => x.metric === 'nonHeapGrowth').map((x) => x.text);
      return `${title}: RSS grows under ${list(rising.map(growth))}, and it is not the heap (${list(what)}).`;
    }
    case 'stable':
      return `${title}: RSS stays bounded under ${list(all.map(levelOf))}.`;
    case 'inconclusive':
      if (!all.length) return `${title}: no environment produced measurements.`;
      return `${title}: ${list(all.filter((e) => e.trajectory === 'too-short').map((e) => e.label)) || 'the environments'} did not settle long enough to tell${rising.length && bounded.length ? ', and the live heap and RSS disagree' : ''}.`;
  }
}

/** Every sentence of the diagnosis, the headline first, each tagged with its finding (null: figures only). */
export function diagnosisSentences(d: Diagnosis, records: readonly EnvironmentRecord[] = []): DiagnosisSentence[] {
  const out: DiagnosisSentence[] = [{ text: d.summary || diagnosisHeadline(d), finding: d.finding }];
  const own = (text: string) => out.push({ text, finding: d.finding });
  const figures = (text: string) => out.push({ text, finding: null });
  const all = envs(d);

  if (FINDING_SENTENCES[d.finding]) own(FINDING_SENTENCES[d.finding]!);

  for (const e of all) {
    const parts = [`steady ${formatMiB(e.steadyRssBytes)}`];
    if (e.meanRssBytes != null) parts.push(`time-averaged ${formatMiB(e.meanRssBytes)}`);
    parts.push(`peak ${formatMiB(e.peakRssBytes)}`);
    let growth = `growth ${formatGrowth(e.growthBytesPerMin)}`;
    if (e.growthIntervalBytesPerMin) growth += ` (99 % interval ${formatGrowth(e.growthIntervalBytesPerMin[0])} to ${formatGrowth(e.growthIntervalBytesPerMin[1])})`;
    parts.push(growth);
    // The live heap in figures, not its class: "rising" on a 1 MiB live heap is no leak beside a 180 MiB RSS.
    if (e.liveHeapTrajectory) parts.push(`live heap ${formatMiB(e.liveHeapSteadyBytes)} (${formatGrowth(e.liveHeapGrowthBytesPerMin)})`);
    if (e.requests != null) parts.push(`${e.requests} requests`);
    figures(`${e.label}: RSS ${CLASS_WORDS[e.trajectory]}, ${parts.join(', ')}.`);
  }

  const rates = all.filter((e) => e.trajectory === 'rising' && (e.growthBytesPerMin ?? 0) > 0).sort((a, b) => b.growthBytesPerMin! - a.growthBytesPerMin!);
  if (rates.length >= 2 && rates[0].growthBytesPerMin! >= 2 * rates.at(-1)!.growthBytesPerMin!) {
    const times = rates[0].growthBytesPerMin! / rates.at(-1)!.growthBytesPerMin!;
    figures(`RSS grows ${times >= 10 ? Math.round(times) : times.toFixed(1)}x faster under ${rates[0].label} (${formatGrowth(rates[0].growthBytesPerMin)}) than under ${rates.at(-1)!.label} (${formatGrowth(rates.at(-1)!.growthBytesPerMin)}).`);
  }
  const glibc = all.find((e) => e.env === 'glibc'), forceNew = all.find((e) => e.env === 'glibcxx-force-new');
  if (glibc?.steadyRssBytes && forceNew?.steadyRssBytes != null && Math.abs(forceNew.steadyRssBytes - glibc.steadyRssBytes) < 0.1 * glibc.steadyRssBytes) {
    figures('GLIBCXX_FORCE_NEW made no difference (on GCC 12 it affects only libstdc++\'s pool allocators, not std::allocator).');
  }
  for (const c of d.caveats) figures(c);
  if (d.recommendation) figures(d.recommendation.text);
  else if (d.unsettledCandidate) {
    const c = d.unsettledCandidate;
    figures(`${c.label} needs less memory (${formatMiB(c.steadyRssBytes)} against ${formatMiB(c.defaultRssBytes)} under ${c.defaultLabel}) at comparable throughput and p99, but did not settle: run it longer before deploying it.`);
  } else if (all.length > 1 && d.finding !== 'inconclusive') figures('No other environment needs materially less memory at comparable throughput and p99.');
  for (const h of d.habits) figures(`${h.allocator}: ${h.habit} (${h.evidence})${h.advice ? `; ${h.advice}` : ''}.`);

  const returned = records.filter((r) => r.metrics?.returnedFraction != null && d.environments[r.dir]);
  if (returned.length) {
    figures(`After load, the idle phase gave back: ${returned.map((r) => {
      const half = r.metrics!.phases.filter((p) => p.kind === 'idle').at(-1)?.returnHalfMs;
      return `${r.label} ${Math.round(r.metrics!.returnedFraction! * 100)} %${half != null ? ` (half of it in ${(half / 1000).toFixed(1)} s)` : ''}`;
    }).join(', ')}.`);
  }
  for (const r of records) {
    if (r.verification?.applied === false) figures(`${r.label} was not applied (${r.verification.notAppliedReason ?? 'unknown reason'}), so it is not compared.`);
    else if (r.exit && !r.exit.expected && (r.exit.signal || (r.exit.code ?? 0) !== 0)) {
      figures(`The target ${r.exit.signal ? `was killed by ${r.exit.signal}` : `exited with code ${r.exit.code}`} under ${r.label}.`);
    } else if (r.error) figures(`${r.label} failed: ${r.error}`);
  }
  if (d.next) out.push({ text: d.next, finding: d.finding });
  return out;
}

/** The diagnosis as one paragraph: the sentences of its own finding and the figures, headline first. */
export function renderDiagnosis(d: Diagnosis, records: readonly EnvironmentRecord[] = []): string {
  return diagnosisSentences(d, records)
    .filter((s) => s.finding == null || s.finding === d.finding)
    .map((s) => s.text)
    .join(' ');
}
