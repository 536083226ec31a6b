#pragma once
// Fixture builders for planner tests, in Kueue's style: each reads as the object it makes,
//   MakeNode("n1").Zone("a").Obj()
//   MakeComputeNode("n1").Accelerators(8, "H100-SXM5", "989.4T").CarbonFree(1.0).Obj()
//   MakePool("t/p").Flops("20P").Obj()
// and defaults to the common case (a Ready node; a healthy NVIDIA node; an AllOrNothing pool) so
// a test states only what it is about.

#include <string>
#include <string_view>
#include <vector>

#include "api/quantity.h"
#include "common/strings.h"
#include "controller/reconcile/pool_planner.h"
#include "tests/unit/controller/reconcile/test_snapshots.h"

namespace zhisuan::controller::fixtures {

// A fixed instant, so messages that quote times are stable.
inline WallTime T0() { return WallTime(std::chrono::seconds(1795000000)); }  // 2026-11-18

inline double Quantity(std::string_view text) {
  auto value = api::ParseQuantity(text);
  return value.ok() ? *value : -1;
}

class NodeBuilder {
 public:
  explicit NodeBuilder(std::string name) {
    node_.name = std::move(name);
    node_.uid = "uid-" + node_.name;
    node_.resource_version = "1";
    node_.ready = true;
  }
  NodeBuilder& Zone(std::string zone) { return Label(std::string(kZoneLabel), std::move(zone)); }
  NodeBuilder& Rack(std::string rack) { return Label(std::string(kRackLabel), std::move(rack)); }
  NodeBuilder& Label(std::string key, std::string value) {
    node_.labels[std::move(key)] = std::move(value);
    return *this;
  }
  NodeBuilder& Ready(bool ready = true) {
    node_.ready = ready;
    return *this;
  }
  NodeBuilder& NotReady() { return Ready(false); }
  NodeBuilder& Cordoned() {
    node_.unschedulable = true;
    return *this;
  }
  NodeBuilder& Deleting() {
    node_.deleting = true;
    return *this;
  }
  NodeBuilder& Taint(std::string key, std::string value, std::string effect = "NoSchedule") {
    node_.taints.push_back({std::move(key), std::move(value), std::move(effect)});
    return *this;
  }
  // Bound the way the executor binds: label and taint.
  NodeBuilder& BoundTo(std::string_view pool_key) {
    const auto slash = pool_key.find('/');
    const std::string binding =
        api::PoolBindingValue(pool_key.substr(0, slash), pool_key.substr(slash + 1));
    Label(std::string(api::kPoolLabel), binding);
    return Taint(std::string(api::kPoolTaintKey), binding, "NoExecute");
  }
  NodeInfo Obj() const { return node_; }

