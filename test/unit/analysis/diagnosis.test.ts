import assert from 'node:assert/strict';
import { test } from 'node:test';
import { diagnose, deploymentSetting } from '../../../src/core/analysis/diagnosis';
import { diagnosisSentences, FINDING_SENTENCES, FINDING_TITLES, renderDiagnosis } from '../../../src/core/analysis/diagnosisText';
import { computeEnvironmentMetrics } from '../../../src/core/analysis/metrics';
import { judgeRun, verdict } from '../../../src/core/analysis/verdict';
import type { Diagnosis, EnvironmentRecord, Finding, LoadStats, PhaseEndReason, RunEvent, RunRecord, Sample, SettledOn } from '../../../src/core/model';
import { prng } from '../support/prng';

const MiB = 1024 * 1024;
const LOAD_FROM = 2000;

const gauss = (r: () => number) => Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());

interface Shape {
  /** RSS at time ms since load start (bytes), before noise. */
  rss: (t: number) => number;
  noise?: number;
  live?: (t: number) => number;
  file?: (t: number) => number;
  loadMs?: number;
  idleMs?: number;
  reason?: PhaseEndReason;
  settledOn?: SettledOn;
  load?: Partial<LoadStats>;
  seed?: number;
}

/** An environment record whose metrics come from synthetic samples every 100 ms: 2 s start-up, load, idle. */
function env(id: string, shape: Shape, extra: Partial<EnvironmentRecord> = {}): EnvironmentRecord {
  const loadMs = shape.loadMs ?? 60_000, idleMs = shape.idleMs ?? 10_000;
  const end = LOAD_FROM + loadMs + idleMs;
  const r = prng(shape.seed ?? id.length * 7 + 1);
  const samples: Sample[] = [];
  for (let t = 0; t <= end; t += 100) {
    const lt = Math.max(0, Math.min(t, LOAD_FROM + loadMs) - LOAD_FROM);
    const s: Sample = { t, rssBytes: Math.max(MiB, Math.round(shape.rss(lt) + (shape.noise ?? MiB) * gauss(r))) };
    if (shape.live) { s.liveHeapBytes = Math.round(shape.live(lt)); s.allocatorHeldBytes = Math.max(0, s.rssBytes - s.liveHeapBytes - 10 * MiB); s.anonBytes = s.rssBytes - 10 * MiB; }
    if (shape.file) { s.fileBytes = Math.round(shape.file(lt)); s.anonBytes = s.rssBytes - s.fileBytes; }
    samples.push(s);
  }
  const load: LoadStats = { parsed: true, requests: 60_000, errors: { status: 0, connect: 0, timeout: 0, other: 0 }, durationMs: loadMs, throughputRps: 1000, latencyMs: { p50: 1, p90: 2, p99: 5, max: 9 }, ...shape.load };
  const events: RunEvent[] = [
    { t: LOAD_FROM, type: 'phase-start', phase: 'load', kind: 'load', index: 0 },
    { t: LOAD_FROM + loadMs, type: 'phase-end', phase: 'load', kind: 'load', index: 0, load, reason: shape.reason ?? 'duration', ...(shape.settledOn ? { settledOn: shape.settledOn } : {}) },
    { t: LOAD_FROM + loadMs, type: 'phase-start', phase: 'idle', kind: 'idle', index: 1 },
    { t: end, type: 'phase-end', phase: 'idle', kind: 'idle', index: 1, reason: 'duration' },
  ];
  const labels: Record<string, string> = { glibc: 'glibc', jemalloc: 'jemalloc', tcmalloc: 'tcmalloc', 'glibc-arena-2': 'glibc, 2 arenas' };
  const appliedEnv: Record<string, string> = id === 'jemalloc' ? { LD_PRELOAD: '/usr/lib/x86_64-linux-gnu/libjemalloc.so.2' }
    : id === 'glibc-arena-2' ? { MALLOC_ARENA_MAX: '2' } : {};
  return {
    env: id, label: labels[id] ?? id, dir: `0${id.length % 9}-${id}`, repetition: 1, appliedEnv, pid: 1, startedAt: '', durationMs: end,
    verification: { applied: true, mappedAllocator: null, mappedLibraries: [] },
    exit: { code: 0, signal: null, expected: true }, error: null, metrics: computeEnvironmentMetrics(samples, events), ...extra,
  };
}

