// AMD KFD topology node properties and amdgpu sysfs values. The first byte picks the parser. A
// properties file either becomes a node description (and that node's derived names are
// well-formed) or is rejected whole; a half-read file never becomes a half-described GPU.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "agent/discovery/amd/kfd_parsers.h"
#include "agent/discovery/pci/pci_parsers.h"

namespace amd = zhisuan::agent::amd;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
  if (data[0] % 2 == 1) {
    auto value = amd::ParseSysfsUnsigned(text);
    if (!value.ok() && value.status().message().empty()) std::abort();
    return 0;
  }
  auto props = amd::ParseKfdProperties(text);
  if (!props.ok()) {
    if (props.status().message().empty()) std::abort();
    return 0;
  }
  auto node = amd::KfdNodeFromProperties(*props);
  if (!node.ok()) {
    if (node.status().message().empty()) std::abort();
    return 0;
  }
  if (!node->is_gpu) return 0;
  if (node->compute_units < 0 || node->render_minor < 0) std::abort();
  // The bus id built from domain and location_id must be one the rest of discovery accepts.
  auto bus_id = zhisuan::agent::pci::NormalizePciBusId(node->pci_bus_id);
  if (!bus_id.ok() || *bus_id != node->pci_bus_id) std::abort();
  if (amd::AmdUuid(node->unique_id).size() != 20) std::abort();  // "GPU-" + 16 hex digits
  (void)amd::GfxArchitecture(node->gfx_target_version);
  return 0;
}
