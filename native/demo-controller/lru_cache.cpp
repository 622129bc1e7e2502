#include "lru_cache.hpp"

std::size_t LruCache::cost(const Entry& e) {
  // Capacity, not size: what the heap really holds for the entry, plus list/map node overhead.
  std::size_t bytes = e.first.capacity() + e.second.json.capacity() + 128;
  bytes += e.second.lookupKeys.capacity() * sizeof(std::string);
  for (const auto& k : e.second.lookupKeys) bytes += k.capacity() + 1;
  return bytes;
}

void LruCache::put(std::string key, BuiltConfig value) {
  std::list<Entry> dropped;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    auto found = index_.find(key);
    if (found != index_.end()) {
      bytes_ -= cost(*found->second);
      dropped.splice(dropped.end(), order_, found->second);
      index_.erase(found);
    }
    order_.emplace_front(std::move(key), std::move(value));
    bytes_ += cost(order_.front());
    index_.emplace(order_.front().first, order_.begin());
    while (bytes_ > capacity_ && order_.size() > 1) {
      auto last = std::prev(order_.end());
      bytes_ -= cost(*last);
      index_.erase(last->first);
      dropped.splice(dropped.end(), order_, last);
      ++evictions_;
    }
  }
  // `dropped` is destroyed here, outside the lock, by this thread.
}

std::optional<std::string> LruCache::get(const std::string& key) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto found = index_.find(key);
  if (found == index_.end()) return std::nullopt;
  order_.splice(order_.begin(), order_, found->second);
  return found->second->second.json;
}

LruCache::Figures LruCache::figures() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return {order_.size(), bytes_, capacity_, evictions_};
}
