// Counters the service keeps and the figures /stats reports (cache, requests, glibc heap, RSS).
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>

class LruCache;

struct ServiceCounters {
  std::atomic<std::uint64_t> requests{0};      // HTTP requests answered (any path, any status)
  std::atomic<std::uint64_t> configsBuilt{0};  // member updates processed (HTTP or self-load)
  std::atomic<std::uint64_t> configBytes{0};   // total serialized bytes produced
  std::atomic<std::uint64_t> badRequests{0};
  const std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
};

struct HeapFigures {
  std::uint64_t arenaBytes;     // mallinfo2().arena: bytes obtained from the OS by sbrk/arena heaps
  std::uint64_t mmapBytes;      // mallinfo2().hblkhd: bytes in mmapped chunks
  std::uint64_t inUseBytes;     // mallinfo2().uordblks
  std::uint64_t freeHeldBytes;  // mallinfo2().fordblks: free but still held by glibc
  std::uint64_t releasableBytes;  // mallinfo2().keepcost: releasable from the top of the main arena
};

/// glibc's view of its heap. Meaningful only when glibc's malloc is the one in use (reads ~0 otherwise).
HeapFigures glibcHeapFigures();

/// Resident set size of this process from /proc/self/statm, in bytes (0 if unreadable).
std::uint64_t residentBytes();

/// Which malloc is in the process: "jemalloc", "tcmalloc", "mimalloc" or "glibc" (from symbols LD_PRELOAD brought in).
const char* activeAllocator();

/// The /stats document.
std::string statsJson(const ServiceCounters& counters, const LruCache& cache, std::size_t membersKnown, int threads);
