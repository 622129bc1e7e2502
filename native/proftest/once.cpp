// proftest-once N: N blocks of 1 MiB from each of malloc, plain new, sized delete, aligned new and array new, all
// freed again. Run with the probe sampling at an interval below 1 MiB, every one of them must be sampled exactly once
// and its free seen exactly once, whichever allocator serves them: a nested entry point (an allocator's operator
// new over malloc or aligned_alloc) must not sample the same block twice.
#include <cstdio>
#include <cstdlib>
#include <new>

namespace {
struct alignas(64) Aligned { char bytes[1 << 20]; };
struct Plain { char bytes[1 << 20]; };
}  // namespace

int main(int argc, char** argv) {
  int n = argc > 1 ? std::atoi(argv[1]) : 10;
  for (int i = 0; i < n; i++) {
    void* volatile m = std::malloc(1 << 20);
    std::free(m);
    Plain* volatile p = new Plain;  // sized delete below (C++14 and later)
    delete p;
    Aligned* volatile a = new Aligned;  // operator new(size_t, align_val_t)
    delete a;
    char* volatile c = new char[1 << 20];
    delete[] c;
    void* volatile u = ::operator new(1 << 20);
    ::operator delete(u);  // unsized
  }
  std::printf("blocks %d\n", 5 * n);
  return 0;
}
