import assert from 'node:assert/strict';
import { test } from 'node:test';
import { computeEnvironmentMetrics, cpuShare, growthBytesPerMin, slope } from '../../../src/core/analysis/metrics';
import type { RunEvent, Sample } from '../../../src/core/model';

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

test('the CPU share over a window is from the cumulative CPU time of the samples inside it, null without enough of them', () => {
  // A quarter of a core for 2 s, then nothing: CPU time read every 100 ms, other samples without it.
  const samples: Sample[] = [];
  for (let t = 0; t <= 4000; t += 50) samples.push({ t, rssBytes: MiB, ...(t % 100 === 0 ? { cpuMs: Math.min(t, 2000) / 4 } : {}) });
  assert.equal(cpuShare(samples, 0, 2000), 0.25);
  assert.equal(cpuShare(samples, 2000, 4000), 0);
  assert.equal(cpuShare(samples, 1000, 3000), 0.125);
  assert.equal(cpuShare(samples, 3900, 5900), null, 'the samples span a twentieth of the window');
  assert.equal(cpuShare(samples.map(({ t, rssBytes }) => ({ t, rssBytes })), 0, 2000), null, 'no CPU time read');
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

test('without phases, growth is the robust slope over the whole run, the least-squares one over its second half', () => {
  const s = series(50 * MiB, 30 * MiB, 0, 20_000, 20_000);
  const m = computeEnvironmentMetrics(s, []);
  assert.ok(Math.abs(m.growthBytesPerMin! - 30 * MiB) < 0.05 * 30 * MiB);
  assert.ok(Math.abs(m.lsGrowthBytesPerMin! - 30 * MiB) < 0.05 * 30 * MiB);
  assert.equal(m.trajectory?.class, 'rising');
  assert.equal(m.throughputRps, null);
});

test('phases carry why they ended, their trajectory, and for idle phases how fast memory came back', () => {
  // 100 MiB, +20 MiB over the load (2-12 s), then given back linearly over 5 s of idle.
  const s = series(100 * MiB, 120 * MiB, 2000, 12_000, 17_000, 20 * MiB);
  const ev = phases(2000, 12_000, 17_000).map((e) => (e.type === 'phase-end' ? { ...e, reason: 'duration' as const } : e));
  const m = computeEnvironmentMetrics(s, ev);
  assert.equal(m.phases[0].endReason, 'duration');
  assert.equal(m.phases[0].trajectory?.class, 'rising');
  assert.ok(m.lsGrowthBytesPerMin != null && m.growthIntervalBytesPerMin != null);
  assert.ok(m.steadyRssBytes! > 100 * MiB && m.meanRssBytes! > 100 * MiB);
  // Half of the 20 MiB given back after about 2.5 s of the 5 s idle phase.
  const half = m.phases[1].returnHalfMs!;
  assert.ok(half > 2000 && half < 3000, `half returned after ${half} ms`);
});
