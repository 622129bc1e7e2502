// Corpus: growth outside the heap. Every request maps a fresh 8 KiB region of anonymous memory (as a program's
// own buffer pool or a leaked mapping would), fills it and never unmaps it. malloc is not involved.
// Truth: RSS grows at the same rate under every allocator; the live heap does not move. Without the ledger this
// is indistinguishable from a heap leak; with it, the growth is outside the heap.
//   mmap-growth PORT [BYTES_PER_REQUEST=8192]
#include "mini_http.h"
#include <sys/mman.h>

static size_t bytes_per_request = 8192;

static void handle(void *ctx) {
  (void)ctx;
  void *p = mmap(NULL, bytes_per_request, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p != MAP_FAILED) memset(p, 0x77, bytes_per_request);
}

int main(int argc, char **argv) {
  int port = mini_http_port_arg(argc, argv);
  if (argc > 2) bytes_per_request = (size_t)atol(argv[2]);
  mini_http_serve(port, handle, NULL);
}
