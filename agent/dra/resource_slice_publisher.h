#pragma once
// ResourceSlicePublisher: the write half of the DRA slices. Keeps the node's slices as the server
// last returned them and writes only when the desired slices differ: no periodic rewrite, so a
// steady node costs one list at start-up and nothing after. Every change writes the whole pool
// with pool.generation one above the highest the server has, as the API asks of a driver that
// changes anything in a pool (consumers use only the slices of the highest generation), and
// deletes slices the pool no longer has.
//
// The kubelet deletes every slice of its node when it starts, and a driver's slices when the
// driver's plugin stays away (upgrades), behind the agent's back. So the publisher lists its
// slices again (a read, never a write) once kSliceRecheck has passed, and restores what is gone.
//
// Device taints are alpha: an API server without the DRADeviceTaints gate drops them silently, and
// a tainted unhealthy device would then be published as allocatable. The publisher compares what
// it sent with what the server kept; when taints went missing it says so (taints_dropped()) and
// fails the pass, and the caller republishes with the device left out.

#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "common/clock.h"
#include "kube/client.h"

namespace zhisuan::agent::dra {

inline constexpr std::chrono::seconds kSliceRecheck{30};

class ResourceSlicePublisher {
 public:
  ResourceSlicePublisher(kube::ApiClientPtr client, std::string node_name,
                         ClockPtr clock = SystemClock());

  // Writes what differs between `desired` (BuildResourceSlices) and the server's slices; returns
  // how many writes that took (0 when the server already has `desired`).
  StatusOr<int> Publish(const std::vector<kube::Json>& desired);

  uint64_t writes() const { return writes_.load(); }
  // Whether the server has dropped the device taints of a write (its DRADeviceTaints gate is off).
  bool taints_dropped() const { return taints_dropped_.load(); }

 private:
  // Lists this node's slices of this driver (field selectors spec.nodeName and spec.driver).
  Status Observe();
  bool UpToDate(const std::vector<kube::Json>& desired) const;
  int64_t NextGeneration() const;

  const kube::ApiClientPtr client_;
  const std::string node_name_;
  const ClockPtr clock_;
  std::mutex mu_;                               // serialises Publish
  std::map<std::string, kube::Json> observed_;  // by slice name
  bool observed_fresh_ = false;
  SteadyTime observed_at_{};
  std::atomic<uint64_t> writes_{0};
  std::atomic<bool> taints_dropped_{false};
};

}  // namespace zhisuan::agent::dra
