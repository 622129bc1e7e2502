// Corpus: a cache that fills, then stays bounded. Every request stores a new 16 KiB entry in a FIFO cache of 4096
// slots (64 MiB); once full, each insert frees the oldest entry first. Single-threaded and one size, so every
// allocator reuses the freed block in place. Truth: RSS and live heap rise until the cache is full (about 10 s at
// 400 requests/s), then stay level under every allocator: the program's own (bounded) memory, not a leak.
//   bounded-cache PORT [SLOTS=4096]
#include <cstdint>
#include <cstring>
#include <vector>
#include "mini_http.h"

static constexpr size_t kEntryBytes = 16384;
static std::vector<char *> slots(4096, nullptr);
static size_t next_slot;
static uint64_t counter;

static void handle(void *) {
  char *&slot = slots[next_slot];
  next_slot = (next_slot + 1) % slots.size();
  free(slot);
  slot = static_cast<char *>(malloc(kEntryBytes));
  memset(slot, static_cast<int>('a' + counter++ % 26), kEntryBytes);
}

int main(int argc, char **argv) {
  int port = mini_http_port_arg(argc, argv);
  if (argc > 2) slots.assign(static_cast<size_t>(atol(argv[2])), nullptr);
  mini_http_serve(port, handle, nullptr);
}
