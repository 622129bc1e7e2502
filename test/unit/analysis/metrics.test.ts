import assert from 'node:assert/strict';
import { test } from 'node:test';
import { computeEnvironmentMetrics, growthBytesPerMin, slope } from '../../../src/core/analysis/metrics';
import { isGrowing, verdict } from '../../../src/core/analysis/verdict';
import type { EnvironmentRecord, RunEvent, Sample } from '../../../src/core/model';

const MiB = 1024 * 1024;

/** Samples every 100 ms: flat at base, rising by `rate` bytes/min during [loadFrom, loadTo], then falling by `drop` over idle. */
function series(base: number, rate: number, loadFrom: number, loadTo: number, end: number, drop = 0): Sample[] {
  const out: Sample[] = [];
  const top = base + (rate * (loadTo - loadFrom)) / 60_000;
  for (let t = 0; t <= end; t += 100) {
    let rss = base;
    if (t > loadFrom) rss = base + (rate * (Math.min(t, loadTo) - loadFrom)) / 60_000;
    if (t > loadTo) rss = top - (drop * (t - loadTo)) / (end - loadTo);
    out.push({ t, rssBytes: Math.round(rss) });
  }
  return out;
}

function phases(loadFrom: number, loadTo: number, end: number): RunEvent[] {
  return [
    { t: loadFrom, type: 'phase-start', phase: 'load', kind: 'load', index: 0 },
    { t: loadTo, type: 'phase-end', phase: 'load', kind: 'load', index: 0,
      load: { requests: 6000, errors: { status: 0, connect: 0, timeout: 0, other: 0 }, durationMs: loadTo - loadFrom, throughputRps: 600, latencyMs: { p50: 1, p90: 2, p99: 7.5, max: 20 } } },
    { t: loadTo, type: 'phase-start', phase: 'idle', kind: 'idle', index: 1 },
    { t: end, type: 'phase-end', phase: 'idle', kind: 'idle', index: 1 },
  ];
}

test('slope is exact on a line and null without spread', () => {
  assert.equal(slope([0, 1, 2, 3], [1, 3, 5, 7]), 2);
  assert.equal(slope([1, 1, 1], [1, 2, 3]), null);
  assert.equal(slope([1, 2], [1, 2]), null);
});

test('growth over a window is in bytes per minute', () => {
  const s = series(100 * MiB, 60 * MiB, 0, 10_000, 10_000);
  const g = growthBytesPerMin(s, 0, 10_000)!;
  assert.ok(Math.abs(g - 60 * MiB) < 0.01 * 60 * MiB, `growth ${g / MiB}`);
});

test('environment metrics: peak, growth during load only, returned in idle, throughput, p99', () => {
  const s = series(100 * MiB, 120 * MiB, 2000, 12_000, 17_000, 10 * MiB);
  const m = computeEnvironmentMetrics(s, phases(2000, 12_000, 17_000));
  assert.equal(m.peakRssBytes, 120 * MiB);
  assert.ok(Math.abs(m.growthBytesPerMin! - 120 * MiB) < 0.02 * 120 * MiB);
  // 20 MiB gained during load, 10 MiB given back in idle.
  assert.ok(Math.abs(m.returnedFraction! - 0.5) < 0.02, `returned ${m.returnedFraction}`);
  assert.equal(m.throughputRps, 600);
  assert.equal(m.latencyP99Ms, 7.5);
  assert.equal(m.requests, 6000);
  assert.equal(m.phases.length, 2);
  assert.ok(m.phases[1].returnedBytesAfter!['1s']! > 0);
  assert.equal(m.phases[1].returnedBytesAfter!['10s'], undefined, 'idle lasted 5 s: no 10 s figure');
});

test('without phases, growth is fitted over the second half of the run', () => {
  const s = series(50 * MiB, 30 * MiB, 0, 20_000, 20_000);
  const m = computeEnvironmentMetrics(s, []);
  assert.ok(Math.abs(m.growthBytesPerMin! - 30 * MiB) < 0.05 * 30 * MiB);
  assert.equal(m.throughputRps, null);
});

function env(id: string, label: string, s: Sample[], ev: RunEvent[], extra: Partial<EnvironmentRecord> = {}): EnvironmentRecord {
  return {
    env: id, label, dir: id, repetition: 1, appliedEnv: {}, pid: 1, startedAt: '', durationMs: 17_000,
    verification: { applied: true, mappedAllocator: null, mappedLibraries: [] },
    exit: { code: 0, signal: null, expected: true }, error: null, metrics: computeEnvironmentMetrics(s, ev), ...extra,
  };
}

