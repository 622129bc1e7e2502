// Corpus: an unbounded map. Every request records a new session id with its payload in a std::unordered_map
// that is never pruned (keys never repeat). Truth: live heap grows under every allocator (a leak by another name).
//   unbounded-map PORT [VALUE_BYTES=2048]
#include <string>
#include <unordered_map>
#include "mini_http.h"

static std::unordered_map<std::string, std::string> sessions;
static unsigned long counter;
static size_t value_bytes = 2048;

static void handle(void *) {
  std::string key = "session-" + std::to_string(counter++);
  sessions.emplace(std::move(key), std::string(value_bytes, static_cast<char>('a' + counter % 26)));
}

int main(int argc, char **argv) {
  int port = mini_http_port_arg(argc, argv);
  if (argc > 2) value_bytes = static_cast<size_t>(atol(argv[2]));
  mini_http_serve(port, handle, nullptr);
}
