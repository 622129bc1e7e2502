// The ledger arithmetic on its own: each allocator's figures, the estimate without figures, and the caps that
// keep the parts inside the anonymous memory.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ledger, STACK_ESTIMATE_BYTES, type ProbeReading, type ProbeStats } from '../../../src/core/ledger';
import type { Sample } from '../../../src/core/model';

const MiB = 1024 * 1024;

function reading(liveBytes: number | null, stats: Omit<ProbeStats, 'ageMs' | 'publications' | 'collectionCostUs'> | null): ProbeReading {
  return {
    pid: 1, parentPid: null, liveBytes, allocations: 10, frees: 5, allocator: 'glibc', allocatorPath: '', statsThread: true,
    stats: stats && { ageMs: 10, publications: 3, collectionCostUs: 50, ...stats },
  };
}

const sample: Sample = { t: 0, rssBytes: 120 * MiB, anonBytes: 100 * MiB, fileBytes: 15 * MiB, shmemBytes: 5 * MiB, threads: 4 };

function sum(l: ReturnType<typeof ledger>): number {
  return l.liveHeapBytes + l.allocatorHeldBytes + l.allocatorOverheadBytes + l.otherAnonBytes;
}

test('glibc: free chunks are held, chunk headers are overhead, the rest is other', () => {
  const l = ledger(sample, reading(40 * MiB, { glibc: { inUseBytes: 41 * MiB, mmappedBytes: 1 * MiB, freeBytes: 50 * MiB } }));
  assert.equal(l.basis, 'allocator-stats');
  assert.equal(l.liveHeapBytes, 40 * MiB);
  assert.equal(l.allocatorOverheadBytes, 2 * MiB);
  assert.equal(l.allocatorHeldBytes, 50 * MiB);
  assert.equal(l.otherAnonBytes, 8 * MiB);
  assert.equal(l.fileBytes, 20 * MiB);
  assert.equal(sum(l), sample.anonBytes);
});

test('held is capped by what is resident; live is reported as measured', () => {
  // glibc counts never-touched free chunks too: they cannot be more than what is left of anon.
  const capped = ledger(sample, reading(60 * MiB, { glibc: { inUseBytes: 61 * MiB, mmappedBytes: 0, freeBytes: 500 * MiB } }));
  assert.equal(capped.allocatorHeldBytes, 100 * MiB - 60 * MiB - 1 * MiB);
  assert.equal(capped.otherAnonBytes, 0);
  assert.equal(sum(capped), sample.anonBytes);
  const untouched = ledger(sample, reading(300 * MiB, { glibc: { inUseBytes: 301 * MiB, mmappedBytes: 0, freeBytes: 1 * MiB } }));
  assert.equal(untouched.liveHeapBytes, 300 * MiB);
  assert.equal(untouched.allocatorHeldBytes + untouched.allocatorOverheadBytes + untouched.otherAnonBytes, 0);
});

test('jemalloc: resident minus metadata minus live is held', () => {
  const l = ledger(sample, reading(30 * MiB, { jemalloc: { residentBytes: 70 * MiB, metadataBytes: 4 * MiB, allocatedBytes: 30 * MiB } }));
  assert.equal(l.allocatorOverheadBytes, 4 * MiB);
  assert.equal(l.allocatorHeldBytes, 36 * MiB);
  assert.equal(l.otherAnonBytes, 30 * MiB);
});

test('tcmalloc and mimalloc: their heap figures minus live', () => {
  const t = ledger(sample, reading(30 * MiB, { tcmalloc: { heapSizeBytes: 80 * MiB, pageheapUnmappedBytes: 20 * MiB } }));
  assert.equal(t.allocatorHeldBytes, 30 * MiB);
  const m = ledger(sample, reading(30 * MiB, { mimalloc: { committedBytes: 45 * MiB } }));
  assert.equal(m.allocatorHeldBytes, 15 * MiB);
  assert.equal(m.otherAnonBytes, 55 * MiB);
});

test('without allocator figures: anon minus live minus a stack estimate per thread', () => {
  const l = ledger(sample, reading(30 * MiB, null));
  assert.equal(l.basis, 'estimate');
  assert.equal(l.allocatorHeldBytes, 70 * MiB - 4 * STACK_ESTIMATE_BYTES);
  assert.equal(l.otherAnonBytes, 4 * STACK_ESTIMATE_BYTES);
  // No anon figure on this tick: rss minus file and shmem stands in.
  const noStatus = ledger({ t: 0, rssBytes: 50 * MiB, fileBytes: 10 * MiB }, reading(10 * MiB, null));
  assert.equal(sum(noStatus), 40 * MiB);
  // No size counting (an allocator without malloc_usable_size): nothing is called live.
  assert.equal(ledger(sample, reading(null, null)).liveHeapBytes, 0);
});
