// Corpus: a flat service. It loads a 64 MiB table at start-up (its data set); every request builds a few small
// buffers of mixed sizes (64 B-1 KiB), checksums them against the table and frees them all before answering. Truth: RSS and live heap stay level under every allocator once started.
//   flat-service PORT
#include "mini_http.h"
#include <stdint.h>

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static volatile uint64_t sink;
#define TABLE_BYTES (64u << 20)
static unsigned char *table;

static uint64_t next_random(void) {
  rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17;
  return rng;
}

static void handle(void *ctx) {
  (void)ctx;
  unsigned char *parts[8];
  size_t sizes[8];
  uint64_t sum = 0;
  for (int i = 0; i < 8; i++) {
    sizes[i] = 64 + next_random() % 960;
    parts[i] = malloc(sizes[i]);
    memset(parts[i], i, sizes[i]);
  }
  for (int i = 0; i < 8; i++) {
    for (size_t j = 0; j < sizes[i]; j += 16) sum += parts[i][j] ^ table[(sum + j) % TABLE_BYTES];
    free(parts[i]);
  }
  sink = sum;
}

int main(int argc, char **argv) {
  int port = mini_http_port_arg(argc, argv);
  table = malloc(TABLE_BYTES);
  for (size_t i = 0; i < TABLE_BYTES; i++) table[i] = (unsigned char)(i * 31);
  mini_http_serve(port, handle, NULL);
}
