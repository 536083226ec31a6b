#include "api/compute_node.h"

#include <algorithm>
#include <cmath>

#include "api/quantity.h"
#include "common/strings.h"

namespace zhisuan::api {

int ComputeNodeStatus::HealthyAcceleratorCount() const {
  int healthy = 0;
  for (const auto& accelerator : accelerators) healthy += accelerator.healthy ? 1 : 0;
  return healthy;
}

Json FlopsToJson(const FlopsByPrecision& flops) {
  Json json = Json::object();
  for (Precision precision : kAllPrecisions) {
    if (At(flops, precision) > 0) {
      json[std::string(PrecisionName(precision))] = FormatQuantity(At(flops, precision));
    }
  }
  return json;
}

StatusOr<FlopsByPrecision> FlopsFromJson(const Json& json, std::string_view field) {
  FlopsByPrecision flops{};
  if (json.is_null()) return flops;
  if (!json.is_object()) return InvalidArgumentError(StrCat(field, " is not an object"));
  for (const auto& [key, value] : json.items()) {
    auto precision = PrecisionFromName(key);
    if (!precision) {
      return InvalidArgumentError(StrCat(field, ".", key, " is not a known precision"));
    }
    if (!value.is_string()) {
      return InvalidArgumentError(StrCat(field, ".", key, " is not a quantity"));
    }
    auto parsed = ParseQuantity(value.get<std::string>());
    if (!parsed.ok()) return parsed.status().Annotate(StrCat(field, ".", key));
    if (!std::isfinite(*parsed) || *parsed < 0) {
      return InvalidArgumentError(StrCat(field, ".", key, " is negative"));
    }
    At(flops, *precision) = *parsed;
  }
  return flops;
}

namespace {

// "", hardware or simulated; anything else is an error naming the field.
StatusOr<std::string> ReadMeasurementSource(const Json& json, const char* key,
                                            const std::string& field) {
  if (!json.contains(key)) return std::string();
  if (!json[key].is_string()) return InvalidArgumentError(StrCat(field, " is not a string"));
  std::string source = json[key].get<std::string>();
  if (source != kMeasurementSourceHardware && source != kMeasurementSourceSimulated) {
    return InvalidArgumentError(StrCat(field, " must be hardware or simulated"));
  }
  return source;
}

// averagePowerWatts (0..kMaxAveragePowerWatts) with its averagePowerSource; neither, or both.
Status ReadAveragePower(const Json& energy, EnergyStatus& out) {
  const bool has_watts = energy.contains("averagePowerWatts");
  const bool has_source = energy.contains("averagePowerSource");
  if (!has_watts && !has_source) return OkStatus();
  if (!has_watts || !energy["averagePowerWatts"].is_number()) {
    return InvalidArgumentError("status.energy.averagePowerWatts is not a number");
  }
  const double watts = energy["averagePowerWatts"].get<double>();
  if (!(watts >= 0 && watts <= kMaxAveragePowerWatts)) {
    return InvalidArgumentError(
        StrCat("status.energy.averagePowerWatts is outside 0..", kMaxAveragePowerWatts));
  }
  const std::string source = has_source && energy["averagePowerSource"].is_string()
                                 ? energy["averagePowerSource"].get<std::string>()
                                 : "";
  if (std::find(kAveragePowerSources.begin(), kAveragePowerSources.end(), source) ==
      kAveragePowerSources.end()) {
    return InvalidArgumentError(
        "status.energy.averagePowerSource must be counter, integrated_power or mixed");
  }
  out.average_power_watts = watts;
  out.average_power_source = source;
  return OkStatus();
}

Status CheckAcceleratorFlops(const FlopsByPrecision& flops, const std::string& field) {
  for (double value : flops) {
    if (value > kMaxFlopsPerAccelerator) {
      return InvalidArgumentError(StrCat(field, " reports ", FormatQuantity(value),
                                         ", beyond any real accelerator (limit ",
                                         FormatQuantity(kMaxFlopsPerAccelerator), ")"));
    }
  }
  return OkStatus();
}

Json ToJson(const AcceleratorStatus& accelerator) {
  Json json = {{"index", accelerator.index},
               {"uuid", accelerator.uuid},
               {"vendor", accelerator.vendor},
               {"product", accelerator.product},
               {"health", accelerator.healthy ? "Healthy" : "Unhealthy"}};
  if (!accelerator.pci_bus_id.empty()) json["pciBusID"] = accelerator.pci_bus_id;
  if (accelerator.memory_bytes > 0) json["memoryBytes"] = accelerator.memory_bytes;
  json["numaNode"] = accelerator.numa_node;
  if (!accelerator.reason.empty()) json["reason"] = accelerator.reason;
  Json flops = FlopsToJson(accelerator.peak_flops);
  if (!flops.empty()) json["peakFlops"] = std::move(flops);
  Json measured = FlopsToJson(accelerator.measured_flops);
  if (!measured.empty()) json["measuredFlops"] = std::move(measured);
  if (!accelerator.measured_flops_source.empty()) {
    json["measuredFlopsSource"] = accelerator.measured_flops_source;
  }
  return json;
}

StatusOr<AcceleratorStatus> AcceleratorFromJson(const Json& json, size_t position) {
  const std::string field = StrCat("status.accelerators[", position, "]");
  if (!json.is_object()) return InvalidArgumentError(StrCat(field, " is not an object"));
  AcceleratorStatus accelerator;
  try {
    ZHISUAN_ASSIGN_OR_RETURN(accelerator.index,
                             ReadInt(json, "index", 0, field + ".index", 0, 1 << 20));
    accelerator.uuid = json.value("uuid", "");
    accelerator.vendor = json.value("vendor", "");
    accelerator.product = json.value("product", "");
    accelerator.pci_bus_id = json.value("pciBusID", "");
    ZHISUAN_ASSIGN_OR_RETURN(accelerator.memory_bytes,
                             ReadInt(json, "memoryBytes", 0, field + ".memoryBytes", 0));
    ZHISUAN_ASSIGN_OR_RETURN(accelerator.numa_node,
                             ReadInt(json, "numaNode", -1, field + ".numaNode", -1, 1 << 16));
    const std::string health = json.value("health", "");
    if (health != "Healthy" && health != "Unhealthy") {
      return InvalidArgumentError(StrCat(field, ".health must be Healthy or Unhealthy"));
    }
    accelerator.healthy = health == "Healthy";
    accelerator.reason = json.value("reason", "");
  } catch (const Json::exception& error) {
    return InvalidArgumentError(StrCat(field, " is malformed: ", error.what()));
  }
  if (accelerator.uuid.empty()) return InvalidArgumentError(StrCat(field, ".uuid is empty"));
  ZHISUAN_ASSIGN_OR_RETURN(accelerator.peak_flops,
                           FlopsFromJson(json.value("peakFlops", Json()), field + ".peakFlops"));
  ZHISUAN_ASSIGN_OR_RETURN(
      accelerator.measured_flops,
      FlopsFromJson(json.value("measuredFlops", Json()), field + ".measuredFlops"));
  ZHISUAN_RETURN_IF_ERROR(CheckAcceleratorFlops(accelerator.peak_flops, field + ".peakFlops"));
  ZHISUAN_RETURN_IF_ERROR(
      CheckAcceleratorFlops(accelerator.measured_flops, field + ".measuredFlops"));
  ZHISUAN_ASSIGN_OR_RETURN(
      accelerator.measured_flops_source,
      ReadMeasurementSource(json, "measuredFlopsSource", field + ".measuredFlopsSource"));
  return accelerator;
}

}  // namespace

Json ToJson(const ComputeNodeStatus& status) {
  Json accelerators = Json::array();
  for (const auto& accelerator : status.accelerators) accelerators.push_back(ToJson(accelerator));
  Json flops = {{"peak", FlopsToJson(status.peak_flops)}};
  Json measured = FlopsToJson(status.measured_flops);
  if (!measured.empty()) flops["measured"] = std::move(measured);
  if (!status.measured_flops_source.empty()) flops["measuredSource"] = status.measured_flops_source;
  Json energy = Json::object();
  if (!status.energy.source.empty()) energy["source"] = status.energy.source;
  if (!status.energy.zone.empty()) energy["zone"] = status.energy.zone;
  if (status.energy.carbon_intensity) energy["carbonIntensity"] = *status.energy.carbon_intensity;
  if (status.energy.carbon_free_ratio) {
    energy["carbonFreeRatio"] = *status.energy.carbon_free_ratio;
  }
  if (status.energy.average_power_watts) {
    energy["averagePowerWatts"] = *status.energy.average_power_watts;
    energy["averagePowerSource"] = status.energy.average_power_source;
  }
  Json conditions = Json::array();
  for (const auto& condition : status.conditions) conditions.push_back(ToJson(condition));
  return {{"agentVersion", status.agent_version},
          {"acceleratorCount", status.accelerators.size()},
          {"healthyAcceleratorCount", status.HealthyAcceleratorCount()},
          {"accelerators", std::move(accelerators)},
          {"flops", std::move(flops)},
          {"powerCapacityWatts", status.power_capacity_watts},
          {"energy", std::move(energy)},
          {"conditions", std::move(conditions)}};
}

StatusOr<ComputeNode> ComputeNodeFromJson(const Json& object) {
  if (!object.is_object()) return InvalidArgumentError("ComputeNode is not an object");
  ComputeNode node;
  const Json& metadata = object.contains("metadata") ? object["metadata"] : Json();
  if (!metadata.is_object()) return InvalidArgumentError("ComputeNode has no metadata");
  try {
    node.name = metadata.value("name", "");
    node.uid = metadata.value("uid", "");
    node.resource_version = metadata.value("resourceVersion", "");
  } catch (const Json::exception& error) {
    return InvalidArgumentError(StrCat("ComputeNode metadata is malformed: ", error.what()));
  }
  if (node.name.empty()) return InvalidArgumentError("ComputeNode has no metadata.name");
  const Json& status = object.contains("status") ? object["status"] : Json();
  if (status.is_null()) return node;
  if (!status.is_object()) return InvalidArgumentError("status is not an object");
  try {
    node.status.agent_version = status.value("agentVersion", "");
    ZHISUAN_ASSIGN_OR_RETURN(
        node.status.power_capacity_watts,
        ReadInt(status, "powerCapacityWatts", 0, "status.powerCapacityWatts", 0, 100'000'000));
    if (status.contains("accelerators")) {
      const Json& accelerators = status["accelerators"];
      if (!accelerators.is_array()) {
        return InvalidArgumentError("status.accelerators is not a list");
      }
      if (accelerators.size() > kMaxAcceleratorsPerNode) {
        return InvalidArgumentError(StrCat("status.accelerators lists ", accelerators.size(),
                                           " devices; at most ", kMaxAcceleratorsPerNode,
                                           " are accepted"));
      }
      for (size_t i = 0; i < accelerators.size(); ++i) {
        ZHISUAN_ASSIGN_OR_RETURN(auto accelerator, AcceleratorFromJson(accelerators[i], i));
        node.status.accelerators.push_back(std::move(accelerator));
      }
    }
    const Json flops = status.value("flops", Json::object());
    ZHISUAN_ASSIGN_OR_RETURN(node.status.peak_flops,
                             FlopsFromJson(flops.value("peak", Json()), "status.flops.peak"));
    ZHISUAN_ASSIGN_OR_RETURN(
        node.status.measured_flops,
        FlopsFromJson(flops.value("measured", Json()), "status.flops.measured"));
    ZHISUAN_ASSIGN_OR_RETURN(
        node.status.measured_flops_source,
        ReadMeasurementSource(flops, "measuredSource", "status.flops.measuredSource"));
    const Json energy = status.value("energy", Json::object());
    node.status.energy.source = energy.value("source", "");
    node.status.energy.zone = energy.value("zone", "");
    if (energy.contains("carbonIntensity")) {
      if (!energy["carbonIntensity"].is_number()) {
        return InvalidArgumentError("status.energy.carbonIntensity is not a number");
      }
      double intensity = energy["carbonIntensity"].get<double>();
      if (!std::isfinite(intensity) || intensity < 0) {
        return InvalidArgumentError("status.energy.carbonIntensity is negative");
      }
      node.status.energy.carbon_intensity = intensity;
    }
    if (energy.contains("carbonFreeRatio")) {
      if (!energy["carbonFreeRatio"].is_number()) {
        return InvalidArgumentError("status.energy.carbonFreeRatio is not a number");
      }
      double ratio = energy["carbonFreeRatio"].get<double>();
      if (!(ratio >= 0 && ratio <= 1)) {
        return InvalidArgumentError("status.energy.carbonFreeRatio is outside 0..1");
      }
      node.status.energy.carbon_free_ratio = ratio;
    }
    ZHISUAN_RETURN_IF_ERROR(ReadAveragePower(energy, node.status.energy));
    for (const auto& item : status.value("conditions", Json::array())) {
      ZHISUAN_ASSIGN_OR_RETURN(auto condition, ConditionFromJson(item));
      node.status.conditions.push_back(std::move(condition));
    }
  } catch (const Json::exception& error) {
    return InvalidArgumentError(StrCat("ComputeNode status is malformed: ", error.what()));
  }
  return node;
}

}  // namespace zhisuan::api
