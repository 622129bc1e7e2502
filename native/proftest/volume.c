// A fixed volume of allocation, the same on every run (single thread, no timing): twelve sites whose totals
// fall by a quarter from one to the next (400 MiB down to about 17 MiB), each with its own block size, all freed.
// For comparing a sampled profile with an exact one (bench/profilers.ts): heaptrack counts every call, the
// probe samples, and both see exactly this.
#include <stdio.h>
#include <stdlib.h>

static volatile unsigned long sink;

// Allocates `total` bytes in blocks of `size`, keeping a window of 64 blocks live so blocks are not all reused.
#define SITE(name, size, total)                                                     \
  __attribute__((noinline)) static void name(void) {                                \
    void *window[64] = {0};                                                          \
    for (unsigned long i = 0; i < (total) / (size); i++) {                          \
      free(window[i % 64]);                                                          \
      char *p = malloc(size);                                                        \
      p[0] = (char)i;                                                                \
      sink += (unsigned char)p[0];                                                   \
      window[i % 64] = p;                                                            \
    }                                                                                \
    for (int i = 0; i < 64; i++) free(window[i]);                                   \
  }

#define MiB (1024ul * 1024ul)
SITE(site01, 64, 400 * MiB)
SITE(site02, 4096, 300 * MiB)
SITE(site03, 200, 225 * MiB)
SITE(site04, 100000, 169 * MiB)
SITE(site05, 32, 127 * MiB)
SITE(site06, 1500, 95 * MiB)
SITE(site07, 24, 71 * MiB)
SITE(site08, 700000, 53 * MiB)
SITE(site09, 9000, 40 * MiB)
SITE(site10, 128, 30 * MiB)
SITE(site11, 40000, 23 * MiB)
SITE(site12, 2048, 17 * MiB)

int main(void) {
  site01(); site02(); site03(); site04(); site05(); site06();
  site07(); site08(); site09(); site10(); site11(); site12();
  printf("done %lu\n", sink);
  return 0;
}
