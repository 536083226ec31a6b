#include "agent/dra/resource_slice_publisher.h"

#include <algorithm>

#include "agent/dra/device_name.h"
#include "agent/dra/resource_slices.h"
#include "common/log.h"
#include "common/strings.h"

namespace zhisuan::agent::dra {
namespace {

using kube::Json;

// The spec without pool.generation, which the publisher sets and the builder leaves out.
Json ComparableSpec(const Json& slice) {
  Json spec = slice.value("spec", Json::object());
  if (spec.contains("pool")) spec["pool"].erase("generation");
  return spec;
}

int64_t Generation(const Json& slice) {
  return slice.value("spec", Json::object()).value("pool", Json::object()).value("generation", 0);
}

// Whether `sent` has a device with taints that the server's copy, `kept`, lacks.
bool TaintsDropped(const Json& sent, const Json& kept) {
  const Json& kept_devices = kept.value("spec", Json::object()).value("devices", Json::array());
  for (const Json& device : sent["spec"]["devices"]) {
    if (!device.contains("taints")) continue;
    const auto same_name = [&device](const Json& other) {
      return other.value("name", "") == device.value("name", "");
    };
    auto it = std::find_if(kept_devices.begin(), kept_devices.end(), same_name);
    if (it == kept_devices.end() || !it->contains("taints")) return true;
  }
  return false;
}

}  // namespace

ResourceSlicePublisher::ResourceSlicePublisher(kube::ApiClientPtr client, std::string node_name,
                                               ClockPtr clock)
    : client_(std::move(client)), node_name_(std::move(node_name)), clock_(std::move(clock)) {}

Status ResourceSlicePublisher::Observe() {
  kube::ListOptions options;
  options.field_selector = StrCat("spec.nodeName=", node_name_, ",spec.driver=", kDriverName);
  auto listed = kube::ListAll(*client_, kResourceSlices, "", options);
  if (!listed.ok()) {
    return listed.status().Annotate(StrCat("listing ResourceSlices of ", node_name_));
  }
  observed_.clear();
  for (Json& slice : listed->items) {
    const std::string name = slice["metadata"].value("name", "");
    observed_[name] = std::move(slice);
  }
  observed_fresh_ = true;
  observed_at_ = clock_->Now();
  return OkStatus();
}

bool ResourceSlicePublisher::UpToDate(const std::vector<Json>& desired) const {
  if (observed_.size() != desired.size()) return false;
  std::optional<int64_t> generation;
  for (const Json& slice : desired) {
    auto it = observed_.find(slice["metadata"].value("name", ""));
    if (it == observed_.end()) return false;
    if (ComparableSpec(slice) != ComparableSpec(it->second)) return false;
    if (slice["metadata"].value("ownerReferences", Json::array()) !=
        it->second["metadata"].value("ownerReferences", Json::array())) {
      return false;
    }
    // One pool, one generation: a pool left half-written by a failed pass is rewritten.
    if (generation && *generation != Generation(it->second)) return false;
    generation = Generation(it->second);
  }
  return true;
}

int64_t ResourceSlicePublisher::NextGeneration() const {
  int64_t highest = 0;
  for (const auto& [name, slice] : observed_) highest = std::max(highest, Generation(slice));
  return highest + 1;
}

StatusOr<int> ResourceSlicePublisher::Publish(const std::vector<Json>& desired) {
  std::lock_guard lock(mu_);
  if (!observed_fresh_ || clock_->Now() - observed_at_ >= kSliceRecheck) {
    ZHISUAN_RETURN_IF_ERROR(Observe());
  }
  if (UpToDate(desired)) return 0;
  const int64_t generation = NextGeneration();
  int writes = 0;
  auto fail = [this](Status status) {
    observed_fresh_ = false;  // the server may hold something else now: list before planning
    return status;
  };
  for (Json slice : desired) {
    slice["spec"]["pool"]["generation"] = generation;
    const std::string name = slice["metadata"].value("name", "");
    auto existing = observed_.find(name);
    StatusOr<Json> written = [&]() -> StatusOr<Json> {
      if (existing == observed_.end()) return client_->Create(kResourceSlices, "", slice);
      slice["metadata"]["resourceVersion"] = existing->second["metadata"]["resourceVersion"];
      return client_->Update(kResourceSlices, slice);
    }();
    ++writes;
    ++writes_;
    if (!written.ok()) {
      return fail(written.status().Annotate(StrCat("writing ResourceSlice ", name)));
    }
    if (TaintsDropped(slice, *written)) {
      taints_dropped_ = true;
      return fail(FailedPreconditionError(
          StrCat("the API server dropped the device taints of ResourceSlice ", name,
                 ": its DRADeviceTaints feature gate is off (--dra-device-taints needs it on in "
                 "kube-apiserver, kube-scheduler and kube-controller-manager)")));
    }
    observed_[name] = std::move(*written);
  }
  std::vector<std::string> obsolete;
  for (const auto& entry : observed_) {
    const std::string& name = entry.first;
    const bool wanted = std::any_of(desired.begin(), desired.end(), [&name](const Json& d) {
      return d["metadata"].value("name", "") == name;
    });
    if (!wanted) obsolete.push_back(name);
  }
  for (const std::string& name : obsolete) {
    Status deleted = client_->Delete(kResourceSlices, "", name);
    ++writes;
    ++writes_;
    if (!deleted.ok() && !kube::IsNotFound(deleted)) {
      return fail(deleted.Annotate(StrCat("deleting ResourceSlice ", name)));
    }
    observed_.erase(name);
  }
  ZLOG(Info) << "published " << desired.size() << " ResourceSlice(s) of node " << node_name_
             << " at pool generation " << generation;
  return writes;
}

}  // namespace zhisuan::agent::dra
