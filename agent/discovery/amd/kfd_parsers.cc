#include "agent/discovery/amd/kfd_parsers.h"

#include <limits>

#include "common/strings.h"

namespace zhisuan::agent::amd {
namespace {

using Properties = std::map<std::string, uint64_t, std::less<>>;

std::optional<uint64_t> Get(const Properties& props, std::string_view key) {
  auto it = props.find(key);
  if (it == props.end()) return std::nullopt;
  return it->second;
}

char Hex(uint64_t value) { return "0123456789abcdef"[value & 0xf]; }

std::string HexDigits(uint64_t value, int digits) {
  std::string out;
  for (int shift = (digits - 1) * 4; shift >= 0; shift -= 4) out.push_back(Hex(value >> shift));
  return out;
}

}  // namespace

StatusOr<Properties> ParseKfdProperties(std::string_view text) {
  Properties props;
  int line_number = 0;
  for (std::string_view line : StrSplit(text, '\n')) {
    ++line_number;
    line = StripWhitespace(line);
    if (line.empty()) continue;
    const size_t space = line.find(' ');
    if (space == std::string_view::npos) {
      return InvalidArgumentError(StrCat("KFD properties line ", line_number, ": no value"));
    }
    std::string_view key = line.substr(0, space);
    std::optional<uint64_t> value = ParseUint64(StripWhitespace(line.substr(space + 1)));
    if (!value) {
      return InvalidArgumentError(
          StrCat("KFD properties line ", line_number, ": value of ", key, " is not a number"));
    }
    props.emplace(std::string(key), *value);
  }
  if (props.empty()) return InvalidArgumentError("KFD properties: empty");
  return props;
}

StatusOr<KfdNode> KfdNodeFromProperties(const Properties& props) {
  KfdNode node;
  std::optional<uint64_t> simd_count = Get(props, "simd_count");
  if (!simd_count) return InvalidArgumentError("KFD node: no simd_count");
  node.is_gpu = *simd_count > 0;
  if (!node.is_gpu) return node;

  auto require = [&](std::string_view key, uint64_t max) -> StatusOr<uint64_t> {
    std::optional<uint64_t> value = Get(props, key);
    if (!value) return InvalidArgumentError(StrCat("KFD GPU node: no ", key));
    if (*value > max) return InvalidArgumentError(StrCat("KFD GPU node: ", key, " out of range"));
    return *value;
  };
  ZHISUAN_ASSIGN_OR_RETURN(uint64_t vendor_id, require("vendor_id", 0xffff));
  ZHISUAN_ASSIGN_OR_RETURN(uint64_t device_id, require("device_id", 0xffff));
  ZHISUAN_ASSIGN_OR_RETURN(uint64_t simd_per_cu, require("simd_per_cu", 1024));
  ZHISUAN_ASSIGN_OR_RETURN(uint64_t location_id, require("location_id", 0xffff));
  ZHISUAN_ASSIGN_OR_RETURN(uint64_t render_minor, require("drm_render_minor", 1 << 20));
  if (simd_per_cu == 0) return InvalidArgumentError("KFD GPU node: simd_per_cu is 0");
  // Fewer SIMDs than one CU holds is a corrupt file, not a GPU with no compute: publishing 0 CUs
  // would advertise a device with 0 FLOPS.
  if (*simd_count < simd_per_cu) {
    return InvalidArgumentError(StrCat("KFD GPU node: simd_count ", *simd_count,
                                       " is less than simd_per_cu ", simd_per_cu));
  }
  if (*simd_count / simd_per_cu > static_cast<uint64_t>(std::numeric_limits<int>::max())) {
    return InvalidArgumentError("KFD GPU node: simd_count out of range");
  }
  node.vendor_id = static_cast<uint16_t>(vendor_id);
  node.device_id = static_cast<uint16_t>(device_id);
  node.compute_units = static_cast<int>(*simd_count / simd_per_cu);
  node.render_minor = static_cast<int64_t>(render_minor);
  node.max_clock_mhz = static_cast<double>(Get(props, "max_engine_clk_fcompute").value_or(0));
  node.unique_id = Get(props, "unique_id").value_or(0);
  node.gfx_target_version = Get(props, "gfx_target_version").value_or(0);
  const uint64_t domain = Get(props, "domain").value_or(0);
  if (domain > 0xffff) return InvalidArgumentError("KFD GPU node: domain out of range");
  // location_id packs bus (8 bits), device (5) and function (3) like a PCI routing id.
  node.pci_bus_id =
      StrCat(HexDigits(domain, 4), ":", HexDigits(location_id >> 8, 2), ":",
             HexDigits((location_id >> 3) & 0x1f, 2), ".", HexDigits(location_id & 0x7, 1));
  return node;
}

std::string_view GfxArchitecture(uint64_t gfx_target_version) {
  const uint64_t major = gfx_target_version / 10000;
  const uint64_t minor_stepping = gfx_target_version % 10000;
  if (major == 9) {
    if (minor_stepping >= 400 && minor_stepping < 500) return "cdna3";  // gfx940..942
    if (minor_stepping >= 500 && minor_stepping < 600) return "cdna4";  // gfx950
    if (minor_stepping == 10) return "cdna2";                           // gfx90a
    if (minor_stepping == 8) return "cdna";                             // gfx908
    return "gcn5";
  }
  if (major == 10) return minor_stepping >= 300 ? "rdna2" : "rdna";
  if (major == 11) return "rdna3";
  if (major == 12) return "rdna4";
  return "";
}

std::string AmdUuid(uint64_t unique_id) { return StrCat("GPU-", HexDigits(unique_id, 16)); }

StatusOr<uint64_t> ParseSysfsUnsigned(std::string_view text) {
  if (text.size() > 64) return InvalidArgumentError("sysfs value too long");
  std::string_view value = StripWhitespace(text);
  std::optional<uint64_t> parsed = ParseUint64(value);
  if (!parsed) return InvalidArgumentError(StrCat("not an unsigned integer: \"", value, "\""));
  return *parsed;
}

}  // namespace zhisuan::agent::amd
