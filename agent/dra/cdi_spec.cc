#include "agent/dra/cdi_spec.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <map>

#include "agent/deviceplugin/allocation.h"
#include "common/scoped_fd.h"
#include "common/strings.h"

namespace zhisuan::agent::dra {
namespace {

// The nodes Allocate gives a container for this one device; for NVIDIA, where Allocate leaves the
// nodes to the NVIDIA toolkit, the device's own nodes as discovery found them.
std::vector<std::string> DeviceNodePaths(const Accelerator& accelerator) {
  const ContainerAllocation alone = VendorAllocation(accelerator.vendor, {&accelerator});
  std::vector<std::string> paths;
  for (const auto& device : alone.devices) paths.push_back(device.host_path);
  if (paths.empty()) paths = accelerator.device_nodes;
  return paths;
}

// Every device's vendor environment, computed per vendor over all of the claim's devices of that
// vendor (in index order, as Allocate sorts them).
std::vector<std::string> ClaimEnv(const std::vector<ClaimDevice>& devices) {
  std::map<Vendor, std::vector<const Accelerator*>> by_vendor;
  for (const auto& device : devices) {
    by_vendor[device.accelerator.vendor].push_back(&device.accelerator);
  }
  std::map<std::string, std::string> env;
  for (auto& [vendor, selected] : by_vendor) {
    std::sort(selected.begin(), selected.end(),
              [](const Accelerator* a, const Accelerator* b) { return a->index < b->index; });
    for (const auto& [key, value] : VendorAllocation(vendor, selected).envs) env[key] = value;
  }
  std::vector<std::string> out;
  out.reserve(env.size());
  for (const auto& [key, value] : env) out.push_back(StrCat(key, "=", value));
  return out;
}

}  // namespace

std::string CdiDeviceName(std::string_view claim_uid, std::string_view device_name) {
  return StrCat(claim_uid, "-", device_name);
}

std::string QualifiedCdiName(std::string_view device_name) {
  return StrCat(kCdiKind, "=", device_name);
}

std::string ClaimCdiSpecPath(std::string_view cdi_dir, std::string_view claim_uid) {
  std::string dir(cdi_dir);
  if (!dir.empty() && dir.back() != '/') dir.push_back('/');
  return StrCat(dir, "zhisuan.io-accelerator-", claim_uid, ".json");
}

StatusOr<CdiSpec> BuildClaimCdiSpec(std::string_view claim_uid,
                                    const std::vector<ClaimDevice>& devices,
                                    std::string_view dev_root) {
  CdiSpec spec;
  spec.env = ClaimEnv(devices);
  for (const auto& device : devices) {
    CdiDevice entry{.name = CdiDeviceName(claim_uid, device.device_name), .device_nodes = {}};
    for (const auto& path : DeviceNodePaths(device.accelerator)) {
      entry.device_nodes.push_back(
          {.path = path, .host_path = dev_root.empty() ? "" : StrCat(dev_root, path)});
    }
    if (entry.device_nodes.empty()) {
      return InvalidArgumentError(
          StrCat("device ", device.device_name,
                 " has no device node for the container runtime to inject"));
    }
    spec.devices.push_back(std::move(entry));
  }
  return spec;
}

nlohmann::json CdiSpecJson(const CdiSpec& spec) {
  nlohmann::json devices = nlohmann::json::array();
  for (const auto& device : spec.devices) {
    nlohmann::json nodes = nlohmann::json::array();
    for (const auto& node : device.device_nodes) {
      nlohmann::json entry = {{"path", node.path}, {"permissions", node.permissions}};
      if (!node.host_path.empty()) entry["hostPath"] = node.host_path;
      nodes.push_back(std::move(entry));
    }
    devices.push_back({{"name", device.name}, {"containerEdits", {{"deviceNodes", nodes}}}});
  }
  nlohmann::json json = {{"cdiVersion", kCdiVersion}, {"kind", kCdiKind}, {"devices", devices}};
  if (!spec.env.empty()) json["containerEdits"] = {{"env", spec.env}};
  return json;
}

Status WriteFileAtomically(const std::string& path, std::string_view contents) {
  const std::string temporary = StrCat(path, ".tmp");
  {
    ScopedFd fd(::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
    if (!fd.valid()) {
      return UnavailableError(StrCat("cannot create ", temporary, ": ", ErrnoText(errno)));
    }
    size_t written = 0;
    while (written < contents.size()) {
      const ssize_t n = ::write(fd.get(), contents.data() + written, contents.size() - written);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        const int error = errno;
        ::unlink(temporary.c_str());
        return UnavailableError(StrCat("cannot write ", temporary, ": ", ErrnoText(error)));
      }
      written += static_cast<size_t>(n);
    }
    if (::fsync(fd.get()) != 0) {
      const int error = errno;
      ::unlink(temporary.c_str());
      return UnavailableError(StrCat("cannot sync ", temporary, ": ", ErrnoText(error)));
    }
  }
  if (::rename(temporary.c_str(), path.c_str()) != 0) {
    const int error = errno;
    ::unlink(temporary.c_str());
    return UnavailableError(
        StrCat("cannot rename ", temporary, " to ", path, ": ", ErrnoText(error)));
  }
  return OkStatus();
}

}  // namespace zhisuan::agent::dra
