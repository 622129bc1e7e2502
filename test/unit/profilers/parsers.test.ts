// Parsers on recorded fixtures (test/fixtures/profiles, re-recorded by record.sh there), on truncated and
// corrupt files, and under random mutation: a profile or a ProfileFormatError, never anything else.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import {
  openProfile, parseHeapDump, ProfileFormatError, rankHotspots, readHeaptrackProfile, readJeprofProfile, readMassifProfile, unbias,
  type AllocationProfile,
} from '../../../src/core/profilers';
import { assertTopIs, fixturesDir } from './helpers';

const heaptrackFixture = path.join(fixturesDir, 'heaptrack.sites.zst');
const massifFixture = path.join(fixturesDir, 'massif.out.sites');
const jeprofFixture = path.join(fixturesDir, 'jeprof-sites');

function tmp(): string {
  return mkdtempSync(path.join(tmpdir(), 'alloclab-parsers-'));
}

test('heaptrack fixture: every ranking names its line; counts are exact', async () => {
  const p = await openProfile(heaptrackFixture);
  assert.equal(p.backend, 'heaptrack');
  assertTopIs(rankHotspots(p, 'growth'), 'sites.c', 'leak', 'growth');
  assertTopIs(rankHotspots(p, 'peak'), 'sites.c', 'cache', 'peak');
  assertTopIs(rankHotspots(p, 'calls'), 'sites.c', 'churn', 'calls');
  assertTopIs(rankHotspots(p, 'leaked'), 'sites.c', 'leak', 'leaked');
  const churn = rankHotspots(p, 'calls')[0];
  // sites.c: 1500 iterations x 200 churn blocks, each freed at once; 1500 leaked blocks of 8 KiB.
  assert.equal(churn.allocations, 300_000);
  const site = p.sites.find((s) => churn.siteIds.includes(s.id))!;
  assert.equal(site.temporaryAllocations, 300_000);
  assert.equal(rankHotspots(p, 'leaked')[0].leakedBytes, 1500 * 8192);
  for (const s of p.sites) assert.equal(s.liveBytes.length, p.snapshots.length);
});

test('massif fixture: growth and peak name their lines; calls and leaked are unsupported', async () => {
  const p = await openProfile(massifFixture);
  assert.equal(p.backend, 'massif');
  assertTopIs(rankHotspots(p, 'growth'), 'sites.c', 'leak', 'growth');
  assertTopIs(rankHotspots(p, 'peak'), 'sites.c', 'cache', 'peak');
  assert.throws(() => rankHotspots(p, 'calls'), /cannot rank by calls/);
  assert.throws(() => rankHotspots(p, 'leaked'), /cannot rank by leaked/);
});

test('jemalloc fixture: dumps parse; unbiased sizes are near the truth', async () => {
  const files = readdirSync(jeprofFixture).filter((n) => n.endsWith('.heap')).sort();
  const d = await parseHeapDump(path.join(jeprofFixture, files[files.length - 1]));
  assert.equal(d.samplePeriod, 131072);
  assert.ok(d.records.length >= 3);
  assert.ok(d.maps.some((m) => m.path.endsWith('proftest-sites')));
  // The 1 MiB cache blocks are always sampled, so unbiasing barely changes them.
  const big = d.records.filter((r) => r.liveObjects > 0 && r.liveBytes / r.liveObjects >= 1 << 20);
  assert.ok(big.length > 0);
  for (const r of big) assert.ok(unbias(r.liveObjects, r.liveBytes, d.samplePeriod).bytes / r.liveBytes < 1.001);
  // Small objects are scaled up by about period/size.
  assert.ok(Math.abs(unbias(1, 48, 131072).count - 131072 / 48) / (131072 / 48) < 0.01);
  const p = await readJeprofProfile([jeprofFixture]);
  assert.equal(p.snapshots.length, files.length);
  assert.equal(p.sampled, true);
});

