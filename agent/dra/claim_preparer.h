#pragma once
// The logic behind NodePrepareResources and NodeUnprepareResources, without gRPC: for a claim the
// kubelet names, read the ResourceClaim, take the devices its allocation gives this driver on this
// node's pool, write the claim's CDI spec and checkpoint the answer. Both calls are idempotent:
// preparing a prepared claim returns the checkpointed answer (rewriting a CDI spec file that went
// missing), and unpreparing a claim this plugin does not know succeeds. Calls are serialised: the
// kubelet may call in parallel, and each one rewrites the one checkpoint file.

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "agent/device.h"
#include "agent/dra/cdi_spec.h"
#include "agent/dra/prepared_claims_checkpoint.h"
#include "kube/client.h"

namespace zhisuan::agent::dra {

// resource.k8s.io/v1: GA in Kubernetes 1.34, where the kubelet plugin API is v1 too.
inline const kube::ResourceType kResourceClaims{"resource.k8s.io", "v1", "resourceclaims",
                                                "ResourceClaim", true};

// A claim as the kubelet names it.
struct ClaimRef {
  std::string ns;
  std::string uid;
  std::string name;
};

struct ClaimPreparerOptions {
  std::string node_name;        // the pool this node's devices are published in
  std::string cdi_dir;          // where the runtime reads CDI specs, e.g. /var/run/cdi
  std::string dev_root;         // prefix of device nodes' host paths ("" on a real node)
  std::string checkpoint_path;  // the prepared-claims file
};

// The node's accelerators now (the agent's latest discovery).
using AcceleratorsFn = std::function<std::vector<Accelerator>()>;

class ClaimPreparer {
 public:
  // Loads the checkpoint; an unreadable or malformed one is an error (the claims it held could not
  // be answered the same way again).
  static StatusOr<std::unique_ptr<ClaimPreparer>> Create(ClaimPreparerOptions options,
                                                         kube::ApiClientPtr client,
                                                         AcceleratorsFn accelerators);

  StatusOr<PreparedClaim> Prepare(const ClaimRef& claim);
  Status Unprepare(const ClaimRef& claim);
  PreparedClaims Prepared() const;

 private:
  ClaimPreparer(ClaimPreparerOptions options, kube::ApiClientPtr client,
                AcceleratorsFn accelerators, PreparedClaims prepared);
  StatusOr<PreparedClaim> PrepareFromApi(const ClaimRef& claim);
  Status WriteSpec(const ClaimRef& claim, const std::vector<ClaimDevice>& devices);

  const ClaimPreparerOptions options_;
  const kube::ApiClientPtr client_;
  const AcceleratorsFn accelerators_;
  const PreparedClaimsCheckpoint checkpoint_;
  mutable std::mutex mu_;
  PreparedClaims prepared_;
};

// The devices of `claim` (a ResourceClaim's JSON) that its allocation gives `driver` on `pool`,
// with their request names. FailedPrecondition when the claim is not allocated, or allocated no
// device of this driver on this pool.
struct AllocatedDevice {
  std::string request;
  std::string device_name;
};
StatusOr<std::vector<AllocatedDevice>> AllocatedDevicesOf(const kube::Json& claim,
                                                          std::string_view driver,
                                                          std::string_view pool);

}  // namespace zhisuan::agent::dra
