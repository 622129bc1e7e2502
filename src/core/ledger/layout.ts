// Byte layout of the probe's shared-memory file, mirroring native/probe/probe.h (version 2). Change both together.

export const PROBE_MAGIC = 'ALCPROBE';
export const PROBE_VERSION = 2;
export const PROBE_FILE_BYTES = 1024 + 64 * 64;

export const HEADER = {
  magic: 0,
  version: 8,
  headerSize: 12,
  shardCount: 16,
  shardSize: 20,
  pid: 24,
  parentPid: 28,
  allocator: 32,
  flags: 36,
  startNs: 40,
  allocatorPath: 48,
  allocatorPathBytes: 208,
} as const;

export const STATS = {
  seq: 256,
  timeNs: 264,
  count: 272,
  valid: 280,
  slots: 288,
  slotCount: 24,
} as const;

/** The control block: requests from outside, answered by the probe thread (probe.h struct probe_control). */
export const CONTROL = {
  requestSeq: 512,
  requestOp: 520,
  doneSeq: 528,
  result: 536,
  rssBefore: 544,
  rssAfter: 552,
  doneNs: 560,
} as const;
export const OPS = { none: 0, trim: 1 } as const;

/** The sampled heap profiler's settings and counters (probe.h struct probe_sampling). */
export const SAMPLING = {
  intervalBytes: 576,
  maxDepth: 584,
  unwinder: 588,
  samples: 592,
  dropped: 600,
  liveTracked: 608,
  bytesWritten: 616,
} as const;
export const UNWINDERS = ['none', 'frame-pointers', 'libunwind', 'gcc'] as const;

/** Offsets inside one shard (each shard is `shardSize` bytes from `headerSize` on). */
export const SHARD = { liveBytes: 0, allocations: 8, frees: 16 } as const;

export const FLAG_SIZES = 1;
export const FLAG_STATS_THREAD = 2;
export const FLAG_FORKED = 4;
export const FLAG_ARENA_LIST = 8;

export const ALLOCATOR_KINDS = ['unknown', 'glibc', 'jemalloc', 'tcmalloc', 'mimalloc'] as const;

/** Statistics slot numbers per allocator (probe.h enum). */
export const SLOTS = {
  glibc: {
    arenaBytes: 0, inUseBytes: 1, freeBytes: 2, mmappedBytes: 3, topReleasableBytes: 4, arenas: 5, mmappedBlocks: 6,
    systemBytes: 7, topChunkBytes: 8, mallinfoAtNs: 9, mallinfoCostNs: 21,
  },
  jemalloc: {
    allocatedBytes: 0, activeBytes: 1, residentBytes: 2, retainedBytes: 3, mappedBytes: 4, metadataBytes: 5, arenas: 6,
    dirtyBytes: 7, muzzyBytes: 8, backgroundThread: 9, dirtyDecayMs: 21, muzzyDecayMs: 22,
  },
  tcmalloc: {
    allocatedBytes: 0,
    heapSizeBytes: 1,
    pageheapFreeBytes: 2,
    pageheapUnmappedBytes: 3,
    threadCacheBytes: 4,
    centralCacheFreeBytes: 5,
    transferCacheFreeBytes: 6,
    metadataBytes: 7,
  },
  mimalloc: { committedBytes: 0, peakCommittedBytes: 1, rssBytes: 2, peakRssBytes: 3, decommitDelayMs: 4, segmentDecommitDelayMs: 5, version: 6 },
} as const;

/** Slots every allocator fills: the process's memory map as the probe thread read it, with the live counters of that instant. */
export const MAP_SLOTS = {
  liveBytes: 10, liveBlocks: 11, anonBytes: 12, heapBytes: 13, directBytes: 14, directUsableBytes: 15,
  directBlocks: 16, stacksBytes: 17, lazyFreeBytes: 18, probeBytes: 19, costNs: 20,
} as const;
export const SLOT_COST_NS = 23;
