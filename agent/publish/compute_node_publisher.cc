#include "agent/publish/compute_node_publisher.h"

#include "api/group_version.h"
#include "common/log.h"
#include "common/strings.h"

namespace zhisuan::agent {

ComputeNodePublisher::ComputeNodePublisher(kube::ApiClientPtr client, std::string node_name,
                                           PublishPolicy policy, ClockPtr clock)
    : client_(std::move(client)),
      node_name_(std::move(node_name)),
      policy_(std::move(policy)),
      clock_(std::move(clock)) {}

ObservedObjects ComputeNodePublisher::observed() const {
  std::lock_guard lock(mu_);
  return observed_;
}

Status ComputeNodePublisher::Observe() {
  auto node = client_->Get(kube::kNodes, "", node_name_);
  if (!node.ok()) return node.status().Annotate(StrCat("reading Node ", node_name_));
  auto compute_node = client_->Get(api::kComputeNodes, "", node_name_);
  if (!compute_node.ok() && !kube::IsNotFound(compute_node.status())) {
    return compute_node.status().Annotate(StrCat("reading ComputeNode ", node_name_));
  }
  std::lock_guard lock(mu_);
  compute_node_read_ = clock_->Now();
  observed_.node = std::move(*node);
  if (compute_node.ok()) {
    observed_.compute_node = std::move(*compute_node);
  } else {
    observed_.compute_node.reset();
  }
  observed_fresh_ = true;
  return OkStatus();
}

StatusOr<int> ComputeNodePublisher::Publish(const DesiredPublication& desired) {
  bool fresh;
  {
    std::lock_guard lock(mu_);
    fresh = observed_fresh_;
  }
  if (!fresh) ZHISUAN_RETURN_IF_ERROR(Observe());
  std::lock_guard lock(mu_);
  ZHISUAN_RETURN_IF_ERROR(RecheckComputeNode());
  int writes = 0;
  // Each write returns the object as stored; planning again from it makes the next write (the
  // status needs the ComputeNode's generation) and the next Publish see the server's truth.
  for (int step = 0; step < 3; ++step) {
    const PublishPlan plan = PlanPublish(desired, observed_, policy_);
    if (plan.Empty()) return writes;
    Status status = Execute(plan, writes);
    if (!status.ok()) {
      observed_fresh_ = false;  // the server may hold something else now: read before planning
      return status;
    }
  }
  return writes;
}

Status ComputeNodePublisher::RecheckComputeNode() {
  const SteadyTime now = clock_->Now();
  if (compute_node_read_ && now - *compute_node_read_ < kComputeNodeRecheck) return OkStatus();
  auto compute_node = client_->Get(api::kComputeNodes, "", node_name_);
  if (!compute_node.ok() && !kube::IsNotFound(compute_node.status())) {
    return compute_node.status().Annotate(StrCat("reading ComputeNode ", node_name_));
  }
  compute_node_read_ = now;
  if (compute_node.ok()) {
    observed_.compute_node = std::move(*compute_node);
  } else if (observed_.compute_node) {
    ZLOG(Warning) << "ComputeNode " << node_name_ << " was deleted; recreating it";
    observed_.compute_node.reset();
  }
  return OkStatus();
}

Status ComputeNodePublisher::Execute(const PublishPlan& plan, int& writes) {
  kube::PatchOptions apply;
  apply.field_manager = policy_.field_manager;
  apply.force = true;  // the agent's fields are the agent's: take them back from any other writer
  if (plan.node_labels) {
    auto node = client_->Patch(kube::kNodes, "", node_name_, kube::PatchType::kApply,
                               *plan.node_labels, apply);
    ++writes;
    ++writes_;
    if (!node.ok()) return node.status().Annotate(StrCat("applying labels to Node ", node_name_));
    ZLOG(Info) << "applied labels " << (*plan.node_labels)["metadata"]["labels"].dump()
               << " to Node " << node_name_;
    observed_.node = std::move(*node);
    return OkStatus();
  }
  if (plan.compute_node) {
    auto object = client_->Patch(api::kComputeNodes, "", node_name_, kube::PatchType::kApply,
                                 *plan.compute_node, apply);
    ++writes;
    ++writes_;
    if (!object.ok()) return object.status().Annotate(StrCat("applying ComputeNode ", node_name_));
    observed_.compute_node = std::move(*object);
    return OkStatus();
  }
  if (plan.compute_node_status) {
    kube::PatchOptions status_apply = apply;
    status_apply.subresource = "status";
    auto object = client_->Patch(api::kComputeNodes, "", node_name_, kube::PatchType::kApply,
                                 *plan.compute_node_status, status_apply);
    ++writes;
    ++writes_;
    if (!object.ok()) {
      return object.status().Annotate(StrCat("applying ComputeNode ", node_name_, " status"));
    }
    ZLOG(Info) << "published ComputeNode " << node_name_ << " status ("
               << (*plan.compute_node_status)["status"].value("healthyAcceleratorCount", 0) << "/"
               << (*plan.compute_node_status)["status"].value("acceleratorCount", 0)
               << " accelerators healthy)";
    observed_.compute_node = std::move(*object);
  }
  return OkStatus();
}

}  // namespace zhisuan::agent
