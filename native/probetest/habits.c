/* habits MODE ARGS: targets that show one allocator habit each, for the ledger's habit tests (test/unit/ledger).
 * Each prints "ready" once the memory is in the state described, then "idle" when it stops allocating (modes
 * with a load), and waits for SIGTERM.
 *   retain MIB THREADS  THREADS threads each allocate MIB/THREADS in 1 KiB blocks, then free 9 of every 10:
 *                       free chunks all through the heaps that no trim of a top can return (malloc_trim(0) can:
 *                       it releases whole free pages inside chunks)
 *   top MIB             the main thread allocates MIB in 1 KiB blocks and frees them all in allocation order:
 *                       they coalesce into one big top chunk (kept when MALLOC_TRIM_THRESHOLD_ is above it)
 *   arenas THREADS      THREADS threads allocate and free at the same time and stay alive: an arena each, up
 *                       to 8 per core
 *   load MIB SECONDS    SECONDS of churn over MIB (blocks of 1-64 KiB allocated and freed), then "idle": no
 *                       allocation at all (what decays without allocator activity is purged only by a thread)
 *   lazyfree MIB        an anonymous mapping of MIB, written, then given back with MADV_FREE (still resident)
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define MiB (1024u * 1024u)

static volatile sig_atomic_t stop;
static void on_term(int sig) {
  (void)sig;
  stop = 1;
}

static void say(const char *what) {
  printf("%s\n", what);
  fflush(stdout);
}

static void wait_for_term(void) {
  while (!stop) pause();
}

static size_t per_thread;
static pthread_barrier_t barrier;

static void *retain_worker(void *arg) {
  (void)arg;
  size_t n = per_thread / 1024;
  char **b = malloc(n * sizeof *b);
  for (size_t i = 0; i < n; i++) {
    b[i] = malloc(1000);
    memset(b[i], 1, 1000);
  }
  for (size_t i = 0; i < n; i++) {
    if (i % 10) {
      free(b[i]);
      b[i] = NULL;
    }
  }
  pthread_barrier_wait(&barrier); /* all threads done: "ready" */
  while (!stop) pause();
  return b;
}

static void retain(size_t mib, int threads) {
  per_thread = mib * MiB / (size_t)threads;
  pthread_barrier_init(&barrier, NULL, (unsigned)threads + 1);
  pthread_t t[256];
  for (int i = 0; i < threads; i++) pthread_create(&t[i], NULL, retain_worker, NULL);
  pthread_barrier_wait(&barrier);
  say("ready");
  wait_for_term();
}

static void top(size_t mib) {
  size_t n = mib * MiB / 1024;
  char **b = malloc(n * sizeof *b);
  for (size_t i = 0; i < n; i++) {
    b[i] = malloc(1000);
    memset(b[i], 1, 1000);
  }
  /* In allocation order: the free chunks coalesce, the last one with the top, so the top takes them all. */
  for (size_t i = 0; i < n; i++) free(b[i]);
  free(b);
  say("ready");
  wait_for_term();
}

static void *arena_worker(void *arg) {
  (void)arg;
  void *p = malloc(100000);
  memset(p, 1, 100000);
  pthread_barrier_wait(&barrier);
  free(p);
  while (!stop) pause();
  return NULL;
}

static void arenas(int threads) {
  pthread_barrier_init(&barrier, NULL, (unsigned)threads + 1);
  pthread_t t[256];
  for (int i = 0; i < threads; i++) pthread_create(&t[i], NULL, arena_worker, NULL);
  pthread_barrier_wait(&barrier);
  usleep(100000);
  say("ready");
  wait_for_term();
}

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void load(size_t mib, double seconds) {
  size_t slots = 4096;
  char **b = calloc(slots, sizeof *b);
  size_t held = 0;
  unsigned seed = 7;
  say("ready");
  double end = now_s() + seconds;
  while (!stop && now_s() < end) {
    size_t i = (size_t)rand_r(&seed) % slots;
    if (b[i]) {
      free(b[i]);
      b[i] = NULL;
    }
    size_t sz = 1024 + (size_t)rand_r(&seed) % (64 * 1024);
    if (held < mib * MiB || rand_r(&seed) % 2) {
      b[i] = malloc(sz);
      memset(b[i], 1, sz);
    }
    held = 0;
    if ((rand_r(&seed) & 1023) == 0)
      for (size_t k = 0; k < slots; k++) held += b[k] ? 32 * 1024 : 0;
  }
  /* Everything freed, then no allocator call at all. */
  for (size_t i = 0; i < slots; i++) free(b[i]);
  say("idle");
  wait_for_term();
}

static void lazyfree(size_t mib) {
  char *m = mmap(NULL, mib * MiB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (m == MAP_FAILED) exit(1);
  memset(m, 1, mib * MiB);
  if (madvise(m, mib * MiB, MADV_FREE) != 0) exit(1);
  say("ready");
  wait_for_term();
}

int main(int argc, char **argv) {
  signal(SIGTERM, on_term);
  if (argc >= 4 && strcmp(argv[1], "retain") == 0) retain((size_t)atol(argv[2]), atoi(argv[3]) < 1 ? 1 : atoi(argv[3]) > 256 ? 256 : atoi(argv[3]));
  else if (argc >= 3 && strcmp(argv[1], "top") == 0) top((size_t)atol(argv[2]));
  else if (argc >= 3 && strcmp(argv[1], "arenas") == 0) arenas(atoi(argv[2]) < 1 ? 1 : atoi(argv[2]) > 256 ? 256 : atoi(argv[2]));
  else if (argc >= 4 && strcmp(argv[1], "load") == 0) load((size_t)atol(argv[2]), atof(argv[3]));
  else if (argc >= 3 && strcmp(argv[1], "lazyfree") == 0) lazyfree((size_t)atol(argv[2]));
  else {
    fprintf(stderr, "usage: habits retain MIB THREADS | top MIB | arenas THREADS | load MIB SECONDS | lazyfree MIB\n");
    return 2;
  }
  return 0;
}
