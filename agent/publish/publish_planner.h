#pragma once
// PublishPlanner: decides which writes make the API server show what the agent wants, and
// decides on none when it already does. Pure (observe -> decide -> apply, the decide part): the
// desired publication and the objects last seen on the server go in, server-side-apply bodies come
// out. Comparisons look only at fields the agent owns, so another writer's labels, the server's
// metadata or a restart never cause a write.

#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <string_view>

#include "agent/publish/node_labels.h"
#include "api/compute_node.h"

namespace zhisuan::agent {

using Json = nlohmann::json;

// The field manager the agent applies as; RBAC, audit logs and managedFields show this name.
inline constexpr std::string_view kAgentFieldManager = "zhisuan-agent";

struct PublishPolicy {
  std::string field_manager = std::string(kAgentFieldManager);
  // Measured FLOPS vary from run to run; a new measurement within this ratio of the published one
  // is not news, so re-measuring at every restart does not rewrite the ComputeNode.
  double measured_flops_tolerance_ratio = 0.05;
  // The accelerators' average power (status.energy.averagePowerWatts) is republished only when it
  // moves by more than this fraction of the published figure (--energy-publish-threshold): an
  // hour's average drifts with every sample, and the controller needs only its rough size to weight
  // carbon figures. Its first publication, once known, is always written.
  double average_power_threshold_ratio = 0.1;
};

// What the agent wants the server to show for its node.
struct DesiredPublication {
  std::string node_name;
  NodeLabels labels;  // the zhisuan.io/ labels (NodeLabelsFor)
  api::ComputeNodeStatus status;
  // The average power is unknown only because the agent's window is still filling after a start
  // (AveragePowerReading::pending): the figure the server shows still stands.
  bool average_power_pending = false;
};

// The objects as the server last returned them: a GET at start-up, then each write's response.
struct ObservedObjects {
  std::optional<Json> node;          // nullopt: not read yet or not found
  std::optional<Json> compute_node;  // nullopt: does not exist
};

// Server-side-apply bodies, each present only when that write is needed. Applied in this order:
// Node labels, then the ComputeNode object (owner reference), then its status subresource.
struct PublishPlan {
  std::optional<Json> node_labels;
  std::optional<Json> compute_node;
  std::optional<Json> compute_node_status;

  bool Empty() const { return !node_labels && !compute_node && !compute_node_status; }
};

// Needs observed.node (its uid is the owner reference); without it only the labels can be planned
// and nothing is.
PublishPlan PlanPublish(const DesiredPublication& desired, const ObservedObjects& observed,
                        const PublishPolicy& policy = {});

// --- Parts of the plan, exposed for tests ---

// Label keys `manager` holds through an Apply on the main resource (from metadata.managedFields).
std::set<std::string> LabelsAppliedBy(const Json& object, std::string_view manager);

// The desired status adjusted to what the server already shows where the difference is not news:
// conditions whose status did not change keep their lastTransitionTime and observedGeneration
// follows the object; measured FLOPS within tolerance keep the published figure, and so does an
// average power within the threshold, or unknown while `average_power_pending`.
api::ComputeNodeStatus StabiliseStatus(api::ComputeNodeStatus desired, const Json& observed_object,
                                       const PublishPolicy& policy,
                                       bool average_power_pending = false);

// Whether two status objects say the same, ignoring how empty fields are spelled (absent, null,
// {} and [] are equal) and key order.
bool SameStatus(const Json& a, const Json& b);

// The ownerReference a ComputeNode carries to its Node.
Json NodeOwnerReference(std::string_view node_name, std::string_view node_uid);

}  // namespace zhisuan::agent
