import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decimateMinMax, hasLedger, LEDGER_LAYERS, ledgerCoverage, ledgerPoints, ledgerPointsFrom, ledgerTotal, stackLedger, statusFile } from '../../../src/core/analysis/series';
import type { Sample } from '../../../src/core/model';

const MiB = 1024 * 1024;

test('layers: live and held as measured, other anon = anon - live - held, file = file + shmem', () => {
  const [p] = ledgerPoints([{ t: 100, rssBytes: 300 * MiB, anonBytes: 280 * MiB, fileBytes: 18 * MiB, shmemBytes: 2 * MiB, liveHeapBytes: 100 * MiB, allocatorHeldBytes: 150 * MiB }]);
  assert.deepEqual(p, {
    t: 100, rssBytes: 300 * MiB, liveHeapBytes: 100 * MiB, allocatorHeldBytes: 150 * MiB, threadStacksBytes: 0, allocatorMetadataBytes: 0,
    directMmapBytes: 0, lazyFreeBytes: 0, probeOverheadBytes: 0, otherAnonBytes: 30 * MiB, unknownBytes: 0, fileBytes: 20 * MiB,
    statusKnown: true, figures: 'fresh',
  });
  assert.equal(ledgerTotal(p), 300 * MiB);
});

test('other anon is clamped at 0 when live + held exceed anon (live heap never touched)', () => {
  const [p] = ledgerPoints([{ t: 0, rssBytes: 60 * MiB, anonBytes: 50 * MiB, fileBytes: 10 * MiB, shmemBytes: 0, liveHeapBytes: 45 * MiB, allocatorHeldBytes: 20 * MiB }]);
  assert.equal(p.otherAnonBytes, 0);
  assert.equal(p.liveHeapBytes, 45 * MiB);
  assert.equal(p.allocatorHeldBytes, 20 * MiB);
  // The stack then stands above RSS instead of hiding the measured live heap.
  assert.equal(ledgerTotal(p), 75 * MiB);
});

test('samples without the status breakdown: anon = RSS - the last file-backed figure; before the first one, the first that comes', () => {
  const samples: Sample[] = [
    { t: 0, rssBytes: 40 * MiB, liveHeapBytes: 10 * MiB, allocatorHeldBytes: 5 * MiB },
    { t: 50, rssBytes: 44 * MiB }, // no probe figures yet at this tick: not a ledger point
    { t: 100, rssBytes: 50 * MiB, anonBytes: 42 * MiB, fileBytes: 7 * MiB, shmemBytes: 1 * MiB, liveHeapBytes: 12 * MiB, allocatorHeldBytes: 6 * MiB },
    { t: 150, rssBytes: 60 * MiB, liveHeapBytes: 20 * MiB, allocatorHeldBytes: 10 * MiB },
    { t: 200, rssBytes: 70 * MiB, anonBytes: 58 * MiB, fileBytes: 12 * MiB, shmemBytes: 0, liveHeapBytes: 20 * MiB },
    { t: 250, rssBytes: 75 * MiB, liveHeapBytes: 21 * MiB, allocatorHeldBytes: 1 * MiB },
  ];
  const p = ledgerPoints(samples);
  assert.deepEqual(p.map((x) => x.t), [0, 100, 150, 200, 250]);
  // Before any status reading: the first one's file-backed figure (8 MiB) is used.
  assert.deepEqual([p[0].fileBytes, p[0].otherAnonBytes], [8 * MiB, (40 - 8 - 10 - 5) * MiB]);
  assert.deepEqual([p[1].fileBytes, p[1].otherAnonBytes], [8 * MiB, (42 - 12 - 6) * MiB]);
  assert.deepEqual([p[2].fileBytes, p[2].otherAnonBytes], [8 * MiB, (60 - 8 - 20 - 10) * MiB]);
  // A missing held figure counts as 0.
  assert.deepEqual([p[3].fileBytes, p[3].allocatorHeldBytes, p[3].otherAnonBytes], [12 * MiB, 0, (58 - 20) * MiB]);
  assert.deepEqual([p[4].fileBytes, p[4].otherAnonBytes], [12 * MiB, (75 - 12 - 21 - 1) * MiB]);
  assert.ok(p.every((x) => x.statusKnown));
});

test('a run with no status reading at all: file-backed unknown (0), anon taken as RSS, flagged', () => {
  const p = ledgerPoints([
    { t: 0, rssBytes: 30 * MiB, liveHeapBytes: 10 * MiB, allocatorHeldBytes: 4 * MiB },
    { t: 50, rssBytes: 32 * MiB, liveHeapBytes: 11 * MiB, allocatorHeldBytes: 4 * MiB },
  ]);
  assert.deepEqual(p.map((x) => [x.fileBytes, x.otherAnonBytes, x.statusKnown]), [[0, 16 * MiB, false], [0, 17 * MiB, false]]);
});

