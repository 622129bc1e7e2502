/* liballoclab-probe.so: counts live heap bytes inside the target at almost no cost, under any allocator.
 *
 * LD_PRELOAD="liballoclab-probe.so [allocator.so] [user preloads]" with ALLOCLAB_PROBE_SHM=/path/file.
 * Every allocation entry point (C and C++) forwards to the next definition in lookup order (RTLD_NEXT: the
 * preloaded allocator, or glibc) and adds the block's usable size, as that allocator reports it, to a
 * counter shard in a shared-memory file. A thread (figures.c) publishes the allocator's own statistics and the
 * process's memory map every ~250 ms, and answers requests such as malloc_trim.
 *
 * Design notes (the why):
 * - Re-entry: dlsym allocates while we resolve malloc, so the first calls are served from a static buffer.
 *   Allocators call back into malloc from inside their own functions (libstdc++'s operator new calls malloc,
 *   tcmalloc's malloc_usable_size allocates): a thread-local guard makes nested calls plain forwards, so each
 *   block is counted once, by the outermost entry point, and both its allocation and its free are seen at the
 *   same level.
 * - Hot path: a few thread-local reads (guard, shard) and two plain stores to a cache line that only this
 *   thread writes (up to 56 threads; more share 8 shards with atomic adds). No lock, no system call. When the
 *   probe only samples (no file: `alloclab profile`), malloc, free, plain new and delete take shorter paths still:
 *   no counters, no size lookup, frees without the guard (see "Short paths" below).
 * - fork() without exec: the child must not count into the parent's file (the sampler follows the main pid
 *   and the parent's figure would include the child's). The child re-creates its own file at
 *   "$ALLOCLAB_PROBE_SHM.<childpid>", seeded with the parent's counters at fork time (its heap is a copy of
 *   the parent's, so that is its live heap). It has no statistics thread. A child that execs (with the
 *   variables inherited) finds the main file owned by another live pid and also uses "<path>.<pid>".
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "figures.h"
#include "probe.h"
#include "sampling.h"

#define EXPORT __attribute__((visibility("default")))
#define LIKELY(x) __builtin_expect(!!(x), 1)
#define UNLIKELY(x) __builtin_expect(!!(x), 0)
#define TLS __thread __attribute__((tls_model("initial-exec")))

/* ---- the next allocator ------------------------------------------------------------------------------ */

static void *(*next_malloc)(size_t);
static void (*next_free)(void *);
static void *(*next_calloc)(size_t, size_t);
static void *(*next_realloc)(void *, size_t);
static int (*next_posix_memalign)(void **, size_t, size_t);
static void *(*next_aligned_alloc)(size_t, size_t);
static void *(*next_memalign)(size_t, size_t);
static size_t (*next_usable)(void *);

static int resolving;
static int resolved;

/* The bootstrap buffer: dlsym (and ld.so before our constructor) may allocate while malloc is unresolved. */
static char boot_buf[64 * 1024] __attribute__((aligned(16)));
static size_t boot_used;

static inline int is_boot(const void *p) { return (uintptr_t)p - (uintptr_t)boot_buf < sizeof boot_buf; }

static void *boot_alloc(size_t n) {
  size_t need = 16 + ((n + 15) & ~(size_t)15);
  size_t at = __atomic_fetch_add(&boot_used, need, __ATOMIC_RELAXED);
  if (at + need > sizeof boot_buf) return NULL;
  *(size_t *)(boot_buf + at) = n;
  return boot_buf + at + 16;
}

static size_t boot_size(const void *p) { return *(const size_t *)((const char *)p - 16); }

static void *lookup(const char *name) { return dlsym(RTLD_NEXT, name); }

static void resolve(void) {
  if (resolved || resolving) return;
  resolving = 1;
  next_malloc = lookup("malloc");
  next_free = lookup("free");
  next_calloc = lookup("calloc");
  next_realloc = lookup("realloc");
  next_posix_memalign = lookup("posix_memalign");
  next_aligned_alloc = lookup("aligned_alloc");
  next_memalign = lookup("memalign");
  size_t (*usable)(void *) = lookup("malloc_usable_size");
  /* Only trust malloc_usable_size from the library that serves malloc: glibc's on a foreign block would read
   * garbage. Without it, allocations and frees are still counted, live bytes are not (flag cleared). */
  Dl_info a, b;
  if (usable && next_malloc && dladdr((void *)next_malloc, &a) && dladdr((void *)usable, &b) && a.dli_fbase == b.dli_fbase)
    next_usable = usable;
  resolving = 0;
  if (!next_malloc || !next_free || !next_calloc || !next_realloc || !next_memalign) {
    static const char msg[] = "alloclab-probe: cannot find the next malloc; aborting\n";
    (void)!write(2, msg, sizeof msg - 1);
    abort();
  }
  __atomic_store_n(&resolved, 1, __ATOMIC_RELEASE);
}

/* ---- counters ---------------------------------------------------------------------------------------- */

/* Counting starts before the constructor creates the file (ld.so and libc allocate first): into this private
 * copy, which is carried over into the file when it is created. */
static struct probe_shm boot_shm;
static struct probe_shm *shm = &boot_shm;

/* Not static: sampling.c runs under the same guard (hidden by -fvisibility=hidden). */
TLS int in_probe;

/* Shards 0..EXCLUSIVE_SHARDS-1 each belong to one thread at a time, which updates them with plain (unlocked)
 * stores: a locked add costs more than the rest of the probe's work together. The last shards are shared, with
 * atomic adds, by threads beyond that number and by threads past their exit destructor. */
#define EXCLUSIVE_SHARDS 56u
static int shard_owner[PROBE_SHARDS];
static pthread_key_t shard_key;
static int shard_key_ok;
static pthread_once_t shard_once = PTHREAD_ONCE_INIT;
static TLS unsigned shard_plus1;
static TLS int shard_exclusive;
static unsigned next_shared;

