// The C++ case: allocations made through std::string and std::vector, whose allocating frames are library
// headers (new_allocator.h, basic_string.h). Attribution must land on the SITE lines here, not on a header.
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>
#include <time.h>

static std::vector<std::string> kept;
static std::vector<std::vector<char>> cache;
static volatile unsigned long sink;

__attribute__((noinline)) static void leak_step(int i) {
  std::string s(8192, static_cast<char>('a' + i % 26)); /* SITE:leak */
  kept.push_back(std::move(s));
}

__attribute__((noinline)) static void churn_step() {
  for (int i = 0; i < 200; i++) {
    std::vector<int> v(12, i); /* SITE:churn */
    sink += static_cast<unsigned long>(v[3]);
  }
}

__attribute__((noinline)) static void fill_cache() {
  for (int i = 0; i < 32; i++) cache.emplace_back(1024 * 1024, static_cast<char>(i)); /* SITE:cache */
}

int main(int argc, char **argv) {
  long pause = argc > 1 ? std::atol(argv[1]) : 500;
  kept.reserve(2000);
  cache.reserve(32);
  fill_cache();
  timespec ts{0, 50'000'000};
  nanosleep(&ts, nullptr);
  for (int it = 0; it < 1500; it++) {
    leak_step(it);
    churn_step();
    if (pause > 0) {
      timespec p{0, pause * 1000};
      nanosleep(&p, nullptr);
    }
  }
  nanosleep(&ts, nullptr);
  cache.clear();
  cache.shrink_to_fit();
  std::printf("done %lu\n", sink);
  return 0;
}
