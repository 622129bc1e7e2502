#include "member_registry.hpp"

#include <functional>

void MemberRegistry::record(const MemberUpdate& update, std::uint64_t revision, const std::string& digest) {
  Shard& shard = shards_[std::hash<std::string>{}(update.member) % shards_.size()];
  Record fresh{revision, update.vlan, update.groups, digest};
  std::lock_guard<std::mutex> lock(shard.mutex);
  // The previous record is freed here, often by another thread than the one that allocated it.
  shard.records[update.member] = std::move(fresh);
}

std::size_t MemberRegistry::size() const {
  std::size_t n = 0;
  for (const auto& shard : shards_) {
    std::lock_guard<std::mutex> lock(shard.mutex);
    n += shard.records.size();
  }
  return n;
}
