// What the service remembers about every member it has seen: small records that live for the whole run.
// Small long-lived allocations made by whichever worker thread saw the member, interleaved with the
// large short-lived ones of config building, are what keeps glibc arenas from ever shrinking.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "config_builder.hpp"

class MemberRegistry {
 public:
  /// Records the latest update of a member (replacing what was known about it).
  void record(const MemberUpdate& update, std::uint64_t revision, const std::string& digest);
  /// Number of distinct members seen.
  std::size_t size() const;

 private:
  struct Record {
    std::uint64_t revision = 0;
    int vlan = 0;
    std::vector<std::string> groups;
    std::string digest;
  };
  struct Shard {
    mutable std::mutex mutex;
    std::unordered_map<std::string, Record> records;
  };
  std::array<Shard, 16> shards_;
};