 private:
  NodeInfo node_;
};
inline NodeBuilder MakeNode(std::string name) { return NodeBuilder(std::move(name)); }

class ComputeNodeBuilder {
 public:
  explicit ComputeNodeBuilder(std::string name) {
    node_.name = std::move(name);
    node_.uid = "cn-" + node_.name;
    node_.resource_version = "1";
    node_.status.power_capacity_watts = 10200;
    node_.status.energy.carbon_free_ratio = 1.0;
    node_.status.energy.carbon_intensity = 10;
    node_.status.energy.average_power_watts = 8000;  // the energy weight of its carbon figures
    node_.status.energy.average_power_source = "counter";
  }
  // `count` devices of `product` with `peak` FLOPS each at `precision`.
  ComputeNodeBuilder& Accelerators(int count, std::string product, std::string_view peak,
                                   api::Precision precision = api::Precision::kBf16,
                                   std::string vendor = "nvidia") {
    for (int i = 0; i < count; ++i) {
      api::AcceleratorStatus device;
      device.index = static_cast<int>(node_.status.accelerators.size());
      device.uuid = node_.name + "-gpu-" + std::to_string(device.index);
      device.vendor = vendor;
      device.product = product;
      api::At(device.peak_flops, precision) = Quantity(peak);
      node_.status.accelerators.push_back(std::move(device));
    }
    return *this;
  }
  ComputeNodeBuilder& Unhealthy(int index, std::string reason) {
    node_.status.accelerators.at(static_cast<size_t>(index)).healthy = false;
    node_.status.accelerators.at(static_cast<size_t>(index)).reason = std::move(reason);
    return *this;
  }
  ComputeNodeBuilder& CarbonFree(double ratio) {
    node_.status.energy.carbon_free_ratio = ratio;
    return *this;
  }
  ComputeNodeBuilder& Intensity(double grams_per_kwh) {
    node_.status.energy.carbon_intensity = grams_per_kwh;
    return *this;
  }
  ComputeNodeBuilder& NoEnergyData() {
    node_.status.energy.carbon_free_ratio.reset();
    node_.status.energy.carbon_intensity.reset();
    return *this;
  }
  ComputeNodeBuilder& Power(int64_t watts) {
    node_.status.power_capacity_watts = watts;
    return *this;
  }
  // No energy figure yet (the agent's window is still filling).
  ComputeNodeBuilder& NoAveragePower() {
    node_.status.energy.average_power_watts.reset();
    node_.status.energy.average_power_source.clear();
    return *this;
  }
  // The accelerators' average power over the agent's window: the node's energy weight.
  ComputeNodeBuilder& AveragePower(double watts, std::string source = "counter") {
    node_.status.energy.average_power_watts = watts;
    node_.status.energy.average_power_source = std::move(source);
    return *this;
  }
  api::ComputeNode Obj() const { return node_; }

 private:
  api::ComputeNode node_;
};
inline ComputeNodeBuilder MakeComputeNode(std::string name) {
  return ComputeNodeBuilder(std::move(name));
}

class PoolBuilder {
 public:
  // "namespace/name"
  explicit PoolBuilder(std::string_view key) {
    const auto slash = key.find('/');
    pool_.pool.pool_namespace = std::string(key.substr(0, slash));
    pool_.pool.name = std::string(key.substr(slash + 1));
    pool_.pool.uid = "uid-" + std::string(key);
    pool_.pool.resource_version = "1";
    pool_.pool.generation = 1;
    pool_.creation_timestamp = "2026-11-18T00:00:00Z";
  }
  PoolBuilder& Flops(std::string_view flops, api::Precision precision = api::Precision::kBf16) {
    pool_.pool.spec.flops = Quantity(flops);
    pool_.pool.spec.accelerators.reset();
    pool_.pool.spec.precision = precision;
    return *this;
  }
  PoolBuilder& Accelerators(int count) {
    pool_.pool.spec.accelerators = count;
    pool_.pool.spec.flops.reset();
    return *this;
  }
  PoolBuilder& Vendor(std::string vendor) {
    pool_.pool.spec.vendor = std::move(vendor);
    return *this;
  }
  PoolBuilder& Products(std::vector<std::string> products) {
    pool_.pool.spec.products = std::move(products);
    return *this;
  }
  PoolBuilder& MinCarbonFree(double ratio) {
    pool_.pool.spec.min_carbon_free_ratio = ratio;
    return *this;
  }
  PoolBuilder& MaxIntensity(double grams_per_kwh) {
    pool_.pool.spec.max_intensity = grams_per_kwh;
    return *this;
  }
  PoolBuilder& Selector(std::string key, std::string value) {
    pool_.pool.spec.node_selector.match_labels[std::move(key)] = std::move(value);
    return *this;
  }
  PoolBuilder& Partial() {
    pool_.pool.spec.all_or_nothing = false;
    return *this;
  }
  PoolBuilder& Generation(int64_t generation) {
    pool_.pool.generation = generation;
    return *this;
  }
  PoolBuilder& Created(std::string timestamp) {
    pool_.creation_timestamp = std::move(timestamp);
    return *this;
  }
  PoolBuilder& Finalized() {
    pool_.pool.finalizers = {std::string(api::kPoolFinalizer)};
    return *this;
  }
  PoolBuilder& Deleting() {
    pool_.pool.deleting = true;
    return *this;
  }
  PoolBuilder& Status(api::ComputePoolStatus status) {
    pool_.pool.status = std::move(status);
    return *this;
  }
  PoolObservation Obj() const { return pool_; }

