#include "api/meta.h"

#include <algorithm>
#include <climits>
#include <cmath>
#include <ctime>

#include "common/strings.h"

namespace zhisuan::api {

std::string PoolBindingValue(std::string_view pool_namespace, std::string_view pool_name) {
  std::string value = StrCat(pool_namespace, ".", pool_name);
  if (value.size() <= 63) return value;
  // FNV-1a: stable across builds and platforms, unlike std::hash.
  uint64_t hash = 1469598103934665603ull;
  for (char c : value) {
    hash ^= static_cast<unsigned char>(c);
    hash *= 1099511628211ull;
  }
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(hash));
  // 46 + 1 + 16 = 63; trim trailing non-alphanumerics, which label values may not end with.
  std::string prefix = value.substr(0, 46);
  while (!prefix.empty() && !std::isalnum(static_cast<unsigned char>(prefix.back()))) {
    prefix.pop_back();
  }
  return StrCat(prefix, "-", hex);
}

Json ToJson(const Condition& condition) {
  Json json = {{"type", condition.type},
               {"status", condition.status},
               {"lastTransitionTime", condition.last_transition_time},
               {"reason", condition.reason},
               {"message", condition.message}};
  if (condition.observed_generation > 0) {
    json["observedGeneration"] = condition.observed_generation;
  }
  return json;
}

StatusOr<Condition> ConditionFromJson(const Json& json) {
  if (!json.is_object()) return InvalidArgumentError("condition is not an object");
  Condition condition;
  condition.type = json.value("type", "");
  condition.status = json.value("status", "");
  ZHISUAN_ASSIGN_OR_RETURN(condition.observed_generation,
                           ReadInt(json, "observedGeneration", 0, "condition.observedGeneration"));
  condition.last_transition_time = json.value("lastTransitionTime", "");
  condition.reason = json.value("reason", "");
  condition.message = json.value("message", "");
  if (condition.type.empty()) return InvalidArgumentError("condition has no type");
  return condition;
}

void SetCondition(std::vector<Condition>& conditions, Condition update) {
  for (auto& existing : conditions) {
    if (existing.type != update.type) continue;
    if (existing.status == update.status) {
      update.last_transition_time = existing.last_transition_time;
    }
    existing = std::move(update);
    return;
  }
  conditions.push_back(std::move(update));
}

const Condition* FindCondition(const std::vector<Condition>& conditions, std::string_view type) {
  for (const auto& condition : conditions) {
    if (condition.type == type) return &condition;
  }
  return nullptr;
}

StatusOr<int64_t> ReadInt(const Json& object, std::string_view key, int64_t fallback,
                          std::string_view field, int64_t min, int64_t max) {
  if (!object.is_object()) return fallback;
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) return fallback;
  int64_t value = 0;
  if (it->is_number_integer() && !it->is_number_unsigned()) {
    value = it->get<int64_t>();
  } else if (it->is_number_unsigned()) {
    uint64_t unsigned_value = it->get<uint64_t>();
    if (unsigned_value > static_cast<uint64_t>(INT64_MAX)) {
      return InvalidArgumentError(StrCat(field, " is out of range"));
    }
    value = static_cast<int64_t>(unsigned_value);
  } else if (it->is_number_float()) {
    double number = it->get<double>();
    // 2^63 is exactly representable; anything at or beyond it does not fit.
    if (!(number >= -9223372036854775808.0 && number < 9223372036854775808.0) ||
        number != std::trunc(number)) {
      return InvalidArgumentError(StrCat(field, " is not an integer in range"));
    }
    value = static_cast<int64_t>(number);
  } else {
    return InvalidArgumentError(StrCat(field, " is not an integer"));
  }
  if (value < min || value > max) {
    return InvalidArgumentError(StrCat(field, " is ", value, ", outside ", min, "..", max));
  }
  return value;
}

std::string FormatRfc3339(int64_t unix_seconds) {
  std::time_t seconds = static_cast<std::time_t>(unix_seconds);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char buffer[32];
  std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%SZ", &utc);
  return buffer;
}

bool LabelSelector::Matches(const std::map<std::string, std::string>& labels) const {
  for (const auto& [key, value] : match_labels) {
    auto it = labels.find(key);
    if (it == labels.end() || it->second != value) return false;
  }
  for (const auto& requirement : match_expressions) {
    auto it = labels.find(requirement.key);
    const bool present = it != labels.end();
    const bool listed = present && std::find(requirement.values.begin(), requirement.values.end(),
                                             it->second) != requirement.values.end();
    if (requirement.op == "In" && !listed) return false;
    if (requirement.op == "NotIn" && listed) return false;
    if (requirement.op == "Exists" && !present) return false;
    if (requirement.op == "DoesNotExist" && present) return false;
  }
  return true;
}

Json ToJson(const LabelSelector& selector) {
  Json json = Json::object();
  if (!selector.match_labels.empty()) json["matchLabels"] = selector.match_labels;
  if (!selector.match_expressions.empty()) {
    Json expressions = Json::array();
    for (const auto& requirement : selector.match_expressions) {
      Json item = {{"key", requirement.key}, {"operator", requirement.op}};
      if (!requirement.values.empty()) item["values"] = requirement.values;
      expressions.push_back(std::move(item));
    }
    json["matchExpressions"] = std::move(expressions);
  }
  return json;
}

StatusOr<LabelSelector> LabelSelectorFromJson(const Json& json) {
  LabelSelector selector;
  if (json.is_null()) return selector;
  if (!json.is_object()) return InvalidArgumentError("nodeSelector is not an object");
  try {
    if (json.contains("matchLabels")) {
      for (const auto& [key, value] : json.at("matchLabels").items()) {
        if (!value.is_string()) {
          return InvalidArgumentError(StrCat("nodeSelector.matchLabels.", key, " is not a string"));
        }
        selector.match_labels[key] = value.get<std::string>();
      }
    }
    if (json.contains("matchExpressions")) {
      for (const auto& item : json.at("matchExpressions")) {
        LabelSelectorRequirement requirement;
        requirement.key = item.at("key").get<std::string>();
        requirement.op = item.at("operator").get<std::string>();
        if (item.contains("values")) {
          requirement.values = item.at("values").get<std::vector<std::string>>();
        }
        if (requirement.op != "In" && requirement.op != "NotIn" && requirement.op != "Exists" &&
            requirement.op != "DoesNotExist") {
          return InvalidArgumentError(
              StrCat("nodeSelector operator \"", requirement.op, "\" is not supported"));
        }
        selector.match_expressions.push_back(std::move(requirement));
      }
    }
  } catch (const Json::exception& error) {
    return InvalidArgumentError(StrCat("malformed nodeSelector: ", error.what()));
  }
  return selector;
}

}  // namespace zhisuan::api
