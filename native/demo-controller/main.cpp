// demo-controller: a small HTTP/JSON service that reproduces "RSS grows but no leak checker finds a leak"
// under glibc malloc (many threads, many arenas, frees crossing threads), for Allocator Lab to diagnose.
#include "config_builder.hpp"
#include "http_server.hpp"
#include "lru_cache.hpp"
#include "member_registry.hpp"
#include "service_stats.hpp"

#include <malloc.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

namespace {

struct Options {
  int port = 8080;
  int threads = 32;
  long cacheMb = 32;
  double selfLoadSeconds = 0;  // > 0: no HTTP, internal threads generate updates for this long
  long long work = 0;          // > 0: no HTTP, process this many updates, then exit
  double trimSeconds = 0;      // > 0: call malloc_trim(0) this often (a known mitigation, for comparison)
  unsigned long long seed = 1;
  double configScale = 1.0;    // multiplies the size of each generated config
  long long members = 0;       // self-load member population (0 = every update a new member)
  int buildSlots = static_cast<int>(std::thread::hardware_concurrency());  // concurrent config builds (0 = no limit)
};

const char* const kUsage =
    "usage: demo-controller [--port N] [--threads N] [--cache-mb N] [--build-slots N] [--config-scale F]\n"
    "                       [--malloc-trim SECONDS]\n"
    "       demo-controller --self-load SECONDS | --work N [--members N] [--seed N] [same options]\n"
    "\n"
    "  --port N          listen on 127.0.0.1:N (default 8080; 0 picks a free port)\n"
    "  --threads N       request worker threads (default 32; the arena effect needs many)\n"
    "  --cache-mb N      LRU cache budget in MiB (default 32)\n"
    "  --malloc-trim S   call malloc_trim(0) every S seconds (glibc mitigation; default off)\n"
    "  --self-load S     no HTTP: worker threads generate member updates for S seconds, then exit\n"
    "  --work N          no HTTP: process N member updates, then print throughput and exit\n"
    "  --build-slots N   config builds running at once (default: number of CPUs; 0 = no limit)\n"
    "  --config-scale F  multiply the size of every generated config by F (default 1)\n"
    "  --members N       self-load: draw members from a population of N (default 0 = always new)\n"
    "  --seed N          seed for the self-generated members (default 1)\n"
    "\n"
    "endpoints: GET /health, POST /members {\"member\":\"m1\",\"groups\":[\"core\"],\"vlan\":42},\n"
    "           GET /members/NAME, GET /stats\n";

[[noreturn]] void usageError(const std::string& message) {
  std::fprintf(stderr, "demo-controller: %s\n\n%s", message.c_str(), kUsage);
  std::exit(64);
}

double numberArg(int argc, char** argv, int& i, double min, double max) {
  const std::string flag = argv[i];
  if (i + 1 >= argc) usageError(flag + " needs a value");
  const char* text = argv[++i];
  char* end = nullptr;
  errno = 0;
  double value = std::strtod(text, &end);
  if (errno != 0 || end == text || *end != '\0' || value < min || value > max) {
    usageError(flag + " expects a number from " + std::to_string(static_cast<long long>(min)) + " to " +
               std::to_string(static_cast<long long>(max)) + ", got \"" + text + "\"");
  }
  return value;
}

Options parseOptions(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--port") o.port = static_cast<int>(numberArg(argc, argv, i, 0, 65535));
    else if (a == "--threads") o.threads = static_cast<int>(numberArg(argc, argv, i, 1, 1024));
    else if (a == "--cache-mb") o.cacheMb = static_cast<long>(numberArg(argc, argv, i, 1, 65536));
    else if (a == "--self-load") o.selfLoadSeconds = numberArg(argc, argv, i, 0.001, 86400);
    else if (a == "--work") o.work = static_cast<long long>(numberArg(argc, argv, i, 1, 1e12));
    else if (a == "--malloc-trim") o.trimSeconds = numberArg(argc, argv, i, 0.01, 86400);
    else if (a == "--config-scale") o.configScale = numberArg(argc, argv, i, 0.01, 1000);
    else if (a == "--members") o.members = static_cast<long long>(numberArg(argc, argv, i, 0, 1e12));
    else if (a == "--build-slots") o.buildSlots = static_cast<int>(numberArg(argc, argv, i, 0, 1024));
    else if (a == "--seed") o.seed = static_cast<unsigned long long>(numberArg(argc, argv, i, 0, 1e18));
    else if (a == "--help" || a == "-h") {
      std::fputs(kUsage, stdout);
      std::exit(0);
    } else usageError("unknown argument \"" + a + "\"");
  }
  return o;
}

