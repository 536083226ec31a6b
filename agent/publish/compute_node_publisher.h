#pragma once
// ComputeNodePublisher: the apply half of publishing. Keeps the Node and ComputeNode as the server
// last returned them, asks PlanPublish what differs, and writes exactly that with server-side
// apply (field manager "zhisuan-agent"). No read-modify-write: an apply states the fields the
// agent owns, so concurrent writers of other fields never conflict with it, and there is no
// heartbeat: an unchanged node costs one GET per object at start-up, then one GET of the
// ComputeNode every kComputeNodeRecheck, so that one deleted behind the agent's back (nothing
// else would tell it: it writes only on change) is recreated within a minute (issue 17).

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>

#include "agent/publish/publish_planner.h"
#include "common/clock.h"
#include "kube/client.h"

namespace zhisuan::agent {

// How often Publish re-reads the ComputeNode when it has nothing to write.
inline constexpr std::chrono::seconds kComputeNodeRecheck{30};

class ComputeNodePublisher {
 public:
  ComputeNodePublisher(kube::ApiClientPtr client, std::string node_name, PublishPolicy policy = {},
                       ClockPtr clock = SystemClock());

  // Reads the Node (which must exist: its uid owns the ComputeNode) and the ComputeNode (which
  // may not). Publish() calls it when nothing has been observed yet or a write failed.
  Status Observe();

  // Writes what differs between `desired` and the server's objects; returns how many writes that
  // took (0 when the server already shows `desired`).
  StatusOr<int> Publish(const DesiredPublication& desired);

  const std::string& node_name() const { return node_name_; }
  // Writes made since construction, for metrics and tests.
  uint64_t writes() const { return writes_.load(); }
  ObservedObjects observed() const;

 private:
  Status Execute(const PublishPlan& plan, int& writes);
  // Re-reads the ComputeNode (only) when kComputeNodeRecheck has passed since it was last read.
  Status RecheckComputeNode();

  const kube::ApiClientPtr client_;
  const std::string node_name_;
  const PublishPolicy policy_;
  const ClockPtr clock_;
  std::optional<SteadyTime> compute_node_read_;  // when the ComputeNode was last read
  mutable std::mutex mu_;                        // serialises Publish and guards observed_
  ObservedObjects observed_;
  bool observed_fresh_ = false;
  std::atomic<uint64_t> writes_{0};
};

}  // namespace zhisuan::agent
