#pragma once
// Fixtures for tests of single planner stages. The stages point into the snapshot they plan (a
// NodeFit at its NodeInfo and ComputeNode, a Candidate at its NodeFit), so Hosts keeps what it is
// given at stable addresses, and Observe runs the membership stage over them for one pool.

#include <deque>
#include <string>
#include <vector>

#include "controller/reconcile/membership.h"
#include "tests/unit/controller/pool_fixtures.h"

namespace zhisuan::controller::fixtures {

// The config the planner tests use: 60 s health grace, 600 s carbon grace.
inline PlannerConfig StageConfig() {
  PlannerConfig config;
  config.carbon_grace = std::chrono::seconds(600);
  config.carbon_free_ratio_margin = 0.1;
  config.carbon_intensity_margin = 50;
  config.health_grace = std::chrono::seconds(60);
  return config;
}

class Hosts {
 public:
  Hosts& Add(Machine machine) {
    nodes_.push_back(std::move(machine.node));
    compute_nodes_.push_back(std::move(machine.compute_node));
    entries_.push_back({&nodes_.back(), &compute_nodes_.back(), nodes_.back().PoolBinding()});
    return *this;
  }
  Hosts& Add(NodeInfo node, api::ComputeNode compute_node) {
    return Add(Machine{std::move(node), std::move(compute_node)});
  }
  Hosts& AddNodeOnly(NodeInfo node) {
    nodes_.push_back(std::move(node));
    entries_.push_back({&nodes_.back(), nullptr, nodes_.back().PoolBinding()});
    return *this;
  }

  // The node table the planner builds, in the order added.
  const std::vector<stages::NodeEntry>& Entries() const { return entries_; }

  // How the node named `name` fits `spec`.
  stages::NodeFit FitOf(const std::string& name, const api::ComputePoolSpec& spec,
                        const PlannerConfig& config = StageConfig()) const {
    for (const auto& entry : entries_) {
      if (entry.node->name == name) {
        return stages::Fit(spec, config, *entry.node, entry.compute_node);
      }
    }
    ADD_FAILURE() << "no host " << name;
    return {};
  }

  // The membership stage for `pool` over these hosts.
  stages::PoolMembership Observe(const PoolObservation& pool, WallTime now = T0(),
                                 const PlannerConfig& config = StageConfig()) const {
    return stages::ObserveMembers(entries_, pool, config, now);
  }

 private:
  std::deque<NodeInfo> nodes_;
  std::deque<api::ComputeNode> compute_nodes_;
  std::vector<stages::NodeEntry> entries_;
};

// A condition as a pool's status holds it.
inline api::Condition ConditionNow(std::string_view type, std::string_view status,
                                   std::string_view reason, std::string_view message) {
  api::Condition condition;
  condition.type = type;
  condition.status = status;
  condition.reason = reason;
  condition.message = message;
  condition.observed_generation = 1;
  condition.last_transition_time = "2026-11-18T00:00:00Z";
  return condition;
}

// Names of `candidates`, in their order.
inline std::vector<std::string> NamesOf(const std::vector<stages::Candidate>& candidates) {
  std::vector<std::string> names;
  for (const auto& candidate : candidates) names.push_back(candidate.name());
  return names;
}

}  // namespace zhisuan::controller::fixtures
