// Corpus: oscillating but flat. Every request fills the next 64 KiB of a 48 MiB batch buffer the program maps
// itself; when the buffer is full it is unmapped and a new one started, so RSS swings by 48 MiB in a sawtooth
// (about 4 s a period at 200 requests/s) around a level that does not move. The heap is not involved.
// Truth: no trend under any allocator: stable.
//   oscillating PORT [BUFFER_MIB=48]
#include "mini_http.h"
#include <sys/mman.h>

#define STEP (64 * 1024)
static size_t buffer_bytes = 48u << 20;
static unsigned char *buffer;
static size_t filled;

static void handle(void *ctx) {
  (void)ctx;
  if (!buffer || filled + STEP > buffer_bytes) {
    if (buffer) munmap(buffer, buffer_bytes);
    buffer = mmap(NULL, buffer_bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (buffer == MAP_FAILED) { buffer = NULL; return; }
    filled = 0;
  }
  memset(buffer + filled, 0x33, STEP);
  filled += STEP;
}

int main(int argc, char **argv) {
  int port = mini_http_port_arg(argc, argv);
  if (argc > 2) buffer_bytes = (size_t)atol(argv[2]) << 20;
  mini_http_serve(port, handle, NULL);
}
