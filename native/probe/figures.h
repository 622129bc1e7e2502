/* The probe's statistics thread (figures.c): the allocator's own figures, the process's memory map, and requests
 * from the control block. probe.c owns the counters and the file; these are the few things it shares. */
#ifndef ALLOCLAB_PROBE_FIGURES_H
#define ALLOCLAB_PROBE_FIGURES_H

#include <stdint.h>

#include "probe.h"

/* Defined in probe.c. */
struct probe_shm *probe_file(void);   /* the file this process counts into (changes after fork) */
int probe_allocator_kind(void);       /* enum probe_allocator */
void probe_internal_thread(void);     /* marks the calling thread's allocations as the probe's own (uncounted) */
/* A directly mmapped glibc block, as the probe recorded it when it was handed out: its mapping and usable bytes. */
struct probe_direct_block { uintptr_t start; uint64_t len, usable; };
/* At most this many are kept (the table has four times as many slots); beyond it the map walk is used. */
#define PROBE_DIRECT_MAX 4096u
/* Copies the live direct blocks into out (at most max); -1 when the table is not kept (not glibc, not counting,
 * or more blocks than it holds): the map walk then finds what it can. */
int probe_direct_blocks(struct probe_direct_block *out, unsigned max);

/* The statistics thread's body (started by probe.c, signals blocked). */
void *probe_stats_thread(void *arg);

#endif
