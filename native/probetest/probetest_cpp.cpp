// probetest-cpp: every C++ operator new / delete variant, with the program's own count of live heap bytes
// (malloc_usable_size of each block it holds). A throwing operator new comes first: the probe's re-entry guard
// must be reset by the unwinding, or nothing after it would be counted (argument "throw"). Prints "count N", "ready", waits.
#include <malloc.h>
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <new>
#include <string>
#include <vector>

namespace {

size_t own = 0;
std::vector<void*>* held;  // allocated before counting starts; reserve()d so it never grows during the test

void* keep(void* p) {
  own += malloc_usable_size(p);
  held->push_back(p);
  return p;
}

size_t forget(void* p) {
  size_t n = malloc_usable_size(p);
  own -= n;
  return n;
}

volatile sig_atomic_t stop = 0;
void onTerm(int) { stop = 1; }

}  // namespace

int main(int argc, char** argv) {
  signal(SIGTERM, onTerm);
  setvbuf(stdout, nullptr, _IOLBF, 0);
  std::printf("mode cpp\n");
  held = new std::vector<void*>();
  held->reserve(100000);
  own += malloc_usable_size(held->data());
  own += malloc_usable_size(held);

  // "throw": check that a failing operator new unwinds through the probe. Not under mimalloc, whose operator new
  // aborts instead of throwing when no new-handler is installed (as it does without the probe).
  const bool tryThrow = argc > 1 && std::string(argv[1]) == "throw";
  bool threw = false;
  if (tryThrow) try {
    void* volatile huge = ::operator new(size_t(1) << 62);
    ::operator delete(huge);
  } catch (const std::bad_alloc&) {
    threw = true;
  }
  std::printf("threw %d\n", threw ? 1 : 0);

  const std::align_val_t a64{64}, a256{256}, a4k{4096};
  for (int i = 0; i < 4000; i++) {
    size_t n = 32 + (i % 40) * 48;
    // Allocate with each variant, then free every other block with the matching delete variant.
    void* p1 = keep(::operator new(n));
    void* p2 = keep(::operator new[](n + 8));
    void* p3 = keep(::operator new(n, std::nothrow));
    void* p4 = keep(::operator new[](n, std::nothrow));
    void* p5 = keep(::operator new(n, a64));
    void* p6 = keep(::operator new[](n, a256));
    void* p7 = keep(::operator new(n, a64, std::nothrow));
    void* p8 = keep(::operator new[](n, a4k, std::nothrow));
    if (i % 2) continue;
    held->resize(held->size() - 8);
    switch (i / 2 % 3) {
      case 0:
        forget(p1), ::operator delete(p1);
        forget(p2), ::operator delete[](p2);
        forget(p5), ::operator delete(p5, a64);
        forget(p6), ::operator delete[](p6, a256);
        break;
      case 1:
        forget(p1), ::operator delete(p1, n);
        forget(p2), ::operator delete[](p2, n + 8);
        forget(p5), ::operator delete(p5, n, a64);
        forget(p6), ::operator delete[](p6, n, a256);
        break;
      default:
        forget(p1), ::operator delete(p1, std::nothrow);
        forget(p2), ::operator delete[](p2, std::nothrow);
        forget(p5), ::operator delete(p5, a64, std::nothrow);
        forget(p6), ::operator delete[](p6, a256, std::nothrow);
        break;
    }
    forget(p3), ::operator delete(p3);
    forget(p4), ::operator delete[](p4);
    forget(p7), ::operator delete(p7, a64);
    forget(p8), ::operator delete[](p8, a4k);
  }
  // Ordinary expressions too (the compiler picks sized and array forms).
  for (int i = 0; i < 2000; i++) keep(new long[64]);
  struct alignas(128) Wide { char bytes[1000]; };
  for (int i = 0; i < 500; i++) keep(new Wide);
  for (int i = 0; i < 4; i++) keep(new char[1 << 20]);

  std::printf("count %zu\n", own);
  std::printf("ready\n");
  std::fflush(stdout);
  while (!stop) pause();
  return 0;
}
