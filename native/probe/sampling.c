/* The sampled heap profiler of liballoclab-probe.so: stacks of a Poisson sample of the allocated bytes, the
 * frees of those blocks, written into the run folder as the target runs.
 *
 * Settings (environment of the target):
 *   ALLOCLAB_PROBE_SAMPLE_DIR       folder for samples.<pid>.bin; sampling is on only when it is set
 *   ALLOCLAB_PROBE_SAMPLE_INTERVAL  mean bytes between samples (default 524288)
 *   ALLOCLAB_PROBE_SAMPLE_DEPTH     frames kept per stack (default 64, at most 128)
 *   ALLOCLAB_PROBE_UNWIND           auto (default) | fp | libunwind | gcc
 *
 * Design notes (the why):
 * - Sampling by bytes with an exponential countdown per thread (as tcmalloc and heapprofd do): every requested
 *   byte is a sampling point with probability 1/R, independently, so a request of s bytes is taken with
 *   probability 1 - exp(-s/R) and the reader unbiases each sample by that. Requests of R bytes or more are
 *   always taken (weight s) and do not consume the countdown. The hot path is a subtraction and a compare on
 *   the requested size: the block's usable size (a page-map lookup under jemalloc, tcmalloc and mimalloc) is
 *   looked up only for the samples taken.
 * - Stacks: frame pointers cost a few loads per frame but are wrong where code omits them (Debian builds
 *   libraries without), and unwinding from .eh_frame is right everywhere but slower. In "auto" the first
 *   samples are taken both ways; frame pointers are kept only if they agreed every time. libunwind is loaded
 *   with dlopen so the probe still loads where libunwind8 is absent; libgcc's _Unwind_Backtrace is the last
 *   resort.
 * - Nothing here allocates through malloc on the sampling path: rings, the live-block hash and the drain
 *   thread's tables are mmap'd. What the unwinders or pthread_setspecific allocate happens under the caller's
 *   re-entry guard and goes straight to the next allocator.
 * - Each thread writes into its own single-producer ring (no lock); the drain thread empties them every 20 ms (up
 *   to 100 ms while the rings hold little) into the file, deduplicating stacks, so a killed target leaves
 *   everything up to its last round.
 * - Frees: sampled blocks go into a small hash (buckets of 8 slots, one cache line). A free first reads one bit
 *   of a 2 KiB filter (sampling.h), so most frees cost one load that stays in L1.
 *
 * File format (little-endian), samples.<pid>.bin: a 64-byte header, then records {u32 type, u32 bytes, ...}
 * of a length that is a multiple of 8 (src/core/profilers/probeSampled.ts reads it):
 *   header  "ALCSAMPL", u32 version=2, u32 header bytes=64, u64 interval, u32 depth, u32 unwinder setting,
 *           u64 start (CLOCK_MONOTONIC ns), i32 pid
 *   1 STACK    u32 id, u32 depth, u64 return addresses (innermost first, the probe's own frames removed)
 *   2 ALLOC    u64 time, u64 address, u64 usable bytes, u32 stack id, u32 usable minus requested bytes
 *              (version 2: the requested bytes are the sampled quantity; version 1 sampled the usable ones)
 *   3 FREE     u64 time, u64 address (a sampled block was freed)
 *   4 MODULE   u64 load bias, u32 segments, u32 build-id bytes, u32 name bytes, u32 0,
 *              segments {u64 vaddr, u64 memsz, u64 file offset}, build-id, name (padded to 8)
 *   5 TICK     u64 time, u64 samples, u64 dropped, u64 untracked (blocks the live hash had no room for),
 *              u64 live tracked (sampled blocks not yet freed), u64 bytes written (the file, this record included)
 *              (the last two since version 2; a reader takes a record's length from its header, so a longer
 *              record of a later version still reads)
 *   6 UNWINDER u32 method (enum probe_unwinder), u32 agreed, u32 checked, u32 0
 *   7 EXIT     u64 time (the target exited normally: what is still live was not freed at exit)
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "probe.h"
#include "sampling.h"

/* probe.c's re-entry guard and the sampling block of the current shared-memory file. */
extern __thread __attribute__((tls_model("initial-exec"))) int in_probe;
struct probe_sampling *probe_sampling_block(void);

SAMPLING_TLS int64_t sampling_countdown;
uint64_t sampling_interval = UINT64_MAX;
uint64_t sampling_live_filter[(1u << SAMPLING_FILTER_BITS) / 64];
/* Tracked blocks per filter bit (the bit is set while its count is not 0); only the slow paths touch it. */
static uint8_t filter_count[1u << SAMPLING_FILTER_BITS];
/* The second filter, looked at only after a hit in the first: the same size, indexed by the top bits of the
 * Fibonacci hash (independent of the first filter's shift-and-xor). A free that passes the first filter by chance
 * (about one in 200 on the demo service) then costs a load that stays in cache, not a line of the 512 KiB table. */
static uint64_t live_filter2[(1u << SAMPLING_FILTER_BITS) / 64];
static uint8_t filter2_count[1u << SAMPLING_FILTER_BITS];

static unsigned filter2_bit(const void *p) { return (unsigned)(sampling_hash(p) >> (64 - SAMPLING_FILTER_BITS)); }
int sampling_frees;

#define MAX_DEPTH 128u
#define RING_BYTES (256u * 1024u)
#define MAX_RINGS 1024u
#define BUCKET_BITS 13u
#define BUCKETS (1u << BUCKET_BITS)
#define SLOTS_PER_BUCKET 8u
#define AUTO_CHECKS 8u

