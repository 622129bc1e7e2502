// The RSS ledger: splits a sample's resident memory into live heap, memory the allocator holds free, the
// allocator's own overhead, other anonymous memory, and file-backed memory. Pure arithmetic, no I/O.
//
// The arithmetic (all in bytes, every part clamped at 0):
//   anon       = sample.anonBytes, else rss - file - shmem (the status fields are read at a lower rate)
//   live       = probe.liveBytes (usable sizes of live blocks, as the allocator reports them)
//   then, from the allocator's own statistics when the probe published them:
//     glibc     overhead = (uordblks + hblkhd) - live   chunk headers and rounding of blocks in use
//               held     = fordblks                      free chunks inside the arenas
//     jemalloc  overhead = stats.metadata
//               held     = stats.resident - metadata - live   dirty pages, partly used runs, thread caches
//     tcmalloc  overhead = 0 (its metadata is not in heap_size)
//               held     = heap_size - pageheap_unmapped - live
//     mimalloc  overhead = 0
//               held     = committed - live
//   and without statistics (basis "estimate"): overhead = 0, held = anon - live - threads * STACK_ESTIMATE
//   held is then capped at anon - live - overhead (an allocator's figure can count pages that were never
//   touched, which are not resident), and other = anon - live - held - overhead: thread stacks, mmaps the
//   program makes itself, the runtime's own areas.
//   live is reported as measured even when it exceeds anon: memory allocated and never touched is heap the
//   program holds, yet not resident; the parts then do not sum to anon (otherAnon and held are 0).
import type { Sample } from '../model';
import type { ProbeReading } from './probe';

/** A resident stack: what a thread typically touches (a few pages), not its reserved 8 MiB. */
export const STACK_ESTIMATE_BYTES = 32 * 1024;

/** Where the resident memory of one sample goes. */
export interface Ledger {
  liveHeapBytes: number;
  /** Free memory the allocator keeps resident instead of returning it: the "RSS but no leak" part. */
  allocatorHeldBytes: number;
  /** The allocator's own bookkeeping: chunk headers, metadata. */
  allocatorOverheadBytes: number;
  /** Anonymous memory that is neither heap nor allocator: stacks, the program's own mmaps. */
  otherAnonBytes: number;
  /** File-backed and shared memory (RssFile + RssShmem): code, mapped files. */
  fileBytes: number;
  /** "allocator-stats" when the allocator's own figures were used, "estimate" when they were not available. */
  basis: 'allocator-stats' | 'estimate';
}

/** Splits one sample's RSS using a probe reading of the same process (see the arithmetic above). */
export function ledger(sample: Sample, probe: ProbeReading): Ledger {
  const fileBytes = (sample.fileBytes ?? 0) + (sample.shmemBytes ?? 0);
  const anon = sample.anonBytes ?? Math.max(0, sample.rssBytes - fileBytes);
  const live = Math.max(0, probe.liveBytes ?? 0);
  const known = allocatorFigures(probe, live);
  let held: number;
  let overhead: number;
  let basis: Ledger['basis'];
  if (known) {
    overhead = clamp(known.overhead, 0, Math.max(0, anon - live));
    held = known.held;
    basis = 'allocator-stats';
  } else {
    overhead = 0;
    held = anon - live - (sample.threads ?? 1) * STACK_ESTIMATE_BYTES;
    basis = 'estimate';
  }
  held = clamp(held, 0, Math.max(0, anon - live - overhead));
  return {
    liveHeapBytes: live,
    allocatorHeldBytes: held,
    allocatorOverheadBytes: overhead,
    otherAnonBytes: Math.max(0, anon - live - held - overhead),
    fileBytes,
    basis,
  };
}

function allocatorFigures(probe: ProbeReading, live: number): { held: number; overhead: number } | null {
  const s = probe.stats;
  if (!s) return null;
  if (s.glibc) {
    const { inUseBytes, freeBytes, mmappedBytes } = s.glibc;
    if (inUseBytes === undefined || freeBytes === undefined) return null;
    return { overhead: inUseBytes + (mmappedBytes ?? 0) - live, held: freeBytes };
  }
  if (s.jemalloc) {
    const { residentBytes, metadataBytes } = s.jemalloc;
    if (residentBytes === undefined) return null;
    return { overhead: metadataBytes ?? 0, held: residentBytes - (metadataBytes ?? 0) - live };
  }
  if (s.tcmalloc) {
    const { heapSizeBytes, pageheapUnmappedBytes } = s.tcmalloc;
    if (heapSizeBytes === undefined) return null;
    return { overhead: 0, held: heapSizeBytes - (pageheapUnmappedBytes ?? 0) - live };
  }
  if (s.mimalloc) {
    const { committedBytes } = s.mimalloc;
    if (committedBytes === undefined) return null;
    return { overhead: 0, held: committedBytes - live };
  }
  return null;
}

function clamp(v: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, v));
}
