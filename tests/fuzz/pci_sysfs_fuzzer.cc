// The one-value files under /sys/bus/pci/devices/<bus id>/ and the bus ids NVML, DCMI and sysfs
// spell differently. The first byte picks the parser, the rest is the file's text. Every parser
// returns a value or a Status; a normalised bus id is canonical (normalising it again is a no-op).
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "agent/discovery/pci/pci_parsers.h"

namespace pci = zhisuan::agent::pci;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 4) {
    case 0: {  // vendor, device
      auto id = pci::ParsePciId(text);
      if (!id.ok() && id.status().message().empty()) std::abort();
      if (id.ok()) (void)pci::IsAcceleratorFunction(*id, 0x030200);
      break;
    }
    case 1: {  // class
      auto pci_class = pci::ParsePciClass(text);
      if (!pci_class.ok() && pci_class.status().message().empty()) std::abort();
      if (pci_class.ok()) {
        if (*pci_class > 0xffffff) std::abort();
        (void)pci::IsAcceleratorFunction(0x10de, *pci_class);
      }
      break;
    }
    case 2: {  // numa_node
      auto numa = pci::ParseNumaNode(text);
      if (!numa.ok() && numa.status().message().empty()) std::abort();
      if (numa.ok() && *numa < -1) std::abort();
      break;
    }
    default: {  // a bus id from any of the vendor libraries or a sysfs directory name
      auto bus_id = pci::NormalizePciBusId(text);
      if (!bus_id.ok()) {
        if (bus_id.status().message().empty()) std::abort();
        break;
      }
      if (bus_id->size() != 12) std::abort();  // dddd:bb:dd.f
      auto again = pci::NormalizePciBusId(*bus_id);
      if (!again.ok() || *again != *bus_id) std::abort();
      break;
    }
  }
  return 0;
}