enum { REC_PAD = 0, REC_ALLOC = 1, REC_FREE = 2 };
enum { OUT_STACK = 1, OUT_ALLOC = 2, OUT_FREE = 3, OUT_MODULE = 4, OUT_TICK = 5, OUT_UNWINDER = 6, OUT_EXIT = 7 };

static int enabled;
static unsigned max_depth = 64;
static int unwind_setting; /* what was asked: 0 auto, else enum probe_unwinder */
static int unwind_method;  /* what is used: 0 while auto is still checking */
static int unwind_fallback;
static unsigned auto_checked, auto_agreed;
static uint64_t start_ns;
static int out_fd = -1;

static uint64_t stat_samples, stat_dropped, stat_untracked, stat_live;

static uint64_t mono_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ---- stack capture ----------------------------------------------------------------------------------- */

static uintptr_t self_lo, self_hi; /* the probe's executable segment: its frames are left out */

static int in_self(uintptr_t pc) { return pc >= self_lo && pc < self_hi; }

static uintptr_t exe_lo, exe_hi; /* the main program's executable segment */

static int in_exe(uintptr_t pc) { return pc >= exe_lo && pc < exe_hi; }

static int find_exe(struct dl_phdr_info *info, size_t size, void *data) {
  (void)size;
  (void)data;
  for (int i = 0; i < info->dlpi_phnum; i++) {
    const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
    if (ph->p_type == PT_LOAD && (ph->p_flags & PF_X)) {
      exe_lo = info->dlpi_addr + ph->p_vaddr;
      exe_hi = exe_lo + ph->p_memsz;
      break;
    }
  }
  return 1; /* the first object is the main program */
}

static uintptr_t libc_lo, libc_hi; /* libc's executable segment: its start-up frames end every stack */

/* A frame-pointer walk is trusted only through the program's own code, down to libc's start-up frames. Debian
 * builds libraries without frame pointers: through one of them (libstdc++'s string construction, libc's strdup)
 * the frame that called it may be skipped, or the walk ends there. */
static int fp_suspect(const uintptr_t *f, unsigned n) {
  unsigned tail = n;
  while (tail > 0 && f[tail - 1] >= libc_lo && f[tail - 1] < libc_hi) tail--;
  if (tail == 0) return 1;
  for (unsigned i = 0; i < tail; i++)
    if (!in_exe(f[i])) return 1;
  return 0;
}

struct range_query { uintptr_t addr, lo, hi; };

/* The executable segment holding q->addr. */
static int find_range(struct dl_phdr_info *info, size_t size, void *data) {
  (void)size;
  struct range_query *q = data;
  for (int i = 0; i < info->dlpi_phnum; i++) {
    const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
    uintptr_t lo = info->dlpi_addr + ph->p_vaddr, hi = lo + ph->p_memsz;
    if (ph->p_type == PT_LOAD && q->addr >= lo && q->addr < hi) {
      q->lo = lo;
      q->hi = hi;
      return 1;
    }
  }
  return 0;
}

static int find_self(struct dl_phdr_info *info, size_t size, void *data) {
  (void)size;
  uintptr_t me = (uintptr_t)data;
  for (int i = 0; i < info->dlpi_phnum; i++) {
    const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
    if (ph->p_type != PT_LOAD) continue;
    uintptr_t lo = info->dlpi_addr + ph->p_vaddr, hi = lo + ph->p_memsz;
    if (me >= lo && me < hi) {
      self_lo = lo;
      self_hi = hi;
      return 1;
    }
  }
  return 0;
}

static SAMPLING_TLS uintptr_t stack_lo, stack_hi;
static SAMPLING_TLS int stack_known;

static void learn_stack(void) {
  stack_known = 1;
  pthread_attr_t attr;
  if (pthread_getattr_np(pthread_self(), &attr) != 0) return;
  void *addr;
  size_t size;
  if (pthread_attr_getstack(&attr, &addr, &size) == 0) {
    stack_lo = (uintptr_t)addr;
    stack_hi = (uintptr_t)addr + size;
  }
  pthread_attr_destroy(&attr);
}

/* Walks the frame-pointer chain, reading only between the current frame and the top of this thread's stack
 * (always mapped), so a register that is not a frame pointer ends the walk instead of faulting. */
static __attribute__((noinline)) unsigned capture_fp(uintptr_t *out, unsigned cap) {
  if (!stack_known) learn_stack();
  uintptr_t fp = (uintptr_t)__builtin_frame_address(0);
  if (!stack_hi || fp < stack_lo || fp >= stack_hi) return 0;
  uintptr_t lo = fp;
  unsigned n = 0;
  while (n < cap && fp >= lo && fp + 16 <= stack_hi && (fp & 7) == 0) {
    uintptr_t next = ((uintptr_t *)fp)[0];
    uintptr_t ret = ((uintptr_t *)fp)[1];
    if (ret < 4096) break;
    if (!in_self(ret)) out[n++] = ret;
    if (next <= fp) break;
    fp = next;
  }
  return n;
}

static int (*unw_backtrace_fn)(void **, int);

static unsigned capture_libunwind(uintptr_t *out, unsigned cap) {
  void *buf[MAX_DEPTH + 8];
  int got = unw_backtrace_fn(buf, (int)(cap + 8 < MAX_DEPTH + 8 ? cap + 8 : MAX_DEPTH + 8));
  unsigned n = 0;
  for (int i = 0; i < got && n < cap; i++)
    if (!in_self((uintptr_t)buf[i])) out[n++] = (uintptr_t)buf[i];
  return n;
}

typedef enum { URC_NO_REASON = 0, URC_END_OF_STACK = 5 } unwind_rc;
typedef unwind_rc (*unwind_cb)(void *ctx, void *arg);
static unwind_rc (*gcc_backtrace)(unwind_cb, void *);
static uintptr_t (*gcc_get_ip)(void *);

