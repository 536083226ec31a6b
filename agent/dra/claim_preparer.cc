#include "agent/dra/claim_preparer.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "agent/deviceplugin/allocation.h"
#include "agent/dra/device_name.h"
#include "common/log.h"
#include "common/strings.h"

namespace zhisuan::agent::dra {
namespace {

bool FileExists(const std::string& path) { return ::access(path.c_str(), F_OK) == 0; }

std::string KnownDeviceNames(const std::vector<Accelerator>& accelerators) {
  std::vector<std::string> names;
  names.reserve(accelerators.size());
  for (const auto& accelerator : accelerators) names.push_back(DraDeviceName(accelerator));
  return names.empty() ? "none" : StrJoin(names, ", ");
}

// A uid names the claim's spec file, so anything but a UID's characters (a "/" above all) is
// refused before it reaches a path.
Status ValidateUid(const std::string& uid) {
  const bool well_formed =
      !uid.empty() && uid.size() <= 64 && std::all_of(uid.begin(), uid.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
      });
  if (well_formed) return OkStatus();
  return InvalidArgumentError(StrCat("\"", uid, "\" is not a claim uid"));
}

std::string Describe(const ClaimRef& claim) {
  return StrCat("ResourceClaim ", claim.ns, "/", claim.name, " (uid ", claim.uid, ")");
}

}  // namespace

StatusOr<std::vector<AllocatedDevice>> AllocatedDevicesOf(const kube::Json& claim,
                                                          std::string_view driver,
                                                          std::string_view pool) {
  const kube::Json* results = nullptr;
  if (const auto status = claim.find("status"); status != claim.end() && status->is_object()) {
    if (const auto allocation = status->find("allocation");
        allocation != status->end() && allocation->is_object()) {
      if (const auto devices = allocation->find("devices");
          devices != allocation->end() && devices->is_object()) {
        if (const auto found = devices->find("results");
            found != devices->end() && found->is_array()) {
          results = &*found;
        }
      }
    }
  }
  if (results == nullptr) return FailedPreconditionError("the claim is not allocated");
  std::vector<AllocatedDevice> mine;
  for (const auto& result : *results) {
    if (!result.is_object()) continue;
    if (result.value("driver", "") != driver || result.value("pool", "") != pool) continue;
    mine.push_back(
        {.request = result.value("request", ""), .device_name = result.value("device", "")});
  }
  if (mine.empty()) {
    return FailedPreconditionError(
        StrCat("the claim's allocation has no device of driver ", driver, " in pool ", pool));
  }
  return mine;
}

ClaimPreparer::ClaimPreparer(ClaimPreparerOptions options, kube::ApiClientPtr client,
                             AcceleratorsFn accelerators, PreparedClaims prepared)
    : options_(std::move(options)),
      client_(std::move(client)),
      accelerators_(std::move(accelerators)),
      checkpoint_(options_.checkpoint_path),
      prepared_(std::move(prepared)) {}

StatusOr<std::unique_ptr<ClaimPreparer>> ClaimPreparer::Create(ClaimPreparerOptions options,
                                                               kube::ApiClientPtr client,
                                                               AcceleratorsFn accelerators) {
  if (options.node_name.empty()) return InvalidArgumentError("the node name is empty");
  ZHISUAN_ASSIGN_OR_RETURN(PreparedClaims prepared,
                           PreparedClaimsCheckpoint(options.checkpoint_path).Load());
  if (!prepared.empty()) {
    ZLOG(Info) << "DRA: " << prepared.size() << " prepared claims from " << options.checkpoint_path;
  }
  return std::unique_ptr<ClaimPreparer>(new ClaimPreparer(
      std::move(options), std::move(client), std::move(accelerators), std::move(prepared)));
}

PreparedClaims ClaimPreparer::Prepared() const {
  std::lock_guard lock(mu_);
  return prepared_;
}

