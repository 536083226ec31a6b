#pragma once
// Entry point of discovery: which backends exist for a node, and how their findings merge into one
// inventory. The PCI scan sees every accelerator, with or without its vendor library; a vendor
// backend that finds the same PCI bus id supersedes the PCI entry with richer identity.

#include <optional>
#include <string>
#include <vector>

#include "agent/device.h"
#include "common/file_reader.h"

namespace zhisuan::agent {

struct DiscoveryOptions {
  std::string sysfs_root = "/sys";
  std::string procfs_root = "/proc";
  std::string dev_root = "/dev";  // where device nodes are looked for
  std::string nvml_library = "libnvidia-ml.so.1";
  std::string dcmi_library = "libdcmi.so";
};

// Every backend for the node, PCI scan included. Backends whose vendor library is absent are
// still returned: their Discover() reports the reason (Unavailable) and the agent degrades.
std::vector<DiscoveryBackendPtr> MakeDiscoveryBackends(const DiscoveryOptions& options);

// One per backend, in backend order, then one named "cpu" for DiscoverCpu.
struct BackendResult {
  std::string backend;
  Status status;  // why a backend found nothing, for the log, the metric and ComputeNode
};

struct NodeInventory {
  std::vector<Accelerator> accelerators;  // merged, sorted by vendor then index
  CpuInfo cpu;
  std::vector<BackendResult> backend_results;
  // Stand-in libraries the backends loaded and fixture trees the roots point at, in
  // kStandInSources order; empty on real hardware.
  std::vector<StandIn> stand_ins;
};

// The stand-in a sysfs or procfs root is: "fixture tree <name>" when it holds kFixtureMarkerFile,
// else nullopt.
std::optional<std::string> FixtureTreeAt(const FileReader& root);

// Runs every backend and the CPU probe and merges what they found. Never fails: a backend that
// fails contributes its Status to backend_results.
NodeInventory DiscoverNode(std::vector<DiscoveryBackendPtr>& backends, const FileReader& sysfs,
                           const FileReader& procfs);

// The CPU: model, sockets, cores, NUMA nodes, clock, ISA flags, from procfs and sysfs.
StatusOr<CpuInfo> DiscoverCpu(const FileReader& sysfs, const FileReader& procfs);

}  // namespace zhisuan::agent
