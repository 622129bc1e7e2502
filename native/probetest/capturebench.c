/* capturebench DEPTH N: the cost of one stack capture by each of the probe's methods (frame pointers, libunwind,
 * _Unwind_Backtrace), from a call chain deeper than DEPTH. Run with the probe preloaded and sampling on (so it
 * loads its unwinders): LD_PRELOAD=liballoclab-probe.so ALLOCLAB_PROBE_SAMPLE_DIR=/tmp/x capturebench 64 20000.
 * Prints "method NAME depth D frames F ns_per_capture X" per method. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static unsigned (*capture)(int method, unsigned depth);
static unsigned depth;
static long count;
static const char *names[] = {"none", "fp", "libunwind", "gcc"};

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void measure(void) {
  for (int m = 1; m <= 3; m++) {
    unsigned frames = capture(m, depth); /* warm caches (libunwind's per-thread cache) */
    double best = 1e9;
    for (int rep = 0; rep < 3; rep++) {
      double t0 = now();
      for (long i = 0; i < count; i++) frames = capture(m, depth);
      double per = (now() - t0) / (double)count * 1e9;
      if (per < best) best = per;
    }
    printf("method %s depth %u frames %u ns_per_capture %.0f\n", names[m], depth, frames, best);
  }
}

__attribute__((noinline)) static int chain(int left) {
  if (left == 0) {
    measure();
    return 0;
  }
  int r = chain(left - 1);
  __asm__ volatile("" ::: "memory"); /* not a tail call: every level keeps its frame */
  return r + 1;
}

int main(int argc, char **argv) {
  depth = argc > 1 ? (unsigned)atoi(argv[1]) : 64;
  count = argc > 2 ? atol(argv[2]) : 20000;
  capture = (unsigned (*)(int, unsigned))dlsym(RTLD_DEFAULT, "alloclab_probe_capture");
  if (!capture) {
    fprintf(stderr, "capturebench: run with liballoclab-probe.so preloaded\n");
    return 2;
  }
  return chain((int)depth + 8) < 0;
}