// Waits for SIGINT/SIGTERM until `until` (or forever); runs malloc_trim on schedule meanwhile.
// Returns true when a signal arrived.
bool waitForSignal(const sigset_t& signals, const Options& o, std::chrono::steady_clock::time_point until,
                   const std::atomic<bool>* done) {
  using clock = std::chrono::steady_clock;
  auto nextTrim = clock::now() + std::chrono::duration_cast<clock::duration>(std::chrono::duration<double>(o.trimSeconds));
  for (;;) {
    auto now = clock::now();
    if (now >= until || (done && done->load())) return false;
    auto wake = until;
    if (o.trimSeconds > 0 && nextTrim < wake) wake = nextTrim;
    auto step = std::min<clock::duration>(wake - now, std::chrono::milliseconds(100));
    timespec ts{};
    auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(step).count();
    ts.tv_sec = static_cast<time_t>(ns / 1000000000);
    ts.tv_nsec = static_cast<long>(ns % 1000000000);
    int sig = sigtimedwait(&signals, nullptr, &ts);
    if (sig == SIGINT || sig == SIGTERM) return true;
    if (o.trimSeconds > 0 && clock::now() >= nextTrim) {
      malloc_trim(0);
      nextTrim += std::chrono::duration_cast<clock::duration>(std::chrono::duration<double>(o.trimSeconds));
    }
  }
}

// A short fingerprint of a config, kept per member so that unchanged configs could be detected.
std::string configDigest(const std::string& json) {
  std::uint64_t h = 1469598103934665603ULL;
  for (unsigned char c : json) h = (h ^ c) * 1099511628211ULL;
  char text[48];
  std::snprintf(text, sizeof text, "fnv1a64:%016llx:%zu", static_cast<unsigned long long>(h), json.size());
  return text;
}

// Config builds are CPU-bound, so at most `slots` run at once (the usual cap at the core count); which of
// the many worker threads gets a slot varies, so every thread, and every glibc arena, sees builds.
class BuildSlots {
 public:
  explicit BuildSlots(int slots) : free_(slots), limited_(slots > 0) {}
  template <typename F>
  auto run(F&& work) {
    if (!limited_) return work();
    {
      std::unique_lock<std::mutex> lock(mutex_);
      available_.wait(lock, [this] { return free_ > 0; });
      --free_;
    }
    struct Release {
      BuildSlots& slots;
      ~Release() {
        {
          std::lock_guard<std::mutex> lock(slots.mutex_);
          ++slots.free_;
        }
        slots.available_.notify_one();
      }
    } release{*this};
    return work();
  }

 private:
  std::mutex mutex_;
  std::condition_variable available_;
  int free_;
  const bool limited_;
};

std::string errorBody(const std::string& message) { return nlohmann::json{{"error", message}}.dump(); }

int runServer(const Options& o, const sigset_t& signals) {
  LruCache cache(static_cast<std::size_t>(o.cacheMb) * 1024 * 1024);
  MemberRegistry registry;
  BuildSlots slots(o.buildSlots);
  ServiceCounters counters;
  std::atomic<std::uint64_t> revision{0};

  HttpServer server(o.threads, [&](const HttpRequest& req) {
    counters.requests.fetch_add(1, std::memory_order_relaxed);
    HttpResponse res;
    if (req.path == "/health") {
      if (req.method != "GET") return HttpResponse{405, "application/json", errorBody("use GET")};
      res.body = "{\"status\":\"ok\"}";
    } else if (req.path == "/members") {
      if (req.method != "POST") return HttpResponse{405, "application/json", errorBody("use POST")};
      MemberUpdate update;
      std::string error;
      if (!parseMemberUpdate(req.body, update, error)) {
        counters.badRequests.fetch_add(1, std::memory_order_relaxed);
        return HttpResponse{400, "application/json", errorBody(error)};
      }
      const std::uint64_t rev = revision.fetch_add(1, std::memory_order_relaxed) + 1;
      BuiltConfig config = slots.run([&] { return buildNetworkConfig(update, rev, o.configScale); });
      const std::size_t bytes = config.json.size();
      counters.configsBuilt.fetch_add(1, std::memory_order_relaxed);
      counters.configBytes.fetch_add(bytes, std::memory_order_relaxed);
      registry.record(update, rev, configDigest(config.json));
      cache.put(update.member, std::move(config));
      res.body = nlohmann::json{{"member", update.member}, {"revision", rev}, {"bytes", bytes}}.dump();
    } else if (req.path.rfind("/members/", 0) == 0) {
      if (req.method != "GET") return HttpResponse{405, "application/json", errorBody("use GET")};
      auto cached = cache.get(req.path.substr(9));
      if (!cached) return HttpResponse{404, "application/json", errorBody("no cached config for this member")};
      res.body = std::move(*cached);
    } else if (req.path == "/stats") {
      if (req.method != "GET") return HttpResponse{405, "application/json", errorBody("use GET")};
      res.body = statsJson(counters, cache, registry.size(), o.threads);
    } else {
      return HttpResponse{404, "application/json", errorBody("unknown path; try /health, /members, /stats")};
    }
    return res;
  });

  int port = 0;
  try {
    port = server.listen(o.port);
    server.start();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "demo-controller: %s\n", e.what());
    return 2;
  }
  std::printf("listening on 127.0.0.1:%d (pid %ld, %d threads, cache %ld MiB, allocator %s)\n", port,
              static_cast<long>(getpid()), o.threads, o.cacheMb, activeAllocator());
  std::fflush(stdout);

  waitForSignal(signals, o, std::chrono::steady_clock::time_point::max(), nullptr);
  server.stop();
  std::printf("stopped after %llu requests (%llu configs built)\n",
              static_cast<unsigned long long>(counters.requests.load()),
              static_cast<unsigned long long>(counters.configsBuilt.load()));
  return 0;
}

