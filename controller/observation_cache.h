#pragma once
// The planner's view of the cluster, decoded once per informer event rather than once per
// reconcile. Before this cache, every reconcile deep-copied every cached Node, ComputeNode and
// ComputePool and decoded them all, so a burst of P pools on N nodes cost O(P x N) JSON work
// (bench/fleet measured it). Now each event decodes one object, keyed by object key, and a
// reconcile copies the decoded values (a few small structs per node) into a ClusterSnapshot.
//
// The informers' handlers keep it current: they run before the controller's own handlers, so by
// the time a pool is queued the observation it will be planned from is already here. It records
// the resourceVersion of each decoded object, which is what the controller compares with the
// versions its own writes produced (planning waits until the decoded view has caught up).

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>

#include "controller/reconcile/snapshot.h"

namespace zhisuan::controller {

class ObservationCache {
 public:
  // Upsert* decode `object` and replace what was cached under its key; an object that does not
  // decode removes the entry (pools, nodes; logged) or is recorded as ignored (ComputeNodes), as
  // SnapshotFromObjects does.
  void UpsertPool(const Json& object);
  void RemovePool(const std::string& key);
  void UpsertNode(const Json& object);
  void RemoveNode(const std::string& name);
  void UpsertComputeNode(const Json& object);
  void RemoveComputeNode(const std::string& name);

  // Everything cached, in key order (the order the informer stores list in).
  ClusterSnapshot Snapshot() const;

  // The resourceVersion of the decoded pool ("ns/name") or node, nullopt when absent.
  std::optional<std::string> PoolVersion(const std::string& key) const;
  std::optional<std::string> NodeVersion(const std::string& name) const;

 private:
  // A ComputeNode is either decoded or ignored (with the reason), never both.
  struct ComputeNodeEntry {
    std::optional<api::ComputeNode> decoded;
    IgnoredComputeNode ignored;
  };

  mutable std::mutex mu_;
  std::map<std::string, PoolObservation> pools_;
  std::map<std::string, NodeInfo> nodes_;
  std::map<std::string, ComputeNodeEntry> compute_nodes_;
};

}  // namespace zhisuan::controller
