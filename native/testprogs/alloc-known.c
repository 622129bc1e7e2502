// alloc-known MIB [BLOCK_BYTES]: allocates MIB mebibytes in small blocks, touches every byte, prints "ready",
// then waits for SIGTERM. Tests use it to check that sampled RSS matches a known amount of heap. With the
// default 4 KiB blocks glibc adds about 0.6 % (chunk headers, the pointer array) plus ~1.4 MiB of program and
// libraries: 100 MiB reads as ~102 MiB VmRSS.
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t stop;
static void on_term(int sig) { (void)sig; stop = 1; }

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: alloc-known MIB [BLOCK_BYTES]\n");
    return 2;
  }
  double mib = atof(argv[1]);
  size_t block = argc > 2 ? (size_t)atol(argv[2]) : 4096;
  if (mib < 0 || block == 0) {
    fprintf(stderr, "alloc-known: bad arguments\n");
    return 2;
  }
  signal(SIGTERM, on_term);
  size_t total = (size_t)(mib * 1024 * 1024);
  size_t count = total / block;
  // The pointer array itself is heap too; it is small next to the blocks (8 bytes per block).
  char **blocks = malloc((count ? count : 1) * sizeof *blocks);
  if (!blocks) return 1;
  for (size_t i = 0; i < count; i++) {
    blocks[i] = malloc(block);
    if (!blocks[i]) {
      fprintf(stderr, "alloc-known: out of memory after %zu blocks\n", i);
      return 1;
    }
    memset(blocks[i], (int)(i & 0xff) | 1, block);
  }
  printf("ready %zu blocks of %zu bytes pid %d\n", count, block, (int)getpid());
  fflush(stdout);
  while (!stop) pause();
  // Read the blocks once more so the compiler cannot drop them.
  unsigned long sum = 0;
  for (size_t i = 0; i < count; i += 97) sum += (unsigned char)blocks[i][0];
  printf("bye %lu\n", sum);
  return 0;
}
