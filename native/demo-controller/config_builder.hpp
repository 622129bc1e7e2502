// Builds the nested JSON "network config" for a member update: the allocation-heavy part of the demo.
#pragma once

#include <cstdint>
#include <random>
#include <string>
#include <vector>

struct MemberUpdate {
  std::string member;
  std::vector<std::string> groups;
  int vlan = 1;
};

/// Parses a POST /members body ({"member":"...","groups":[...],"vlan":N}); on failure returns false and sets error.
bool parseMemberUpdate(const std::string& body, MemberUpdate& out, std::string& error);

/// Builds the config for an update and returns it serialized. The shape and size depend only on the update.
/// A built config: the serialized JSON and the lookup keys (one per ACL rule and route) kept next to it.
struct BuiltConfig {
  std::string json;
  std::vector<std::string> lookupKeys;
};

/// Builds the config for an update. `scale` multiplies the number of interfaces and routes (1 = default).
BuiltConfig buildNetworkConfig(const MemberUpdate& update, std::uint64_t revision, double scale = 1.0);

/// A random update for --self-load / --work: one of `population` members (0 = a new member every time).
MemberUpdate randomMemberUpdate(std::mt19937_64& rng, std::uint64_t counter, std::uint64_t population);