const flat = (level: number) => () => level;
const linear = (base: number, perMin: number) => (t: number) => base + (perMin * t) / 60_000;
const cache = (from: number, to: number, fillMs: number) => (t: number) => from + (to - from) * Math.min(1, t / fillMs);

function titleCount(text: string, f: Finding): number {
  return text.split(`${FINDING_TITLES[f]} (`).length - 1;
}

test('growing under glibc and bounded under jemalloc: retention, with jemalloc recommended at its price', () => {
  const d = diagnose([
    env('glibc', { rss: linear(100 * MiB, 60 * MiB), noise: 2 * MiB }),
    env('jemalloc', { rss: cache(60 * MiB, 120 * MiB, 10_000), noise: 2 * MiB, load: { requests: 61_800, latencyMs: { p50: 1, p90: 2, p99: 4.8, max: 9 } } }),
  ]);
  assert.equal(d.finding, 'allocator-retention');
  assert.equal(d.confidence, 'high');
  assert.match(d.summary, /^Allocator retention \(high confidence\), not a leak: RSS keeps growing under glibc \+[56]\d\.\d MiB\/min but stays bounded under jemalloc 12\d\.\d MiB/);
  assert.ok(d.recommendation);
  assert.equal(d.recommendation.env, 'jemalloc');
  assert.equal(d.recommendation.setting, 'LD_PRELOAD=/usr/lib/x86_64-linux-gnu/libjemalloc.so.2');
  assert.ok(d.recommendation.memoryRatio < 0.9, `memory ${d.recommendation.memoryRatio}`);
  assert.ok(Math.abs(d.recommendation.throughputRatio! - 1.03) < 1e-9);
  assert.ok(Math.abs(d.recommendation.p99Ratio! - 0.96) < 1e-9);
  assert.deepEqual(Object.keys(d.environments).sort(), ['05-glibc', '08-jemalloc']);
  assert.equal(d.environments['05-glibc'].trajectory, 'rising');
  assert.ok(d.evidence.some((e) => e.env === '05-glibc' && e.metric === 'growthBytesPerMin' && e.unit === 'bytes/min'));
});

test('a cache that fills and levels off at the same level under both allocators is the program\'s own memory, not a leak', () => {
  const d = diagnose([
    env('glibc', { rss: cache(50 * MiB, 300 * MiB, 15_000), noise: 2 * MiB }),
    env('jemalloc', { rss: cache(45 * MiB, 285 * MiB, 14_000), noise: 2 * MiB }),
  ]);
  assert.equal(d.finding, 'application-memory', d.summary);
  assert.equal(d.environments['05-glibc'].trajectory, 'levelling-off');
  assert.equal(d.recommendation, null);
  const text = renderDiagnosis(d);
  assert.doesNotMatch(text, /leak/i);
  assert.match(text, /changing the allocator changes little/);
  assert.match(text, /No other environment needs materially less memory/);
});

test('growth under every allocator is a leak; the ledger raises the confidence', () => {
  const envs = [env('glibc', { rss: linear(100 * MiB, 40 * MiB) }), env('jemalloc', { rss: linear(90 * MiB, 38 * MiB) })];
  const d = diagnose(envs);
  assert.equal(d.finding, 'leak');
  assert.equal(d.confidence, 'medium');
  assert.match(d.next!, /--ledger/);
  const withLedger = diagnose([
    env('glibc', { rss: linear(100 * MiB, 40 * MiB), live: linear(50 * MiB, 38 * MiB) }),
    env('jemalloc', { rss: linear(90 * MiB, 38 * MiB), live: linear(50 * MiB, 38 * MiB) }),
  ]);
  assert.equal(withLedger.finding, 'leak');
  assert.equal(withLedger.confidence, 'high');
  assert.match(withLedger.summary, /the live heap grows with it/);
});

