// A byte-bounded LRU cache of built configs, shared by all worker threads.
#pragma once

#include <cstddef>
#include <cstdint>
#include <list>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "config_builder.hpp"

class LruCache {
 public:
  struct Figures {
    std::size_t entries;
    std::size_t bytes;
    std::size_t capacityBytes;
    std::uint64_t evictions;
  };

  explicit LruCache(std::size_t capacityBytes) : capacity_(capacityBytes) {}

  /// Stores value under key and evicts least recently used entries until the cache fits.
  /// The evicted values are destroyed by the calling thread after the lock is released: they were
  /// mostly allocated by other threads, so this is where frees cross threads (the point of the demo).
  void put(std::string key, BuiltConfig value);

  /// A copy of the cached JSON, marking it recently used.
  std::optional<std::string> get(const std::string& key);

  Figures figures() const;

 private:
  using Entry = std::pair<std::string, BuiltConfig>;
  static std::size_t cost(const Entry& e);

  const std::size_t capacity_;
  mutable std::mutex mutex_;
  std::list<Entry> order_;  // front = most recently used
  std::unordered_map<std::string, std::list<Entry>::iterator> index_;
  std::size_t bytes_ = 0;
  std::uint64_t evictions_ = 0;
};
