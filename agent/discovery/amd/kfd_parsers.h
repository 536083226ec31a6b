#pragma once
// Parsers for the AMD KFD topology (/sys/class/kfd/kfd/topology/nodes/<n>/properties) and the
// amdgpu sysfs values. Total on any input: a value or a Status, never a crash.

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "common/status.h"

namespace zhisuan::agent::amd {

// "key value" lines, values unsigned decimal. A line that is not exactly that (a truncated file
// ends mid-line) is InvalidArgument: a half-read node must not become a half-described GPU.
StatusOr<std::map<std::string, uint64_t, std::less<>>> ParseKfdProperties(std::string_view text);

// What the agent needs from one KFD node.
struct KfdNode {
  bool is_gpu = false;  // CPU nodes have simd_count 0
  uint16_t vendor_id = 0;
  uint16_t device_id = 0;
  int compute_units = 0;  // simd_count / simd_per_cu
  double max_clock_mhz = 0;
  int64_t render_minor = -1;
  uint64_t unique_id = 0;  // 0: the firmware gives none
  uint64_t gfx_target_version = 0;
  std::string pci_bus_id;  // from domain and location_id
};

// InvalidArgument when a GPU node lacks a key identity needs (vendor_id, device_id, simd_per_cu,
// location_id, drm_render_minor) or carries out-of-range values. CPU nodes only need simd_count.
StatusOr<KfdNode> KfdNodeFromProperties(const std::map<std::string, uint64_t, std::less<>>& props);

// gfx_target_version (major*10000 + minor*100 + stepping) -> "cdna3" for 90402 (gfx942), etc.
// "" for versions not known here.
std::string_view GfxArchitecture(uint64_t gfx_target_version);

// "GPU-<16 hex digits>", the form ROCm runtimes report for HSA agents.
std::string AmdUuid(uint64_t unique_id);

// One unsigned integer in a sysfs file ("304\n").
StatusOr<uint64_t> ParseSysfsUnsigned(std::string_view text);

}  // namespace zhisuan::agent::amd
