/* The shared-memory layout of liballoclab-probe.so, version 2. src/core/ledger/layout.ts mirrors it byte for byte:
 * change both together and bump PROBE_VERSION (readers refuse a version they do not know, with a clear error).
 * All integers are little-endian (x86-64 and aarch64 Linux).
 *
 *   offset    0  header (256 bytes)
 *   offset  256  allocator statistics, published by the probe thread under a sequence lock (224 bytes + pad)
 *   offset  512  control block: requests from outside (e.g. malloc_trim), answered by the probe thread (64 bytes)
 *   offset  576  sampling block: the sampled heap profiler's settings and counters (64 bytes)
 *   offset  640  reserved (zero) up to 1024
 *   offset 1024  PROBE_SHARDS counter shards, one cache line each
 *
 * Version 2 (from 1): the control and sampling blocks; shards moved from 512 to 1024 (header_size says where).
 */
#ifndef ALLOCLAB_PROBE_H
#define ALLOCLAB_PROBE_H

#include <stdint.h>

#define PROBE_MAGIC "ALCPROBE"
#define PROBE_VERSION 2u
#define PROBE_SHARDS 64u
#define PROBE_STAT_SLOTS 24u

enum probe_allocator { PROBE_ALLOC_UNKNOWN = 0, PROBE_ALLOC_GLIBC = 1, PROBE_ALLOC_JEMALLOC = 2, PROBE_ALLOC_TCMALLOC = 3, PROBE_ALLOC_MIMALLOC = 4 };

/* Header flags. */
#define PROBE_FLAG_SIZES 1u        /* live bytes are counted (the next allocator's malloc_usable_size was found) */
#define PROBE_FLAG_STATS_THREAD 2u /* the statistics thread runs in this process */
#define PROBE_FLAG_FORKED 4u       /* this file belongs to a child created by fork() without exec */
#define PROBE_FLAG_ARENA_LIST 8u   /* glibc: the arena list is read directly (known glibc version, checked layout) */

/* Statistics slots, by allocator (a bit in stats_valid says the slot holds a value). */
enum {
  /* glibc: mallinfo2() and malloc_info() */
  GLIBC_ARENA = 0, GLIBC_UORDBLKS = 1, GLIBC_FORDBLKS = 2, GLIBC_HBLKHD = 3, GLIBC_KEEPCOST = 4, GLIBC_ARENAS = 5, GLIBC_HBLKS = 6,
  /* jemalloc: mallctl("stats.*") after an "epoch" refresh */
  JE_ALLOCATED = 0, JE_ACTIVE = 1, JE_RESIDENT = 2, JE_RETAINED = 3, JE_MAPPED = 4, JE_METADATA = 5, JE_NARENAS = 6,
  /* tcmalloc: MallocExtension_GetNumericProperty */
  TC_ALLOCATED = 0, TC_HEAP_SIZE = 1, TC_PAGEHEAP_FREE = 2, TC_PAGEHEAP_UNMAPPED = 3, TC_THREAD_CACHE = 4, TC_CENTRAL_FREE = 5, TC_TRANSFER_FREE = 6,
  /* mimalloc: mi_process_info, and the options that decide when it gives memory back */
  MI_COMMIT = 0, MI_PEAK_COMMIT = 1, MI_RSS = 2, MI_PEAK_RSS = 3,
  /* glibc, every round: the arena list read without locks (no free-list walk; PROBE_FLAG_ARENA_LIST). Slots 0-4
   * and 6 come from mallinfo2(), a cross-check at a low rate: GLIBC_MALLINFO_NS says when, and what it cost. */
  GLIBC_SYSTEM_MEM = 7, GLIBC_TOP_BYTES = 8, GLIBC_MALLINFO_NS = 9, GLIBC_MALLINFO_COST_NS = 21,
  /* jemalloc: dirty and muzzy pages (bytes), whether a background thread purges, the decay times (ms, -1 never) */
  JE_DIRTY = 7, JE_MUZZY = 8, JE_BACKGROUND_THREAD = 9, JE_DIRTY_DECAY_MS = 21, JE_MUZZY_DECAY_MS = 22,
  /* tcmalloc: its own metadata */
  TC_METADATA = 7,
  /* mimalloc 2.0.x options (ms): decommit_delay (formerly reset_delay), segment_decommit_delay */
  MI_DECOMMIT_DELAY = 4, MI_SEGMENT_DECOMMIT_DELAY = 5, MI_VERSION = 6,
  /* every allocator: the process's own memory map (/proc/self/smaps, read by the probe thread), and the live
   * counters summed at that moment, so the figures of one publication describe one instant */
  PMAP_LIVE_BYTES = 10, PMAP_LIVE_BLOCKS = 11, PMAP_ANON = 12, PMAP_HEAP = 13, PMAP_DIRECT = 14, PMAP_DIRECT_USABLE = 15,
  PMAP_DIRECT_BLOCKS = 16, PMAP_STACKS = 17, PMAP_LAZYFREE = 18, PMAP_PROBE = 19, PMAP_COST_NS = 20,
  /* every allocator: CPU time of the last collection on the probe thread (ns) */
  STAT_COST_NS = 23,
};

