// The RSS ledger: splits a sample's resident memory into the live heap, free memory the allocator holds, the
// allocator's metadata, thread stacks, large blocks mmapped directly, lazily freed pages, the probe's own memory,
// the rest of the anonymous memory, and file-backed memory. Pure arithmetic, no I/O.
//
// The figures come from one publication of the probe thread (the allocator's statistics and /proc/self/smaps,
// read together with the live counters of that instant), except the live heap, which is current. All in bytes:
//   glibc     held      = resident pages of glibc's heaps - (live at the map - direct blocks' usable bytes) - metadata
//             metadata  = 8 bytes of chunk header per live block in the heaps
//             direct    = resident pages of the blocks glibc mmapped directly (live by definition)
//   jemalloc  metadata  = stats.metadata;  held = stats.resident - metadata - live at the map
//   tcmalloc  metadata  = tcmalloc.metadata_bytes;  held = heap_size - pageheap_unmapped - live at the map
//   mimalloc  metadata  = 0;  held = committed - live at the map - lazily freed (mimalloc resets with MADV_FREE)
//   every allocator: stacks, lazy free (LazyFree), probe from the map;
//   other     = anon - every part above (the remainder: the program's own mappings, libraries' written data)
// Held is capped at what is left of anon after the other measured parts (a figure can count pages never touched,
// which are not resident). Without any figures (basis "estimate"): held = anon - live - threads * STACK_ESTIMATE.
// The live heap is reported as measured even when it exceeds anon (allocated, never touched): the parts then do
// not sum to anon (held and other are 0).
import type { Sample } from '../model';
import type { ProbeReading, ProbeStats } from './probe';

/** A resident stack: what a thread typically touches (a few pages), not its reserved 8 MiB. */
export const STACK_ESTIMATE_BYTES = 32 * 1024;

/** Allocator figures older than this are never shown as current (the live chart draws them as "unknown"). */
export const FRESH_FIGURES_MS = 1000;

/** glibc's chunk header on 64-bit: the size word in front of every block in use. */
const CHUNK_HEADER_BYTES = 8;

/** Where the resident memory of one sample goes. */
export interface Ledger {
  /** Live blocks in the allocator's heap (blocks mmapped directly are in directMmapBytes). */
  liveHeapBytes: number;
  /** Free memory the allocator keeps resident instead of returning it: the "RSS but no leak" part. */
  allocatorHeldBytes: number;
  /** The allocator's own bookkeeping: chunk headers, metadata. */
  allocatorMetadataBytes: number;
  threadStacksBytes: number;
  /** Large blocks the allocator mmapped directly (glibc); live blocks. */
  directMmapBytes: number;
  /** Pages freed with MADV_FREE: counted in RSS until the kernel needs them, reclaimable. */
  lazyFreeBytes: number;
  /** The probe's own memory in the target. */
  probeOverheadBytes: number;
  /** Anonymous memory none of the above explains: the program's own mappings, libraries' written data. */
  otherAnonBytes: number;
  /** File-backed and shared memory (RssFile + RssShmem): code, mapped files. */
  fileBytes: number;
  /** "allocator-stats" when the allocator's own figures were used, "estimate" when they were not available. */
  basis: 'allocator-stats' | 'estimate';
  /** Age of the figures used (ms) when the sample was read; null without any. */
  figuresAgeMs: number | null;
}

/** The ledger's layers in drawing order, bottom up, after which comes file-backed memory. */
export const LEDGER_PARTS = [
  'liveHeapBytes', 'allocatorHeldBytes', 'threadStacksBytes', 'allocatorMetadataBytes', 'directMmapBytes',
  'lazyFreeBytes', 'probeOverheadBytes', 'otherAnonBytes',
] as const;

interface Figures { held: number; metadata: number; direct: number; directUsable: number; stacks: number; lazyFree: number; probe: number }

