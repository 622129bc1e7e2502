import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decimateMinMax, displayMetrics, exportFileName, nearestSampleIndex, samplesCsv } from '../../../src/core/analysis/series';
import type { Sample } from '../../../src/core/model';
import { fixtureRun } from './fixture';

function noisy(n: number, seed: number): Sample[] {
  let x = seed;
  const rand = () => ((x = (x * 1103515245 + 12345) % 2147483648) / 2147483648);
  const out: Sample[] = [];
  for (let i = 0; i < n; i++) out.push({ t: i * 50 + Math.floor(rand() * 10), rssBytes: 100e6 + Math.floor(rand() * 1e6) });
  return out;
}

test('decimation keeps the global peak and dip, first and last, in time order, within the point budget', () => {
  for (const seed of [1, 2, 3]) {
    const s = noisy(100_000, seed);
    const spike = 1000 + seed * 7919;
    const dip = 60_000 + seed * 13;
    s[spike] = { ...s[spike], rssBytes: 900e6 };
    s[dip] = { ...s[dip], rssBytes: 1e6 };
    const d = decimateMinMax(s, 500);
    assert.ok(d.length <= 2 * 500 + 2, `too many points: ${d.length}`);
    assert.ok(d.length >= 500, `too few points: ${d.length}`);
    assert.ok(d.includes(s[spike]), 'the spike was dropped');
    assert.ok(d.includes(s[dip]), 'the dip was dropped');
    assert.equal(d[0], s[0]);
    assert.equal(d.at(-1), s.at(-1));
    for (let i = 1; i < d.length; i++) assert.ok(d[i].t >= d[i - 1].t, 'out of time order');
    // Every bucket's own maximum survives, not only the global one.
    const span = s.at(-1)!.t - s[0].t;
    for (const b of [17, 250, 499]) {
      const lo = s[0].t + (span * b) / 500, hi = s[0].t + (span * (b + 1)) / 500;
      const inBucket = s.filter((x) => x.t > lo && x.t <= hi && x !== s[0] && x !== s.at(-1));
      const max = Math.max(...inBucket.map((x) => x.rssBytes));
      assert.ok(d.some((x) => x.t > lo && x.t <= hi && x.rssBytes === max), `bucket ${b} lost its maximum`);
    }
  }
});

test('short series are drawn as they are', () => {
  const s = noisy(300, 9);
  assert.deepEqual(decimateMinMax(s, 500), s);
  assert.deepEqual(decimateMinMax([], 10), []);
});

test('nearestSampleIndex finds the closest sample', () => {
  const s: Sample[] = [0, 100, 200, 300].map((t) => ({ t, rssBytes: t }));
  assert.equal(nearestSampleIndex(s, -50), 0);
  assert.equal(nearestSampleIndex(s, 149), 1);
  assert.equal(nearestSampleIndex(s, 151), 2);
  assert.equal(nearestSampleIndex(s, 1e9), 3);
  assert.equal(nearestSampleIndex([], 5), -1);
});

test('CSV export has one row per sample, quotes labels and reads back', () => {
  const run = fixtureRun(250);
  const envs = run.environments.map((e) => ({ env: e.record.env, label: e.record.label, repetition: e.record.repetition, samples: e.samples }));
  const csv = samplesCsv(envs);
  const lines = csv.trimEnd().split('\n');
  const total = run.environments.reduce((a, e) => a + e.samples.length, 0);
  assert.equal(lines.length, total + 1);
  const header = lines[0].split(',');
  assert.deepEqual(header.slice(0, 5), ['t_s', 'env', 'label', 'repetition', 'rss_bytes']);
  // The mimalloc label holds a comma and quotes: it must be one quoted field.
  const mim = lines.find((l) => l.includes(',mimalloc,'))!;
  assert.ok(mim.includes('"mimalloc, ""preloaded"""'), mim);
  // Read a row back with a small CSV splitter and compare with the sample it came from.
  const split = (l: string) => [...l.matchAll(/("(?:[^"]|"")*"|[^,]*)(,|$)/g)].map((m) => m[1]).slice(0, header.length);
  const last = split(lines.at(-1)!);
  const src = run.environments.at(-1)!.samples.at(-1)!;
  assert.equal(Number(last[0]), src.t / 1000);
  assert.equal(Number(last[header.indexOf('rss_bytes')]), src.rssBytes);
  assert.equal(Number(last[header.indexOf('threads')]), src.threads);
  assert.equal(last[header.indexOf('pss_bytes')], '');
});

test('table figures: stored metrics when they cover the samples, recomputed while live', () => {
  const env = fixtureRun(100).environments[0];
  assert.equal(displayMetrics(env.record.metrics, env.samples, env.events), env.record.metrics);
  const half = env.samples.slice(0, env.samples.length / 2);
  const live = displayMetrics(null, half, env.events)!;
  assert.equal(live.finalRssBytes, half.at(-1)!.rssBytes);
  assert.equal(live.peakRssBytes, Math.max(...half.map((s) => s.rssBytes)));
  assert.equal(displayMetrics(null, [], []), null);
});

test('export file names are plain names', () => {
  assert.equal(exportFileName('20260101-000000-demo', 'csv'), '20260101-000000-demo.csv');
  assert.equal(exportFileName('../../x y', 'png'), '_.._x_y.png');
  assert.match(exportFileName('', 'json'), /^[\w.-]+\.json$/);
});
