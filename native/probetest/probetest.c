/* probetest MODE: a target for the probe's tests. It keeps its own count of live heap bytes, as the allocator's
 * malloc_usable_size reports them (so the count is exact under any allocator), prints "count N", prints "ready"
 * and waits for SIGTERM.
 *   known    every C entry point: malloc, calloc, realloc growth, reallocarray, posix_memalign, aligned_alloc,
 *            memalign, valloc, pvalloc, large (mmapped) blocks; frees about half
 *   fork     allocates, forks a child that allocates 32 MiB more ("child PID N" printed by the parent), waits
 *   threads  200 short-lived threads (8 at a time) allocating and freeing; each leaves one block alive and frees
 *            one block the main thread allocated
 *   wide     the same with 80 threads alive at once (more threads than the probe has thread-owned shards)
 *   direct   4 threads churn blocks that glibc mmaps directly (malloc, calloc, posix_memalign, realloc up and down,
 *            frees, some by another thread), then print "direct N U": the blocks left and their usable bytes
 */
#define _GNU_SOURCE
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static size_t own; /* usable bytes of the blocks this program holds */
static pthread_mutex_t own_lock = PTHREAD_MUTEX_INITIALIZER;

static void *keep(void *p) {
  if (!p) {
    fprintf(stderr, "probetest: allocation failed\n");
    exit(1);
  }
  pthread_mutex_lock(&own_lock);
  own += malloc_usable_size(p);
  pthread_mutex_unlock(&own_lock);
  return p;
}

static void drop(void *p) {
  pthread_mutex_lock(&own_lock);
  own -= malloc_usable_size(p);
  pthread_mutex_unlock(&own_lock);
  free(p);
}

#define MAXB 40000
static void *blocks[MAXB];
static int nblocks;

static void add(void *p) { blocks[nblocks++] = keep(p); }

static void known(void) {
  static const size_t sizes[] = {16, 48, 100, 256, 1000, 4000};
  for (int i = 0; i < 24000; i++) add(malloc(sizes[i % 6]));
  for (int i = 0; i < 1000; i++) add(calloc(16, 32));
  for (int i = 0; i < 100; i++) {
    /* Growth by realloc: the count follows the block's final size, not the sum of its past sizes. */
    size_t n = 16;
    void *p = NULL;
    for (; n <= 65536; n *= 2) {
      if (p) {
        pthread_mutex_lock(&own_lock);
        own -= malloc_usable_size(p);
        pthread_mutex_unlock(&own_lock);
      }
      p = keep(realloc(p, n));
    }
    blocks[nblocks++] = p;
  }
  for (int i = 0; i < 100; i++) add(reallocarray(NULL, 100, 24));
  for (int i = 0; i < 1000; i++) {
    void *p = NULL;
    if (posix_memalign(&p, 64, 1000) != 0) exit(1);
    add(p);
  }
  for (int i = 0; i < 100; i++) add(aligned_alloc(4096, 8192));
  for (int i = 0; i < 100; i++) add(memalign(256, 3000));
  for (int i = 0; i < 50; i++) add(valloc(5000));
  for (int i = 0; i < 50; i++) add(pvalloc(100));
  for (int i = 0; i < 8; i++) add(malloc(1 << 20));
  for (int i = 0; i < 2; i++) add(calloc(1, 2 << 20));
  /* realloc(p, 0) frees under glibc; under others it may return a small block: count whichever happens. */
  void *z = keep(malloc(200));
  pthread_mutex_lock(&own_lock);
  own -= malloc_usable_size(z);
  pthread_mutex_unlock(&own_lock);
  z = realloc(z, 0);
  if (z) add(z);
  for (int i = 0; i < nblocks; i += 2) {
    drop(blocks[i]);
    blocks[i] = NULL;
  }
}

static pthread_barrier_t all_started;
static int use_barrier;

static void *thread_main(void *arg) {
  void *from_main = arg;
  /* "wide": every thread alive at once, more than the probe's 56 thread-owned shards. */
  if (use_barrier) pthread_barrier_wait(&all_started);
  void *local[500];
  for (int round = 0; round < 3; round++) {
    for (int i = 0; i < 500; i++) local[i] = keep(malloc(64 + (size_t)(i * 37 % 2000)));
    for (int i = 0; i < 500; i++) drop(local[i]);
  }
  drop(from_main); /* freed by another thread than the one that allocated it */
  return keep(malloc(64000)); /* enough that the startup heap (ld.so, libc) stays well under 1 % */
}

static void threads(int TOTAL, int BATCH) {
  use_barrier = BATCH > 8;
  if (use_barrier) pthread_barrier_init(&all_started, NULL, (unsigned)BATCH);
  for (int t = 0; t < TOTAL; t += BATCH) {
    pthread_t id[128];
    for (int i = 0; i < BATCH; i++) {
      if (pthread_create(&id[i], NULL, thread_main, keep(malloc(777))) != 0) exit(1);
    }
    for (int i = 0; i < BATCH; i++) {
      void *left;
      pthread_join(id[i], &left);
      blocks[nblocks++] = left;
    }
  }
}