struct gcc_walk { uintptr_t *out; unsigned n, cap; };

static unwind_rc gcc_step(void *ctx, void *arg) {
  struct gcc_walk *w = arg;
  uintptr_t ip = gcc_get_ip(ctx);
  if (!ip) return URC_END_OF_STACK;
  if (!in_self(ip)) w->out[w->n++] = ip;
  return w->n >= w->cap ? URC_END_OF_STACK : URC_NO_REASON;
}

static unsigned capture_gcc(uintptr_t *out, unsigned cap) {
  struct gcc_walk w = {out, 0, cap};
  gcc_backtrace(gcc_step, &w);
  return w.n;
}

static unsigned capture_with(int method, uintptr_t *out, unsigned cap) {
  switch (method) {
    case PROBE_UNWIND_FP: return capture_fp(out, cap);
    case PROBE_UNWIND_LIBUNWIND: return unw_backtrace_fn ? capture_libunwind(out, cap) : 0;
    case PROBE_UNWIND_GCC: return gcc_backtrace ? capture_gcc(out, cap) : 0;
    default: return 0;
  }
}

static void publish_method(int method);

/* Auto: take the first samples both ways; frame pointers win only if they never lost a frame, and even then a
 * walk that passed through a library is taken again by the unwinder. */
static unsigned capture(uintptr_t *out, unsigned cap) {
  int method = __atomic_load_n(&unwind_method, __ATOMIC_RELAXED);
  if (method == PROBE_UNWIND_FP && unwind_setting == 0 && unwind_fallback != PROBE_UNWIND_NONE) {
    unsigned n = capture_fp(out, cap);
    return fp_suspect(out, n) ? capture_with(unwind_fallback, out, cap) : n;
  }
  if (method) return capture_with(method, out, cap);
  unsigned n = capture_with(unwind_fallback, out, cap);
  if (unwind_fallback == PROBE_UNWIND_NONE) return n;
  uintptr_t fp[MAX_DEPTH];
  unsigned m = capture_fp(fp, cap);
  unsigned common = m < n ? m : n;
  /* Frame pointers end where start-up code without them begins (__libc_start_call_main, start_thread): up to
   * three outermost frames may be missing; a frame skipped in the middle shows as a mismatch. */
  int same = n > 0 && m > 0 && m + 3 >= n && memcmp(fp, out, common * sizeof *fp) == 0;
  if (same) __atomic_fetch_add(&auto_agreed, 1, __ATOMIC_RELAXED);
  if (__atomic_add_fetch(&auto_checked, 1, __ATOMIC_RELAXED) == AUTO_CHECKS) {
    int chosen = __atomic_load_n(&auto_agreed, __ATOMIC_RELAXED) >= AUTO_CHECKS ? PROBE_UNWIND_FP : unwind_fallback;
    __atomic_store_n(&unwind_method, chosen, __ATOMIC_RELAXED);
    publish_method(chosen);
  }
  return n;
}

/* Exported for the cost measurement (bench/profilers.ts via the probe's test program): one capture, timed by
 * the caller. Returns the frames found. */
__attribute__((visibility("default"))) unsigned alloclab_probe_capture(int method, unsigned depth) {
  uintptr_t buf[MAX_DEPTH];
  int saved = in_probe;
  in_probe = PROBE_OWN;
  unsigned n = capture_with(method, buf, depth < MAX_DEPTH ? depth : MAX_DEPTH);
  in_probe = saved;
  return n;
}

/* ---- per-thread rings -------------------------------------------------------------------------------- */

struct ring {
  uint64_t head; /* bytes written, by the owning thread */
  char pad0[56];
  uint64_t tail; /* bytes consumed, by the drain thread */
  char pad1[56];
  int state;     /* RING_FREE, RING_OWNED, RING_DEAD (owner exited; drained, then free again) */
  int lock;      /* only for the shared ring */
  char pad2[56];
  char data[RING_BYTES];
};

enum { RING_FREE = 0, RING_OWNED = 1, RING_DEAD = 2 };

static struct ring *rings[MAX_RINGS];
static unsigned ring_count;
static struct ring *shared_ring; /* threads past their exit destructor, or beyond MAX_RINGS */
static pthread_key_t ring_key;
static SAMPLING_TLS struct ring *my_ring;
static SAMPLING_TLS int ring_gone;

