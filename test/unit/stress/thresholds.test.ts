// failOn: parsing and evaluation against the current environment and a baseline.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { evaluateThresholds, parseFailOn, type ThresholdInput } from '../../../src/core/stress';

const MiB = 1024 * 1024;

test('parseFailOn reads absolute and relative thresholds in their units', () => {
  const t = parseFailOn(' growth>5MiB/min, peak>+20% ,final>=1GiB,p99>200ms,throughput<-10%,returned<50%, growth>1MiB/s');
  assert.deepEqual(
    t.map(({ metric, op, value, relative }) => ({ metric, op, value, relative })),
    [
      { metric: 'growth', op: '>', value: 5 * MiB, relative: false },
      { metric: 'peak', op: '>', value: 0.2, relative: true },
      { metric: 'final', op: '>=', value: 1024 * MiB, relative: false },
      { metric: 'p99', op: '>', value: 200, relative: false },
      { metric: 'throughput', op: '<', value: -0.1, relative: true },
      { metric: 'returned', op: '<', value: 0.5, relative: false },
      { metric: 'growth', op: '>', value: 60 * MiB, relative: false },
    ],
  );
  assert.equal(t[1].text, 'peak>+20%');
});

test('parseFailOn rejects what it cannot read, naming the item', () => {
  assert.throws(() => parseFailOn('growth>5MiB'), /"growth>5MiB".*5MiB\/min/);
  assert.throws(() => parseFailOn('heap>5MiB'), /unknown metric "heap"/);
  assert.throws(() => parseFailOn('peak=5MiB'), /not a threshold/);
  assert.throws(() => parseFailOn('peak>20%'), /"peak>20%"/);
  assert.throws(() => parseFailOn('p99>fast'), /duration/);
  assert.throws(() => parseFailOn(' , '), /empty/);
});

const base: ThresholdInput = { growthBytesPerMin: 2 * MiB, peakRssBytes: 100 * MiB, finalRssBytes: 90 * MiB, latencyP99Ms: 50, throughputRps: 1000, returnedFraction: 0.8 };

test('evaluateThresholds reports crossed absolute thresholds in words, and only those', () => {
  const t = parseFailOn('growth>5MiB/min,peak>200MiB,p99>100ms,returned<50%');
  assert.deepEqual(evaluateThresholds(t, base), []);
  const bad = { ...base, growthBytesPerMin: 7.5 * MiB, returnedFraction: 0.1 };
  const crossed = evaluateThresholds(t, bad);
  assert.equal(crossed.length, 2);
  assert.match(crossed[0], /^growth \+7\.5 MiB\/min > \+5\.0 MiB\/min$/);
  assert.match(crossed[1], /^returned 10% < 50%$/);
});

test('relative thresholds compare with the baseline and are skipped without one', () => {
  const t = parseFailOn('peak>+20%,throughput<-10%');
  const current = { ...base, peakRssBytes: 125 * MiB, throughputRps: 850 };
  assert.deepEqual(evaluateThresholds(t, current, null), []);
  const crossed = evaluateThresholds(t, current, base);
  assert.equal(crossed.length, 2);
  assert.match(crossed[0], /^peak 125\.0 MiB > \+20% of the baseline's 100\.0 MiB \(limit 120\.0 MiB\)$/);
  assert.match(crossed[1], /^throughput 850 req\/s < -10% of the baseline's 1000 req\/s \(limit 900 req\/s\)$/);
  assert.deepEqual(evaluateThresholds(t, { ...base, peakRssBytes: 119 * MiB, throughputRps: 901 }, base), []);
});

test('unknown figures are not judged; a shrinking baseline keeps the direction of +N%', () => {
  const t = parseFailOn('growth>+50%,p99>10ms');
  assert.deepEqual(evaluateThresholds(t, { ...base, growthBytesPerMin: null, latencyP99Ms: null }, base), []);
  // Baseline shrank by 2 MiB/min: +50% allows -1 MiB/min, so growing at 0 crosses.
  const shrinking = { ...base, growthBytesPerMin: -2 * MiB };
  assert.equal(evaluateThresholds(parseFailOn('growth>+50%'), { ...base, growthBytesPerMin: 0 }, shrinking).length, 1);
  assert.equal(evaluateThresholds(parseFailOn('growth>+50%'), { ...base, growthBytesPerMin: -1.5 * MiB }, shrinking).length, 0);
});