test('verdict names retention when glibc grows and jemalloc is flat, and GLIBCXX_FORCE_NEW made no difference', () => {
  const ev = phases(2000, 12_000, 17_000);
  const glibc = env('glibc', 'glibc', series(100 * MiB, 300 * MiB, 2000, 12_000, 17_000), ev);
  const force = env('glibcxx-force-new', 'GLIBCXX_FORCE_NEW', series(100 * MiB, 290 * MiB, 2000, 12_000, 17_000), ev);
  const je = env('jemalloc', 'jemalloc', series(60 * MiB, 0, 2000, 12_000, 17_000), ev);
  assert.ok(isGrowing(glibc.metrics!));
  assert.ok(!isGrowing(je.metrics!));
  const v = verdict([glibc, force, je]);
  assert.match(v, /keeps growing under glibc/);
  assert.match(v, /flat under jemalloc at 60\.0 MiB/);
  assert.match(v, /allocator retention, not a leak/);
  assert.match(v, /GLIBCXX_FORCE_NEW made no difference/);
});

test('verdict calls growth under every environment a leak, and reports not applied and crashes', () => {
  const ev = phases(2000, 12_000, 17_000);
  const a = env('glibc', 'glibc', series(100 * MiB, 300 * MiB, 2000, 12_000, 17_000), ev);
  const b = env('jemalloc', 'jemalloc', series(90 * MiB, 280 * MiB, 2000, 12_000, 17_000), ev);
  const c = env('mimalloc', 'mimalloc', [], [], { metrics: null, verification: { applied: false, notAppliedReason: 'static binary', mappedAllocator: null, mappedLibraries: [] } });
  const d = env('tcmalloc', 'tcmalloc', series(90 * MiB, 0, 2000, 12_000, 17_000), ev, { exit: { code: null, signal: 'SIGSEGV', expected: false }, error: 'crashed' });
  const v = verdict([a, b, c, d]);
  assert.match(v, /real leak/);
  assert.doesNotMatch(v, /retention/);
  assert.match(v, /mimalloc was not applied \(static binary\)/);
  assert.match(v, /killed by SIGSEGV under tcmalloc/);
});

test('with the ledger, RSS growth without live-heap growth is retention; live heap growing with RSS is a leak', () => {
  const ev = phases(2000, 12_000, 17_000);
  const withLive = (s: Sample[], liveRate: number) => s.map((x) => ({ ...x, liveHeapBytes: 40 * MiB + Math.round((liveRate * Math.max(0, Math.min(x.t, 12_000) - 2000)) / 60_000), allocatorHeldBytes: x.rssBytes - 40 * MiB }));
  const glibc = env('glibc', 'glibc', withLive(series(100 * MiB, 300 * MiB, 2000, 12_000, 17_000), 10 * MiB), ev);
  const je = env('jemalloc', 'jemalloc', withLive(series(80 * MiB, 200 * MiB, 2000, 12_000, 17_000), 5 * MiB), ev);
  const v = verdict([glibc, je]);
  assert.doesNotMatch(v, /real leak/);
  assert.match(v, /live heap does not keep up/);
  assert.match(v, /Under glibc RSS grows \+300\.0 MiB\/min but the live heap only \+10\.0 MiB\/min/);
  const leaky = env('glibc', 'glibc', withLive(series(100 * MiB, 300 * MiB, 2000, 12_000, 17_000), 280 * MiB), ev);
  assert.match(verdict([leaky]), /live heap grows with RSS/);
});

test('growth far slower under another allocator is called retention, with the common remainder the program\'s own', () => {
  const ev = phases(2000, 12_000, 17_000);
  const glibc = env('glibc', 'glibc', series(100 * MiB, 190 * MiB, 2000, 12_000, 17_000), ev);
  const je = env('jemalloc', 'jemalloc', series(200 * MiB, 12 * MiB, 2000, 12_000, 17_000), ev);
  const v = verdict([glibc, je]);
  assert.match(v, /under jemalloc it grows 16x slower/);
  assert.match(v, /most of the growth under glibc is allocator retention/);
  assert.doesNotMatch(v, /real leak/);
});
