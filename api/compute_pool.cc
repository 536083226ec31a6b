#include "api/compute_pool.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <climits>
#include <cmath>
#include <set>

#include "api/quantity.h"
#include "common/strings.h"

namespace zhisuan::api {
namespace {

// The limits the CRD declares (charts/zhisuan/crds/zhisuan.io_computepools.yaml), repeated so a
// controller facing an older CRD still refuses what the current one rejects.
constexpr size_t kMaxProducts = 32;
constexpr size_t kMaxProductLength = 63;
constexpr size_t kMaxSelectorTerms = 32;  // matchLabels entries, and matchExpressions
constexpr size_t kMaxSelectorValues = 64;
constexpr size_t kMaxLabelKeyLength = 316;
constexpr size_t kMaxLabelNameLength = 63;
constexpr double kMinFlops = 1;
constexpr double kMaxFlops = 1e24;  // 1000000E: four orders beyond the largest fleet
constexpr double kMaxIntensity = 5000;

constexpr std::array<std::string_view, 13> kVendors = {
    "nvidia",   "amd",          "huawei", "cambricon", "hygon",       "kunlunxin", "enflame",
    "iluvatar", "moorethreads", "metax",  "habana",    "tenstorrent", "intel"};

bool IsAlnum(char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; }
bool IsLowerAlnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

// [A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])? of at most `max` characters; empty only if allowed.
bool IsLabelName(std::string_view text, size_t max, bool allow_empty) {
  if (text.empty()) return allow_empty;
  if (text.size() > max || !IsAlnum(text.front()) || !IsAlnum(text.back())) return false;
  return std::all_of(text.begin(), text.end(),
                     [](char c) { return IsAlnum(c) || c == '-' || c == '_' || c == '.'; });
}

// A DNS-1123 subdomain: dot-separated [a-z0-9]([-a-z0-9]*[a-z0-9])?.
bool IsDnsSubdomain(std::string_view text) {
  while (true) {
    const size_t dot = text.find('.');
    const std::string_view label = text.substr(0, dot);
    if (label.empty() || !IsLowerAlnum(label.front()) || !IsLowerAlnum(label.back()) ||
        !std::all_of(label.begin(), label.end(),
                     [](char c) { return IsLowerAlnum(c) || c == '-'; })) {
      return false;
    }
    if (dot == std::string_view::npos) return true;
    text.remove_prefix(dot + 1);
  }
}

// [prefix/]name, exactly the CRD's pattern for label keys.
bool IsLabelKey(std::string_view key) {
  if (key.size() > kMaxLabelKeyLength) return false;
  const size_t slash = key.find('/');
  if (slash != std::string_view::npos && !IsDnsSubdomain(key.substr(0, slash))) return false;
  const std::string_view name = slash == std::string_view::npos ? key : key.substr(slash + 1);
  return IsLabelName(name, kMaxLabelNameLength, /*allow_empty=*/false);
}

Status CheckSelectorKey(std::string_view key, std::string_view field) {
  if (key == kPoolLabel) {
    return InvalidArgumentError(StrCat(field, " must not use the key ", kPoolLabel,
                                       ", which the controller sets on the nodes it binds"));
  }
  if (!IsLabelKey(key)) {
    return InvalidArgumentError(
        StrCat(field,
               " keys must be label keys: [prefix/]name, the name up to 63 letters, "
               "digits, -, _ or . (alphanumeric at both ends), the prefix a lower-case DNS "
               "subdomain (got \"",
               key, "\")"));
  }
  return OkStatus();
}

Status CheckSelectorValue(std::string_view value, std::string_view field) {
  if (IsLabelName(value, kMaxLabelNameLength, /*allow_empty=*/true)) return OkStatus();
  return InvalidArgumentError(StrCat(field, " \"", value,
                                     "\" is not a label value: up to 63 letters, digits, -, _ or "
                                     ". (alphanumeric at both ends)"));
}

// What the planner can act on: every key and value a label could have, none of them the label
// that binds nodes (a pool selecting on it would bind and unbind the same nodes forever).
Status CheckNodeSelector(const LabelSelector& selector) {
  if (selector.match_labels.size() > kMaxSelectorTerms) {
    return InvalidArgumentError(
        StrCat("spec.nodeSelector.matchLabels: at most ", kMaxSelectorTerms, " labels"));
  }
  for (const auto& [key, value] : selector.match_labels) {
    ZHISUAN_RETURN_IF_ERROR(CheckSelectorKey(key, "spec.nodeSelector.matchLabels"));
    ZHISUAN_RETURN_IF_ERROR(
        CheckSelectorValue(value, StrCat("spec.nodeSelector.matchLabels.", key)));
  }
  if (selector.match_expressions.size() > kMaxSelectorTerms) {
    return InvalidArgumentError(
        StrCat("spec.nodeSelector.matchExpressions: at most ", kMaxSelectorTerms, " items"));
  }
  for (size_t i = 0; i < selector.match_expressions.size(); ++i) {
    const LabelSelectorRequirement& requirement = selector.match_expressions[i];
    const std::string field = StrCat("spec.nodeSelector.matchExpressions[", i, "]");
    ZHISUAN_RETURN_IF_ERROR(
        CheckSelectorKey(requirement.key, "spec.nodeSelector.matchExpressions"));
    const bool takes_values = requirement.op == "In" || requirement.op == "NotIn";
    if (takes_values == requirement.values.empty()) {
      return InvalidArgumentError(StrCat(field,
                                         ": nodeSelector.matchExpressions with operator In or "
                                         "NotIn need values; Exists and DoesNotExist take none"));
    }
    if (requirement.values.size() > kMaxSelectorValues) {
      return InvalidArgumentError(
          StrCat(field, ".values: at most ", kMaxSelectorValues, " values"));
    }
    for (const auto& value : requirement.values) {
      ZHISUAN_RETURN_IF_ERROR(CheckSelectorValue(value, StrCat(field, ".values")));
    }
  }
  return OkStatus();
}

Status CheckAccelerator(const ComputePoolSpec& spec) {
  if (!spec.vendor.empty() &&
      std::find(kVendors.begin(), kVendors.end(), spec.vendor) == kVendors.end()) {
    return InvalidArgumentError(
        StrCat("spec.accelerator.vendor \"", spec.vendor, "\" is not a known vendor"));
  }
  if (spec.products.size() > kMaxProducts) {
    return InvalidArgumentError(
        StrCat("spec.accelerator.products: at most ", kMaxProducts, " products"));
  }
  std::set<std::string_view> seen;
  for (const auto& product : spec.products) {
    if (!IsLabelName(product, kMaxProductLength, /*allow_empty=*/false)) {
      return InvalidArgumentError(StrCat("spec.accelerator.products: \"", product,
                                         "\" is not a product name (letters, digits, -, _ or .)"));
    }
    if (!seen.insert(product).second) {
      return InvalidArgumentError(
          StrCat("spec.accelerator.products: \"", product, "\" is listed twice"));
    }
    const std::optional<std::string_view> maker = ProductVendor(product);
    if (!spec.vendor.empty() && maker && *maker != spec.vendor) {
      return InvalidArgumentError(StrCat("spec.accelerator.products: ", product,
                                         " is made by vendor ", *maker, ", not ", spec.vendor));
    }
  }
  return OkStatus();
}

}  // namespace

std::optional<std::string_view> ProductVendor(std::string_view product) {
  struct Family {
    std::string_view prefix, vendor;
  };
  // agent/sku/sku_names.cc names these products; the CRD's CEL rules hold the same prefixes.
  static constexpr std::array<Family, 15> kFamilies{{{"A100", "nvidia"},
                                                     {"A800", "nvidia"},
                                                     {"A30", "nvidia"},
                                                     {"H100", "nvidia"},
                                                     {"H200", "nvidia"},
                                                     {"H800", "nvidia"},
                                                     {"H20", "nvidia"},
                                                     {"L4", "nvidia"},
                                                     {"L20", "nvidia"},
                                                     {"CMP-", "nvidia"},
                                                     {"Ascend", "huawei"},
                                                     {"MLU", "cambricon"},
                                                     {"K100", "hygon"},
                                                     {"P800", "kunlunxin"},
                                                     {"MI", "amd"}}};
  for (const auto& family : kFamilies) {
    if (!product.starts_with(family.prefix)) continue;
    // "MI" only before a digit (MI300X), as the CRD's ^MI[0-9].
    if (family.prefix == "MI" &&
        (product.size() <= 2 || !std::isdigit(static_cast<unsigned char>(product[2])))) {
      continue;
    }
    return family.vendor;
  }
  return std::nullopt;
}

StatusOr<ComputePoolSpec> ComputePoolSpecFromJson(const Json& json) {
  if (!json.is_object()) return InvalidArgumentError("spec is not an object");
  ComputePoolSpec spec;
  try {
    if (json.contains("accelerator")) {
      const Json& accelerator = json["accelerator"];
      if (!accelerator.is_object()) {
        return InvalidArgumentError("spec.accelerator is not an object");
      }
      if (!accelerator.contains("vendor") && !accelerator.contains("products")) {
        return InvalidArgumentError(
            "spec.accelerator must set vendor and/or products; omit spec.accelerator to accept "
            "any accelerator");
      }
      spec.vendor = accelerator.value("vendor", "");
      if (accelerator.contains("products")) {
        spec.products = accelerator["products"].get<std::vector<std::string>>();
        if (spec.products.empty()) {
          return InvalidArgumentError(
              "spec.accelerator.products must list at least one product; omit it to accept "
              "every product of the vendor");
        }
      }
      ZHISUAN_RETURN_IF_ERROR(CheckAccelerator(spec));
    }
    const Json capacity = json.value("capacity", Json::object());
    if (capacity.contains("flops")) {
      if (!capacity["flops"].is_string()) {
        return InvalidArgumentError("spec.capacity.flops must be a quantity string such as 20P");
      }
      auto flops = ParseQuantity(capacity["flops"].get<std::string>());
      // The parser refuses magnitudes beyond 1e30, which the API server stores.
      if (!flops.ok() && flops.status().message().find("out of range") != std::string::npos) {
        return InvalidArgumentError(
            "spec.capacity.flops must be between 1 (one FLOPS) and 1000000E");
      }
      if (!flops.ok()) return flops.status().Annotate("spec.capacity.flops");
      if (*flops <= 0) return InvalidArgumentError("spec.capacity.flops must be greater than zero");
      if (*flops < kMinFlops || *flops > kMaxFlops) {
        return InvalidArgumentError(
            "spec.capacity.flops must be between 1 (one FLOPS) and 1000000E");
      }
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
        if (intensity > kMaxIntensity) {
          return InvalidArgumentError("spec.carbon.maxIntensity must be at most 5000 gCO2e/kWh");
        }
        spec.max_intensity = intensity;
      }
    }
    auto selector = LabelSelectorFromJson(json.value("nodeSelector", Json()));
    if (!selector.ok()) return selector.status().Annotate("spec");
    ZHISUAN_RETURN_IF_ERROR(CheckNodeSelector(*selector));
    spec.node_selector = std::move(selector).value();
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
  if (!status.scheduling_resource_claim_template.empty()) {
    json["scheduling"]["resourceClaimTemplateName"] = status.scheduling_resource_claim_template;
  }
  if (status.carbon_free_ratio) json["carbonFreeRatio"] = *status.carbon_free_ratio;
  if (status.carbon_intensity) json["carbonIntensity"] = *status.carbon_intensity;
  if (status.carbon_uncounted_nodes > 0) {
    json["carbonUncountedNodes"] = status.carbon_uncounted_nodes;
  }
  auto members = [&json](const char* field, const std::vector<MemberSince>& clocks) {
    if (clocks.empty()) return;  // absent rather than [] keeps a quiet pool's status short
    Json list = Json::array();
    for (const auto& clock : clocks) list.push_back({{"node", clock.node}, {"since", clock.since}});
    json[field] = std::move(list);
  };
  members("impairedMembers", status.impaired_members);
  members("drainingMembers", status.draining_members);
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
    ZHISUAN_ASSIGN_OR_RETURN(
        status.carbon_uncounted_nodes,
        ReadInt(json, "carbonUncountedNodes", 0, "status.carbonUncountedNodes", 0, INT32_MAX));
    const Json scheduling = json.value("scheduling", Json::object());
    status.scheduling_node_selector =
        scheduling.value("nodeSelector", std::map<std::string, std::string>{});
    status.scheduling_resource_claim_template = scheduling.value("resourceClaimTemplateName", "");
    for (const auto& item : scheduling.value("tolerations", Json::array())) {
      status.scheduling_tolerations.push_back({item.value("key", ""), item.value("operator", ""),
                                               item.value("value", ""), item.value("effect", "")});
    }
    for (const auto& item : json.value("impairedMembers", Json::array())) {
      status.impaired_members.push_back({item.value("node", ""), item.value("since", "")});
    }
    for (const auto& item : json.value("drainingMembers", Json::array())) {
      status.draining_members.push_back({item.value("node", ""), item.value("since", "")});
    }
  } catch (const Json::exception& error) {
    return InvalidArgumentError(StrCat("status is malformed: ", error.what()));
  }
  return status;
}

StatusOr<ComputePool> ComputePoolFromJson(const Json& object) {
  Status spec_error;
  ZHISUAN_ASSIGN_OR_RETURN(ComputePool pool, ComputePoolFromJson(object, &spec_error));
  if (!spec_error.ok()) return spec_error;
  // Strict here: only the lenient form replaces a status it cannot read.
  ZHISUAN_RETURN_IF_ERROR(ComputePoolStatusFromJson(object.value("status", Json())).status());
  return pool;
}

StatusOr<ComputePool> ComputePoolFromJson(const Json& object, Status* spec_error) {
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
  auto status = ComputePoolStatusFromJson(object.value("status", Json()));
  if (!status.ok()) {
    // Only the controller writes status, and it rewrites what it cannot read.
    status = ComputePoolStatus{};
  }
  pool.status = std::move(status).value();
  auto spec = ComputePoolSpecFromJson(object.value("spec", Json()));
  if (spec.ok()) {
    pool.spec = std::move(spec).value();
  } else if (spec_error != nullptr) {
    *spec_error = spec.status();
  }
  return pool;
}

}  // namespace zhisuan::api
