#include "config_builder.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>

using nlohmann::json;

namespace {

// Content is derived from a hash of the update so that the same member always gets the same config size,
// which keeps runs comparable across allocator environments.
std::uint64_t fnv1a(const std::string& s, std::uint64_t h = 1469598103934665603ULL) {
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  return h;
}

struct SplitMix {
  std::uint64_t state;
  std::uint64_t next() {
    std::uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  int between(int lo, int hi) { return lo + static_cast<int>(next() % static_cast<std::uint64_t>(hi - lo + 1)); }
};

std::string ipv4(SplitMix& r, int first) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%d.%d.%d.%d", first, r.between(0, 255), r.between(0, 255), r.between(1, 254));
  return buf;
}

std::string prefix(SplitMix& r) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "10.%d.%d.0/%d", r.between(0, 255), r.between(0, 255), r.between(16, 28));
  return buf;
}

json aclRule(SplitMix& r, const MemberUpdate& u, int index, std::vector<std::string>& keys) {
  static const char* const protocols[] = {"tcp", "udp", "icmp", "any"};
  json rule;
  rule["seq"] = (index + 1) * 10;
  rule["action"] = (r.next() % 4 == 0) ? "deny" : "permit";
  rule["protocol"] = protocols[r.next() % 4];
  rule["source"] = prefix(r);
  keys.push_back(u.member + "/acl/" + rule["source"].get_ref<const std::string&>());
  rule["destination"] = prefix(r);
  rule["ports"] = json::array({r.between(1, 1024), r.between(1025, 65535)});
  rule["log"] = (r.next() % 3 == 0);
  rule["comment"] = "rule " + std::to_string(index) + " for " + u.member + " on vlan " + std::to_string(u.vlan);
  return rule;
}

json interfaceConfig(SplitMix& r, const MemberUpdate& u, int index, int rules, std::vector<std::string>& keys) {
  json itf;
  itf["name"] = "eth" + std::to_string(index);
  itf["description"] = u.member + " uplink " + std::to_string(index);
  itf["mtu"] = (r.next() % 2) ? 9000 : 1500;
  itf["vlan"] = u.vlan;
  itf["enabled"] = true;
  json addresses = json::array();
  for (int a = r.between(2, 4); a > 0; --a) addresses.push_back(ipv4(r, 10) + "/24");
  itf["addresses"] = std::move(addresses);
  json acl = json::array();
  for (int i = 0; i < rules; ++i) acl.push_back(aclRule(r, u, i, keys));
  itf["acl"] = std::move(acl);
  itf["qos"] = {{"class", "af" + std::to_string(r.between(11, 43))}, {"rate_mbps", r.between(10, 10000)},
                {"burst_kb", r.between(16, 4096)}};
  return itf;
}

json groupConfig(SplitMix& r, const std::string& group) {
  json g;
  json policies = json::array();
  for (int p = r.between(4, 10); p > 0; --p) {
    policies.push_back({{"name", group + "-policy-" + std::to_string(p)},
                        {"priority", r.between(1, 1000)},
                        {"match", {{"community", std::to_string(r.between(1, 65535)) + ":" + std::to_string(r.between(1, 65535))}}},
                        {"set", {{"local_pref", r.between(50, 300)}, {"med", r.between(0, 1000)}}}});
  }
  g["policies"] = std::move(policies);
  json peers = json::array();
  for (int p = r.between(6, 20); p > 0; --p) {
    peers.push_back({{"address", ipv4(r, 172)}, {"asn", r.between(64512, 65534)}, {"state", "established"}});
  }
  g["peers"] = std::move(peers);
  return g;
}

}  // namespace

bool parseMemberUpdate(const std::string& body, MemberUpdate& out, std::string& error) {
  json doc = json::parse(body, nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) {
    error = "body is not a JSON object";
    return false;
  }
  auto member = doc.find("member");
  if (member == doc.end() || !member->is_string() || member->get_ref<const std::string&>().empty()) {
    error = "\"member\" must be a non-empty string";
    return false;
  }
  out.member = member->get<std::string>();
  out.groups.clear();
  auto groups = doc.find("groups");
  if (groups != doc.end()) {
    if (!groups->is_array()) {
      error = "\"groups\" must be an array of strings";
      return false;
    }
    for (const auto& g : *groups) {
      if (!g.is_string()) {
        error = "\"groups\" must be an array of strings";
        return false;
      }
      out.groups.push_back(g.get<std::string>());
    }
  }
  if (out.groups.size() > 64) {
    error = "at most 64 groups";
    return false;
  }
  out.vlan = 1;
  auto vlan = doc.find("vlan");
  if (vlan != doc.end()) {
    if (!vlan->is_number_integer() || vlan->get<long long>() < 1 || vlan->get<long long>() > 4094) {
      error = "\"vlan\" must be an integer from 1 to 4094";
      return false;
    }
    out.vlan = vlan->get<int>();
  }
  return true;
}

BuiltConfig buildNetworkConfig(const MemberUpdate& u, std::uint64_t revision, double scale) {
  BuiltConfig built;
  SplitMix r{fnv1a(u.member, static_cast<std::uint64_t>(u.vlan) * 0x100000001b3ULL)};
  // Sizes follow a capped Pareto law (alpha 1.3, at most 160x the base): most configs are small, a few
  // are huge. That is what real member configs look like, and it is what makes glibc's per-thread arenas
  // ratchet up: each arena keeps the footprint of the largest burst it has served.
  constexpr double kAlpha = 1.3;
  constexpr double kMaxFactor = 160.0;
  const double uniform = static_cast<double>(r.next() >> 11) * 0x1.0p-53;
  const double tail = std::min(kMaxFactor, std::pow(1.0 - uniform, -1.0 / kAlpha));
  const int interfaces = static_cast<int>((1 + r.between(0, 3) + static_cast<int>(u.groups.size())) * tail * scale + 0.5);
  const int rules = r.between(4, 16);

  json config;
  config["member"] = u.member;
  config["revision"] = revision;
  config["vlan"] = u.vlan;
  config["schema"] = "alloclab.demo/network-config/v1";
  json itfs = json::array();
  for (int i = 0; i < interfaces; ++i) itfs.push_back(interfaceConfig(r, u, i, rules, built.lookupKeys));
  config["interfaces"] = std::move(itfs);
  json groups = json::object();
  for (const auto& g : u.groups) groups[g] = groupConfig(r, g);
  config["groups"] = std::move(groups);
  json routes = json::array();
  for (int i = static_cast<int>(r.between(16, 64) * tail * scale + 0.5); i > 0; --i) {
    std::string p = prefix(r);
    built.lookupKeys.push_back(u.member + "/route/" + p);
    routes.push_back({{"prefix", std::move(p)}, {"next_hop", ipv4(r, 10)}, {"metric", r.between(1, 255)},
                      {"tag", u.member}});
  }
  config["routes"] = std::move(routes);
  built.json = config.dump();
  return built;
}

MemberUpdate randomMemberUpdate(std::mt19937_64& rng, std::uint64_t counter, std::uint64_t population) {
  static const char* const groupNames[] = {"core", "edge", "dmz", "storage", "voice", "guest", "mgmt", "backup"};
  MemberUpdate u;
  u.member = "member-" + std::to_string(population ? rng() % population : counter);
  for (int n = static_cast<int>(rng() % 4) + 1; n > 0; --n) u.groups.push_back(groupNames[rng() % 8]);
  u.vlan = static_cast<int>(rng() % 4094) + 1;
  return u;
}
