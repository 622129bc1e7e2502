// The ledger arithmetic on its own: each allocator's figures with the memory map of the same publication, the
// estimate without figures, and the caps that keep the parts inside the anonymous memory.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ledger, measuredBytes, STACK_ESTIMATE_BYTES, type ProbeMap, type ProbeReading, type ProbeStats } from '../../../src/core/ledger';
import type { Sample } from '../../../src/core/model';

const MiB = 1024 * 1024;

type Figures = Omit<ProbeStats, 'ageMs' | 'publications' | 'collectionCostUs' | 'map'> & { map?: ProbeMap | null };

function reading(liveBytes: number | null, stats: Figures | null, ageMs = 10): ProbeReading {
  return {
    pid: 1, parentPid: null, liveBytes, allocations: 10, frees: 5, allocator: 'glibc', allocatorPath: '', statsThread: true, arenaList: true,
    stats: stats && { ageMs, publications: 3, collectionCostUs: 50, map: null, ...stats }, sampling: null,
  };
}

const sample: Sample = { t: 0, rssBytes: 120 * MiB, anonBytes: 100 * MiB, fileBytes: 15 * MiB, shmemBytes: 5 * MiB, threads: 4 };

function sum(l: ReturnType<typeof ledger>): number {
  return measuredBytes(l) + l.otherAnonBytes;
}

test('glibc: resident heap pages minus live blocks and their headers are held; direct mmaps, stacks, lazy free apart', () => {
  const map: ProbeMap = {
    liveBytes: 40 * MiB, liveBlocks: 1000 + 4, anonBytes: 100 * MiB, heapBytes: 70 * MiB, directBytes: 4 * MiB,
    directUsableBytes: 4 * MiB - 64, directBlocks: 4, stacksBytes: 2 * MiB, lazyFreeBytes: 3 * MiB, probeBytes: 64 * 1024,
  };
  const l = ledger(sample, reading(40 * MiB, { glibc: { arenas: 3 }, map }));
  assert.equal(l.basis, 'allocator-stats');
  assert.equal(l.liveHeapBytes, 36 * MiB + 64);
  assert.equal(l.allocatorMetadataBytes, 8 * 1000);
  assert.equal(l.allocatorHeldBytes, 70 * MiB - (36 * MiB + 64) - 8000);
  assert.equal(l.directMmapBytes, 4 * MiB);
  assert.equal(l.threadStacksBytes, 2 * MiB);
  assert.equal(l.lazyFreeBytes, 3 * MiB);
  assert.equal(l.probeOverheadBytes, 64 * 1024);
  assert.equal(sum(l), sample.anonBytes);
  assert.equal(l.fileBytes, 20 * MiB);
  // The live heap moved on since the figures were taken: the held memory of that instant is kept, the rest is other.
  const later = ledger(sample, reading(45 * MiB, { glibc: {}, map }));
  assert.equal(later.liveHeapBytes, 41 * MiB + 64);
  assert.equal(later.allocatorHeldBytes, l.allocatorHeldBytes);
  assert.equal(later.otherAnonBytes, l.otherAnonBytes - 5 * MiB);
});

test('glibc without the map (an older probe): mallinfo2 free chunks are held', () => {
  const l = ledger(sample, reading(40 * MiB, { glibc: { inUseBytes: 41 * MiB, mmappedBytes: 1 * MiB, freeBytes: 50 * MiB } }));
  assert.equal(l.allocatorMetadataBytes, 2 * MiB);
  assert.equal(l.allocatorHeldBytes, 50 * MiB);
  assert.equal(l.otherAnonBytes, 8 * MiB);
  assert.equal(sum(l), sample.anonBytes);
});

test('held is capped by what is resident; live is reported as measured', () => {
  // Figures can count pages never touched: held cannot be more than what is left of anon.
  const capped = ledger(sample, reading(60 * MiB, { glibc: { inUseBytes: 61 * MiB, mmappedBytes: 0, freeBytes: 500 * MiB } }));
  assert.equal(capped.allocatorHeldBytes, 100 * MiB - 60 * MiB - 1 * MiB);
  assert.equal(capped.otherAnonBytes, 0);
  assert.equal(sum(capped), sample.anonBytes);
  const untouched = ledger(sample, reading(300 * MiB, { glibc: { inUseBytes: 301 * MiB, mmappedBytes: 0, freeBytes: 1 * MiB } }));
  assert.equal(untouched.liveHeapBytes, 300 * MiB);
  assert.equal(sum(untouched) - untouched.liveHeapBytes, 0);
});

test('jemalloc: resident minus metadata minus live is held; muzzy (lazily freed) pages come on top', () => {
  const map: ProbeMap = { liveBytes: 30 * MiB, anonBytes: 100 * MiB, stacksBytes: 1 * MiB, lazyFreeBytes: 5 * MiB };
  const l = ledger(sample, reading(30 * MiB, { jemalloc: { residentBytes: 70 * MiB, metadataBytes: 4 * MiB, allocatedBytes: 30 * MiB }, map }));
  assert.equal(l.allocatorMetadataBytes, 4 * MiB);
  assert.equal(l.allocatorHeldBytes, 36 * MiB);
  assert.equal(l.lazyFreeBytes, 5 * MiB);
  assert.equal(l.otherAnonBytes, 100 * MiB - 30 * MiB - 4 * MiB - 36 * MiB - 1 * MiB - 5 * MiB);
});

test('tcmalloc and mimalloc: their heap figures minus live (mimalloc\'s lazily reset pages are inside what it commits)', () => {
  const t = ledger(sample, reading(30 * MiB, { tcmalloc: { heapSizeBytes: 80 * MiB, pageheapUnmappedBytes: 20 * MiB, metadataBytes: 2 * MiB } }));
  assert.equal(t.allocatorHeldBytes, 30 * MiB);
  assert.equal(t.allocatorMetadataBytes, 2 * MiB);
  const m = ledger(sample, reading(30 * MiB, { mimalloc: { committedBytes: 45 * MiB }, map: { anonBytes: 100 * MiB, lazyFreeBytes: 5 * MiB } }));
  assert.equal(m.allocatorHeldBytes, 10 * MiB);
  assert.equal(m.lazyFreeBytes, 5 * MiB);
  assert.equal(m.otherAnonBytes, 55 * MiB);
});

test('without allocator figures: anon minus live minus a stack estimate per thread', () => {
  const l = ledger(sample, reading(30 * MiB, null));
  assert.equal(l.basis, 'estimate');
  assert.equal(l.figuresAgeMs, null);
  assert.equal(l.allocatorHeldBytes, 70 * MiB - 4 * STACK_ESTIMATE_BYTES);
  assert.equal(l.otherAnonBytes, 4 * STACK_ESTIMATE_BYTES);
  // No anon figure on this tick: rss minus file and shmem stands in.
  const noStatus = ledger({ t: 0, rssBytes: 50 * MiB, fileBytes: 10 * MiB }, reading(10 * MiB, null));
  assert.equal(sum(noStatus), 40 * MiB);
  // No size counting (an allocator without malloc_usable_size): nothing is called live.
  assert.equal(ledger(sample, reading(null, null)).liveHeapBytes, 0);
});

test('the age of the figures travels with the ledger', () => {
  assert.equal(ledger(sample, reading(30 * MiB, { glibc: { inUseBytes: 1, freeBytes: 1 } }, 1500)).figuresAgeMs, 1500);
});