test('with the ledger, RSS growing everywhere over a flat live heap is retention', () => {
  const d = diagnose([
    env('glibc', { rss: linear(100 * MiB, 40 * MiB), live: flat(40 * MiB) }),
    env('jemalloc', { rss: linear(90 * MiB, 30 * MiB), live: flat(40 * MiB) }),
  ]);
  assert.equal(d.finding, 'allocator-retention');
  assert.match(d.summary, /while the live heap does not/);
});

test('steady levels, not peaks, are compared: a warm-up peak does not make the level', () => {
  // jemalloc peaks at 900 MiB in warm-up, then runs at 342 MiB; glibc runs at 835 MiB.
  const d = diagnose([
    env('glibc', { rss: flat(835 * MiB), noise: 3 * MiB }),
    env('jemalloc', { rss: (t) => (t < 3000 ? 900 * MiB : 342 * MiB), noise: 3 * MiB }),
  ]);
  assert.equal(d.finding, 'allocator-retention');
  assert.match(d.summary, /glibc 83\d\.\d MiB \(2\.4x\) against jemalloc 34\d\.\d MiB/);
  assert.ok(d.environments['08-jemalloc'].peakRssBytes! > 890 * MiB, 'the peak is reported on its own');
  assert.equal(d.recommendation?.env, 'jemalloc');
});

test('flat everywhere is stable; a swinging but flat series is oscillating, never a leak', () => {
  const stable = diagnose([env('glibc', { rss: flat(200 * MiB) }), env('jemalloc', { rss: flat(195 * MiB) })]);
  assert.equal(stable.finding, 'stable');
  assert.equal(stable.confidence, 'high');
  const swing = diagnose([
    env('glibc', { rss: flat(390 * MiB), noise: 3 * MiB }),
    env('jemalloc', { rss: (t) => (Math.floor(t / 3000) % 2 ? 540 * MiB : 240 * MiB), noise: 3 * MiB }),
  ]);
  assert.notEqual(swing.finding, 'leak');
  assert.equal(swing.environments['08-jemalloc'].trajectory, 'oscillating');
});

