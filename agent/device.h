#pragma once
// The agent's model of a node's compute: what every discovery backend produces and everything
// downstream (FLOPS, health, metrics, device plugin, ComputeNode) consumes.

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/precision.h"
#include "common/status.h"

namespace zhisuan::agent {

enum class Vendor {
  kNvidia,
  kAmd,
  kHuawei,
  kCambricon,
  kHygon,
  kKunlunxin,
  kEnflame,
  kIluvatar,
  kMooreThreads,
  kMetaX,
  kHabana,
  kTenstorrent,
  kIntel,
  kUnknown,
};

// Lower-case, label-safe: "nvidia", "amd", "huawei", "cambricon", "moorethreads", ...
std::string_view VendorName(Vendor vendor);
// From a PCI vendor id (0x10de -> kNvidia); kUnknown for anything else.
Vendor VendorFromPciId(uint16_t pci_vendor_id);

// Precisions live in the API (ComputeNode and ComputePool speak them); the agent uses the same.
using api::At;
using api::FlopsByPrecision;
using api::kAllPrecisions;
using api::Precision;
using api::PrecisionFromName;
using api::PrecisionName;

// One accelerator as discovered. Identity fields never change while the agent runs.
struct Accelerator {
  int index = 0;     // as the vendor runtime numbers it (nvidia-smi index, davinci N)
  std::string uuid;  // vendor UUID; "pci-<bus id>" when the vendor gives none
  Vendor vendor = Vendor::kUnknown;
  // Canonical, label-safe product name from the SKU table ("H100-SXM5", "MI300X", "Ascend910B");
  // for parts the table lacks, the vendor-reported name made label-safe.
  std::string product;
  std::string vendor_product_name;  // as the vendor library reports it, for humans
  std::string pci_bus_id;           // "0000:17:00.0", lower case
  uint16_t pci_vendor_id = 0;
  uint16_t pci_device_id = 0;
  std::string architecture;  // "hopper", "ampere", "ada", "cdna3", "davinci", "" if unknown
  uint64_t memory_bytes = 0;
  int numa_node = -1;        // -1: unknown
  int compute_units = 0;     // SMs, CUs, AI cores; 0 if unknown (formula fallback input)
  double max_clock_mhz = 0;  // 0 if unknown (formula fallback input)
  // Character devices a container needs: /dev/nvidia0, /dev/dri/renderD128, /dev/davinci0.
  std::vector<std::string> device_nodes;
  std::string backend;  // which backend found it: "nvml", "kfd", "dcmi", "pci"
};

// A point-in-time reading. Every field is optional: backends report what the hardware tells them.
struct DeviceTelemetry {
  std::optional<double> utilization_ratio;  // 0..1
  std::optional<double> memory_used_bytes;
  std::optional<double> power_watts;
  std::optional<double> power_limit_watts;
  std::optional<double> energy_joules;  // monotonic since driver load
  std::optional<double> temperature_celsius;
  std::optional<double> clock_mhz;
};

// Something a backend observed that may make a device unhealthy.
struct HealthEvent {
  enum class Kind { kXid, kEccDoubleBit, kDeviceLost, kOverTemperature, kVendorHealthCode };
  std::string uuid;
  Kind kind = Kind::kXid;
  uint64_t code = 0;  // the Xid, the vendor health/error code; 0 where none applies
  std::string detail;
};

// A stand-in the agent read something through instead of hardware: a fake vendor library (one
// exporting common/dynamic_library.h's kStandInMarkerSymbol) or a fixture tree (a sysfs or procfs
// root holding kFixtureMarkerFile). Whatever came through one is simulated, and every figure a
// user sees says so (the metrics' source label, zhisuan_agent_simulated_hardware, the
// ComputeNode's SimulatedHardware condition).
struct StandIn {
  std::string source;  // one of kStandInSources
  std::string name;    // "fake_nvml", "fixture tree h100-8x"

  friend bool operator==(const StandIn&, const StandIn&) = default;
};
// Where a stand-in can enter, in a fixed order: the label values of
// zhisuan_agent_simulated_hardware, so its cardinality stays fixed.
inline constexpr std::array<std::string_view, 5> kStandInSources = {"nvml", "dcmi", "cuda", "sysfs",
                                                                    "procfs"};
// The file at the root of a fixture sysfs or procfs tree (tests/fixtures/sysfs/*/{sys,proc}); its
// text names the tree. A real /sys or /proc never has it.
inline constexpr std::string_view kFixtureMarkerFile = "/.zhisuan-fixture";

// What a measured figure's `source` label and ComputeNode field say.
inline constexpr std::string_view kSourceHardware = "hardware";
inline constexpr std::string_view kSourceSimulated = "simulated";

// One vendor's view of the node. Implementations own their library handles (RAII) and must
// never throw or crash on a missing library, a missing symbol or a failing call: they return a
// Status and the agent degrades.
class DiscoveryBackend {
 public:
  virtual ~DiscoveryBackend() = default;
  virtual std::string_view Name() const = 0;  // "nvml", "kfd", "dcmi", "pci"
  virtual StatusOr<std::vector<Accelerator>> Discover() = 0;
  virtual StatusOr<DeviceTelemetry> Sample(const Accelerator& accelerator) = 0;
  // Health events since the last call; never blocks.
  virtual std::vector<HealthEvent> DrainHealthEvents() = 0;
  // The stand-in library's name when the vendor library loaded is a stand-in (it exports the
  // marker symbol); empty for a real library, before loading, and for backends without one.
  virtual std::string StandIn() const { return {}; }
};
using DiscoveryBackendPtr = std::unique_ptr<DiscoveryBackend>;

struct CpuInfo {
  std::string model;      // "Intel(R) Xeon(R) Platinum 8480+"
  std::string vendor_id;  // "GenuineIntel", "AuthenticAMD", "HygonGenuine"
  int sockets = 0;
  int physical_cores = 0;
  int logical_cpus = 0;
  int numa_nodes = 0;
  double max_mhz = 0;                  // from cpufreq, else /proc/cpuinfo
  std::vector<std::string> isa_flags;  // the relevant ones: avx2, fma, avx512f, amx_bf16, sve...
  // What names the microarchitecture (agent/flops/cpu_peak_flops.h): x86 "cpu family" and
  // "model"; on Arm the "CPU part" as model and family 0. -1 where cpuinfo has no such line.
  int family = -1;
  int model_number = -1;
};

}  // namespace zhisuan::agent