StatusOr<PreparedClaim> ClaimPreparer::Prepare(const ClaimRef& claim) {
  ZHISUAN_RETURN_IF_ERROR(ValidateUid(claim.uid));
  std::lock_guard lock(mu_);
  if (auto it = prepared_.find(claim.uid); it != prepared_.end()) {
    // The answer stays what it was; only a spec file that went missing (a tmpfs /var/run after a
    // reboot) is written again, from the claim as it stands.
    if (FileExists(ClaimCdiSpecPath(options_.cdi_dir, claim.uid))) return it->second;
  }
  auto prepared = PrepareFromApi(claim);
  if (!prepared.ok()) return prepared.status().Annotate(Describe(claim));
  PreparedClaims next = prepared_;
  next[claim.uid] = *prepared;
  if (Status saved = checkpoint_.Save(next); !saved.ok()) {
    ::unlink(ClaimCdiSpecPath(options_.cdi_dir, claim.uid).c_str());
    return saved.Annotate(Describe(claim));
  }
  prepared_ = std::move(next);
  ZLOG(Info) << "DRA: prepared " << Describe(claim) << ": " << prepared->devices.size()
             << " devices";
  return prepared;
}

StatusOr<PreparedClaim> ClaimPreparer::PrepareFromApi(const ClaimRef& claim) {
  ZHISUAN_ASSIGN_OR_RETURN(kube::Json object, client_->Get(kResourceClaims, claim.ns, claim.name));
  const std::string uid = object["metadata"].value("uid", "");
  if (uid != claim.uid) {
    // Deleted and created again under the same name: not the claim the kubelet means.
    return FailedPreconditionError(StrCat("the API server has uid ", uid, " under that name"));
  }
  ZHISUAN_ASSIGN_OR_RETURN(std::vector<AllocatedDevice> allocated,
                           AllocatedDevicesOf(object, kDriverName, options_.node_name));
  const std::vector<Accelerator> accelerators = accelerators_();
  std::vector<ClaimDevice> devices;
  PreparedClaim prepared{.uid = claim.uid, .ns = claim.ns, .name = claim.name, .devices = {}};
  for (const auto& device : allocated) {
    std::optional<Accelerator> accelerator = FindByDraDeviceName(accelerators, device.device_name);
    if (!accelerator) {
      return NotFoundError(StrCat("allocated device ", device.device_name,
                                  " is not on this node (it has: ", KnownDeviceNames(accelerators),
                                  ")"));
    }
    devices.push_back({.device_name = device.device_name, .accelerator = *accelerator});
    const std::string cdi_name = QualifiedCdiName(CdiDeviceName(claim.uid, device.device_name));
    PreparedDevice entry{.request_names = {device.request},
                         .pool_name = options_.node_name,
                         .device_name = device.device_name,
                         .cdi_device_ids = {cdi_name}};
    // As Allocate does: the NVIDIA toolkit's own CDI device brings the driver's libraries.
    for (const auto& extra : VendorAllocation(accelerator->vendor, {&*accelerator}).cdi_devices) {
      entry.cdi_device_ids.push_back(extra);
    }
    prepared.devices.push_back(std::move(entry));
  }
  ZHISUAN_RETURN_IF_ERROR(WriteSpec(claim, devices));
  return prepared;
}

Status ClaimPreparer::WriteSpec(const ClaimRef& claim, const std::vector<ClaimDevice>& devices) {
  ZHISUAN_ASSIGN_OR_RETURN(CdiSpec spec, BuildClaimCdiSpec(claim.uid, devices, options_.dev_root));
  return WriteFileAtomically(ClaimCdiSpecPath(options_.cdi_dir, claim.uid),
                             CdiSpecJson(spec).dump(2) + "\n");
}

Status ClaimPreparer::Unprepare(const ClaimRef& claim) {
  ZHISUAN_RETURN_IF_ERROR(ValidateUid(claim.uid));
  std::lock_guard lock(mu_);
  const std::string spec = ClaimCdiSpecPath(options_.cdi_dir, claim.uid);
  if (::unlink(spec.c_str()) != 0 && errno != ENOENT) {
    return UnavailableError(StrCat("cannot remove ", spec, ": ", ErrnoText(errno)))
        .Annotate(Describe(claim));
  }
  if (!prepared_.contains(claim.uid)) return OkStatus();
  PreparedClaims next = prepared_;
  next.erase(claim.uid);
  ZHISUAN_RETURN_IF_ERROR(checkpoint_.Save(next));
  prepared_ = std::move(next);
  ZLOG(Info) << "DRA: unprepared " << Describe(claim);
  return OkStatus();
}

}  // namespace zhisuan::agent::dra