test('a load too short to tell is inconclusive and says how much longer to run', () => {
  const d = diagnose([env('glibc', { rss: linear(100 * MiB, 5 * MiB), noise: 4 * MiB, loadMs: 6000 }), env('jemalloc', { rss: flat(90 * MiB), noise: 4 * MiB, loadMs: 6000 })]);
  assert.equal(d.finding, 'inconclusive');
  assert.match(d.next!, /Run the load \d+ s longer \(or with --until-settled\)/);
  assert.equal(d.recommendation, null);
  // A run already made until settled hit its bound: the advice is a longer bound, not the flag it already used.
  const settled = diagnose([env('glibc', { rss: linear(100 * MiB, 5 * MiB), noise: 4 * MiB, loadMs: 6000 }), env('jemalloc', { rss: flat(90 * MiB), noise: 4 * MiB, loadMs: 6000 })], { untilSettled: true });
  assert.match(settled.next!, /Run the load \d+ s longer \(raise the load phase's duration bound\)/);
});

test('an environment whose load driver finished before its trend was decided is asked for more work, not a longer bound', () => {
  // A fixed-work client (MariaDB's mysqlslap in the Debian bench) exits after its queries: the phase ended on the
  // driver's exit, so neither a longer bound nor --until-settled would have run it longer.
  const swing = (t: number) => 150 * MiB + 10 * MiB * Math.sin((2 * Math.PI * t) / 12_000);
  for (const untilSettled of [true, false]) {
    const d = diagnose([
      env('glibc', { rss: flat(150 * MiB), noise: MiB, reason: untilSettled ? 'settled' : 'driver-exit' }),
      env('jemalloc', { rss: swing, noise: MiB, loadMs: 8000, reason: 'driver-exit' }),
    ], { untilSettled });
    assert.equal(d.environments['08-jemalloc'].trajectory, 'too-short', 'the case needs an undecided environment');
    assert.match(d.next!, /Run the load \d+ s longer \(give the load driver more work\): jemalloc did not settle before its load's work was done\./);
    assert.doesNotMatch(d.next!, /duration bound|--until-settled/);
  }
  // A phase bounded by its request count is told to raise the count.
  const requests = diagnose([
    env('glibc', { rss: flat(150 * MiB), noise: MiB }),
    env('jemalloc', { rss: swing, noise: MiB, loadMs: 8000, reason: 'requests' }),
  ]);
  assert.match(requests.next!, /Run the load \d+ s longer \(raise the load phase's request count\): jemalloc did not settle before its load's work was done\./);
});

test('an environment that ended on the comparison, its own trend undecided, is asked for a run without --until-settled, not a longer bound', () => {
  // glibc level at 470 MiB; jemalloc swinging ±20 MiB around 150 MiB, ended after 15 s on the comparison.
  const swing = (t: number) => 150 * MiB + 20 * MiB * Math.sin((2 * Math.PI * t) / 12_000);
  const d = diagnose([
    env('glibc', { rss: flat(470 * MiB), noise: 3 * MiB, reason: 'settled', settledOn: 'class' }),
    env('jemalloc', { rss: swing, noise: 2 * MiB, loadMs: 15_000, reason: 'settled', settledOn: 'comparison' }),
  ], { untilSettled: true });
  assert.equal(d.environments['08-jemalloc'].trajectory, 'too-short', 'the case needs an undecided environment');
  assert.equal(d.finding, 'allocator-retention');
  assert.match(d.next!, /Run the load \d+ s longer \(without --until-settled\): jemalloc ended on the comparison with another allocator, its own trend undecided\./);
  assert.doesNotMatch(d.next!, /duration bound|did not settle/);
});

test('no measured environment is inconclusive, and says so once', () => {
  const failed = env('glibc', { rss: flat(MiB) }, { metrics: null, error: 'never became ready', exit: null });
  const d = diagnose([failed]);
  assert.equal(d.finding, 'inconclusive');
  assert.match(d.summary, /no environment produced measurements/);
  const text = renderDiagnosis(d, [failed]);
  assert.match(text, /glibc failed: never became ready/);
});

test('a driver that finished under one allocator and was stopped under the other is flagged, and the confidence lowered', () => {
  const fair = diagnose([env('glibc', { rss: linear(100 * MiB, 60 * MiB) }), env('jemalloc', { rss: flat(80 * MiB) })]);
  const unfair = diagnose([env('glibc', { rss: linear(100 * MiB, 60 * MiB), reason: 'driver-exit' }), env('jemalloc', { rss: flat(80 * MiB), reason: 'duration' })]);
  assert.equal(unfair.finding, fair.finding);
  assert.equal(fair.confidence, 'high');
  assert.equal(unfair.confidence, 'medium');
  assert.match(unfair.caveats.join(' '), /finished its work under glibc but was stopped at the phase's end under jemalloc/);
});

test('a requests bound not reached and an unread driver output are flagged; unknown work is not zero', () => {
  const scenario = { phases: [{ name: 'load', requests: 100_000 }] };
  const d = diagnose([env('glibc', { rss: flat(100 * MiB), load: { requests: 60_000 } }), env('jemalloc', { rss: flat(100 * MiB), load: { requests: 100_000 } })], scenario);
  assert.match(d.caveats.join(' '), /after 60000 of its 100000 requests/);
  const unread = env('glibc', { rss: flat(100 * MiB), load: { parsed: false, requests: 0, throughputRps: 0, latencyMs: undefined } });
  assert.equal(unread.metrics!.requests, null);
  assert.equal(unread.metrics!.throughputRps, null);
  assert.match(diagnose([unread, env('jemalloc', { rss: flat(100 * MiB) })]).caveats.join(' '), /could not be read under glibc/);
});

test('file-backed growth explaining RSS growth is non-heap growth', () => {
  const d = diagnose([
    env('glibc', { rss: linear(100 * MiB, 40 * MiB), file: linear(20 * MiB, 38 * MiB) }),
    env('jemalloc', { rss: linear(90 * MiB, 40 * MiB), file: linear(20 * MiB, 38 * MiB) }),
  ]);
  assert.equal(d.finding, 'non-heap-growth');
  assert.match(d.summary, /file-backed memory grows/);
});

test('one environment alone says there is nothing to compare with', () => {
  const d = diagnose([env('glibc', { rss: flat(100 * MiB) })]);
  assert.equal(d.finding, 'stable');
  assert.match(d.caveats.join(' '), /Only glibc was measured/);
  assert.doesNotMatch(renderDiagnosis(d), /every other environment/);
});

test('MALLOC_ARENA_MAX=2 is recommended as its setting; the probe is not part of a setting', () => {
  const d = diagnose([env('glibc', { rss: flat(600 * MiB) }), env('glibc-arena-2', { rss: flat(250 * MiB) })]);
  assert.equal(d.recommendation?.setting, 'MALLOC_ARENA_MAX=2');
  assert.equal(deploymentSetting({ LD_PRELOAD: '/x/native/build/liballoclab-probe.so:/usr/lib/libjemalloc.so.2', ALLOCLAB_PROBE_SHM: '/dev/shm/p' }), 'LD_PRELOAD=/usr/lib/libjemalloc.so.2');
  // Faster but fatter, or leaner but much slower: none is recommended over the default.
  const slow = diagnose([env('glibc', { rss: flat(600 * MiB) }), env('jemalloc', { rss: flat(250 * MiB), load: { requests: 30_000 } })]);
  assert.equal(slow.recommendation, null);
});

/** One diagnosis of each finding, from synthetic runs. */
function oneOfEach(): Record<Finding, { d: Diagnosis; envs: EnvironmentRecord[] }> {
  const make = (envs: EnvironmentRecord[]) => ({ d: diagnose(envs), envs });
  const cases = {
    'leak': make([env('glibc', { rss: linear(100 * MiB, 40 * MiB) }), env('jemalloc', { rss: linear(90 * MiB, 38 * MiB) })]),
    'allocator-retention': make([env('glibc', { rss: linear(100 * MiB, 60 * MiB) }), env('jemalloc', { rss: flat(80 * MiB) })]),
    'application-memory': make([env('glibc', { rss: cache(50 * MiB, 300 * MiB, 15_000) }), env('jemalloc', { rss: cache(45 * MiB, 285 * MiB, 14_000) })]),
    'non-heap-growth': make([env('glibc', { rss: linear(100 * MiB, 40 * MiB), file: linear(20 * MiB, 38 * MiB) }), env('jemalloc', { rss: linear(90 * MiB, 40 * MiB), file: linear(20 * MiB, 38 * MiB) })]),
    'stable': make([env('glibc', { rss: flat(200 * MiB) }), env('jemalloc', { rss: flat(195 * MiB) })]),
    'inconclusive': make([env('glibc', { rss: flat(100 * MiB), loadMs: 5000 }), env('jemalloc', { rss: flat(100 * MiB), loadMs: 5000 })]),
  } satisfies Record<Finding, unknown>;
  return cases;
}

test('the renderer states each finding once, first, and no sentence of another finding appears', () => {
  const judgement = /leak|retention|retain|own memory|outside the heap|stable|inconclusive/i;
  for (const [finding, { d, envs }] of Object.entries(oneOfEach()) as [Finding, { d: Diagnosis; envs: EnvironmentRecord[] }][]) {
    assert.equal(d.finding, finding, `${finding}: ${d.summary}`);
    const text = renderDiagnosis(d, envs);
    assert.ok(text.startsWith(`${FINDING_TITLES[finding]} (`), `${finding} first: ${text}`);
    assert.equal(titleCount(text, finding), 1, `${finding} once: ${text}`);
    for (const other of Object.keys(FINDING_TITLES) as Finding[]) {
      if (other === finding) continue;
      assert.equal(titleCount(text, other), 0, `${finding} shows ${other}: ${text}`);
      const own = FINDING_SENTENCES[other];
      if (own) assert.ok(!text.includes(own), `${finding} shows the sentence of ${other}: ${text}`);
    }
    for (const s of diagnosisSentences(d, envs)) {
      assert.ok(s.finding === null || s.finding === finding, `${finding}: a sentence tagged ${s.finding}: ${s.text}`);
      // A sentence of figures only passes no judgement, so it cannot contradict any headline.
      if (s.finding === null) assert.doesNotMatch(s.text, judgement, `${finding}: figures sentence judges: ${s.text}`);
    }
  }
});

test('judgeRun stores the diagnosis and renders the verdict from it', () => {
  const envs = [env('glibc', { rss: linear(100 * MiB, 60 * MiB) }), env('jemalloc', { rss: flat(80 * MiB) })];
  const record = { environments: envs, scenario: null, verdict: null } as unknown as RunRecord;
  judgeRun(record);
  assert.equal(record.diagnosis?.finding, 'allocator-retention');
  assert.equal(record.verdict, verdict(envs));
  assert.ok(record.verdict!.startsWith(record.diagnosis!.summary));
});

test('far slower growth under another allocator, not yet settled, still names retention (medium) and asks for a longer run', () => {
  const d = diagnose([
    env('glibc', { rss: linear(100 * MiB, 1500 * MiB), noise: MiB, loadMs: 10_000 }),
    env('jemalloc', { rss: linear(40 * MiB, 5 * MiB), noise: 2 * MiB, loadMs: 10_000 }),
  ]);
  assert.equal(d.environments['08-jemalloc'].trajectory, 'too-short');
  assert.equal(d.finding, 'allocator-retention', d.summary);
  assert.equal(d.confidence, 'medium');
  assert.match(d.summary, /and at most \+[\d.]+ MiB\/min under jemalloc for the same work/);
  assert.match(d.next!, /longer/);
});

test('the lowest level owed to less work done is said, and lowers the confidence', () => {
  const d = diagnose([env('glibc', { rss: flat(600 * MiB) }), env('jemalloc', { rss: flat(250 * MiB), load: { requests: 40_000 } })]);
  assert.equal(d.finding, 'allocator-retention');
  assert.match(d.caveats.join(' '), /jemalloc served 40000 requests against 60000 under glibc/);
  assert.equal(d.confidence, 'medium');
});

test('a slow rise under one allocator at the same level as the others is not yet retention: inconclusive, run longer', () => {
  // jemalloc creeps up 3 %/min of its level (rising), glibc is flat at that level: no difference in memory yet.
  const d = diagnose([
    env('glibc', { rss: flat(60 * MiB), noise: 0.2 * MiB }),
    env('jemalloc', { rss: linear(59 * MiB, 1.8 * MiB), noise: 0.2 * MiB }),
  ]);
  assert.equal(d.environments['08-jemalloc'].trajectory, 'rising', d.summary);
  assert.equal(d.finding, 'inconclusive', d.summary);
  assert.match(d.next ?? '', /still rises but is not yet materially above glibc/);
});

test('a bounded cache one allocator needs a quarter more for is still the program\'s memory: the difference is said, not called retention', () => {
  // The corpus's bounded-cache: 64 MiB of 16 KiB blocks; jemalloc rounds each large block up a page (85 against 67 MiB).
  const d = diagnose([
    env('glibc', { rss: cache(4 * MiB, 67 * MiB, 10_000), noise: 0.3 * MiB }),
    env('jemalloc', { rss: cache(5 * MiB, 85 * MiB, 10_000), noise: 0.3 * MiB }),
  ]);
  assert.equal(d.environments['08-jemalloc'].trajectory, 'levelling-off', d.summary);
  assert.equal(d.finding, 'application-memory', d.summary);
  assert.match(d.summary, /the allocator changes it by up to 1\.3x \(jemalloc\), less than the program's own part/);
  assert.doesNotMatch(d.summary, /changes little/);
  assert.ok(d.evidence.some((e) => e.metric === 'levelRatio' && e.env === '08-jemalloc' && Math.abs(e.value! - 85 / 67) < 0.03));
  // Twice the level or more is most of the memory: that is the allocator's.
  const twice = diagnose([
    env('glibc', { rss: cache(4 * MiB, 150 * MiB, 10_000), noise: 0.3 * MiB }),
    env('jemalloc', { rss: cache(5 * MiB, 70 * MiB, 10_000), noise: 0.3 * MiB }),
  ]);
  assert.equal(twice.finding, 'allocator-retention', twice.summary);
});

test('with the ledger, the allocator holding free memory is retention only when that is most of RSS', () => {
  // Held = RSS - live - 10 MiB in these samples: 40 MiB of 110 (36 %), then 130 MiB of 200 (65 %).
  const some = diagnose([
    env('glibc', { rss: cache(10 * MiB, 110 * MiB, 10_000), live: cache(5 * MiB, 60 * MiB, 10_000), noise: 0.3 * MiB }),
    env('jemalloc', { rss: cache(10 * MiB, 100 * MiB, 10_000), live: cache(5 * MiB, 60 * MiB, 10_000), noise: 0.3 * MiB }),
  ]);
  assert.equal(some.finding, 'application-memory', some.summary);
  const most = diagnose([
    env('glibc', { rss: cache(10 * MiB, 200 * MiB, 10_000), live: cache(5 * MiB, 60 * MiB, 10_000), noise: 0.3 * MiB }),
    env('jemalloc', { rss: cache(10 * MiB, 190 * MiB, 10_000), live: cache(5 * MiB, 60 * MiB, 10_000), noise: 0.3 * MiB }),
  ]);
  assert.equal(most.finding, 'allocator-retention', most.summary);
  assert.ok(most.evidence.some((e) => e.metric === 'heldFraction' && e.value! > 0.6), JSON.stringify(most.evidence.filter((e) => e.metric === 'heldFraction')));
});

test('a binary that links jemalloc, run as shipped and with jemalloc preloaded, is one allocator: nothing was compared', () => {
  // Debian's redis-server: the as-shipped environment and the jemalloc one map the same library.
  const je = '/usr/lib/x86_64-linux-gnu/libjemalloc.so.2';
  const mapped = { verification: { applied: true, mappedAllocator: je, mappedLibraries: [je] } };
  const d = diagnose([
    env('as-shipped', { rss: cache(10 * MiB, 150 * MiB, 10_000), noise: 0.3 * MiB }, mapped),
    env('jemalloc', { rss: cache(10 * MiB, 151 * MiB, 10_000), noise: 0.3 * MiB }, mapped),
  ]);
  assert.equal(d.finding, 'application-memory', d.summary);
  assert.equal(d.confidence, 'low');
  assert.doesNotMatch(d.summary, /changing the allocator/);
  assert.match(d.caveats.join(' '), /Only one allocator was measured: as-shipped and jemalloc ran the same one \(\/usr\/lib\/x86_64-linux-gnu\/libjemalloc\.so\.2\)/);
  assert.match(d.next ?? '', /links its own allocator.*relink it against glibc malloc/);
  assert.equal(d.environments['01-as-shipped'].configuration, je);
});

test('growth far slower under another allocator that is itself still rising is retention too: most of the fast growth is the allocator\'s', () => {
  // The demo on a loaded machine: glibc +200 MiB/min, tcmalloc creeping +8 MiB/min (rising), jemalloc not settled.
  const d = diagnose([
    env('glibc', { rss: linear(150 * MiB, 200 * MiB), noise: 4 * MiB }),
    env('tcmalloc', { rss: linear(110 * MiB, 8 * MiB), noise: 0.2 * MiB }),
    env('jemalloc', { rss: flat(150 * MiB), noise: 3 * MiB, loadMs: 8000 }),
  ]);
  assert.equal(d.environments['08-tcmalloc'].trajectory, 'rising', d.summary);
  assert.equal(d.environments['08-jemalloc'].trajectory, 'too-short', d.summary);
  assert.equal(d.finding, 'allocator-retention', d.summary);
  assert.equal(d.confidence, 'medium');
  // tcmalloc is named once, with its bound, not among the environments that keep growing.
  assert.match(d.summary, /keeps growing under glibc \+\d+\.\d MiB\/min, and at most \+\d+\.\d MiB\/min under tcmalloc for the same work/);
  // Growth at comparable rates everywhere stays a leak.
  const leak = diagnose([env('glibc', { rss: linear(100 * MiB, 40 * MiB) }), env('tcmalloc', { rss: linear(90 * MiB, 30 * MiB) })]);
  assert.equal(leak.finding, 'leak', leak.summary);
});

test('a gap where most of the higher level is the allocator\'s stays retention while a lower environment creeps up, not when its growth could close it', () => {
  // The demo: glibc not settled at 430 MiB (its growth slows as arenas fill), tcmalloc creeping up at 118 MiB.
  const slowing = (t: number) => 430 * MiB - 200 * MiB * Math.exp(-t / 15_000) + (Math.floor(t / 4000) % 2 ? 12 * MiB : 0);
  const d = diagnose([
    env('glibc', { rss: slowing, noise: 2 * MiB }),
    env('tcmalloc', { rss: linear(110 * MiB, 10 * MiB), noise: 0.2 * MiB }),
  ]);
  assert.equal(d.environments['08-tcmalloc'].trajectory, 'rising', d.summary);
  if (d.environments['05-glibc'].trajectory === 'too-short') {
    assert.equal(d.finding, 'allocator-retention', d.summary);
    assert.equal(d.confidence, 'medium');
    assert.match(d.summary, /at their steady level glibc 4\d\d\.\d MiB \(3\.\dx\) against tcmalloc 1\d\d\.\d MiB for the same work/);
  }
  // Forced undecided for the rule itself: a lower environment rising fast enough to close half the gap within as
  // long again as it ran leaves it undecided.
  const undecidedGlibc = env('glibc', { rss: flat(430 * MiB), noise: 15 * MiB, loadMs: 8000 });
  const creeping = diagnose([undecidedGlibc, env('tcmalloc', { rss: linear(110 * MiB, 10 * MiB), noise: 0.2 * MiB, loadMs: 30_000 })]);
  assert.equal(creeping.environments['05-glibc'].trajectory, 'too-short', creeping.summary);
  assert.equal(creeping.finding, 'allocator-retention', creeping.summary);
  const climbing = diagnose([undecidedGlibc, env('tcmalloc', { rss: linear(110 * MiB, 400 * MiB), noise: 0.2 * MiB, loadMs: 30_000 })]);
  assert.ok(climbing.environments['05-glibc'].growthIntervalBytesPerMin![1] > 100 * MiB, 'glibc\'s growth is not bounded: the slower-growth rule cannot decide');
  assert.equal(climbing.finding, 'inconclusive', climbing.summary);
});

test('the best throughput is that of every measured environment: one much slower than an unsettled one is not recommended', () => {
  // The demo's fixed run of 2026-12-07 03:44: tcmalloc settled at 123 MiB serving 1242 req/s; jemalloc, not settled
  // at 193 MiB, served 2094. "Deploy tcmalloc" would have cost 40 % of the throughput jemalloc showed.
  const envs = [
    env('glibc', { rss: linear(300 * MiB, 100 * MiB), load: { throughputRps: 1000 } }),
    env('tcmalloc', { rss: flat(120 * MiB), load: { throughputRps: 1250 } }),
    env('jemalloc', { rss: flat(190 * MiB), noise: 4 * MiB, loadMs: 8000, load: { throughputRps: 2100 } }),
  ];
  const d = diagnose(envs);
  assert.equal(d.environments['08-jemalloc'].trajectory, 'too-short');
  assert.equal(d.recommendation, null, d.recommendation?.text);
  assert.equal(d.unsettledCandidate?.env, 'jemalloc');
  // Without the faster one, tcmalloc is the recommendation.
  assert.equal(diagnose(envs.slice(0, 2)).recommendation?.env, 'tcmalloc');
});

test('an environment that needs far less but did not settle is named as such, not recommended and not hidden', () => {
  const envs = [env('glibc', { rss: flat(400 * MiB) }), env('jemalloc', { rss: flat(150 * MiB), noise: 3 * MiB, loadMs: 8000 })];
  const d = diagnose(envs);
  assert.equal(d.environments['08-jemalloc'].trajectory, 'too-short');
  assert.equal(d.recommendation, null);
  assert.equal(d.unsettledCandidate?.env, 'jemalloc');
  const text = renderDiagnosis(d, envs);
  assert.match(text, /jemalloc needs less memory \(1[45]\d\.\d MiB against 40\d\.\d MiB under glibc\) at comparable throughput and p99, but did not settle: run it longer before deploying it\./);
  assert.doesNotMatch(text, /No other environment needs materially less memory/);
});
