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

/* The statistics thread's body (started by probe.c, signals blocked). */
void *probe_stats_thread(void *arg);

#endif
