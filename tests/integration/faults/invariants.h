#pragma once
// The cluster-wide invariants every fault case ends with. They are read from the API alone (pools,
// Nodes, ComputeNodes), so they hold or fail whatever the fault did to the processes in between:
//   - each ComputePool's status is true: observedGeneration == generation, status.nodes is exactly
//     the set of Nodes carrying the pool's binding label and taint, nodeCount, acceleratorCount,
//     flops and carbonFreeRatio agree with the members' ComputeNodes, and the conditions agree
//     with each other (Ready is True exactly when CapacitySatisfied, AcceleratorsHealthy and
//     CarbonCompliant are; each carries the current generation);
//   - no Node is bound to two pools, and label and taint always name the same pool;
//   - no orphaned binding: every labelled or tainted Node names a pool that exists and lists it;
//   - nothing is lost: every pool the test expects exists, every pool it deleted is gone, and no
//     pool is stuck in deletion.

#include <set>
#include <string>
#include <vector>

#include "kube/client.h"

namespace zhisuan::faults {

struct ExpectedPools {
  std::set<std::string> present;  // "namespace/name"
  std::set<std::string> deleted;
};

// The violations found in one read of the cluster; empty when every invariant holds.
std::vector<std::string> FindViolations(kube::ApiClient& api, const ExpectedPools& expected);

// A compact dump of pools and Nodes (bindings, taints, status summary) for failure messages.
std::string DumpCluster(kube::ApiClient& api);

}  // namespace zhisuan::faults