int runSelfLoad(const Options& o, const sigset_t& signals) {
  LruCache cache(static_cast<std::size_t>(o.cacheMb) * 1024 * 1024);
  MemberRegistry registry;
  BuildSlots slots(o.buildSlots);
  ServiceCounters counters;
  std::atomic<std::uint64_t> next{0};
  std::atomic<bool> stop{false};
  const std::uint64_t limit = o.work > 0 ? static_cast<std::uint64_t>(o.work) : UINT64_MAX;

  std::printf("self-load started (pid %ld, %d threads, cache %ld MiB, allocator %s, %s)\n",
              static_cast<long>(getpid()), o.threads, o.cacheMb, activeAllocator(),
              o.work > 0 ? (std::to_string(o.work) + " updates").c_str()
                         : (std::to_string(o.selfLoadSeconds) + " s").c_str());
  std::fflush(stdout);

  const auto started = std::chrono::steady_clock::now();
  std::vector<std::thread> threads;
  for (int t = 0; t < o.threads; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937_64 rng(o.seed * 1000003ULL + static_cast<unsigned long long>(t));
      while (!stop.load(std::memory_order_relaxed)) {
        const std::uint64_t n = next.fetch_add(1, std::memory_order_relaxed);
        if (n >= limit) break;
        MemberUpdate update = randomMemberUpdate(rng, n, static_cast<std::uint64_t>(o.members));
        BuiltConfig config = slots.run([&] { return buildNetworkConfig(update, n + 1, o.configScale); });
        counters.configsBuilt.fetch_add(1, std::memory_order_relaxed);
        counters.configBytes.fetch_add(config.json.size(), std::memory_order_relaxed);
        registry.record(update, n + 1, configDigest(config.json));
        cache.put(std::move(update.member), std::move(config));
      }
    });
  }

  std::atomic<bool> allDone{false};
  std::thread watcher([&] {
    for (auto& th : threads) th.join();
    allDone = true;
  });
  const auto until = o.selfLoadSeconds > 0
                         ? started + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                                         std::chrono::duration<double>(o.selfLoadSeconds))
                         : std::chrono::steady_clock::time_point::max();
  const bool interrupted = waitForSignal(signals, o, until, &allDone);
  stop = true;
  watcher.join();

  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  const unsigned long long built = counters.configsBuilt.load();
  std::printf("%s: %llu configs in %.2f s = %.0f configs/s (%d threads, %s, RSS %.0f MiB, avg config %.1f KiB)\n",
              interrupted ? "interrupted" : "done", built, seconds, static_cast<double>(built) / seconds, o.threads,
              activeAllocator(), static_cast<double>(residentBytes()) / 1048576.0,
              built ? static_cast<double>(counters.configBytes.load()) / static_cast<double>(built) / 1024.0 : 0.0);
  std::printf("stats %s\n", statsJson(counters, cache, registry.size(), o.threads).c_str());
  std::fflush(stdout);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const Options o = parseOptions(argc, argv);
  if (o.selfLoadSeconds > 0 && o.work > 0) usageError("give --self-load or --work, not both");

  // Block the stop signals before any thread exists so that only sigtimedwait in main sees them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);
  setvbuf(stdout, nullptr, _IOLBF, 0);

  if (o.selfLoadSeconds > 0 || o.work > 0) return runSelfLoad(o, signals);
  return runServer(o, signals);
}