static unsigned shared_shard(void) {
  return EXCLUSIVE_SHARDS + 1 + __atomic_fetch_add(&next_shared, 1, __ATOMIC_RELAXED) % (PROBE_SHARDS - EXCLUSIVE_SHARDS);
}

/* Thread exit: give the shard back (its counts stay in it, the next owner adds to them). */
static void release_shard(void *unused) {
  (void)unused;
  unsigned s = shard_plus1;
  if (s && shard_exclusive) {
    shard_exclusive = 0;
    shard_plus1 = shared_shard();
    __atomic_store_n(&shard_owner[s - 1], 0, __ATOMIC_RELEASE);
  }
}

static void make_key(void) { shard_key_ok = pthread_key_create(&shard_key, release_shard) == 0; }

static void claim_shard(void) {
  pthread_once(&shard_once, make_key);
  if (shard_key_ok) {
    for (unsigned i = 0; i < EXCLUSIVE_SHARDS; i++) {
      int expected = 0;
      if (__atomic_load_n(&shard_owner[i], __ATOMIC_RELAXED) == 0 &&
          __atomic_compare_exchange_n(&shard_owner[i], &expected, 1, 0, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED)) {
        shard_plus1 = i + 1;
        shard_exclusive = 1;
        pthread_setspecific(shard_key, (void *)1);
        return;
      }
    }
  }
  shard_exclusive = 0;
  shard_plus1 = shared_shard();
}

static inline __attribute__((always_inline)) struct probe_shard *my_shard(void) {
  if (UNLIKELY(shard_plus1 == 0)) claim_shard();
  return &__atomic_load_n(&shm, __ATOMIC_RELAXED)->shard[shard_plus1 - 1];
}

static inline void bump(int64_t *field, int64_t delta) {
  if (LIKELY(shard_exclusive)) __atomic_store_n(field, __atomic_load_n(field, __ATOMIC_RELAXED) + delta, __ATOMIC_RELAXED);
  else __atomic_fetch_add(field, delta, __ATOMIC_RELAXED);
}

static int glibc_fast; /* set once the next malloc is known to be glibc's own */

/* glibc's malloc_usable_size also reads the next chunk's header (to check the block is in use), often another
 * cache line; the block's own header is enough for a block we are handed by the program: size minus the
 * header word, minus one more for mmapped chunks (their size field does not overlap the next chunk). */
static inline size_t glibc_usable(const void *p) {
  size_t h = ((const size_t *)p)[-1];
  return (h & 2) ? (h & ~(size_t)7) - 2 * sizeof(size_t) : (h & ~(size_t)7) - sizeof(size_t);
}

static inline size_t usable(void *p) {
  if (LIKELY(glibc_fast)) return glibc_usable(p);
  return next_usable ? next_usable(p) : 0;
}

/* jemalloc's and tcmalloc's malloc_usable_size look the block up in their page maps, a cache miss that can cost
 * more than the allocation; nallocx computes the same size from the request. Checked at start (see
 * detect_allocator) and used for plain, unaligned requests only. */
static size_t (*next_nallocx)(size_t, int);
static int nallocx_ok;  /* nallocx(n) == malloc_usable_size(malloc(n)) was checked */
static int je_classes;  /* the formula below matched nallocx on every size checked: skip even the call */

/* jemalloc 5's size classes with a 16-byte quantum and 4 classes per doubling (sz_s2u_compute). */
static inline size_t je_usize(size_t n) {
  if (n <= 8) return 8;
  unsigned x = 63u - (unsigned)__builtin_clzll((unsigned long long)((n << 1) - 1));
  size_t delta = (size_t)1 << (x < 7 ? 4 : x - 3);
  return (n + delta - 1) & ~(delta - 1);
}

static inline size_t request_usable(void *p, size_t n) {
  if (je_classes && n) return je_usize(n);
  if (nallocx_ok && n) return next_nallocx(n, 0);
  return usable(p);
}

/* 0 when no file receives the counts (the probe only samples): no shard updates and no size lookups, and malloc,
 * free, operator new and delete take their short paths. Set once, in the constructor, before any thread of the
 * program runs. */
static int counting = 1;

/* With counting == 0, whether the short paths may call the next allocator without the re-entry guard: set when it
 * is one of the four known (glibc, jemalloc, tcmalloc, mimalloc). Their malloc and their own plain operator new
 * never serve a block by calling another public entry point, so whatever they allocate inside (a thread's start-up,
 * jemalloc's background thread) is a distinct block, sampled on its own merits, and no block can be sampled twice.
 * Not so their aligned operator new: jemalloc's calls aligned_alloc through its PLT, which is the probe's, so the
 * aligned variants keep the guard (NEW_FN_AS). An unknown allocator may wrap one entry point in another (a custom
 * operator new over malloc): the guard stays (tested with native/testprogs/custom-alloc.c).
 * The probe's own work runs as PROBE_OWN, which the sampling slow path refuses, so it never samples itself. */
static int direct_c;   /* malloc: the next malloc is a known allocator's */
static int direct_cxx; /* operator new: the next one is that allocator's own (jemalloc, tcmalloc, mimalloc) */

/* ---- blocks glibc mmapped directly ------------------------------------------------------------------------
 * The ledger reports them apart from the heap (their resident pages, and their usable bytes taken out of the
 * heap's live bytes). The map alone cannot find them all: the kernel merges adjacent anonymous mmaps into one
 * mapping, so a block can sit behind a region of the program's own (seen on MariaDB: 31 of its 39 MiB of direct
 * blocks). The probe sees each one when it is handed out, by the IS_MMAPPED bit of its chunk header, and records
 * its mapping here; a block leaves the table before it goes back to glibc (once unmapped, its address may be
 * mapped again by another thread at once). Such blocks are at least the mmap threshold (128 KiB to 32 MiB) and
 * each costs glibc an mmap and a munmap, so the lock below is taken rarely and held for a few probes.
 * Linear probing with backward-shift deletion (no tombstones), at most a quarter full; past PROBE_DIRECT_MAX blocks
 * the table is given up for the run and the statistics thread falls back to walking the map. */
