/* probebench THREADS OPS_PER_THREAD: a fixed amount of allocation churn, the probe's worst case (nothing but
 * malloc/free). Each thread keeps a window of 1024 blocks and replaces one per operation: mostly small sizes,
 * one in 64 up to 64 KiB; one in 8 blocks is handed to the next thread's window, so frees cross threads.
 * Prints "ops N seconds S". */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { WINDOW = 1024 };
static long ops_per_thread;
static int nthreads;
static void *_Atomic *mailbox; /* one slot per thread: a block passed on to the next thread */

static void *worker(void *arg) {
  int me = (int)(intptr_t)arg;
  void *window[WINDOW] = {0};
  uint64_t x = 0x9e3779b97f4a7c15ull * (uint64_t)(me + 1);
  for (long i = 0; i < ops_per_thread; i++) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    size_t slot = x % WINDOW;
    size_t size = (x >> 20) % 64 == 0 ? 1024 + (x >> 32) % 65536 : 16 + (x >> 32) % 512;
    free(window[slot]);
    char *p = malloc(size);
    p[0] = (char)i;
    if ((x >> 40) % 8 == 0) {
      void *old = __atomic_exchange_n(&mailbox[(me + 1) % nthreads], p, __ATOMIC_ACQ_REL);
      window[slot] = old;
    } else {
      window[slot] = p;
    }
  }
  for (int i = 0; i < WINDOW; i++) free(window[i]);
  return NULL;
}

int main(int argc, char **argv) {
  nthreads = argc > 1 ? atoi(argv[1]) : 4;
  ops_per_thread = argc > 2 ? atol(argv[2]) : 1000000;
  if (nthreads < 1 || ops_per_thread < 1) return 2;
  mailbox = calloc((size_t)nthreads, sizeof *mailbox);
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  pthread_t *id = malloc(sizeof *id * (size_t)nthreads);
  for (int i = 0; i < nthreads; i++) pthread_create(&id[i], NULL, worker, (void *)(intptr_t)i);
  for (int i = 0; i < nthreads; i++) pthread_join(id[i], NULL);
  for (int i = 0; i < nthreads; i++) free(mailbox[i]);
  clock_gettime(CLOCK_MONOTONIC, &t1);
  printf("ops %ld seconds %.6f\n", ops_per_thread * nthreads, (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9);
  return 0;
}