 private:
  PoolObservation pool_;
};
inline PoolBuilder MakePool(std::string_view key) { return PoolBuilder(key); }

// A healthy 8-GPU H100 node (7.9P bf16) in `zone`, Node and ComputeNode together.
struct Machine {
  NodeInfo node;
  api::ComputeNode compute_node;
};
inline Machine H100Node(std::string name, std::string zone, double carbon_free = 1.0) {
  return {
      MakeNode(name).Zone(std::move(zone)).Obj(),
      MakeComputeNode(name).Accelerators(8, "H100-SXM5", "989.4T").CarbonFree(carbon_free).Obj()};
}

// MakePod("ns/name").On("n1").DaemonSet().Obj()
class PodBuilder {
 public:
  explicit PodBuilder(std::string_view key) {
    const auto slash = key.find('/');
    pod_.pod_namespace = std::string(key.substr(0, slash));
    pod_.name = std::string(key.substr(slash + 1));
    pod_.uid = StrCat("uid-", pod_.pod_namespace, "-", pod_.name);
  }
  PodBuilder& On(std::string_view node) {
    pod_.node = std::string(node);
    return *this;
  }
  PodBuilder& DaemonSet() {
    pod_.daemon_set = true;
    return *this;
  }
  PodBuilder& Mirror() {
    pod_.mirror = true;
    return *this;
  }
  PodBuilder& Terminating() {
    pod_.terminating = true;
    return *this;
  }
  PodBuilder& Finished() {
    pod_.finished = true;
    return *this;
  }
  PodInfo Obj() const { return pod_; }

 private:
  PodInfo pod_;
};
inline PodBuilder MakePod(std::string_view key) { return PodBuilder(key); }

// MakeQuota("t/q").Accelerators(8).Flops(api::Precision::kBf16, "20P").Obj()
class QuotaBuilder {
 public:
  explicit QuotaBuilder(std::string_view key) {
    const size_t slash = key.find('/');
    quota_.quota.quota_namespace = std::string(key.substr(0, slash));
    quota_.quota.name = std::string(key.substr(slash + 1));
    quota_.quota.uid = "uid-quota-" + quota_.quota.name;
    quota_.quota.resource_version = "1";
    quota_.quota.generation = 1;
  }
  QuotaBuilder& Accelerators(int64_t count) {
    quota_.quota.hard.accelerators = count;
    return *this;
  }
  QuotaBuilder& Flops(api::Precision precision, std::string_view flops) {
    quota_.quota.hard.flops[precision] = Quantity(flops);
    return *this;
  }
  QuotaBuilder& Invalid(std::string why) {
    quota_.invalid_spec = std::move(why);
    return *this;
  }
  QuotaObservation Obj() const { return quota_; }

 private:
  QuotaObservation quota_;
};

inline QuotaBuilder MakeQuota(std::string_view key) { return QuotaBuilder(key); }

class SnapshotBuilder {
 public:
  SnapshotBuilder& Add(Machine machine) {
    snapshot_.nodes.push_back(std::move(machine.node));
    snapshot_.compute_nodes.push_back(std::move(machine.compute_node));
    return *this;
  }
  SnapshotBuilder& Add(NodeInfo node, api::ComputeNode compute_node) {
    return Add(Machine{std::move(node), std::move(compute_node)});
  }
  SnapshotBuilder& Add(PoolObservation pool) {
    snapshot_.pools.push_back(std::move(pool));
    return *this;
  }
  SnapshotBuilder& AddNodeOnly(NodeInfo node) {
    snapshot_.nodes.push_back(std::move(node));
    return *this;
  }
  SnapshotBuilder& Add(PodInfo pod) {
    snapshot_.pods.push_back(std::move(pod));
    return *this;
  }
  SnapshotBuilder& Add(QuotaObservation quota) {
    snapshot_.quotas.push_back(std::move(quota));
    return *this;
  }
  ClusterSnapshot Obj() const { return snapshot_; }

 private:
  ClusterSnapshot snapshot_;
};

}  // namespace zhisuan::controller::fixtures
