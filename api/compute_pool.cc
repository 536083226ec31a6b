#include "api/compute_pool.h"

#include <climits>
#include <cmath>

#include "api/quantity.h"
#include "common/strings.h"

namespace zhisuan::api {

StatusOr<ComputePoolSpec> ComputePoolSpecFromJson(const Json& json) {
  if (!json.is_object()) return InvalidArgumentError("spec is not an object");
  ComputePoolSpec spec;
  try {
    if (json.contains("accelerator")) {
      const Json& accelerator = json["accelerator"];
      spec.vendor = accelerator.value("vendor", "");
      if (accelerator.contains("products")) {
        spec.products = accelerator["products"].get<std::vector<std::string>>();
      }
    }
    const Json capacity = json.value("capacity", Json::object());
    if (capacity.contains("flops")) {
      if (!capacity["flops"].is_string()) {
        return InvalidArgumentError("spec.capacity.flops must be a quantity string such as 20P");
      }
      auto flops = ParseQuantity(capacity["flops"].get<std::string>());
      if (!flops.ok()) return flops.status().Annotate("spec.capacity.flops");
      if (*flops <= 0) return InvalidArgumentError("spec.capacity.flops must be greater than zero");
      spec.flops = *flops;
    }
    if (capacity.contains("accelerators")) {
      if (!capacity["accelerators"].is_number()) {
        return InvalidArgumentError("spec.capacity.accelerators is malformed: not an integer");
      }
      auto count = ReadInt(capacity, "accelerators", 0, "spec.capacity.accelerators");
      if (!count.ok() || *count < 1 || *count > 100000) {
        return InvalidArgumentError("spec.capacity.accelerators must be between 1 and 100000");
      }
      spec.accelerators = static_cast<int>(*count);
    }
    if (spec.flops.has_value() == spec.accelerators.has_value()) {
      return InvalidArgumentError(
          "set exactly one of spec.capacity.flops (e.g. 20P) or spec.capacity.accelerators");
    }
    const std::string precision = capacity.value("precision", "bf16");
    auto parsed_precision = PrecisionFromName(precision);
    if (!parsed_precision) {
      return InvalidArgumentError(StrCat("spec.capacity.precision \"", precision,
                                         "\" is not one of fp64 fp32 tf32 bf16 fp16 fp8 int8"));
    }
    spec.precision = *parsed_precision;
    if (json.contains("carbon")) {
      const Json& carbon = json["carbon"];
      if (carbon.contains("minCarbonFreeRatio")) {
        if (!carbon["minCarbonFreeRatio"].is_number()) {
          return InvalidArgumentError("spec.carbon.minCarbonFreeRatio must be within 0..1");
        }
        double ratio = carbon["minCarbonFreeRatio"].get<double>();
        if (!(ratio >= 0 && ratio <= 1)) {
          return InvalidArgumentError("spec.carbon.minCarbonFreeRatio must be within 0..1");
        }
        spec.min_carbon_free_ratio = ratio;
      }
      if (carbon.contains("maxIntensity")) {
        if (!carbon["maxIntensity"].is_number()) {
          return InvalidArgumentError("spec.carbon.maxIntensity must not be negative");
        }
        double intensity = carbon["maxIntensity"].get<double>();
        if (!(intensity >= 0) || !std::isfinite(intensity)) {
          return InvalidArgumentError("spec.carbon.maxIntensity must not be negative");
        }
        spec.max_intensity = intensity;
      }
    }
    ZHISUAN_ASSIGN_OR_RETURN(spec.node_selector,
                             LabelSelectorFromJson(json.value("nodeSelector", Json())));
    const std::string allocation = json.value("allocation", "AllOrNothing");
    if (allocation != "AllOrNothing" && allocation != "Partial") {
      return InvalidArgumentError("spec.allocation must be AllOrNothing or Partial");
    }
    spec.all_or_nothing = allocation == "AllOrNothing";
  } catch (const Json::exception& error) {
    return InvalidArgumentError(StrCat("spec is malformed: ", error.what()));
  }
  return spec;
}

Json ToJson(const ComputePoolSpec& spec) {
  Json json = Json::object();
  if (!spec.vendor.empty() || !spec.products.empty()) {
    Json accelerator = Json::object();
    if (!spec.vendor.empty()) accelerator["vendor"] = spec.vendor;
    if (!spec.products.empty()) accelerator["products"] = spec.products;
    json["accelerator"] = std::move(accelerator);
  }
  Json capacity = {{"precision", PrecisionName(spec.precision)}};
  if (spec.flops) capacity["flops"] = FormatQuantity(*spec.flops);
  if (spec.accelerators) capacity["accelerators"] = *spec.accelerators;
  json["capacity"] = std::move(capacity);
  if (spec.min_carbon_free_ratio || spec.max_intensity) {
    Json carbon = Json::object();
    if (spec.min_carbon_free_ratio) carbon["minCarbonFreeRatio"] = *spec.min_carbon_free_ratio;
    if (spec.max_intensity) carbon["maxIntensity"] = *spec.max_intensity;
    json["carbon"] = std::move(carbon);
  }
  if (!spec.node_selector.Empty()) json["nodeSelector"] = ToJson(spec.node_selector);
  json["allocation"] = spec.all_or_nothing ? "AllOrNothing" : "Partial";
  return json;
}

Json ToJson(const ComputePoolStatus& status) {
  Json conditions = Json::array();
  for (const auto& condition : status.conditions) conditions.push_back(ToJson(condition));
  Json tolerations = Json::array();
  for (const auto& toleration : status.scheduling_tolerations) {
    tolerations.push_back({{"key", toleration.key},
                           {"operator", toleration.op},
                           {"value", toleration.value},
                           {"effect", toleration.effect}});
  }
  Json json = {{"observedGeneration", status.observed_generation},
               {"conditions", std::move(conditions)},
               {"nodes", status.nodes},
               {"nodeCount", status.nodes.size()},
               {"acceleratorCount", status.accelerator_count},
               {"flops", FormatQuantity(status.flops)},
               {"scheduling",
                {{"nodeSelector", status.scheduling_node_selector},
                 {"tolerations", std::move(tolerations)}}}};
  if (status.carbon_free_ratio) json["carbonFreeRatio"] = *status.carbon_free_ratio;
  if (status.carbon_intensity) json["carbonIntensity"] = *status.carbon_intensity;
  return json;
}

StatusOr<ComputePoolStatus> ComputePoolStatusFromJson(const Json& json) {
  ComputePoolStatus status;
  if (json.is_null()) return status;
  if (!json.is_object()) return InvalidArgumentError("status is not an object");
  try {
    ZHISUAN_ASSIGN_OR_RETURN(status.observed_generation,
                             ReadInt(json, "observedGeneration", 0, "status.observedGeneration"));
    for (const auto& item : json.value("conditions", Json::array())) {
      ZHISUAN_ASSIGN_OR_RETURN(auto condition, ConditionFromJson(item));
      status.conditions.push_back(std::move(condition));
    }
    status.nodes = json.value("nodes", std::vector<std::string>{});
    ZHISUAN_ASSIGN_OR_RETURN(
        status.accelerator_count,
        ReadInt(json, "acceleratorCount", 0, "status.acceleratorCount", 0, INT32_MAX));
    if (json.contains("flops")) {
      if (!json["flops"].is_string()) return InvalidArgumentError("status.flops is not a quantity");
      status.flops = ParseQuantity(json["flops"].get<std::string>()).value_or(0);
    }
    if (json.contains("carbonFreeRatio")) {
      status.carbon_free_ratio = json["carbonFreeRatio"].get<double>();
    }
    if (json.contains("carbonIntensity")) {
      status.carbon_intensity = json["carbonIntensity"].get<double>();
    }
    const Json scheduling = json.value("scheduling", Json::object());
    status.scheduling_node_selector =
        scheduling.value("nodeSelector", std::map<std::string, std::string>{});
    for (const auto& item : scheduling.value("tolerations", Json::array())) {
      status.scheduling_tolerations.push_back({item.value("key", ""), item.value("operator", ""),
                                               item.value("value", ""), item.value("effect", "")});
    }
  } catch (const Json::exception& error) {
    return InvalidArgumentError(StrCat("status is malformed: ", error.what()));
  }
  return status;
}

StatusOr<ComputePool> ComputePoolFromJson(const Json& object) {
  if (!object.is_object() || !object.contains("metadata") || !object["metadata"].is_object()) {
    return InvalidArgumentError("ComputePool has no metadata");
  }
  ComputePool pool;
  const Json& metadata = object["metadata"];
  try {
    pool.pool_namespace = metadata.value("namespace", "");
    pool.name = metadata.value("name", "");
    pool.uid = metadata.value("uid", "");
    pool.resource_version = metadata.value("resourceVersion", "");
    ZHISUAN_ASSIGN_OR_RETURN(pool.generation,
                             ReadInt(metadata, "generation", 0, "metadata.generation"));
    pool.deleting =
        metadata.contains("deletionTimestamp") && !metadata["deletionTimestamp"].is_null();
    pool.finalizers = metadata.value("finalizers", std::vector<std::string>{});
  } catch (const Json::exception& error) {
    return InvalidArgumentError(StrCat("ComputePool metadata is malformed: ", error.what()));
  }
  if (pool.name.empty() || pool.pool_namespace.empty()) {
    return InvalidArgumentError("ComputePool has no name or namespace");
  }
  ZHISUAN_ASSIGN_OR_RETURN(pool.spec, ComputePoolSpecFromJson(object.value("spec", Json())));
  ZHISUAN_ASSIGN_OR_RETURN(pool.status, ComputePoolStatusFromJson(object.value("status", Json())));
  return pool;
}

}  // namespace zhisuan::api