static struct ring *map_ring(void) {
  void *m = mmap(NULL, sizeof(struct ring), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  return m == MAP_FAILED ? NULL : m;
}

static void ring_release(void *r) {
  __atomic_store_n(&((struct ring *)r)->state, RING_DEAD, __ATOMIC_RELEASE);
  my_ring = NULL;
  ring_gone = 1;
}

static struct ring *claim_ring(void) {
  unsigned n = __atomic_load_n(&ring_count, __ATOMIC_ACQUIRE);
  for (unsigned i = 0; i < n; i++) {
    struct ring *r = __atomic_load_n(&rings[i], __ATOMIC_ACQUIRE);
    int expected = RING_FREE;
    if (r && __atomic_compare_exchange_n(&r->state, &expected, RING_OWNED, 0, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED)) return r;
  }
  struct ring *r = map_ring();
  if (!r) return NULL;
  r->state = RING_OWNED;
  unsigned i = __atomic_fetch_add(&ring_count, 0, __ATOMIC_RELAXED);
  for (;;) {
    if (i >= MAX_RINGS) {
      munmap(r, sizeof *r);
      return NULL;
    }
    struct ring *expected = NULL;
    if (__atomic_compare_exchange_n(&rings[i], &expected, r, 0, __ATOMIC_RELEASE, __ATOMIC_RELAXED)) break;
    i++;
  }
  unsigned c = __atomic_load_n(&ring_count, __ATOMIC_RELAXED);
  while (c < i + 1 && !__atomic_compare_exchange_n(&ring_count, &c, i + 1, 0, __ATOMIC_RELEASE, __ATOMIC_RELAXED)) {
  }
  return r;
}

static struct ring *thread_ring(void) {
  if (my_ring) return my_ring;
  if (ring_gone) return NULL;
  my_ring = claim_ring();
  if (my_ring) pthread_setspecific(ring_key, my_ring);
  else ring_gone = 1;
  return my_ring;
}

/* Room for `bytes` at the head, contiguous (a pad record fills the end of the buffer when needed). */
static char *ring_reserve(struct ring *r, uint32_t bytes) {
  uint64_t head = r->head, tail = __atomic_load_n(&r->tail, __ATOMIC_ACQUIRE);
  uint32_t at = (uint32_t)(head % RING_BYTES), room = RING_BYTES - at;
  uint64_t need = bytes + (room < bytes ? room : 0);
  if (head + need - tail > RING_BYTES) return NULL;
  if (room < bytes) {
    uint32_t *pad = (uint32_t *)(r->data + at);
    pad[0] = REC_PAD;
    pad[1] = room;
    head += room;
    __atomic_store_n(&r->head, head, __ATOMIC_RELEASE);
  }
  return r->data + head % RING_BYTES;
}

static void ring_commit(struct ring *r, uint32_t bytes) { __atomic_store_n(&r->head, r->head + bytes, __ATOMIC_RELEASE); }

static void spin_lock(int *l) {
  while (__atomic_exchange_n(l, 1, __ATOMIC_ACQUIRE)) sched_yield();
}

static void spin_unlock(int *l) { __atomic_store_n(l, 0, __ATOMIC_RELEASE); }

/* Writes one record into this thread's ring (or the shared one); false when it was full. */
static int put_record(const void *rec, uint32_t bytes) {
  struct ring *r = thread_ring();
  int shared = !r;
  if (shared) {
    r = shared_ring;
    if (!r) return 0;
    spin_lock(&r->lock);
  }
  char *at = ring_reserve(r, bytes);
  if (at) {
    memcpy(at, rec, bytes);
    ring_commit(r, bytes);
  }
  if (shared) spin_unlock(&r->lock);
  return at != NULL;
}

/* ---- live sampled blocks ----------------------------------------------------------------------------- */

static uint64_t *live_slots; /* BUCKETS x SLOTS_PER_BUCKET addresses, 0 = empty */

/* A filter bit h is set while count[h] is not 0. A count that drops to 0 clears the bit and then looks again: an
 * insert racing with it has counted first and sets the bit after, or is seen and the bit is set back. The bit may
 * be clear for an instant while a block is being inserted; that block's address has not reached the program yet,
 * so its free cannot be missed. */
static void filter_add(uint64_t *bits, uint8_t *count, unsigned h) {
  __atomic_fetch_add(&count[h], 1, __ATOMIC_SEQ_CST);
  __atomic_fetch_or(&bits[h / 64], 1ull << (h % 64), __ATOMIC_SEQ_CST);
}

static void filter_remove(uint64_t *bits, uint8_t *count, unsigned h) {
  if (__atomic_sub_fetch(&count[h], 1, __ATOMIC_SEQ_CST) != 0) return;
  __atomic_fetch_and(&bits[h / 64], ~(1ull << (h % 64)), __ATOMIC_SEQ_CST);
  if (__atomic_load_n(&count[h], __ATOMIC_SEQ_CST) != 0) __atomic_fetch_or(&bits[h / 64], 1ull << (h % 64), __ATOMIC_SEQ_CST);
}

static void filters_add(const void *p) {
  filter_add(sampling_live_filter, filter_count, sampling_filter_bit(p));
  filter_add(live_filter2, filter2_count, filter2_bit(p));
}

static void filters_remove(const void *p) {
  filter_remove(sampling_live_filter, filter_count, sampling_filter_bit(p));
  filter_remove(live_filter2, filter2_count, filter2_bit(p));
}

static int live_insert(void *p) {
  unsigned b = (unsigned)(sampling_hash(p) >> (64 - BUCKET_BITS));
  uint64_t *slot = live_slots + (size_t)b * SLOTS_PER_BUCKET;
  filters_add(p); /* before the slot: a free that finds the slot must have found both bits */
  for (unsigned i = 0; i < SLOTS_PER_BUCKET; i++) {
    uint64_t expected = 0;
    if (__atomic_compare_exchange_n(&slot[i], &expected, (uint64_t)(uintptr_t)p, 0, __ATOMIC_RELEASE, __ATOMIC_RELAXED)) {
      __atomic_fetch_add(&stat_live, 1, __ATOMIC_RELAXED);
      return 1;
    }
  }
  filters_remove(p);
  return 0;
}

struct rec_free { uint32_t type, bytes; uint64_t t, addr; };
struct rec_alloc { uint32_t type, bytes; uint64_t t, addr, size; uint32_t depth, slack; uintptr_t frames[]; };

void sampling_forget(void *p) {
  if (!enabled || !p) return;
  unsigned h2 = filter2_bit(p);
  if (!((__atomic_load_n(&live_filter2[h2 / 64], __ATOMIC_RELAXED) >> (h2 % 64)) & 1)) return;
  unsigned b = (unsigned)(sampling_hash(p) >> (64 - BUCKET_BITS));
  uint64_t *slot = live_slots + (size_t)b * SLOTS_PER_BUCKET;
  for (unsigned i = 0; i < SLOTS_PER_BUCKET; i++) {
    uint64_t expected = (uint64_t)(uintptr_t)p;
    if (__atomic_load_n(&slot[i], __ATOMIC_RELAXED) == expected &&
        __atomic_compare_exchange_n(&slot[i], &expected, 0, 0, __ATOMIC_ACQ_REL, __ATOMIC_RELAXED)) {
      filters_remove(p);
      __atomic_fetch_sub(&stat_live, 1, __ATOMIC_RELAXED);
      /* Writing the record may allocate (a thread's first ring registers a destructor): the probe's own work. */
      int saved = in_probe;
      in_probe = PROBE_OWN;
      struct rec_free rec = {REC_FREE, sizeof rec, mono_ns(), (uint64_t)(uintptr_t)p};
      if (!put_record(&rec, sizeof rec)) __atomic_fetch_add(&stat_dropped, 1, __ATOMIC_RELAXED);
      in_probe = saved;
      return;
    }
  }
}

/* ---- taking a sample --------------------------------------------------------------------------------- */

static SAMPLING_TLS uint64_t rng_state;

static double uniform01(void) {
  if (!rng_state) rng_state = (mono_ns() ^ (uint64_t)(uintptr_t)&rng_state) | 1;
  rng_state ^= rng_state >> 12;
  rng_state ^= rng_state << 25;
  rng_state ^= rng_state >> 27;
  /* 53 random bits, never 0 (log(0)). */
  return ((double)((rng_state * 0x2545f4914f6cdd1dull) >> 11) + 0.5) / 9007199254740992.0;
}

static int64_t draw_countdown(void) {
  double d = -log(uniform01()) * (double)sampling_interval;
  return d >= 9.0e18 ? INT64_MAX : (int64_t)d + 1;
}

static int init_done; /* before it, allocations (ld.so, libc start-up) keep taking the slow path */

void sampling_take(void *p, size_t request) {
  if (!__atomic_load_n(&enabled, __ATOMIC_ACQUIRE)) {
    sampling_countdown = __atomic_load_n(&init_done, __ATOMIC_ACQUIRE) ? INT64_MAX : 0;
    return;
  }
  /* Allocated by the probe's own work (an unwinder, the drain thread) through a short path: never a sample; the
   * countdown stays spent, so the program's next allocation is taken in its place. */
  if (in_probe == PROBE_OWN) return;
  if (request >= sampling_interval) sampling_countdown += (int64_t)request; /* always taken; the countdown runs on */
  else sampling_countdown = draw_countdown();
  int saved = in_probe;
  in_probe = PROBE_OWN; /* the unwinders and pthread_setspecific may allocate: plain forwards from here */
  union { struct rec_alloc r; char bytes[sizeof(struct rec_alloc) + MAX_DEPTH * sizeof(uintptr_t)]; } u;
  unsigned depth = capture(u.r.frames, max_depth);
  size_t usable = probe_usable_size(p);
  if (usable < request) usable = request; /* the allocator cannot tell (or a foreign block): its request */
  u.r.type = REC_ALLOC;
  u.r.bytes = (uint32_t)(sizeof(struct rec_alloc) + depth * sizeof(uintptr_t));
  u.r.t = mono_ns();
  u.r.addr = (uint64_t)(uintptr_t)p;
  u.r.size = usable;
  u.r.depth = depth;
  u.r.slack = usable - request < UINT32_MAX ? (uint32_t)(usable - request) : 0;
  __atomic_fetch_add(&stat_samples, 1, __ATOMIC_RELAXED);
  if (!put_record(&u.r, u.r.bytes)) __atomic_fetch_add(&stat_dropped, 1, __ATOMIC_RELAXED);
  else if (!live_insert(p)) __atomic_fetch_add(&stat_untracked, 1, __ATOMIC_RELAXED);
  in_probe = saved;
}

/* ---- the drain thread -------------------------------------------------------------------------------- */

static char *out_buf;
static size_t out_len;
#define OUT_BYTES (1u << 20)
static pthread_mutex_t drain_lock = PTHREAD_MUTEX_INITIALIZER;
static int finished;
static uint64_t bytes_written;

static void out_flush(void) {
  size_t off = 0;
  while (off < out_len) {
    ssize_t w = write(out_fd, out_buf + off, out_len - off);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) break;
    off += (size_t)w;
  }
  bytes_written += off;
  out_len = 0;
}

