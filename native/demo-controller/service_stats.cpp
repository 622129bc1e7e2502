#include "service_stats.hpp"

#include "lru_cache.hpp"

#include <dlfcn.h>
#include <malloc.h>
#include <unistd.h>

#include <cstdio>
#include <nlohmann/json.hpp>

HeapFigures glibcHeapFigures() {
  struct mallinfo2 mi = mallinfo2();
  return {mi.arena, mi.hblkhd, mi.uordblks, mi.fordblks, mi.keepcost};
}

std::uint64_t residentBytes() {
  std::FILE* f = std::fopen("/proc/self/statm", "r");
  if (!f) return 0;
  unsigned long long size = 0, resident = 0;
  int n = std::fscanf(f, "%llu %llu", &size, &resident);
  std::fclose(f);
  if (n != 2) return 0;
  return resident * static_cast<std::uint64_t>(sysconf(_SC_PAGESIZE));
}

const char* activeAllocator() {
  // Symbols only the replacement allocators export; LD_PRELOAD puts them in the global scope.
  if (dlsym(RTLD_DEFAULT, "mallctl")) return "jemalloc";
  if (dlsym(RTLD_DEFAULT, "mi_malloc")) return "mimalloc";
  if (dlsym(RTLD_DEFAULT, "tc_malloc")) return "tcmalloc";
  return "glibc";
}

std::string statsJson(const ServiceCounters& counters, const LruCache& cache, std::size_t membersKnown, int threads) {
  const LruCache::Figures c = cache.figures();
  const HeapFigures h = glibcHeapFigures();
  const double uptime =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - counters.started).count();
  nlohmann::json doc = {
      {"pid", static_cast<long>(getpid())},
      {"uptime_s", uptime},
      {"threads", threads},
      {"allocator", activeAllocator()},
      {"requests", counters.requests.load()},
      {"configs_built", counters.configsBuilt.load()},
      {"config_bytes", counters.configBytes.load()},
      {"bad_requests", counters.badRequests.load()},
      {"members_known", membersKnown},
      {"cache", {{"entries", c.entries}, {"bytes", c.bytes}, {"capacity_bytes", c.capacityBytes}, {"evictions", c.evictions}}},
      {"mallinfo2",
       {{"arena", h.arenaBytes},
        {"mmap", h.mmapBytes},
        {"in_use", h.inUseBytes},
        {"free_held", h.freeHeldBytes},
        {"releasable", h.releasableBytes}}},
      {"rss_bytes", residentBytes()},
  };
  return doc.dump();
}
