#include "agent/resource_naming.h"

#include <algorithm>

#include "common/strings.h"

namespace zhisuan::agent {
namespace {

struct VendorResource {
  std::string_view domain;
  std::string_view name;
};

// Huawei names the resource after the product family; 910B, 910C... are all "Ascend910".
std::string AscendFamily(std::string_view product) {
  if (StartsWith(product, "Ascend310P")) return "Ascend310P";
  if (StartsWith(product, "Ascend310")) return "Ascend310";
  return "Ascend910";
}

VendorResource DefaultResource(Vendor vendor) {
  switch (vendor) {
    case Vendor::kNvidia:
      return {"nvidia.com", "gpu"};
    case Vendor::kAmd:
      return {"amd.com", "gpu"};
    case Vendor::kHuawei:
      return {"huawei.com", ""};  // family-dependent, see AscendFamily
    case Vendor::kCambricon:
      return {"cambricon.com", "mlu"};
    case Vendor::kHygon:
      return {"hygon.com", "dcu"};
    case Vendor::kKunlunxin:
      return {"kunlunxin.com", "xpu"};
    case Vendor::kEnflame:
      return {"enflame.com", "gcu"};
    case Vendor::kIluvatar:
      return {"iluvatar.ai", "gpu"};
    case Vendor::kMooreThreads:
      return {"mthreads.com", "gpu"};
    case Vendor::kMetaX:
      return {"metax-tech.com", "gpu"};
    case Vendor::kHabana:
      return {"habana.ai", "gaudi"};
    case Vendor::kTenstorrent:
      return {"tenstorrent.com", "accelerator"};
    case Vendor::kIntel:
      return {"gpu.intel.com", "i915"};
    case Vendor::kUnknown:
      break;
  }
  return {"zhisuan.io", "accelerator"};
}

bool IsDnsLabel(std::string_view label) {
  if (label.empty() || label.size() > 63) return false;
  auto alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  if (!alnum(label.front()) || !alnum(label.back())) return false;
  return std::all_of(label.begin(), label.end(), [&](char c) { return alnum(c) || c == '-'; });
}

}  // namespace

std::string ResourceNameFor(const Accelerator& accelerator, std::string_view prefix) {
  const VendorResource resource = DefaultResource(accelerator.vendor);
  const std::string name = accelerator.vendor == Vendor::kHuawei ? AscendFamily(accelerator.product)
                                                                 : std::string(resource.name);
  if (prefix.empty()) return StrCat(resource.domain, "/", name);
  return StrCat(prefix, "/", VendorName(accelerator.vendor), "-", AsciiLower(name));
}

std::map<std::string, std::vector<Accelerator>> GroupByResourceName(
    const std::vector<Accelerator>& accelerators, std::string_view prefix) {
  std::map<std::string, std::vector<Accelerator>> groups;
  for (const auto& accelerator : accelerators) {
    groups[ResourceNameFor(accelerator, prefix)].push_back(accelerator);
  }
  for (auto& [name, group] : groups) {
    std::stable_sort(group.begin(), group.end(),
                     [](const Accelerator& a, const Accelerator& b) { return a.index < b.index; });
  }
  return groups;
}

Status ValidateResourcePrefix(std::string_view prefix) {
  if (prefix.size() > 253) {
    return InvalidArgumentError(StrCat("--resource-prefix \"", prefix, "\" is longer than 253"));
  }
  if (prefix.find('.') == std::string_view::npos) {
    return InvalidArgumentError(
        StrCat("--resource-prefix \"", prefix, "\" must be a domain name such as zhisuan.io"));
  }
  for (std::string_view label : StrSplit(prefix, '.')) {
    if (!IsDnsLabel(label)) {
      return InvalidArgumentError(
          StrCat("--resource-prefix \"", prefix,
                 "\" is not a DNS subdomain (lower-case letters, digits, '-' and '.')"));
    }
  }
  if (prefix == "kubernetes.io" || EndsWith(prefix, ".kubernetes.io")) {
    return InvalidArgumentError("--resource-prefix may not be in the kubernetes.io domain");
  }
  return OkStatus();
}

std::string SocketSafeName(std::string_view resource_name) {
  std::string safe(resource_name);
  std::replace(safe.begin(), safe.end(), '/', '_');
  return safe;
}

}  // namespace zhisuan::agent
