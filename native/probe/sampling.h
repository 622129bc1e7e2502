/* The sampled heap profiler inside liballoclab-probe.so: the hooks probe.c calls from its allocation and free
 * paths. Private to the probe (not installed, not read by TypeScript; the file format is in sampling.c).
 *
 * Both hooks run inside probe.c's re-entry guard (in_probe set), so whatever the slow paths call that allocates
 * (pthread_setspecific, the unwinders) reaches the next allocator as a plain forward, never a counted call.
 */
#ifndef ALLOCLAB_SAMPLING_H
#define ALLOCLAB_SAMPLING_H

#include <stddef.h>
#include <stdint.h>

#define SAMPLING_TLS __thread __attribute__((tls_model("initial-exec")))

/* Bytes left before this thread's next sample; starts at 0 so a thread's first allocation takes the slow path,
 * which draws the first exponential countdown (or parks the counter at INT64_MAX when sampling is off). */
extern SAMPLING_TLS int64_t sampling_countdown;
/* Mean interval; allocations at least this large are always sampled. */
extern uint64_t sampling_interval;
/* Occupancy of each bucket of the live-sample hash (0: no sampled block can hash here). */
extern uint8_t *sampling_bucket_used;
extern unsigned sampling_bucket_shift;

/* From probe.c: starts a detached probe thread with every signal blocked (0 on success). */
int probe_start_thread(void *(*fn)(void *));

void sampling_init(void);
/* True once sampling runs in this process. */
int sampling_active(void);
void sampling_take(void *p, size_t n, size_t request);
void sampling_forget(void *p);

/* After an allocation at p of n usable bytes (the sampled quantity) for a request of `request` bytes. */
static inline __attribute__((always_inline)) void sampling_on_alloc(void *p, size_t n, size_t request) {
  int64_t left = sampling_countdown - (int64_t)n;
  sampling_countdown = left;
  if (__builtin_expect(left < 0 || n >= sampling_interval, 0)) sampling_take(p, n, request);
}

/* Before p is handed back to the allocator (so the address cannot be reused while it is still tracked). */
static inline __attribute__((always_inline)) void sampling_on_free(void *p) {
  uint8_t *used = sampling_bucket_used;
  if (__builtin_expect(used != NULL, 0)) {
    uint64_t h = ((uint64_t)(uintptr_t)p >> 4) * 0x9e3779b97f4a7c15ull;
    if (__atomic_load_n(&used[h >> sampling_bucket_shift], __ATOMIC_RELAXED)) sampling_forget(p);
  }
}

#endif
