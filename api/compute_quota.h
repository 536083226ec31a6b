#pragma once
// ComputeQuota (zhisuan.io/v1alpha1, namespaced): a cluster admin's cap on what the ComputePools
// of one namespace may hold, shaped like core/v1 ResourceQuota. spec.hard caps the accelerators
// on the nodes the namespace's pools hold and their peak FLOPS at named precisions; status.used
// is written by the controller. Several quotas in a namespace all apply; a namespace with none
// is not capped. The CRD, with its validation, is
// charts/zhisuan/crds/zhisuan.io_computequotas.yaml; the decoder below repeats its checks, since
// the controller may run against an older CRD.

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "api/meta.h"
#include "api/precision.h"

namespace zhisuan::api {

// A set of figures a quota caps (spec.hard) or counts (status.used). An absent accelerator figure
// and a precision missing from `flops` are not capped (hard) or not reported (used).
struct ComputeQuotaAmounts {
  std::optional<int64_t> accelerators;
  std::map<Precision, double> flops;  // FLOP/s (int8: OP/s)

  bool Empty() const { return !accelerators && flops.empty(); }
  friend bool operator==(const ComputeQuotaAmounts&, const ComputeQuotaAmounts&) = default;
};

struct ComputeQuotaStatus {
  int64_t observed_generation = 0;
  ComputeQuotaAmounts hard;  // spec.hard as enforced, as ResourceQuota reports it
  ComputeQuotaAmounts used;  // for each capped figure

  friend bool operator==(const ComputeQuotaStatus&, const ComputeQuotaStatus&) = default;
};

struct ComputeQuota {
  std::string quota_namespace;
  std::string name;
  std::string uid;
  std::string resource_version;
  int64_t generation = 0;
  ComputeQuotaAmounts hard;
  ComputeQuotaStatus status;

  std::string Key() const { return quota_namespace + "/" + name; }
};

// The CRD's bounds: accelerators 0..10000000, FLOPS 0..1000000E per precision.
inline constexpr int64_t kMaxQuotaAccelerators = 10000000;
inline constexpr double kMaxQuotaFlops = 1e24;

// Fails when the metadata is malformed. A spec that does not decode says why in *spec_error (ok
// otherwise) and leaves `hard` empty; a status that does not decode is left empty (the controller
// rewrites it).
StatusOr<ComputeQuota> ComputeQuotaFromJson(const Json& object, Status* spec_error);
// spec.hard, checked as the CRD checks it; errors name the field.
StatusOr<ComputeQuotaAmounts> ComputeQuotaHardFromJson(const Json& hard);
// {"accelerators": 8, "flops": {"bf16": "20P"}}: the shape of spec.hard and status.used.
Json ToJson(const ComputeQuotaAmounts& amounts);
Json ToJson(const ComputeQuotaStatus& status);

}  // namespace zhisuan::api