test('no probe figures: no ledger', () => {
  const s: Sample[] = [{ t: 0, rssBytes: 1, anonBytes: 1, fileBytes: 0 }, { t: 10, rssBytes: 2 }];
  assert.equal(hasLedger(s), false);
  assert.deepEqual(ledgerPoints(s), []);
  assert.equal(hasLedger([...s, { t: 20, rssBytes: 3, liveHeapBytes: 0 }]), true, 'a live heap of 0 is still a reading');
});

test('stacking: cumulative sums bottom up (live, +held, +other, +file), in the unit asked, the top is the total', () => {
  const points = ledgerPoints([
    { t: 0, rssBytes: 100 * MiB, anonBytes: 90 * MiB, fileBytes: 10 * MiB, shmemBytes: 0, liveHeapBytes: 30 * MiB, allocatorHeldBytes: 40 * MiB },
    { t: 1500, rssBytes: 120 * MiB, anonBytes: 100 * MiB, fileBytes: 15 * MiB, shmemBytes: 5 * MiB, liveHeapBytes: 80 * MiB, allocatorHeldBytes: 40 * MiB },
  ]);
  const rows = stackLedger(points, MiB);
  assert.equal(rows.length, 1 + LEDGER_LAYERS.length);
  // Layers: live, held, stacks, metadata, direct, lazy free, probe (all 0 here), other, unknown, file.
  assert.deepEqual(rows, [
    [0, 1.5],
    [30, 80],
    [70, 120],
    [70, 120], [70, 120], [70, 120], [70, 120], [70, 120],
    [90, 120], // other anon clamped to 0 in the second point
    [90, 120],
    [100, 140],
  ]);
  for (let j = 0; j < points.length; j++) assert.equal(rows.at(-1)![j], ledgerTotal(points[j]) / MiB);
  assert.deepEqual(stackLedger([]), [[], ...LEDGER_LAYERS.map(() => [])]);
});

test('decimation by the top of the stack keeps its peak, not only the RSS peak', () => {
  const samples: Sample[] = [];
  for (let i = 0; i < 20_000; i++) {
    samples.push({ t: i * 10, rssBytes: 100 * MiB, anonBytes: 90 * MiB, fileBytes: 10 * MiB, shmemBytes: 0, liveHeapBytes: (20 + (i % 7)) * MiB, allocatorHeldBytes: 10 * MiB });
  }
  // The live heap outgrows anon once: a peak of the stack that RSS does not show.
  samples[12_345] = { ...samples[12_345], liveHeapBytes: 500 * MiB };
  const points = ledgerPoints(samples);
  const byRss = decimateMinMax(points, 200, (p) => p.rssBytes);
  const byTotal = decimateMinMax(points, 200, ledgerTotal);
  assert.ok(byTotal.length <= 402, `points: ${byTotal.length}`);
  assert.ok(byTotal.includes(points[12_345]), 'the peak of the stack was dropped');
  assert.ok(!byRss.includes(points[12_345]), 'RSS-based thinning was expected to miss it (test premise)');
});

test('extending a live series piece by piece gives the same points as splitting it whole', () => {
  const samples: Sample[] = [];
  for (let i = 0; i < 500; i++) {
    samples.push({
      t: i * 50, rssBytes: (100 + i) * MiB, liveHeapBytes: (30 + (i % 11)) * MiB, allocatorHeldBytes: (i % 3) * 10 * MiB,
      ...(i % 7 === 3 ? { anonBytes: (90 + i) * MiB, fileBytes: (9 + (i % 5)) * MiB, shmemBytes: MiB } : {}),
    });
  }
  const whole = ledgerPoints(samples);
  // As the panel does: the first piece back-fills from the first status reading, then each piece carries on.
  let file: number | null = null;
  for (const s of samples) if ((file = statusFile(s)) != null) break;
  const pieces = [];
  for (let start = 0; start < samples.length; start += 37) {
    const r = ledgerPointsFrom(samples.slice(0, start + 37), start, file);
    pieces.push(...r.points);
    file = r.file;
  }
  assert.equal(whole.length, samples.length);
  assert.deepEqual(pieces, whole);
  // Not trivially equal: the file-backed figure changes along the way.
  assert.ok(new Set(whole.map((p) => p.fileBytes)).size >= 4);
});

