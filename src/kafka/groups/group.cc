#include "kafka/groups/group.h"

#include <algorithm>
#include <array>
#include <cctype>

#include "base/ascii.h"

namespace strata::kafka::groups {

namespace {

constexpr std::array<std::pair<group_state, const char*>, 5> state_names{{
    {group_state::empty, "Empty"},
    {group_state::preparing_rebalance, "PreparingRebalance"},
    {group_state::completing_rebalance, "CompletingRebalance"},
    {group_state::stable, "Stable"},
    {group_state::dead, "Dead"},
}};


bool lists_protocol(const member& m, std::string_view name) { return m.metadata_for(name) != nullptr; }

bool supported_by_all(const group& g, std::string_view name) {
  return std::all_of(g.members.begin(), g.members.end(), [&](const auto& kv) { return lists_protocol(kv.second, name); });
}

const member& oldest_member(const group& g) {
  auto it = std::min_element(g.members.begin(), g.members.end(),
                             [](const auto& a, const auto& b) { return a.second.join_order < b.second.join_order; });
  return it->second;
}

}  // namespace

const char* group_state_name(group_state s) {
  for (const auto& [state, name] : state_names) {
    if (state == s) return name;
  }
  return "Unknown";
}

std::optional<group_state> parse_group_state(std::string_view name) {
  for (const auto& [state, text] : state_names) {
    if (iequals_ascii(name, text)) return state;
  }
  return std::nullopt;
}

const std::vector<uint8_t>* member::metadata_for(std::string_view protocol) const {
  for (const auto& p : protocols) {
    if (p.name == protocol) return &p.metadata;
  }
  return nullptr;
}

bool member::same_protocols(const std::vector<join_protocol>& other) const {
  return std::equal(protocols.begin(), protocols.end(), other.begin(), other.end(),
                    [](const join_protocol& a, const join_protocol& b) { return a.name == b.name && a.metadata == b.metadata; });
}

member* group::find_member(std::string_view member_id) {
  auto it = members.find(std::string(member_id));
  return it == members.end() ? nullptr : &it->second;
}

member* group::find_by_instance(std::string_view instance_id) {
  for (auto& [id, m] : members) {
    if (m.instance_id && *m.instance_id == instance_id) return &m;
  }
  return nullptr;
}

bool group::all_members_joined() const {
  if (!pending_members.empty()) return false;
  return std::all_of(members.begin(), members.end(), [](const auto& kv) { return bool(kv.second.awaiting_join); });
}

int32_t group::max_rebalance_timeout_ms() const {
  int32_t out = 0;
  for (const auto& [id, m] : members) out = std::max(out, m.rebalance_timeout_ms);
  return out;
}

bool supports_protocols(const group& g, std::string_view protocol_type, const std::vector<join_protocol>& protocols) {
  if (protocol_type.empty() || protocols.empty()) return false;
  if (g.members.empty()) return true;
  if (protocol_type != g.protocol_type) return false;
  return std::any_of(protocols.begin(), protocols.end(), [&](const join_protocol& p) { return supported_by_all(g, p.name); });
}

std::string select_protocol(const group& g) {
  STRATA_ASSERT(!g.members.empty(), "selecting a protocol for a group without members");
  const member& oldest = oldest_member(g);
  std::vector<std::pair<std::string, int>> votes;  // candidates in the oldest member's order
  for (const auto& p : oldest.protocols) {
    if (supported_by_all(g, p.name)) votes.emplace_back(p.name, 0);
  }
  STRATA_ASSERT(!votes.empty(), "group members share no protocol");
  for (const auto& [id, m] : g.members) {
    for (const auto& p : m.protocols) {
      auto it = std::find_if(votes.begin(), votes.end(), [&](const auto& v) { return v.first == p.name; });
      if (it != votes.end()) {
        ++it->second;
        break;
      }
    }
  }
  auto best = std::max_element(votes.begin(), votes.end(), [](const auto& a, const auto& b) { return a.second < b.second; });
  return best->first;
}

}  // namespace strata::kafka::groups