/* Blocks glibc mmaps directly: every size here is above the threshold fixed below. Each thread owns its slots;
 * a thread frees what it finds in its neighbour's first slot now and then (under the lock), so blocks also go
 * back from another thread than the one that allocated them. */
#define DIRECT_THREADS 4
#define DIRECT_SLOTS_PER 64
static void *dslot[DIRECT_THREADS][DIRECT_SLOTS_PER];

static void *direct_main(void *arg) {
  int t = (int)(intptr_t)arg;
  unsigned seed = 77u + (unsigned)t;
  for (int step = 0; step < 4000; step++) {
    int i = rand_r(&seed) % DIRECT_SLOTS_PER;
    size_t n = (160u << 10) + (size_t)(rand_r(&seed) % (3u << 20));
    void **at = &dslot[t][i];
    pthread_mutex_lock(&own_lock);
    void *p = *at; /* taken out of the slot meanwhile, so the neighbour cannot free it under our hands */
    *at = NULL;
    pthread_mutex_unlock(&own_lock);
    switch (rand_r(&seed) % 6) {
    case 0: if (!p) { p = malloc(n); if (!p) exit(1); } break;
    case 1: if (!p) { p = calloc(1, n); if (!p) exit(1); } break;
    case 2: if (!p && posix_memalign(&p, 4096, n) != 0) exit(1); break;
    case 3: if (p) { void *q = realloc(p, n); if (!q) exit(1); p = q; } break;
    case 4: if (p) { free(p); p = NULL; } break;
    default: {
      void **other = &dslot[(t + 1) % DIRECT_THREADS][0];
      pthread_mutex_lock(&own_lock);
      void *o = *other;
      *other = NULL;
      pthread_mutex_unlock(&own_lock);
      free(o);
    }
    }
    pthread_mutex_lock(&own_lock);
    *at = p;
    pthread_mutex_unlock(&own_lock);
  }
  return NULL;
}

static void direct(void) {
  mallopt(M_MMAP_THRESHOLD, 128 * 1024);
  pthread_t id[DIRECT_THREADS];
  for (int t = 0; t < DIRECT_THREADS; t++) if (pthread_create(&id[t], NULL, direct_main, (void *)(intptr_t)t) != 0) exit(1);
  for (int t = 0; t < DIRECT_THREADS; t++) pthread_join(id[t], NULL);
  size_t count = 0, bytes = 0;
  for (int t = 0; t < DIRECT_THREADS; t++)
    for (int i = 0; i < DIRECT_SLOTS_PER; i++)
      if (dslot[t][i]) {
        /* Every one of them is mmapped (the IS_MMAPPED bit of its chunk header, glibc's own mark). */
        if (!(((size_t *)dslot[t][i])[-1] & 2)) exit(3);
        count++;
        bytes += malloc_usable_size(dslot[t][i]);
      }
  printf("direct %zu %zu\n", count, bytes);
}

static void forks(void) {
  for (int i = 0; i < 4000; i++) add(malloc(2000));
  fflush(stdout);
  pid_t child = fork();
  if (child < 0) exit(1);
  if (child == 0) {
    for (int i = 0; i < 32; i++) keep(malloc(1 << 20));
    for (int i = 0; i < 1000; i++) keep(malloc(100));
    printf("child-count %zu\n", own);
    fflush(stdout);
    _exit(0);
  }
  int status;
  waitpid(child, &status, 0);
  printf("child %d %d\n", (int)child, WIFEXITED(status) ? WEXITSTATUS(status) : -1);
}

static volatile sig_atomic_t stop;
static void on_term(int sig) { (void)sig; stop = 1; }

int main(int argc, char **argv) {
  const char *mode = argc > 1 ? argv[1] : "known";
  signal(SIGTERM, on_term);
  /* stdout's buffer is allocated at the first printf; make that happen before counting starts. */
  setvbuf(stdout, NULL, _IOLBF, 0);
  printf("mode %s\n", mode);
  if (strcmp(mode, "known") == 0) known();
  else if (strcmp(mode, "threads") == 0) threads(200, 8);
  else if (strcmp(mode, "wide") == 0) threads(80, 80);
  else if (strcmp(mode, "fork") == 0) forks();
  else if (strcmp(mode, "direct") == 0) direct();
  else {
    fprintf(stderr, "usage: probetest known|threads|wide|fork|direct\n");
    return 2;
  }
  printf("count %zu\n", own);
  printf("ready\n");
  fflush(stdout);
  while (!stop) pause();
  return 0;
}