test('profile.json round trip through openProfile', async () => {
  const dir = tmp();
  try {
    const p = await openProfile(heaptrackFixture);
    writeFileSync(path.join(dir, 'profile.json'), JSON.stringify(p));
    const q = await openProfile(dir);
    assert.deepEqual(rankHotspots(q, 'peak').map((h) => h.line), rankHotspots(p, 'peak').map((h) => h.line));
    writeFileSync(path.join(dir, 'profile.json'), '{"backend": 3}');
    await assert.rejects(openProfile(dir), ProfileFormatError);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('truncated files give a clear error', async () => {
  const dir = tmp();
  try {
    const zst = readFileSync(heaptrackFixture);
    writeFileSync(path.join(dir, 'cut.zst'), zst.subarray(0, zst.length >> 1));
    await assert.rejects(readHeaptrackProfile(path.join(dir, 'cut.zst')), (e: unknown) => e instanceof ProfileFormatError && /truncated or corrupt/.test(e.message));

    const massif = readFileSync(massifFixture, 'utf8');
    // Cut inside a heap tree: after the first node line of the last detailed snapshot.
    const at = massif.lastIndexOf('\n n') + 3;
    writeFileSync(path.join(dir, 'massif.out.cut'), massif.slice(0, at));
    await assert.rejects(readMassifProfile(path.join(dir, 'massif.out.cut')), (e: unknown) => e instanceof ProfileFormatError && /truncated|tree/.test(e.message));

    const heapFile = path.join(jeprofFixture, readdirSync(jeprofFixture).find((n) => n.endsWith('.heap'))!);
    const heap = readFileSync(heapFile, 'utf8');
    mkdirSync(path.join(dir, 'je'));
    writeFileSync(path.join(dir, 'je', 'jeprof.1.0.i0.heap'), heap.slice(0, heap.indexOf('MAPPED_LIBRARIES') - 10));
    await assert.rejects(readJeprofProfile([path.join(dir, 'je')]), (e: unknown) => e instanceof ProfileFormatError && /truncated/.test(e.message));

    writeFileSync(path.join(dir, 'empty.zst'), '');
    await assert.rejects(readHeaptrackProfile(path.join(dir, 'empty.zst')), ProfileFormatError);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('files of another kind are refused with a typed error', async () => {
  const dir = tmp();
  try {
    writeFileSync(path.join(dir, 'massif.out.1'), 'hello\nworld\n');
    await assert.rejects(openProfile(path.join(dir, 'massif.out.1')), ProfileFormatError);
    writeFileSync(path.join(dir, 'x.heap'), 'heap_v1/10\n');
    await assert.rejects(openProfile(path.join(dir, 'x.heap')), ProfileFormatError);
    writeFileSync(path.join(dir, 'random.gz'), Buffer.from([1, 2, 3, 4, 5, 6]));
    await assert.rejects(openProfile(path.join(dir, 'random.gz')), ProfileFormatError);
    writeFileSync(path.join(dir, 'notes.txt'), 'x');
    await assert.rejects(openProfile(path.join(dir, 'notes.txt')), /not a profile this tool reads/);
    await assert.rejects(openProfile(path.join(dir, 'missing.zst')), ProfileFormatError);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

// A small deterministic PRNG, so a failing mutation can be reproduced from the test's output.
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32);
}

function mutate(text: string, r: () => number): string {
  const lines = text.split('\n');
  const n = 1 + Math.floor(r() * 4);
  for (let k = 0; k < n; k++) {
    const i = Math.floor(r() * lines.length);
    const op = Math.floor(r() * 5);
    if (op === 0) lines.splice(i, 1);
    else if (op === 1) lines.splice(i, 0, lines[Math.floor(r() * lines.length)] ?? '');
    else if (op === 2) lines[i] = (lines[i] ?? '').slice(0, Math.floor(r() * (lines[i]?.length ?? 0)));
    else if (op === 3) {
      const l = lines[i] ?? '';
      const j = Math.floor(r() * (l.length + 1));
      lines[i] = l.slice(0, j) + String.fromCharCode(32 + Math.floor(r() * 95)) + l.slice(j + 1);
    } else lines.length = Math.max(1, i);
  }
  return lines.join('\n');
}

async function fuzz(name: string, text: string, file: string, read: (f: string) => Promise<AllocationProfile>, rounds: number): Promise<void> {
  for (let seed = 1; seed <= rounds; seed++) {
    writeFileSync(file, mutate(text, rng(seed)));
    try {
      const p = await read(file);
      // Whatever parses must still be a consistent profile.
      for (const s of p.sites) assert.equal(s.liveBytes.length, p.snapshots.length, `${name} seed ${seed}`);
    } catch (e) {
      assert.ok(e instanceof ProfileFormatError, `${name} seed ${seed}: ${(e as Error).stack}`);
    }
  }
}

test('fuzz: mutated profiles give a profile or a ProfileFormatError', async () => {
  const dir = tmp();
  try {
    const heaptrackText = execFileSync('zstd', ['-dc', heaptrackFixture], { maxBuffer: 64 << 20 }).toString();
    // The fixture's event stream is long; fuzz its head (definitions and first events) and its tail.
    const lines = heaptrackText.split('\n');
    const short = [...lines.slice(0, 400), ...lines.slice(-200)].join('\n');
    await fuzz('heaptrack', short, path.join(dir, 'trace.txt'), (f) => readHeaptrackProfile(f), 150);
    await fuzz('massif', readFileSync(massifFixture, 'utf8'), path.join(dir, 'massif.out.f'), readMassifProfile, 150);
    const heapFile = path.join(jeprofFixture, readdirSync(jeprofFixture).find((n) => n.endsWith('.heap'))!);
    mkdirSync(path.join(dir, 'je'));
    await fuzz('jeprof', readFileSync(heapFile, 'utf8'), path.join(dir, 'je', 'jeprof.1.0.i0.heap'), (f) => readJeprofProfile([f]), 80);
    // Damaged compressed bytes: zstd must fail cleanly.
    const zst = readFileSync(heaptrackFixture);
    const r = rng(7);
    for (let k = 0; k < 10; k++) {
      const b = Buffer.from(zst);
      for (let j = 0; j < 4; j++) b[Math.floor(r() * b.length)] ^= 1 + Math.floor(r() * 255);
      const f = path.join(dir, `bad${k}.zst`);
      writeFileSync(f, b);
      try {
        await readHeaptrackProfile(f);
      } catch (e) {
        assert.ok(e instanceof ProfileFormatError, (e as Error).stack);
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a heaptrack trace copied elsewhere still opens (names are inside the trace)', async () => {
  const dir = tmp();
  try {
    copyFileSync(heaptrackFixture, path.join(dir, 'heaptrack.copy.zst'));
    const p = await openProfile(dir);
    assert.equal(p.backend, 'heaptrack');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