static void out_put(const void *rec, size_t bytes) {
  if (out_len + bytes > OUT_BYTES) out_flush();
  if (bytes > OUT_BYTES) return;
  memcpy(out_buf + out_len, rec, bytes);
  out_len += bytes;
}

/* Stacks seen so far: hash of the frames -> id (open addressing, grows by doubling). */
struct stack_entry { uint64_t hash; uint32_t id, used; };
static struct stack_entry *stack_table;
static size_t stack_cap, stack_used;
static uint32_t next_stack_id = 1;

static uint64_t hash_frames(const uintptr_t *f, unsigned n) {
  uint64_t h = 0xcbf29ce484222325ull ^ n;
  for (unsigned i = 0; i < n; i++) {
    h ^= f[i];
    h *= 0x100000001b3ull;
    h ^= h >> 29;
  }
  return h | 1;
}

static int stack_grow(void) {
  size_t cap = stack_cap ? stack_cap * 2 : 1u << 14;
  struct stack_entry *t = mmap(NULL, cap * sizeof *t, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (t == MAP_FAILED) return 0;
  for (size_t i = 0; i < stack_cap; i++) {
    if (!stack_table[i].used) continue;
    size_t j = stack_table[i].hash & (cap - 1);
    while (t[j].used) j = (j + 1) & (cap - 1);
    t[j] = stack_table[i];
  }
  if (stack_table) munmap(stack_table, stack_cap * sizeof *stack_table);
  stack_table = t;
  stack_cap = cap;
  return 1;
}

static uint32_t stack_id(const uintptr_t *f, unsigned n) {
  if ((stack_used + 1) * 2 > stack_cap && !stack_grow()) return 0;
  uint64_t h = hash_frames(f, n);
  size_t j = h & (stack_cap - 1);
  while (stack_table[j].used) {
    if (stack_table[j].hash == h) return stack_table[j].id;
    j = (j + 1) & (stack_cap - 1);
  }
  stack_table[j] = (struct stack_entry){h, next_stack_id++, 1};
  stack_used++;
  struct { uint32_t type, bytes, id, depth; } hdr = {OUT_STACK, (uint32_t)(16 + n * 8), stack_table[j].id, n};
  out_put(&hdr, sizeof hdr);
  for (unsigned i = 0; i < n; i++) {
    uint64_t pc = f[i];
    out_put(&pc, 8);
  }
  return stack_table[j].id;
}

/* Loaded modules, written again whenever the loader's add/remove counters move. */
static unsigned long long seen_adds = ~0ull, seen_subs = ~0ull;
static char exe_path[1024];

static int note_changes(struct dl_phdr_info *info, size_t size, void *data) {
  int *changed = data;
  if (size >= offsetof(struct dl_phdr_info, dlpi_subs) + sizeof info->dlpi_subs) {
    *changed = info->dlpi_adds != seen_adds || info->dlpi_subs != seen_subs;
    seen_adds = info->dlpi_adds;
    seen_subs = info->dlpi_subs;
  } else {
    *changed = seen_adds == ~0ull;
    seen_adds = 0;
  }
  return 1;
}

static size_t build_id_of(struct dl_phdr_info *info, const unsigned char **id) {
  for (int i = 0; i < info->dlpi_phnum; i++) {
    const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
    if (ph->p_type != PT_NOTE) continue;
    const unsigned char *p = (const unsigned char *)(info->dlpi_addr + ph->p_vaddr), *end = p + ph->p_memsz;
    while (p + 12 <= end) {
      uint32_t namesz, descsz, type;
      memcpy(&namesz, p, 4);
      memcpy(&descsz, p + 4, 4);
      memcpy(&type, p + 8, 4);
      const unsigned char *name = p + 12, *desc = name + ((namesz + 3) & ~3u);
      if (desc + descsz > end) break;
      if (type == NT_GNU_BUILD_ID && namesz == 4 && memcmp(name, "GNU", 4) == 0) {
        *id = desc;
        return descsz;
      }
      p = desc + ((descsz + 3) & ~3u);
    }
  }
  return 0;
}

static int write_module(struct dl_phdr_info *info, size_t size, void *data) {
  (void)size;
  (void)data;
  const char *name = info->dlpi_name && *info->dlpi_name ? info->dlpi_name : exe_path;
  if (!*name) return 0;
  uint32_t nseg = 0;
  for (int i = 0; i < info->dlpi_phnum; i++) nseg += info->dlpi_phdr[i].p_type == PT_LOAD;
  const unsigned char *id = NULL;
  uint32_t idlen = (uint32_t)build_id_of(info, &id);
  uint32_t namelen = (uint32_t)strlen(name);
  if (namelen > 4000) return 0;
  uint32_t bytes = 32 + nseg * 24 + idlen + namelen;
  bytes = (bytes + 7) & ~7u;
  struct { uint32_t type, bytes; uint64_t bias; uint32_t nseg, idlen, namelen, zero; } hdr = {OUT_MODULE, bytes, info->dlpi_addr, nseg, idlen, namelen, 0};
  out_put(&hdr, sizeof hdr);
  for (int i = 0; i < info->dlpi_phnum; i++) {
    const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
    if (ph->p_type != PT_LOAD) continue;
    uint64_t seg[3] = {ph->p_vaddr, ph->p_memsz, ph->p_offset};
    out_put(seg, sizeof seg);
  }
  if (idlen) out_put(id, idlen);
  out_put(name, namelen);
  static const char zeros[8];
  out_put(zeros, bytes - (32 + nseg * 24 + idlen + namelen));
  return 0;
}

static void write_modules_if_changed(void) {
  int changed = 0;
  dl_iterate_phdr(note_changes, &changed);
  if (changed) dl_iterate_phdr(write_module, NULL);
}

static int pending_method;

static void publish_method(int method) { __atomic_store_n(&pending_method, method, __ATOMIC_RELEASE); }

static void publish_counters(void) {
  struct probe_sampling *s = probe_sampling_block();
  s->interval_bytes = sampling_interval;
  s->max_depth = max_depth;
  int m = __atomic_load_n(&unwind_method, __ATOMIC_RELAXED);
  s->unwinder = (uint32_t)(m ? m : unwind_fallback);
  __atomic_store_n(&s->samples, __atomic_load_n(&stat_samples, __ATOMIC_RELAXED), __ATOMIC_RELAXED);
  __atomic_store_n(&s->dropped, __atomic_load_n(&stat_dropped, __ATOMIC_RELAXED), __ATOMIC_RELAXED);
  __atomic_store_n(&s->live_tracked, __atomic_load_n(&stat_live, __ATOMIC_RELAXED), __ATOMIC_RELAXED);
  __atomic_store_n(&s->bytes_written, bytes_written, __ATOMIC_RELAXED);
}

/* Empties one ring into the output; returns the bytes it held. */
static uint64_t drain_ring(struct ring *r) {
  uint64_t tail = r->tail, head = __atomic_load_n(&r->head, __ATOMIC_ACQUIRE);
  uint64_t any = head - tail;
  int new_stacks = 0;
  while (tail < head) {
    const char *at = r->data + tail % RING_BYTES;
    uint32_t type, bytes;
    memcpy(&type, at, 4);
    memcpy(&bytes, at + 4, 4);
    if (bytes < 8 || bytes > RING_BYTES) break; /* cannot happen; stop rather than loop */
    if (type == REC_ALLOC) {
      const struct rec_alloc *a = (const struct rec_alloc *)at;
      if (!new_stacks) {
        /* A stack may point into a library loaded since the last round. */
        write_modules_if_changed();
        new_stacks = 1;
      }
      uint32_t id = stack_id(a->frames, a->depth);
      struct { uint32_t type, bytes; uint64_t t, addr, size; uint32_t stack, slack; } o = {OUT_ALLOC, 40, a->t, a->addr, a->size, id, a->slack};
      out_put(&o, sizeof o);
    } else if (type == REC_FREE) {
      const struct rec_free *f = (const struct rec_free *)at;
      struct { uint32_t type, bytes; uint64_t t, addr; } o = {OUT_FREE, 24, f->t, f->addr};
      out_put(&o, sizeof o);
    }
    tail += bytes;
  }
  __atomic_store_n(&r->tail, tail, __ATOMIC_RELEASE);
  return any;
}

static uint64_t last_tick;

/* One round; returns the most bytes any one ring held (how close the fullest came to dropping). */
static uint64_t drain_round(int final) {
  uint64_t fullest = 0;
  pthread_mutex_lock(&drain_lock);
  if (finished) {
    pthread_mutex_unlock(&drain_lock);
    return 0;
  }
  int method = __atomic_exchange_n(&pending_method, 0, __ATOMIC_ACQ_REL);
  if (method) {
    struct { uint32_t type, bytes, method, agreed, checked, zero; uint64_t pad; } o = {OUT_UNWINDER, 32, (uint32_t)method, auto_agreed, auto_checked, 0, 0};
    out_put(&o, sizeof o);
  }
  unsigned n = __atomic_load_n(&ring_count, __ATOMIC_ACQUIRE);
  for (unsigned i = 0; i < n; i++) {
    struct ring *r = __atomic_load_n(&rings[i], __ATOMIC_ACQUIRE);
    if (!r) continue;
    int state = __atomic_load_n(&r->state, __ATOMIC_ACQUIRE);
    uint64_t held = drain_ring(r);
    if (held > fullest) fullest = held;
    if (state == RING_DEAD && r->tail == __atomic_load_n(&r->head, __ATOMIC_ACQUIRE)) __atomic_store_n(&r->state, RING_FREE, __ATOMIC_RELEASE);
  }
  if (shared_ring) {
    uint64_t held = drain_ring(shared_ring);
    if (held > fullest) fullest = held;
  }
  uint64_t t = mono_ns();
  if (final || t - last_tick >= 250000000u) {
    last_tick = t;
    struct { uint32_t type, bytes; uint64_t t, samples, dropped, untracked, live, written; } o = {
      OUT_TICK, 56, t, stat_samples, stat_dropped, stat_untracked, __atomic_load_n(&stat_live, __ATOMIC_RELAXED), bytes_written + out_len + 56};
    out_put(&o, sizeof o);
  }
  if (final) {
    struct { uint32_t type, bytes; uint64_t t; } o = {OUT_EXIT, 16, t};
    out_put(&o, sizeof o);
    finished = 1;
  }
  out_flush();
  publish_counters();
  pthread_mutex_unlock(&drain_lock);
  return fullest;
}

static void *drain_thread(void *arg) {
  (void)arg;
  in_probe = PROBE_OWN;
  /* Named like the statistics thread, so perf (--sort comm) and `top -H` count its time, kernel time included, as
   * the probe's. */
  pthread_setname_np(pthread_self(), "alloclab-drain");
  /* Every wake-up costs (on the demo service under a VM, 50 rounds a second were 0.5 % of its CPU samples): sleep
   * 20 ms while a ring comes back more than 1/8 full, else twice as long each round, up to 100 ms. At 100 ms a ring
   * that held under 1/32 of its 256 KiB needs its thread to sample 30 times faster before it drops. */
  long sleep_ms = 20;
  for (;;) {
    uint64_t fullest = drain_round(0);
    if (fullest > RING_BYTES / 8) sleep_ms = 20;
    else if (fullest < RING_BYTES / 32 && sleep_ms < 100) sleep_ms = sleep_ms * 2 > 100 ? 100 : sleep_ms * 2;
    struct timespec ts = {0, sleep_ms * 1000 * 1000};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
  }
  return NULL;
}

__attribute__((destructor)) static void sampling_fini(void) {
  if (!enabled || out_fd < 0) return;
  in_probe = PROBE_OWN;
  drain_round(1);
}

static void sampling_after_fork_child(void) {
  /* The child's samples would land in the parent's file, and it has no drain thread. */
  enabled = 0;
  sampling_frees = 0;
  sampling_interval = UINT64_MAX;
  sampling_countdown = INT64_MAX;
}

int sampling_active(void) { return __atomic_load_n(&enabled, __ATOMIC_ACQUIRE); }

/* ---- start ------------------------------------------------------------------------------------------- */

static int parse_unwind(const char *s) {
  if (!s || !*s || strcmp(s, "auto") == 0) return 0;
  if (strcmp(s, "fp") == 0) return PROBE_UNWIND_FP;
  if (strcmp(s, "libunwind") == 0) return PROBE_UNWIND_LIBUNWIND;
  if (strcmp(s, "gcc") == 0) return PROBE_UNWIND_GCC;
  return -1;
}

static void load_unwinders(void) {
  if (unwind_setting == 0 || unwind_setting == PROBE_UNWIND_LIBUNWIND) {
    void *h = dlopen("libunwind.so.8", RTLD_NOW | RTLD_LOCAL);
    if (h) {
      unw_backtrace_fn = (int (*)(void **, int))dlsym(h, "unw_backtrace");
      int (*policy)(void *, int) = (int (*)(void *, int))dlsym(h, "_ULx86_64_set_caching_policy");
      void **space = (void **)dlsym(h, "_ULx86_64_local_addr_space");
      if (policy && space) policy(*space, 2 /* UNW_CACHE_PER_THREAD */);
    }
  }
  if (unwind_setting == 0 || unwind_setting == PROBE_UNWIND_GCC) {
    void *h = dlopen("libgcc_s.so.1", RTLD_NOW | RTLD_LOCAL);
    if (h) {
      gcc_backtrace = (unwind_rc(*)(unwind_cb, void *))dlsym(h, "_Unwind_Backtrace");
      gcc_get_ip = (uintptr_t(*)(void *))dlsym(h, "_Unwind_GetIP");
      if (!gcc_get_ip) gcc_backtrace = NULL;
    }
  }
}

static void warn(const char *msg) { (void)!write(2, msg, strlen(msg)); }

void sampling_init(void) {
  const char *dir = getenv("ALLOCLAB_PROBE_SAMPLE_DIR");
  if (!dir || !*dir) {
    __atomic_store_n(&init_done, 1, __ATOMIC_RELEASE);
    return;
  }
  int saved = in_probe;
  in_probe = PROBE_OWN;
  const char *iv = getenv("ALLOCLAB_PROBE_SAMPLE_INTERVAL");
  uint64_t interval = iv && *iv ? strtoull(iv, NULL, 10) : 524288u;
  const char *dv = getenv("ALLOCLAB_PROBE_SAMPLE_DEPTH");
  unsigned depth = dv && *dv ? (unsigned)strtoul(dv, NULL, 10) : 64u;
  unwind_setting = parse_unwind(getenv("ALLOCLAB_PROBE_UNWIND"));
  if (interval == 0 || depth == 0 || unwind_setting < 0) {
    warn("alloclab-probe: bad ALLOCLAB_PROBE_SAMPLE_INTERVAL, _DEPTH or ALLOCLAB_PROBE_UNWIND; sampling is off\n");
    __atomic_store_n(&init_done, 1, __ATOMIC_RELEASE);
    in_probe = saved;
    return;
  }
  max_depth = depth > MAX_DEPTH ? MAX_DEPTH : depth;
  dl_iterate_phdr(find_self, (void *)(uintptr_t)&sampling_init);
  dl_iterate_phdr(find_exe, NULL);
  struct range_query libc = {(uintptr_t)dlsym(RTLD_DEFAULT, "__libc_start_main"), 0, 0};
  if (libc.addr) dl_iterate_phdr(find_range, &libc);
  libc_lo = libc.lo;
  libc_hi = libc.hi;
  load_unwinders();
  unwind_fallback = unw_backtrace_fn ? PROBE_UNWIND_LIBUNWIND : gcc_backtrace ? PROBE_UNWIND_GCC : PROBE_UNWIND_NONE;
  if (unwind_setting == PROBE_UNWIND_FP) unwind_method = PROBE_UNWIND_FP;
  else if (unwind_setting == PROBE_UNWIND_LIBUNWIND && unw_backtrace_fn) unwind_method = PROBE_UNWIND_LIBUNWIND;
  else if (unwind_setting == PROBE_UNWIND_GCC && gcc_backtrace) unwind_method = PROBE_UNWIND_GCC;
  else if (unwind_setting != 0) {
    warn("alloclab-probe: the requested unwinder could not be loaded; using frame pointers\n");
    unwind_method = PROBE_UNWIND_FP;
  } else if (unwind_fallback == PROBE_UNWIND_NONE) unwind_method = PROBE_UNWIND_FP;
  ssize_t el = readlink("/proc/self/exe", exe_path, sizeof exe_path - 1);
  exe_path[el > 0 ? el : 0] = 0;

  char path[4096];
  snprintf(path, sizeof path, "%s/samples.%d.bin", dir, (int)getpid());
  out_fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_APPEND, 0600);
  out_buf = mmap(NULL, OUT_BYTES, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  live_slots = mmap(NULL, (size_t)BUCKETS * SLOTS_PER_BUCKET * 8, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  shared_ring = map_ring();
  if (out_fd < 0 || out_buf == MAP_FAILED || live_slots == MAP_FAILED || pthread_key_create(&ring_key, ring_release) != 0) {
    warn("alloclab-probe: cannot open the samples file; sampling is off\n");
    __atomic_store_n(&init_done, 1, __ATOMIC_RELEASE);
    in_probe = saved;
    return;
  }
  start_ns = mono_ns();
  struct { char magic[8]; uint32_t version, header; uint64_t interval; uint32_t depth, unwinder; uint64_t start; int32_t pid; uint32_t pad; uint64_t zero[2]; } hdr = {
    "ALCSAMPL", 2, 64, interval, max_depth, (uint32_t)unwind_setting, start_ns, (int32_t)getpid(), 0, {0, 0}};
  _Static_assert(sizeof hdr == 64, "sample file header is 64 bytes");
  out_put(&hdr, sizeof hdr);
  if (unwind_method) publish_method(unwind_method);
  out_flush();

  sampling_frees = 1;
  sampling_interval = interval;
  __atomic_store_n(&enabled, 1, __ATOMIC_RELEASE);
  __atomic_store_n(&init_done, 1, __ATOMIC_RELEASE);
  sampling_countdown = draw_countdown();
  pthread_atfork(NULL, NULL, sampling_after_fork_child);

  if (probe_start_thread(drain_thread) != 0) warn("alloclab-probe: no drain thread; samples are written at exit only\n");
  in_probe = saved;
}