/** Splits one sample's RSS using a probe reading of the same process (see the arithmetic above). */
export function ledger(sample: Sample, probe: ProbeReading): Ledger {
  const fileBytes = (sample.fileBytes ?? 0) + (sample.shmemBytes ?? 0);
  const anon = sample.anonBytes ?? Math.max(0, sample.rssBytes - fileBytes);
  const liveAll = Math.max(0, probe.liveBytes ?? 0);
  const known = probe.stats ? allocatorFigures(probe.stats, probe.liveBytes ?? 0) : null;
  const age = probe.stats ? Math.max(0, probe.stats.ageMs) : null;
  if (!known) {
    const held = clamp(anon - liveAll - (sample.threads ?? 1) * STACK_ESTIMATE_BYTES, 0, Math.max(0, anon - liveAll));
    return {
      liveHeapBytes: liveAll, allocatorHeldBytes: held, allocatorMetadataBytes: 0, threadStacksBytes: 0, directMmapBytes: 0,
      lazyFreeBytes: 0, probeOverheadBytes: 0, otherAnonBytes: Math.max(0, anon - liveAll - held), fileBytes,
      basis: 'estimate', figuresAgeMs: age,
    };
  }
  const live = Math.max(0, liveAll - known.directUsable);
  // Fill bottom up, each part at most what anon has left: the sum never exceeds anon (except the live heap).
  let left = Math.max(0, anon - live);
  const take = (v: number): number => {
    const t = clamp(v, 0, left);
    left -= t;
    return t;
  };
  const direct = take(known.direct);
  const stacks = take(known.stacks);
  const metadata = take(known.metadata);
  const lazyFree = take(known.lazyFree);
  const probeBytes = take(known.probe);
  const held = take(known.held);
  return {
    liveHeapBytes: live, allocatorHeldBytes: held, allocatorMetadataBytes: metadata, threadStacksBytes: stacks,
    directMmapBytes: direct, lazyFreeBytes: lazyFree, probeOverheadBytes: probeBytes, otherAnonBytes: left, fileBytes,
    basis: 'allocator-stats', figuresAgeMs: age,
  };
}

function allocatorFigures(s: ProbeStats, liveNow: number): Figures | null {
  const m = s.map ?? {};
  // Live bytes at the instant the figures were taken: they pair with the allocator's figures of that instant.
  const live = m.liveBytes ?? liveNow;
  const common = { stacks: m.stacksBytes ?? 0, lazyFree: m.lazyFreeBytes ?? 0, probe: m.probeBytes ?? 0, direct: 0, directUsable: 0 };
  if (s.glibc) {
    if (m.heapBytes !== undefined) {
      const directUsable = m.directUsableBytes ?? 0;
      const metadata = CHUNK_HEADER_BYTES * Math.max(0, (m.liveBlocks ?? 0) - (m.directBlocks ?? 0));
      return { ...common, direct: m.directBytes ?? 0, directUsable, metadata, held: m.heapBytes - (live - directUsable) - metadata };
    }
    // A probe without the map: mallinfo2's figures (which may be old: the age says so).
    const { inUseBytes, freeBytes, mmappedBytes } = s.glibc;
    if (inUseBytes === undefined || freeBytes === undefined) return null;
    return { ...common, metadata: inUseBytes + (mmappedBytes ?? 0) - live, held: freeBytes };
  }
  if (s.jemalloc) {
    const { residentBytes, metadataBytes } = s.jemalloc;
    if (residentBytes === undefined) return null;
    return { ...common, metadata: metadataBytes ?? 0, held: residentBytes - (metadataBytes ?? 0) - live };
  }
  if (s.tcmalloc) {
    const { heapSizeBytes, pageheapUnmappedBytes, metadataBytes } = s.tcmalloc;
    if (heapSizeBytes === undefined) return null;
    return { ...common, metadata: metadataBytes ?? 0, held: heapSizeBytes - (pageheapUnmappedBytes ?? 0) - live };
  }
  if (s.mimalloc) {
    const { committedBytes } = s.mimalloc;
    if (committedBytes === undefined) return null;
    return { ...common, metadata: 0, held: committedBytes - live - common.lazyFree };
  }
  return null;
}

/** The measured parts of a ledger (everything but the remainder and file-backed memory). */
export function measuredBytes(l: Ledger): number {
  return l.liveHeapBytes + l.allocatorHeldBytes + l.threadStacksBytes + l.allocatorMetadataBytes + l.directMmapBytes + l.lazyFreeBytes + l.probeOverheadBytes;
}

function clamp(v: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, v));
}
