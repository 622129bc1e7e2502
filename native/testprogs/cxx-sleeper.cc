// cxx-sleeper: a C++ program (links libstdc++), for environments that only matter to C++ (GLIBCXX_FORCE_NEW).
// Builds a vector of strings, prints "ready", waits for SIGTERM.
#include <csignal>
#include <cstdio>
#include <string>
#include <unistd.h>
#include <vector>

static volatile std::sig_atomic_t stop_requested = 0;

int main() {
  std::signal(SIGTERM, [](int) { stop_requested = 1; });
  std::vector<std::string> words;
  for (int i = 0; i < 1000; i++) words.push_back("word number " + std::to_string(i) + " with some padding to leave SSO");
  std::printf("ready %zu words\n", words.size());
  std::fflush(stdout);
  while (!stop_requested) pause();
  return 0;
}