#define DIRECT_SLOTS (4 * PROBE_DIRECT_MAX)
static struct probe_direct_block direct_table[DIRECT_SLOTS]; /* start 0: empty */
static unsigned direct_used;
static int direct_full;
static char direct_lock;

static inline int glibc_direct(const void *p) { return (((const size_t *)p)[-1] & 2) != 0; }

static inline unsigned direct_home(uintptr_t start) {
  return (unsigned)(((uint64_t)(start >> 12) * 0x9E3779B97F4A7C15ull) >> 50) & (DIRECT_SLOTS - 1);
}

static void direct_take(void) {
  while (__atomic_test_and_set(&direct_lock, __ATOMIC_ACQUIRE))
    while (__atomic_load_n(&direct_lock, __ATOMIC_RELAXED)) __builtin_ia32_pause();
}

static void direct_give(void) { __atomic_clear(&direct_lock, __ATOMIC_RELEASE); }

/* The mapping of a directly mmapped block: it starts prev_size bytes before the chunk (an alignment correction). */
static struct probe_direct_block direct_of(const void *p) {
  const size_t *chunk = (const size_t *)p - 2;
  size_t size = chunk[1] & ~(size_t)7, correction = chunk[0];
  struct probe_direct_block b = {(uintptr_t)chunk - correction, correction + size, size - 2 * sizeof(size_t)};
  return b;
}

static void direct_enter(const void *p) {
  struct probe_direct_block b = direct_of(p);
  direct_take();
  if (!direct_full && direct_used < PROBE_DIRECT_MAX) {
    unsigned i = direct_home(b.start);
    while (direct_table[i].start && direct_table[i].start != b.start) i = (i + 1) & (DIRECT_SLOTS - 1);
    if (!direct_table[i].start) direct_used++;
    direct_table[i] = b;
  } else {
    direct_full = 1;
  }
  direct_give();
}

static void direct_leave(const void *p) {
  uintptr_t start = direct_of(p).start;
  direct_take();
  unsigned i = direct_home(start);
  while (direct_table[i].start && direct_table[i].start != start) i = (i + 1) & (DIRECT_SLOTS - 1);
  if (direct_table[i].start) {
    direct_used--;
    /* Backward shift: move up each later entry of the run whose home does not lie in (i, j]. */
    for (unsigned j = (i + 1) & (DIRECT_SLOTS - 1); direct_table[j].start; j = (j + 1) & (DIRECT_SLOTS - 1)) {
      unsigned h = direct_home(direct_table[j].start);
      if (((j - h) & (DIRECT_SLOTS - 1)) >= ((j - i) & (DIRECT_SLOTS - 1))) {
        direct_table[i] = direct_table[j];
        i = j;
      }
    }
    direct_table[i].start = 0;
  }
  direct_give();
}

/* Counting glibc blocks: a block being handed out, or one about to go back (returns whether it is in the table's
 * care, so a failed realloc can put it back). */
static inline void direct_handed_out(const void *p) {
  if (glibc_fast && UNLIKELY(glibc_direct(p))) direct_enter(p);
}

static inline int direct_going_back(const void *p) {
  if (!glibc_fast || LIKELY(!glibc_direct(p))) return 0;
  direct_leave(p);
  return 1;
}

int probe_direct_blocks(struct probe_direct_block *out, unsigned max) {
  if (!glibc_fast || !counting) return -1;
  direct_take();
  int n = direct_full ? -1 : 0;
  for (unsigned i = 0; n >= 0 && i < DIRECT_SLOTS; i++) {
    if (!direct_table[i].start) continue;
    if ((unsigned)n == max) n = -1;
    else out[n++] = direct_table[i];
  }
  direct_give();
  return n;
}

/* USABLE: the usable size (what the ledger counts), evaluated only when counting; request: what the program asked
 * for (what the profile samples and reports). */
#define COUNT_ALLOC(p, USABLE, request)                  \
  do {                                                   \
    if (LIKELY(counting)) {                              \
      struct probe_shard *s_ = my_shard();               \
      bump(&s_->live_bytes, (int64_t)(USABLE));          \
      bump((int64_t *)&s_->allocations, 1);              \
      direct_handed_out(p);                              \
    }                                                    \
    sampling_on_alloc((p), (request));                   \
  } while (0)

static inline __attribute__((always_inline)) void count_free(size_t n) {
  if (UNLIKELY(!counting)) return;
  struct probe_shard *s = my_shard();
  bump(&s->live_bytes, -(int64_t)n);
  bump((int64_t *)&s->frees, 1);
}

static void count_resize(size_t before, size_t after) {
  bump(&my_shard()->live_bytes, (int64_t)after - (int64_t)before);
}

/* Resets the guard also when a C++ operator new throws through us (built with -fexceptions). */
static void leave(int *g) { *g = 0; in_probe = 0; }
#define ENTER int guard_ __attribute__((cleanup(leave))) = 1; in_probe = guard_

#define ENSURE() do { if (UNLIKELY(!__atomic_load_n(&resolved, __ATOMIC_ACQUIRE))) resolve(); } while (0)

/* The block's usable size, for a sampled block's record (sampling.c); called under the guard. */
size_t probe_usable_size(void *p) { return usable(p); }

/* Short paths, when the probe only samples (counting == 0): no size lookup, no counters. An allocation calls the
 * next allocator directly (direct_c, direct_cxx) or under the guard, then runs the countdown; the sampling slow
 * path takes the guard itself. A free needs no guard: it looks at the live-sample filter and hands the block on
 * (a tail call); the rare "maybe sampled" goes to the slow path. */
static __attribute__((noinline, cold)) void forget_sampled(void *p) {
  if (in_probe) return; /* a free nested in an entry point or in the probe's own work: never a sampled block */
  sampling_forget(p);
}

