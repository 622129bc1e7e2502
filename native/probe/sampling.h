/* The sampled heap profiler inside liballoclab-probe.so: the hooks probe.c calls from its allocation and free
 * paths. Private to the probe (not installed, not read by TypeScript; the file format is in sampling.c).
 *
 * The slow paths run under probe.c's re-entry guard (in_probe set; they set it themselves when the caller's short
 * path did not), so whatever they call that allocates (pthread_setspecific, the unwinders) reaches the next
 * allocator as a plain forward, never a counted or sampled call.
 */
#ifndef ALLOCLAB_SAMPLING_H
#define ALLOCLAB_SAMPLING_H

#include <stddef.h>
#include <stdint.h>

#define SAMPLING_TLS __thread __attribute__((tls_model("initial-exec")))

/* Bytes left before this thread's next sample; starts at 0 so a thread's first allocation takes the slow path,
 * which draws the first exponential countdown (or parks the counter at INT64_MAX when sampling is off). */
extern SAMPLING_TLS int64_t sampling_countdown;
/* Mean interval; allocations of at least this many requested bytes are always sampled. */
extern uint64_t sampling_interval;

/* The re-entry guard (probe.c): 0 outside the probe; PROBE_GUARD inside an entry point, where nested calls are
 * plain forwards; PROBE_OWN inside the probe's own work (the sampling slow paths, the probe's threads), where
 * nothing is ever sampled, even by a short path that forwards without looking at the guard. */
#define PROBE_GUARD 1
#define PROBE_OWN 2

/* The live-sample filter: one bit per 2^-SAMPLING_FILTER_BITS of the filter index (sampling_filter_bit), set while a
 * tracked sampled block maps there: 2 KiB, a fixed array, so a free tests it with a few shifts, an xor and one load
 * (no pointer to load first). At the default interval a service has tens to hundreds of tracked blocks, so well
 * under one free in a hundred looks further. On the demo service this test is still most of what a free costs in
 * the probe; smaller filters (64 B to 256 B) and filters indexed by address ranges measured worse, since every false
 * hit reads a line of the live-block table. */
#define SAMPLING_FILTER_BITS 14
extern uint64_t sampling_live_filter[(1u << SAMPLING_FILTER_BITS) / 64];
/* Nonzero while sampling runs in this process (the filter is meaningful). */
extern int sampling_frees;

/* From probe.c: starts a detached probe thread with every signal blocked (0 on success). */
int probe_start_thread(void *(*fn)(void *));
/* From probe.c: the block's usable size as the allocator reports it (0 when it cannot tell); under the guard. */
size_t probe_usable_size(void *p);

void sampling_init(void);
/* True once sampling runs in this process. */
int sampling_active(void);
/* The slow paths. Both take the re-entry guard themselves (and keep it when the caller already holds it). */
void sampling_take(void *p, size_t request);
void sampling_forget(void *p);

/* The address hash (Fibonacci hashing); its top bits index the live-block table (the slow paths only). */
static inline __attribute__((always_inline)) uint64_t sampling_hash(const void *p) {
  return ((uint64_t)(uintptr_t)p >> 4) * 0x9e3779b97f4a7c15ull;
}

/* The filter index: address bits 4 and up, with bits 17 and up folded onto them by an xor. The fold spreads blocks
 * whose low bits alignment fixes (pages, 2 MiB chunks) over the whole filter. No multiply: on the demo service
 * under jemalloc a Fibonacci hash here cost a free about 60 % more than this shift-and-xor (bench/RESULTS.md). */
#define SAMPLING_FILTER_FOLD 13
static inline __attribute__((always_inline)) uint64_t sampling_filter_mix(const void *p) {
  uint64_t a = (uint64_t)(uintptr_t)p;
  return a ^ (a >> SAMPLING_FILTER_FOLD);
}

static inline __attribute__((always_inline)) unsigned sampling_filter_bit(const void *p) {
  return (unsigned)(sampling_filter_mix(p) >> 4) & ((1u << SAMPLING_FILTER_BITS) - 1);
}

/* After an allocation at p for a request of `request` bytes. The countdown runs on requested bytes (as in
 * tcmalloc and heapprofd): the hot path needs no size lookup, whatever the allocator. */
static inline __attribute__((always_inline)) void sampling_on_alloc(void *p, size_t request) {
  int64_t left = sampling_countdown - (int64_t)request;
  sampling_countdown = left;
  if (__builtin_expect(left < 0 || request >= sampling_interval, 0)) sampling_take(p, request);
}

/* sampling_on_alloc for a caller that tail-calls the slow path itself: runs the countdown, true when a sample is
 * due (then call sampling_take). */
static inline __attribute__((always_inline)) int sampling_due(size_t request) {
  int64_t left = sampling_countdown - (int64_t)request;
  sampling_countdown = left;
  return __builtin_expect(left < 0 || request >= sampling_interval, 0);
}

/* True when p may be a tracked sampled block (then sampling_forget looks it up). Meaningful only while sampling
 * runs; otherwise the filter is all zero and this is false. */
static inline __attribute__((always_inline)) int sampling_maybe_live(const void *p) {
  /* sampling_filter_bit, split: the word from bits 10 and up of the mix, the bit from bits 4 to 9 (x86-64's bt takes
   * the bit index modulo 64, so the second shift needs no mask). */
  uint64_t h = sampling_filter_mix(p);
  uint64_t word = __atomic_load_n(&sampling_live_filter[(h >> 10) & ((1u << (SAMPLING_FILTER_BITS - 6)) - 1)], __ATOMIC_RELAXED);
  return (word >> ((h >> 4) & 63)) & 1;
}

/* Before p is handed back to the allocator (so the address cannot be reused while it is still tracked). */
static inline __attribute__((always_inline)) void sampling_on_free(void *p) {
  if (__builtin_expect(sampling_frees && sampling_maybe_live(p), 0)) sampling_forget(p);
}

#endif