test('every measured part in drawing order; other anon is what they leave of anon', () => {
  const [p] = ledgerPoints([{
    t: 0, rssBytes: 200 * MiB, anonBytes: 180 * MiB, fileBytes: 20 * MiB, shmemBytes: 0, liveHeapBytes: 60 * MiB, allocatorHeldBytes: 70 * MiB,
    threadStacksBytes: 4 * MiB, allocatorMetadataBytes: 2 * MiB, directMmapBytes: 8 * MiB, lazyFreeBytes: 6 * MiB, probeOverheadBytes: 1 * MiB,
    otherAnonBytes: 29 * MiB, allocatorFiguresAgeMs: 120,
  }]);
  assert.deepEqual(LEDGER_LAYERS, ['liveHeapBytes', 'allocatorHeldBytes', 'threadStacksBytes', 'allocatorMetadataBytes', 'directMmapBytes',
    'lazyFreeBytes', 'probeOverheadBytes', 'otherAnonBytes', 'unknownBytes', 'fileBytes']);
  assert.equal(p.figures, 'fresh');
  assert.equal(p.otherAnonBytes, 29 * MiB);
  assert.equal(ledgerTotal(p), 200 * MiB);
});

test('figures over 1 s old: live view draws the anon beyond the live heap as unknown; a stored run interpolates', () => {
  const at = (t: number, age: number, held: number, live = 50): Sample => ({
    t, rssBytes: 220 * MiB, anonBytes: 200 * MiB, fileBytes: 20 * MiB, shmemBytes: 0, liveHeapBytes: live * MiB, allocatorHeldBytes: held * MiB,
    threadStacksBytes: 2 * MiB, otherAnonBytes: 0, allocatorFiguresAgeMs: age,
  });
  // At t = 1000 and 2000 the probe's figures were 1.5 s and 2.5 s old: the held figure there is the old 40 MiB.
  const samples = [at(0, 100, 40), at(1000, 1500, 40, 60), at(2000, 2500, 40, 70), at(3000, 100, 100, 80)];
  const live = ledgerPoints(samples);
  assert.deepEqual(live.map((p) => p.figures), ['fresh', 'unknown', 'unknown', 'fresh']);
  assert.deepEqual([live[1].allocatorHeldBytes, live[1].threadStacksBytes, live[1].otherAnonBytes, live[1].unknownBytes], [0, 0, 0, 140 * MiB]);
  assert.equal(ledgerTotal(live[1]), 220 * MiB);
  const stored = ledgerPoints(samples, { interpolate: true });
  assert.deepEqual(stored.map((p) => p.figures), ['fresh', 'interpolated', 'interpolated', 'fresh']);
  assert.equal(stored[1].allocatorHeldBytes, 60 * MiB);
  assert.equal(stored[2].allocatorHeldBytes, 80 * MiB);
  assert.equal(stored[2].threadStacksBytes, 2 * MiB);
  assert.equal(stored[2].unknownBytes, 0);
  assert.equal(stored[2].otherAnonBytes, (200 - 70 - 80 - 2) * MiB);
  // Nothing fresh after a stale stretch: nothing to interpolate to, still unknown.
  const tail = ledgerPoints([at(0, 100, 40), at(1000, 1500, 40)], { interpolate: true });
  assert.deepEqual(tail.map((p) => p.figures), ['fresh', 'unknown']);
});

test('coverage: how much of anon the measured parts explain, flagged beyond 2 % of RSS', () => {
  const s = (other: number): Sample => ({
    t: 0, rssBytes: 100 * MiB, anonBytes: 90 * MiB, fileBytes: 10 * MiB, shmemBytes: 0, liveHeapBytes: 40 * MiB,
    allocatorHeldBytes: (50 - other) * MiB, otherAnonBytes: other * MiB, allocatorFiguresAgeMs: 50,
  });
  const ok = ledgerCoverage([s(1), s(1), s(1)])!;
  assert.equal(ok.withinTolerance, true);
  assert.equal(ok.unexplainedBytes, 1 * MiB);
  assert.equal(ok.freshFraction, 1);
  const short = ledgerCoverage([s(10), s(10), s(1)])!;
  assert.equal(short.withinTolerance, false);
  assert.equal(short.unexplainedFractionOfRss, 0.1);
  assert.ok(Math.abs(short.explainedFraction - 80 / 90) < 1e-9);
  assert.equal(ledgerCoverage([{ t: 0, rssBytes: 1, liveHeapBytes: 1 }]), null, 'a run from before the split parts');
});