#define SHORT_FREE_CHECK(PTR)                                        \
  do {                                                               \
    if (UNLIKELY(sampling_maybe_live(PTR))) forget_sampled(PTR);      \
  } while (0)

/* The hottest allocations (malloc, plain new) are each one indirect jump through entry_<name>: to the full path
 * (counting, and always during start-up), or, once the constructor knows the probe only samples, to a short path
 * (short_paths_init). The hottest frees (free, plain and sized delete) are the short path themselves, behind one
 * test of their target pointer (NULL: the full path): the short path ends in an indirect jump to the allocator, so
 * a second one in front of it would cost a free more than the test does (measured on the demo service).
 * The short paths keep no frame pointer (they save one register at most); a frame-pointer walk still sees the
 * program's call site, since the sampling slow path is reached by a tail call into sample_then, whose own frame
 * then holds the return address into the program. */
#define SHORT_FN static __attribute__((noinline, optimize("omit-frame-pointer")))
/* An exported entry point that is itself the short path (free, the deletes). */
#define SHORT_EXPORT EXPORT __attribute__((optimize("omit-frame-pointer")))

static __attribute__((noinline)) void *sample_then(void *p, size_t request) {
  sampling_take(p, request);
  return p;
}

/* ---- C entry points ---------------------------------------------------------------------------------- */

static __attribute__((noinline)) void *malloc_full(size_t n) {
  if (UNLIKELY(!__atomic_load_n(&resolved, __ATOMIC_ACQUIRE))) {
    if (resolving) return boot_alloc(n);
    resolve();
  }
  if (in_probe) return next_malloc(n);
  ENTER;
  void *p = next_malloc(n);
  if (LIKELY(p != NULL)) COUNT_ALLOC(p, request_usable(p, n), n);
  return p;
}

SHORT_FN void *malloc_short(size_t n) {
  void *p;
  if (LIKELY(direct_c)) {
    p = next_malloc(n);
  } else {
    if (UNLIKELY(in_probe)) return next_malloc(n);
    in_probe = PROBE_GUARD;
    p = next_malloc(n);
    in_probe = 0;
  }
  if (LIKELY(p != NULL) && sampling_due(n)) return sample_then(p, n);
  return p;
}

static void *(*entry_malloc)(size_t) = malloc_full;

EXPORT void *malloc(size_t n) { return entry_malloc(n); }

static __attribute__((noinline)) void free_full(void *p) {
  if (!p || UNLIKELY(is_boot(p))) return;
  ENSURE();
  if (in_probe) {
    next_free(p);
    return;
  }
  ENTER;
  size_t n = usable(p);
  if (LIKELY(counting)) direct_going_back(p);
  sampling_on_free(p);
  next_free(p);
  count_free(n);
}

/* Like the deletes below: the short target (next_free, set by short_paths_init) or the full path. */
static void (*short_free)(void *);

SHORT_EXPORT void free(void *p) {
  if (UNLIKELY(!short_free)) {
    free_full(p);
    return;
  }
  if (UNLIKELY(is_boot(p))) return;
  SHORT_FREE_CHECK(p);
  short_free(p);
}

EXPORT void *calloc(size_t k, size_t n) {
  if (UNLIKELY(!__atomic_load_n(&resolved, __ATOMIC_ACQUIRE))) {
    if (resolving) {
      if (n && k > SIZE_MAX / n) return NULL;
      return boot_alloc(k * n); /* static storage is zero and never reused */
    }
    resolve();
  }
  if (in_probe) return next_calloc(k, n);
  ENTER;
  void *p = next_calloc(k, n);
  if (LIKELY(p != NULL)) COUNT_ALLOC(p, request_usable(p, k * n), k * n);
  return p;
}

static void *realloc_counted(void *p, size_t n) {
  if (UNLIKELY(p && is_boot(p))) {
    void *q = malloc(n);
    if (q) memcpy(q, p, boot_size(p) < n ? boot_size(p) : n);
    return q;
  }
  ENSURE();
  if (in_probe) return next_realloc(p, n);
  ENTER;
  size_t before = p && counting ? usable(p) : 0;
  int direct_before = p && counting ? direct_going_back(p) : 0;
  if (p) sampling_on_free(p); /* a moved block is a new one to the profile, sampled by its new size */
  void *q = next_realloc(p, n);
  if (q) {
    if (p) {
      if (counting) {
        count_resize(before, usable(q));
        direct_handed_out(q);
      }
      sampling_on_alloc(q, n);
    } else {
      COUNT_ALLOC(q, usable(q), n);
    }
  } else if (p && n == 0) {
    count_free(before); /* glibc (and jemalloc's zero_realloc:free) free the block and return NULL */
  } else if (direct_before) {
    direct_enter(p); /* the block stays where it was */
  }
  return q;
}

EXPORT void *realloc(void *p, size_t n) { return realloc_counted(p, n); }

EXPORT void *reallocarray(void *p, size_t k, size_t n) {
  if (n && k > SIZE_MAX / n) {
    errno = ENOMEM;
    return NULL;
  }
  return realloc_counted(p, k * n);
}

static void *memalign_counted(size_t align, size_t n) {
  ENSURE();
  if (in_probe) return next_memalign(align, n);
  ENTER;
  void *p = next_memalign(align, n);
  if (p) COUNT_ALLOC(p, usable(p), n);
  return p;
}

EXPORT int posix_memalign(void **out, size_t align, size_t n) {
  ENSURE();
  if (!next_posix_memalign) {
    if (align < sizeof(void *) || (align & (align - 1))) return EINVAL;
    void *p = memalign_counted(align, n);
    if (!p) return ENOMEM;
    *out = p;
    return 0;
  }
  if (in_probe) return next_posix_memalign(out, align, n);
  ENTER;
  int rc = next_posix_memalign(out, align, n);
  if (rc == 0) COUNT_ALLOC(*out, usable(*out), n);
  return rc;
}

