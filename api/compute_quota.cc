#include "api/compute_quota.h"

#include <cmath>

#include "api/quantity.h"
#include "common/strings.h"

namespace zhisuan::api {
namespace {

StatusOr<double> FlopsLimit(const Json& value, std::string_view field) {
  if (!value.is_string()) {
    return InvalidArgumentError(StrCat(field, " must be a quantity string such as 20P"));
  }
  auto flops = ParseQuantity(value.get<std::string>());
  if (!flops.ok() || !std::isfinite(*flops) || *flops < 0 || *flops > kMaxQuotaFlops) {
    return InvalidArgumentError(StrCat(field, " must be a quantity between 0 and 1000000E"));
  }
  return *flops;
}

// Lenient: only the controller writes status, and it rewrites what it cannot read.
ComputeQuotaAmounts AmountsFromStatus(const Json& json) {
  ComputeQuotaAmounts amounts;
  if (!json.is_object()) return amounts;
  if (json.contains("accelerators") && json["accelerators"].is_number_integer()) {
    amounts.accelerators = json["accelerators"].get<int64_t>();
  }
  const Json flops = json.value("flops", Json::object());
  if (!flops.is_object()) return amounts;
  for (const auto& [name, value] : flops.items()) {
    auto precision = PrecisionFromName(name);
    if (!precision || !value.is_string()) continue;
    if (auto parsed = ParseQuantity(value.get<std::string>()); parsed.ok()) {
      amounts.flops[*precision] = *parsed;
    }
  }
  return amounts;
}

}  // namespace

StatusOr<ComputeQuotaAmounts> ComputeQuotaHardFromJson(const Json& hard) {
  if (!hard.is_object()) return InvalidArgumentError("spec.hard must be an object");
  ComputeQuotaAmounts amounts;
  for (const auto& [key, value] : hard.items()) {
    if (key != "accelerators" && key != "flops") {
      return InvalidArgumentError(
          StrCat("spec.hard.", key, " is not a capped resource: use accelerators or flops"));
    }
  }
  if (hard.contains("accelerators")) {
    if (!hard["accelerators"].is_number()) {
      return InvalidArgumentError("spec.hard.accelerators must be an integer");
    }
    auto count = ReadInt(hard, "accelerators", 0, "spec.hard.accelerators");
    if (!count.ok() || *count < 0 || *count > kMaxQuotaAccelerators) {
      return InvalidArgumentError("spec.hard.accelerators must be between 0 and 10000000");
    }
    amounts.accelerators = *count;
  }
  if (hard.contains("flops")) {
    const Json& flops = hard["flops"];
    if (!flops.is_object()) {
      return InvalidArgumentError("spec.hard.flops must map a precision to a quantity");
    }
    for (const auto& [name, value] : flops.items()) {
      auto precision = PrecisionFromName(name);
      if (!precision) {
        return InvalidArgumentError(StrCat("spec.hard.flops key \"", name,
                                           "\" is not one of fp64 fp32 tf32 bf16 fp16 fp8 int8"));
      }
      ZHISUAN_ASSIGN_OR_RETURN(amounts.flops[*precision],
                               FlopsLimit(value, StrCat("spec.hard.flops.", name)));
    }
  }
  if (amounts.Empty()) {
    return InvalidArgumentError("spec.hard must cap accelerators and/or flops");
  }
  return amounts;
}

Json ToJson(const ComputeQuotaAmounts& amounts) {
  Json json = Json::object();
  if (amounts.accelerators) json["accelerators"] = *amounts.accelerators;
  if (!amounts.flops.empty()) {
    Json flops = Json::object();
    for (const auto& [precision, value] : amounts.flops) {
      flops[std::string(PrecisionName(precision))] = FormatQuantity(value);
    }
    json["flops"] = std::move(flops);
  }
  return json;
}

Json ToJson(const ComputeQuotaStatus& status) {
  return {{"observedGeneration", status.observed_generation},
          {"hard", ToJson(status.hard)},
          {"used", ToJson(status.used)}};
}

StatusOr<ComputeQuota> ComputeQuotaFromJson(const Json& object, Status* spec_error) {
  if (!object.is_object() || !object.contains("metadata") || !object["metadata"].is_object()) {
    return InvalidArgumentError("ComputeQuota has no metadata");
  }
  ComputeQuota quota;
  const Json& metadata = object["metadata"];
  try {
    quota.quota_namespace = metadata.value("namespace", "");
    quota.name = metadata.value("name", "");
    quota.uid = metadata.value("uid", "");
    quota.resource_version = metadata.value("resourceVersion", "");
    ZHISUAN_ASSIGN_OR_RETURN(quota.generation,
                             ReadInt(metadata, "generation", 0, "metadata.generation"));
  } catch (const Json::exception& error) {
    return InvalidArgumentError(StrCat("ComputeQuota metadata is malformed: ", error.what()));
  }
  if (quota.name.empty() || quota.quota_namespace.empty()) {
    return InvalidArgumentError("ComputeQuota has no name or namespace");
  }
  const Json status = object.value("status", Json::object());
  if (status.is_object()) {
    auto generation = ReadInt(status, "observedGeneration", 0, "status.observedGeneration");
    quota.status.observed_generation = generation.ok() ? *generation : 0;
    quota.status.hard = AmountsFromStatus(status.value("hard", Json()));
    quota.status.used = AmountsFromStatus(status.value("used", Json()));
  }
  const Json spec = object.value("spec", Json::object());
  auto hard = spec.is_object()
                  ? ComputeQuotaHardFromJson(spec.value("hard", Json()))
                  : StatusOr<ComputeQuotaAmounts>(InvalidArgumentError("spec must be an object"));
  if (hard.ok()) {
    quota.hard = std::move(hard).value();
  } else if (spec_error != nullptr) {
    *spec_error = hard.status();
  }
  return quota;
}

}  // namespace zhisuan::api