struct probe_header {
  char magic[8];          /*   0 "ALCPROBE", written last so a reader never sees a half-built header */
  uint32_t version;       /*   8 */
  uint32_t header_size;   /*  12 offset of the first shard */
  uint32_t shard_count;   /*  16 */
  uint32_t shard_size;    /*  20 */
  int32_t pid;            /*  24 the process counting into this file */
  int32_t parent_pid;     /*  28 the parent when created after fork(), else 0 */
  uint32_t allocator;     /*  32 enum probe_allocator */
  uint32_t flags;         /*  36 PROBE_FLAG_* */
  uint64_t start_ns;      /*  40 CLOCK_MONOTONIC when the file was created */
  char allocator_path[208]; /* 48 the library that serves malloc (dladdr), NUL-terminated */
};

struct probe_stats {
  uint64_t seq;           /* 256 odd while the probe thread writes */
  uint64_t time_ns;       /* 264 CLOCK_MONOTONIC of the last publication */
  uint64_t count;         /* 272 publications so far */
  uint64_t valid;         /* 280 bit i set: slot i holds a value */
  uint64_t slot[PROBE_STAT_SLOTS]; /* 288 */
};

/* Control: a reader (alloclab trim) writes request_op, then bumps request_seq; the probe thread runs the request
 * on its own thread (never in a signal handler) and publishes the result, then sets done_seq = request_seq. */
enum probe_op { PROBE_OP_NONE = 0, PROBE_OP_TRIM = 1 };

struct probe_control {
  uint64_t request_seq;   /* 512 bumped by the requester after writing request_op */
  uint32_t request_op;    /* 520 enum probe_op */
  uint32_t pad0;          /* 524 */
  uint64_t done_seq;      /* 528 request_seq of the last request answered */
  int64_t result;         /* 536 the operation's return value (malloc_trim: 1 if memory was returned), -1 unsupported */
  uint64_t rss_before;    /* 544 bytes of RSS just before the operation (from /proc/self/statm, in the target) */
  uint64_t rss_after;     /* 552 bytes of RSS just after */
  uint64_t done_ns;       /* 560 CLOCK_MONOTONIC when it was answered */
  uint64_t pad1;          /* 568 */
};

/* Sampling: the sampled heap profiler (sampling.c) says what it does; settings come from the environment. */
enum probe_unwinder { PROBE_UNWIND_NONE = 0, PROBE_UNWIND_FP = 1, PROBE_UNWIND_LIBUNWIND = 2, PROBE_UNWIND_GCC = 3 };

struct probe_sampling {
  uint64_t interval_bytes; /* 576 mean sampling interval; 0: sampling off */
  uint32_t max_depth;      /* 584 frames kept per stack */
  uint32_t unwinder;       /* 588 enum probe_unwinder, the method in use */
  uint64_t samples;        /* 592 allocations sampled so far */
  uint64_t dropped;        /* 600 samples lost (a buffer was full) */
  uint64_t live_tracked;   /* 608 sampled blocks still live (tracked for frees) */
  uint64_t bytes_written;  /* 616 bytes of sample records drained into the run folder */
  uint64_t reserved[2];    /* 624 */
};

struct probe_shard {
  int64_t live_bytes;     /* may go negative in one shard: memory is often freed by another thread */
  uint64_t allocations;
  uint64_t frees;
  uint64_t pad[5];
} __attribute__((aligned(64)));

struct probe_shm {
  struct probe_header h;
  struct probe_stats s;
  char pad[512 - sizeof(struct probe_header) - sizeof(struct probe_stats)];
  struct probe_control c;
  struct probe_sampling sampling;
  char reserved[1024 - 640];
  struct probe_shard shard[PROBE_SHARDS];
};

_Static_assert(sizeof(struct probe_header) == 256, "header is 256 bytes");
_Static_assert(sizeof(struct probe_stats) == 224, "stats block size");
_Static_assert(sizeof(struct probe_shard) == 64, "one cache line per shard");
_Static_assert(sizeof(struct probe_control) == 64, "control block size");
_Static_assert(sizeof(struct probe_sampling) == 64, "sampling block size");
_Static_assert(__builtin_offsetof(struct probe_shm, c) == 512, "control at 512");
_Static_assert(__builtin_offsetof(struct probe_shm, sampling) == 576, "sampling at 576");
_Static_assert(__builtin_offsetof(struct probe_shm, shard) == 1024, "shards start at 1024");

#endif
