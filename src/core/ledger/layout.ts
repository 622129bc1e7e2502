// Byte layout of the probe's shared-memory file, mirroring native/probe/probe.h (version 1). Change both together.

export const PROBE_MAGIC = 'ALCPROBE';
export const PROBE_VERSION = 1;
export const PROBE_FILE_BYTES = 512 + 64 * 64;

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

/** Offsets inside one shard (each shard is `shardSize` bytes from `headerSize` on). */
export const SHARD = { liveBytes: 0, allocations: 8, frees: 16 } as const;

export const FLAG_SIZES = 1;
export const FLAG_STATS_THREAD = 2;
export const FLAG_FORKED = 4;

export const ALLOCATOR_KINDS = ['unknown', 'glibc', 'jemalloc', 'tcmalloc', 'mimalloc'] as const;

/** Statistics slot numbers per allocator (probe.h enum). */
export const SLOTS = {
  glibc: { arenaBytes: 0, inUseBytes: 1, freeBytes: 2, mmappedBytes: 3, topReleasableBytes: 4, arenas: 5, mmappedBlocks: 6 },
  jemalloc: { allocatedBytes: 0, activeBytes: 1, residentBytes: 2, retainedBytes: 3, mappedBytes: 4, metadataBytes: 5, arenas: 6 },
  tcmalloc: {
    allocatedBytes: 0,
    heapSizeBytes: 1,
    pageheapFreeBytes: 2,
    pageheapUnmappedBytes: 3,
    threadCacheBytes: 4,
    centralCacheFreeBytes: 5,
    transferCacheFreeBytes: 6,
  },
  mimalloc: { committedBytes: 0, peakCommittedBytes: 1, rssBytes: 2, peakRssBytes: 3 },
} as const;
export const SLOT_COST_NS = 23;
