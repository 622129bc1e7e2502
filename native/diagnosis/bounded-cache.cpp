// Corpus: a cache that fills, then stays bounded. Every request stores a new entry (2-6 KiB) in a FIFO cache
// capped by bytes; once full, each insert evicts the oldest entries. Single-threaded, so the
// allocator frees and reuses in place. Truth: RSS and live heap rise until the cap, then stay level under every
// allocator: the program's own (bounded) memory, not a leak.
//   bounded-cache PORT [CAP_MIB=16]
#include <cstdint>
#include <list>
#include <string>
#include "mini_http.h"

static size_t cap_bytes = 16u << 20;
static size_t used_bytes;
static std::list<std::string> lru;  // front: newest
static uint64_t counter, rng = 0x9e3779b97f4a7c15ull;

static uint64_t next_random() {
  rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17;
  return rng;
}

static void handle(void *) {
  size_t size = 2048 + next_random() % 4096;
  lru.emplace_front(size, static_cast<char>('a' + counter % 26));
  counter++;
  used_bytes += size;
  while (used_bytes > cap_bytes && !lru.empty()) {
    used_bytes -= lru.back().size();
    lru.pop_back();
  }
}

int main(int argc, char **argv) {
  int port = mini_http_port_arg(argc, argv);
  if (argc > 2) cap_bytes = static_cast<size_t>(atol(argv[2])) << 20;
  mini_http_serve(port, handle, nullptr);
}