EXPORT void *aligned_alloc(size_t align, size_t n) {
  ENSURE();
  if (!next_aligned_alloc) return memalign_counted(align, n);
  if (in_probe) return next_aligned_alloc(align, n);
  ENTER;
  void *p = next_aligned_alloc(align, n);
  if (p) COUNT_ALLOC(p, usable(p), n);
  return p;
}

EXPORT void *memalign(size_t align, size_t n) { return memalign_counted(align, n); }

/* valloc and pvalloc go through memalign: jemalloc does not export pvalloc, and glibc's would then hand out a
 * glibc block that the preloaded allocator's free cannot take back. */
EXPORT void *valloc(size_t n) { return memalign_counted((size_t)sysconf(_SC_PAGESIZE), n); }

EXPORT void *pvalloc(size_t n) {
  size_t page = (size_t)sysconf(_SC_PAGESIZE);
  if (n > SIZE_MAX - page) {
    errno = ENOMEM;
    return NULL;
  }
  return memalign_counted(page, n ? (n + page - 1) & ~(page - 1) : page);
}

/* ---- C++ entry points -------------------------------------------------------------------------------- */
/* Each forwards to the next definition: libstdc++'s (which calls malloc, reached here under the guard) or the
 * preloaded allocator's own. Without libstdc++ loaded nobody calls them; the fallback still serves them. */

typedef struct { int unused; } nothrow_t_;

/* The next operator new is libstdc++'s, which is malloc in a loop over the new-handler (aligned: aligned_alloc),
 * and its operator delete is free: then call malloc and free directly, and libstdc++ only when malloc fails
 * (new-handler, bad_alloc). Saves two calls and a second pass through the probe per allocation. */
static int cxx_via_malloc;
static int cxx_own; /* the next operator new is in the library that serves malloc (jemalloc, tcmalloc, mimalloc) */

static void *new_fallback(size_t n, size_t align, int nothrow) {
  void *p = align ? next_memalign(align, n ? n : 1) : next_malloc(n ? n : 1);
  if (!p && !nothrow) abort(); /* cannot throw std::bad_alloc from C */
  return p;
}

#define NEW_FN(sym, PARAMS, ARGS, SIZE, ALIGN, NOTHROW) NEW_FN_AS(sym, sym, EXPORT, PARAMS, ARGS, SIZE, ALIGN, NOTHROW)

/* Defines next_<sym>, <sym>_full and the entry point `name` (exported, or a static one a shorter entry point
 * falls back to). */
