#include "controller/reconcile/drain.h"

#include "common/strings.h"
#include "controller/reconcile/messages.h"

namespace zhisuan::controller::stages {

std::vector<const PodInfo*> PodsToDrain(const std::vector<const PodInfo*>& pods,
                                        std::string_view owner_namespace,
                                        const std::set<std::string>& exempt_namespaces) {
  std::vector<const PodInfo*> drain;
  for (const PodInfo* pod : pods) {
    if (pod->daemon_set || pod->mirror || pod->finished) continue;
    if (!owner_namespace.empty() && pod->pod_namespace == owner_namespace) continue;
    if (exempt_namespaces.contains(pod->pod_namespace)) continue;
    drain.push_back(pod);
  }
  return drain;
}

bool HandedOver(const NodeInfo& node, const std::string& binding) {
  if (binding.empty() || node.PoolBinding() != binding) return false;
  size_t ours = 0;
  bool exclusive = false;
  for (const auto& taint : node.taints) {
    if (taint.key != api::kPoolTaintKey) continue;
    ++ours;
    exclusive = taint.value == binding && taint.effect == kExclusiveEffect;
  }
  return ours == 1 && exclusive;
}

DrainState AssessDrain(const NodeInfo& node, const std::string& binding,
                       std::string_view owner_namespace,
                       const std::vector<const PodInfo*>& pods_on_node,
                       const std::map<std::string, WallTime>& draining_since,
                       const PlannerConfig& config, WallTime now) {
  DrainState state;
  if (binding.empty() || HandedOver(node, binding)) return state;
  state.pods = PodsToDrain(pods_on_node, owner_namespace, config.drain_exempt_namespaces);
  if (state.pods.empty()) return state;
  auto recorded = draining_since.find(node.name);
  state.since = recorded != draining_since.end() ? recorded->second : now;
  state.deadline = state.since + config.drain_timeout;
  state.draining = now < state.deadline;
  if (!state.draining) state.pods.clear();  // the taint manager takes over
  return state;
}

void PlanEvictions(const std::string& pool_key, const std::string& node,
                   const std::vector<const PodInfo*>& pods, std::vector<PodEviction>& evictions) {
  for (const PodInfo* pod : pods) {
    if (pod->terminating) continue;
    evictions.push_back({pool_key, node, pod->pod_namespace, pod->name, pod->uid});
  }
}

std::string DrainText(const std::string& node, const DrainState& state) {
  std::vector<std::string> names;
  for (const PodInfo* pod : state.pods) {
    if (names.size() == 3) {
      names.push_back("...");
      break;
    }
    names.push_back(pod->Key());
  }
  return StrCat(node, " (", Plural(state.pods.size(), "pod"),
                " of other namespaces: ", StrJoin(names, ", "), "; evicted until ",
                FormatWallTime(state.deadline), ", then deleted)");
}

}  // namespace zhisuan::controller::stages
