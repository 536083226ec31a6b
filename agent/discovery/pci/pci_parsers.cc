#include "agent/discovery/pci/pci_parsers.h"

#include <cctype>
#include <limits>

#include "common/strings.h"

namespace zhisuan::agent::pci {
namespace {

// The kernel's sysfs attributes are short; anything long is not one of them.
constexpr size_t kMaxValueLength = 64;

StatusOr<uint64_t> ParseHex(std::string_view text, uint64_t max, std::string_view what) {
  if (text.size() > kMaxValueLength) return InvalidArgumentError(StrCat(what, ": value too long"));
  std::string_view value = StripWhitespace(text);
  auto parsed = ParseUint64(value, 16);
  if (!parsed || *parsed > max) {
    return InvalidArgumentError(StrCat(what, ": not a hex value <= ", max, ": \"", value, "\""));
  }
  return *parsed;
}

bool IsHexDigits(std::string_view text, size_t length) {
  if (text.size() != length) return false;
  for (char c : text) {
    if (!std::isxdigit(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

}  // namespace

StatusOr<uint16_t> ParsePciId(std::string_view text) {
  ZHISUAN_ASSIGN_OR_RETURN(uint64_t value, ParseHex(text, 0xffff, "PCI id"));
  return static_cast<uint16_t>(value);
}

StatusOr<uint32_t> ParsePciClass(std::string_view text) {
  ZHISUAN_ASSIGN_OR_RETURN(uint64_t value, ParseHex(text, 0xffffff, "PCI class"));
  return static_cast<uint32_t>(value);
}

StatusOr<int> ParseNumaNode(std::string_view text) {
  if (text.size() > kMaxValueLength) return InvalidArgumentError("NUMA node: value too long");
  std::string_view value = StripWhitespace(text);
  auto parsed = ParseInt64(value);
  if (!parsed || *parsed < -1 || *parsed > std::numeric_limits<int>::max()) {
    return InvalidArgumentError(StrCat("NUMA node: not an integer >= -1: \"", value, "\""));
  }
  return static_cast<int>(*parsed);
}

StatusOr<std::string> NormalizePciBusId(std::string_view text) {
  std::string_view value = StripWhitespace(text);
  std::vector<std::string_view> parts = StrSplit(value, ':');
  std::string_view domain = "0000";
  if (parts.size() == 3) {
    domain = parts[0];
    parts.erase(parts.begin());
  }
  if (parts.size() != 2) return InvalidArgumentError(StrCat("not a PCI bus id: \"", value, "\""));
  // NVML pads the domain to 8 digits; Linux uses 4 for every domain below 0x10000.
  if (domain.size() > 4 && domain.size() <= 8 &&
      domain.substr(0, domain.size() - 4).find_first_not_of('0') == std::string_view::npos) {
    domain = domain.substr(domain.size() - 4);
  }
  std::vector<std::string_view> device_function = StrSplit(parts[1], '.');
  if (!IsHexDigits(domain, 4) || !IsHexDigits(parts[0], 2) || device_function.size() != 2 ||
      !IsHexDigits(device_function[0], 2) || !IsHexDigits(device_function[1], 1)) {
    return InvalidArgumentError(StrCat("not a PCI bus id: \"", value, "\""));
  }
  return AsciiLower(
      StrCat(domain, ":", parts[0], ":", device_function[0], ".", device_function[1]));
}

bool IsAcceleratorFunction(uint16_t pci_vendor, uint32_t pci_class) {
  const Vendor vendor = VendorFromPciId(pci_vendor);
  if (vendor == Vendor::kUnknown || vendor == Vendor::kIntel) return false;
  switch (pci_class >> 8) {
    case 0x0302:
    case 0x0380:
    case 0x1200:
    case 0x0b40:
      return true;
    case 0x0300:
      return vendor == Vendor::kNvidia || vendor == Vendor::kAmd ||
             vendor == Vendor::kMooreThreads || vendor == Vendor::kMetaX ||
             vendor == Vendor::kIluvatar || vendor == Vendor::kHygon;
    default:
      return false;
  }
}

}  // namespace zhisuan::agent::pci