#define NEW_FN_AS(sym, name, LINKAGE, PARAMS, ARGS, SIZE, ALIGN, NOTHROW)  \
  static void *(*next_##sym) PARAMS;                                      \
  static __attribute__((noinline)) void *sym##_full PARAMS {              \
    void *(*next) PARAMS;                                                 \
    ENSURE();                                                             \
    if (UNLIKELY(!next_##sym)) next_##sym = lookup(#sym);                 \
    next = next_##sym;                                                    \
    if (in_probe) return next ? next ARGS : new_fallback(SIZE, ALIGN, NOTHROW); \
    ENTER;                                                                \
    void *p = NULL;                                                       \
    if (!(ALIGN) && cxx_via_malloc) p = next_malloc((SIZE) ? (SIZE) : 1); \
    if (UNLIKELY(!p)) p = next ? next ARGS : new_fallback(SIZE, ALIGN, NOTHROW); \
    if (LIKELY(p != NULL)) COUNT_ALLOC(p, ALIGN ? usable(p) : request_usable(p, SIZE), SIZE); \
    return p;                                                             \
  }                                                                       \
  LINKAGE void *name PARAMS {                                             \
    void *(*next) PARAMS = next_##sym;                                    \
    if (counting || UNLIKELY(!next)) return sym##_full ARGS;              \
    void *p = NULL;                                                       \
    if (!(ALIGN) && cxx_via_malloc && direct_c) {                         \
      /* libstdc++'s operator new is malloc in a loop: call malloc; only a failure needs libstdc++ (new-handler, \
       * bad_alloc), under the guard, which the full path gives. */     \
      p = next_malloc((SIZE) ? (SIZE) : 1);                               \
      if (UNLIKELY(!p)) return sym##_full ARGS;                           \
    } else if (direct_cxx && !(ALIGN)) {                                   \
      p = next ARGS;                                                      \
    } else {                                                              \
      if (UNLIKELY(in_probe)) return next ARGS;                           \
      ENTER;                                                              \
      if (!(ALIGN) && cxx_via_malloc) p = next_malloc((SIZE) ? (SIZE) : 1); \
      if (UNLIKELY(!p)) p = next ARGS;                                    \
    }                                                                     \
    if (LIKELY(p != NULL)) sampling_on_alloc(p, SIZE);                    \
    return p;                                                             \
  }

/* Sized deletes carry the size given to new: nallocx turns it into the usable size without a page-map lookup
 * (that lookup is what a sized delete saves the allocator; the probe should not add it back). */
#define DELETE_SIZE(PTR, SIZE) ((SIZE) ? request_usable((PTR), (SIZE)) : usable(PTR))

#define DELETE_FN(sym, PARAMS, ARGS, PTR) DELETE_SIZED_FN_AS(sym, sym, EXPORT, PARAMS, ARGS, PTR, 0)
#define DELETE_SIZED_FN(sym, PARAMS, ARGS, PTR, SIZE) DELETE_SIZED_FN_AS(sym, sym, EXPORT, PARAMS, ARGS, PTR, SIZE)

#define DELETE_SIZED_FN_AS(sym, name, LINKAGE, PARAMS, ARGS, PTR, SIZE)   \
  static void (*next_##sym) PARAMS;                                       \
  static __attribute__((noinline)) void sym##_full PARAMS {               \
    void (*next) PARAMS;                                                  \
    if (!PTR || UNLIKELY(is_boot(PTR))) return;                           \
    ENSURE();                                                             \
    if (UNLIKELY(!next_##sym)) next_##sym = lookup(#sym);                 \
    next = next_##sym;                                                    \
    if (in_probe) {                                                       \
      if (next && !cxx_via_malloc) next ARGS; else next_free(PTR);        \
      return;                                                             \
    }                                                                     \
    ENTER;                                                                \
    size_t sz_ = LIKELY(counting) ? DELETE_SIZE(PTR, SIZE) : 0;           \
    if (LIKELY(counting)) direct_going_back(PTR);                         \
    sampling_on_free(PTR);                                                \
    if (next && !cxx_via_malloc) next ARGS; else next_free(PTR);          \
    count_free(sz_);                                                      \
  }                                                                       \
  LINKAGE void name PARAMS {                                              \
    void (*next) PARAMS = next_##sym;                                     \
    if (counting || UNLIKELY(!next)) {                                    \
      sym##_full ARGS;                                                    \
      return;                                                             \
    }                                                                     \
    if (!PTR || UNLIKELY(is_boot(PTR))) return;                           \
    SHORT_FREE_CHECK(PTR);                                                \
    if (cxx_via_malloc) next_free(PTR); else next ARGS;                   \
  }

/* Plain new and delete (what std::allocator and every container use) dispatch like malloc and free (above): for
 * new, entry_<sym> goes to <sym>_full, to <sym>_general (the flag-tested short path above, for an allocator that
 * needs the guard), or to <sym>_short, which calls short_<sym>, the target chosen once by short_paths_init; a
 * delete tests short_<sym> itself. */
#define HOT static __attribute__((noinline))
static void *(*short__Znwm)(size_t), *(*short__Znam)(size_t);
static void (*short__ZdlPv)(void *), (*short__ZdaPv)(void *);
static void (*short__ZdlPvm)(void *, size_t), (*short__ZdaPvm)(void *, size_t);

#define NEW_SHORT(sym)                                                    \
  NEW_FN_AS(sym, sym##_general, HOT, (size_t n), (n), n, 0, 0)            \
  SHORT_FN void *sym##_short(size_t n) {                                  \
    void *p = short_##sym(n);                                             \
    if (UNLIKELY(!p)) return sym##_full(n); /* malloc failed: libstdc++'s new-handler and bad_alloc */ \
    if (sampling_due(n)) return sample_then(p, n);                        \
    return p;                                                             \
  }                                                                       \
  static void *(*entry_##sym)(size_t) = sym##_full;                       \
  EXPORT void *sym(size_t n) { return entry_##sym(n); }

/* Deletes test their short target first: NULL (counting, start-up, or no C++ runtime next) sends them to the full or
 * general path; otherwise the filter, then a tail call to the target. That test replaces the indirect jump through
 * entry_<sym> that new still takes: a delete then costs one indirect jump (to the allocator), not two.
 * They test neither NULL nor the bootstrap buffer: a NULL pointer reads the filter like any address (the slow path
 * ignores it) and is handed on to a delete, which takes NULL; operator new never returns a bootstrap block (only
 * malloc and calloc do, inside dlsym), and deleting a malloc'd block is undefined. Each test saved is an
 * instruction on every delete; free keeps both. */
#define DELETE_SHORT(sym)                                                 \
  DELETE_SIZED_FN_AS(sym, sym##_general, HOT, (void *p), (p), p, 0)       \
  SHORT_EXPORT void sym(void *p) {                                        \
    if (UNLIKELY(!short_##sym)) {                                         \
      sym##_general(p);                                                   \
      return;                                                             \
    }                                                                     \
    SHORT_FREE_CHECK(p);                                                  \
    short_##sym(p);                                                       \
  }

/* A sized delete goes to the allocator's own or, when libstdc++'s is next, to free (short_paths_init). */
#define DELETE_SIZED_SHORT(sym)                                           \
  DELETE_SIZED_FN_AS(sym, sym##_general, HOT, (void *p, size_t n), (p, n), p, n) \
  SHORT_EXPORT void sym(void *p, size_t n) {                              \
    if (UNLIKELY(!short_##sym)) {                                         \
      sym##_general(p, n);                                                \
      return;                                                             \
    }                                                                     \
    SHORT_FREE_CHECK(p);                                                  \
    short_##sym(p, n);                                                    \
  }

NEW_SHORT(_Znwm)
NEW_SHORT(_Znam)
NEW_FN(_ZnwmRKSt9nothrow_t, (size_t n, const nothrow_t_ *t), (n, t), n, 0, 1)
NEW_FN(_ZnamRKSt9nothrow_t, (size_t n, const nothrow_t_ *t), (n, t), n, 0, 1)
NEW_FN(_ZnwmSt11align_val_t, (size_t n, size_t a), (n, a), n, a, 0)
NEW_FN(_ZnamSt11align_val_t, (size_t n, size_t a), (n, a), n, a, 0)
NEW_FN(_ZnwmSt11align_val_tRKSt9nothrow_t, (size_t n, size_t a, const nothrow_t_ *t), (n, a, t), n, a, 1)
NEW_FN(_ZnamSt11align_val_tRKSt9nothrow_t, (size_t n, size_t a, const nothrow_t_ *t), (n, a, t), n, a, 1)

DELETE_SHORT(_ZdlPv)
DELETE_SHORT(_ZdaPv)
DELETE_SIZED_SHORT(_ZdlPvm)
DELETE_SIZED_SHORT(_ZdaPvm)
DELETE_FN(_ZdlPvRKSt9nothrow_t, (void *p, const nothrow_t_ *t), (p, t), p)
DELETE_FN(_ZdaPvRKSt9nothrow_t, (void *p, const nothrow_t_ *t), (p, t), p)
DELETE_FN(_ZdlPvSt11align_val_t, (void *p, size_t a), (p, a), p)
DELETE_FN(_ZdaPvSt11align_val_t, (void *p, size_t a), (p, a), p)
DELETE_FN(_ZdlPvmSt11align_val_t, (void *p, size_t n, size_t a), (p, n, a), p)
DELETE_FN(_ZdaPvmSt11align_val_t, (void *p, size_t n, size_t a), (p, n, a), p)
DELETE_FN(_ZdlPvSt11align_val_tRKSt9nothrow_t, (void *p, size_t a, const nothrow_t_ *t), (p, a, t), p)
DELETE_FN(_ZdaPvSt11align_val_tRKSt9nothrow_t, (void *p, size_t a, const nothrow_t_ *t), (p, a, t), p)

/* ---- the shared-memory file -------------------------------------------------------------------------- */

static char shm_path[4096];
static int allocator_kind;
static char allocator_file[208];

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int owner_alive(int fd) {
  struct probe_header h;
  if (pread(fd, &h, sizeof h, 0) != (ssize_t)sizeof h || memcmp(h.magic, PROBE_MAGIC, 8) != 0) return 0;
  if (h.pid == getpid()) return 0; /* we exec'd ourselves: the file is ours again */
  return kill(h.pid, 0) == 0 || errno == EPERM;
}

/* Opens the file this process counts into: the main path if free (or stale), else "<path>.<pid>". */
static int open_file(char *used, size_t cap) {
  snprintf(used, cap, "%s", shm_path);
  int fd = open(used, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0 && errno == EEXIST) {
    fd = open(used, O_RDWR | O_CLOEXEC);
    if (fd >= 0 && owner_alive(fd)) {
      close(fd);
      fd = -1;
    }
    if (fd < 0) {
      snprintf(used, cap, "%s.%d", shm_path, (int)getpid());
      fd = open(used, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    }
  }
  return fd;
}

/* Maps a fresh file, copies the counters so far (from `from`), and only then writes the magic. */
static struct probe_shm *create_shm(const struct probe_shm *from, int parent_pid, uint32_t flags) {
  char used[sizeof shm_path + 16];
  int fd = open_file(used, sizeof used);
  if (fd < 0) return NULL;
  struct probe_shm *m = MAP_FAILED;
  if (ftruncate(fd, sizeof *m) == 0) m = mmap(NULL, sizeof *m, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  close(fd);
  if (m == MAP_FAILED) return NULL;
  memset(m, 0, sizeof *m);
  m->h.version = PROBE_VERSION;
  m->h.header_size = __builtin_offsetof(struct probe_shm, shard);
  m->h.shard_count = PROBE_SHARDS;
  m->h.shard_size = sizeof(struct probe_shard);
  m->h.pid = getpid();
  m->h.parent_pid = parent_pid;
  m->h.allocator = allocator_kind;
  m->h.flags = flags | (next_usable ? PROBE_FLAG_SIZES : 0);
  m->h.start_ns = now_ns();
  memcpy(m->h.allocator_path, allocator_file, sizeof allocator_file);
  for (unsigned i = 0; i < PROBE_SHARDS; i++) {
    m->shard[i].live_bytes = __atomic_load_n(&from->shard[i].live_bytes, __ATOMIC_RELAXED);
    m->shard[i].allocations = __atomic_load_n(&from->shard[i].allocations, __ATOMIC_RELAXED);
    m->shard[i].frees = __atomic_load_n(&from->shard[i].frees, __ATOMIC_RELAXED);
  }
  __atomic_thread_fence(__ATOMIC_RELEASE);
  memcpy(m->h.magic, PROBE_MAGIC, 8);
  return m;
}

/* ---- allocator statistics ---------------------------------------------------------------------------- */

static void detect_allocator(void) {
  Dl_info info;
  allocator_kind = PROBE_ALLOC_UNKNOWN;
  if (!dladdr((void *)next_malloc, &info) || !info.dli_fname) return;
  snprintf(allocator_file, sizeof allocator_file, "%s", info.dli_fname);
  const char *base = strrchr(info.dli_fname, '/');
  base = base ? base + 1 : info.dli_fname;
  if (strstr(base, "jemalloc")) allocator_kind = PROBE_ALLOC_JEMALLOC;
  else if (strstr(base, "tcmalloc")) allocator_kind = PROBE_ALLOC_TCMALLOC;
  else if (strstr(base, "mimalloc")) allocator_kind = PROBE_ALLOC_MIMALLOC;
  else if (strncmp(base, "libc.so", 7) == 0 || strncmp(base, "libc-", 5) == 0) allocator_kind = PROBE_ALLOC_GLIBC;
  if ((allocator_kind == PROBE_ALLOC_JEMALLOC || allocator_kind == PROBE_ALLOC_TCMALLOC) && next_usable) {
    Dl_info n;
    next_nallocx = lookup("nallocx");
    int ok = next_nallocx && dladdr((void *)next_nallocx, &n) && n.dli_fbase == info.dli_fbase;
    static const size_t sizes[] = {1, 8, 24, 100, 1000, 3000, 4096, 10000, 40000, 100000, 1 << 20, 5 << 20};
    for (size_t i = 0; ok && i < sizeof sizes / sizeof sizes[0]; i++) {
      void *b = next_malloc(sizes[i]);
      ok = b && next_nallocx(sizes[i], 0) == next_usable(b);
      next_free(b);
    }
    nallocx_ok = ok;
    if (ok && allocator_kind == PROBE_ALLOC_JEMALLOC) {
      int same = 1;
      /* Every size up to 4 KiB, then around a geometric series up to 1 GiB: about 50 us at start. */
      for (size_t n = 1; same && n <= 4096; n++) same = je_usize(n) == next_nallocx(n, 0);
      for (size_t n = 4096; same && n <= ((size_t)1 << 30); n = n * 9 / 8 + 1)
        for (size_t m = n - 1; same && m <= n + 1; m++) same = je_usize(m) == next_nallocx(m, 0);
      je_classes = same;
    }
  }
  void *alloc_base = info.dli_fbase;
  void *next_new = lookup("_Znwm");
  if (next_new && dladdr(next_new, &info) && info.dli_fname && strstr(info.dli_fname, "libstdc++")) cxx_via_malloc = 1;
  else if (next_new && info.dli_fbase == alloc_base) cxx_own = 1;
  if (allocator_kind == PROBE_ALLOC_GLIBC && next_usable) {
    /* Check the header arithmetic against glibc's own answer on a small and an mmapped block before using it.
     * The big block is above 32 MiB (DEFAULT_MMAP_THRESHOLD_MAX): freeing a smaller mmapped block would raise
     * glibc's dynamic mmap threshold (and trim threshold) for the whole run, changing what the target retains. */
    void *small = next_malloc(100), *big = next_malloc(33 << 20);
    glibc_fast = small && big && glibc_usable(small) == next_usable(small) && glibc_usable(big) == next_usable(big);
    next_free(small);
    next_free(big);
  }
}

/* The hottest entry points' short paths (counting == 0): new goes to malloc when libstdc++'s new is malloc in a
 * loop, or to the allocator's own new, without the guard only for a known allocator (direct_c; otherwise the
 * flag-tested _general path, which keeps it); a delete goes to free or the allocator's own delete (frees never
 * need the guard). */
static void short_paths_init(void) {
  next__Znwm = lookup("_Znwm");
  next__Znam = lookup("_Znam");
  next__ZdlPv = lookup("_ZdlPv");
  next__ZdaPv = lookup("_ZdaPv");
  next__ZdlPvm = lookup("_ZdlPvm");
  next__ZdaPvm = lookup("_ZdaPvm");
  if (cxx_via_malloc && direct_c) {
    short__Znwm = next_malloc;
    short__Znam = next_malloc;
  } else if (direct_cxx) {
    short__Znwm = next__Znwm;
    short__Znam = next__Znam;
  }
  if (cxx_via_malloc || direct_cxx) {
    /* Unsized delete is free for libstdc++ and for the three allocators with their own operators (tcmalloc's and
     * mimalloc's are aliases of free; jemalloc's jumps to free through its PLT, which is the probe's free, so it
     * would take the filter twice). */
    short__ZdlPv = short__ZdaPv = next_free;
  } else {
    short__ZdlPv = next__ZdlPv;
    short__ZdaPv = next__ZdaPv;
  }
  if (cxx_via_malloc) {
    /* free ignores the size argument: a function of one argument called with two is harmless in the x86-64 and
     * aarch64 calling conventions, and saves a jump through a wrapper. */
    short__ZdlPvm = short__ZdaPvm = (void (*)(void *, size_t))(void (*)(void))next_free;
  } else {
    short__ZdlPvm = next__ZdlPvm;
    short__ZdaPvm = next__ZdaPvm;
  }
  entry_malloc = malloc_short;
  short_free = next_free;
  entry__Znwm = short__Znwm ? _Znwm_short : _Znwm_general;
  entry__Znam = short__Znam ? _Znam_short : _Znam_general;
}

/* What figures.c needs of this file. */
struct probe_shm *probe_file(void) { return __atomic_load_n(&shm, __ATOMIC_ACQUIRE); }
int probe_allocator_kind(void) { return allocator_kind; }
void probe_internal_thread(void) { in_probe = PROBE_OWN; }

/* Starts one of the probe's own threads, detached, with every signal blocked so it never takes a process-directed
 * signal meant for the target (a target that sigwait()s in main would otherwise be killed by the default action).
 * Returns pthread_create's result. */
int probe_start_thread(void *(*fn)(void *)) {
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  pthread_attr_setstacksize(&attr, 256 * 1024);
  pthread_t t;
  int rc = pthread_create(&t, &attr, fn, NULL);
  pthread_attr_destroy(&attr);
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  return rc;
}

static void start_stats_thread(void) {
  if (probe_start_thread(probe_stats_thread) == 0) shm->h.flags |= PROBE_FLAG_STATS_THREAD;
}

static void after_fork_child(void) {
  /* Only the forking thread lives on in the child: every other shard is free again. */
  for (unsigned i = 0; i < PROBE_SHARDS; i++) shard_owner[i] = shard_exclusive && shard_plus1 == i + 1;
  struct probe_shm *parent = shm;
  if (parent == &boot_shm) return;
  struct probe_shm *m = create_shm(parent, (int)getppid(), PROBE_FLAG_FORKED);
  if (!m) {
    /* No file: keep counting privately so the parent's figures stay the child-free truth. */
    memcpy(&boot_shm.shard, parent->shard, sizeof boot_shm.shard);
    m = &boot_shm;
  }
  __atomic_store_n(&shm, m, __ATOMIC_RELEASE);
  munmap(parent, sizeof *parent);
}

/* The sampling block of the file in use (sampling.c publishes its counters there). */
struct probe_sampling *probe_sampling_block(void) { return &__atomic_load_n(&shm, __ATOMIC_RELAXED)->sampling; }

__attribute__((constructor)) static void probe_init(void) {
  ENSURE();
  sampling_init(); /* before the file: sampling writes into the run folder with or without it */
  const char *path = getenv("ALLOCLAB_PROBE_SHM");
  if (!path || !*path || strlen(path) >= sizeof shm_path) {
    /* Sampling only: the allocator's fast size paths still serve the sampled sizes; nobody reads the counts. */
    if (sampling_active()) {
      detect_allocator();
      direct_c = allocator_kind != PROBE_ALLOC_UNKNOWN;
      direct_cxx = direct_c && cxx_own;
      counting = 0;
      short_paths_init();
    }
    return;
  }
  snprintf(shm_path, sizeof shm_path, "%s", path);
  detect_allocator();
  struct probe_shm *m = create_shm(&boot_shm, 0, 0);
  if (!m) return;
  __atomic_store_n(&shm, m, __ATOMIC_RELEASE);
  pthread_atfork(NULL, NULL, after_fork_child);
  /* The table of direct blocks is held across fork, so the child gets it whole and unlocked. */
  pthread_atfork(direct_take, direct_give, direct_give);
  if (!getenv("ALLOCLAB_PROBE_NO_STATS")) start_stats_thread();
}
