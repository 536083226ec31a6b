#pragma once
// Shapes shared by both Zhisuan kinds: conditions, and the names that bind nodes to pools.

#include <climits>
#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "api/group_version.h"
#include "common/status.h"

namespace zhisuan::api {

using Json = nlohmann::json;

// Node labels the agent publishes: few and stable; the detail is in ComputeNode.
inline constexpr std::string_view kLabelVendor = "zhisuan.io/vendor";
inline constexpr std::string_view kLabelProduct = "zhisuan.io/product";
inline constexpr std::string_view kLabelAcceleratorCount = "zhisuan.io/accelerator-count";
inline constexpr std::string_view kLabelAcceleratorMemory = "zhisuan.io/accelerator-memory";
inline constexpr std::string_view kLabelArchitecture = "zhisuan.io/architecture";

// Binding of a node to a pool: this label and a NoSchedule taint with the same key and value.
inline constexpr std::string_view kPoolLabel = "zhisuan.io/pool";
inline constexpr std::string_view kPoolTaintKey = "zhisuan.io/pool";
inline constexpr std::string_view kPoolFinalizer = "zhisuan.io/pool-cleanup";

// The label/taint value naming a pool: "<namespace>.<name>" when that fits a label value (63
// characters), else a prefix and a stable hash, so long names still bind deterministically.
std::string PoolBindingValue(std::string_view pool_namespace, std::string_view pool_name);

struct Condition {
  std::string type;
  std::string status;  // "True", "False" or "Unknown"
  int64_t observed_generation = 0;
  std::string last_transition_time;  // RFC 3339
  std::string reason;
  std::string message;

  friend bool operator==(const Condition&, const Condition&) = default;
};

Json ToJson(const Condition& condition);
StatusOr<Condition> ConditionFromJson(const Json& json);

// Sets `update` in `conditions`, keeping last_transition_time when the status did not change (the
// metav1.Condition contract), so rewriting the same condition is a no-op.
void SetCondition(std::vector<Condition>& conditions, Condition update);
const Condition* FindCondition(const std::vector<Condition>& conditions, std::string_view type);

// Reads an integer field without undefined behaviour: a float outside int64 range, a fraction, a
// string or anything outside [min, max] is an error naming `field`. Absent or null gives fallback.
StatusOr<int64_t> ReadInt(const Json& object, std::string_view key, int64_t fallback,
                          std::string_view field, int64_t min = INT64_MIN, int64_t max = INT64_MAX);

// RFC 3339 with second precision in UTC, as metav1.Time serialises.
std::string FormatRfc3339(int64_t unix_seconds);

struct LabelSelectorRequirement {
  std::string key;
  std::string op;  // In, NotIn, Exists, DoesNotExist
  std::vector<std::string> values;

  friend bool operator==(const LabelSelectorRequirement&,
                         const LabelSelectorRequirement&) = default;
};

// metav1.LabelSelector. An empty selector matches everything.
struct LabelSelector {
  std::map<std::string, std::string> match_labels;
  std::vector<LabelSelectorRequirement> match_expressions;

  bool Matches(const std::map<std::string, std::string>& labels) const;
  bool Empty() const { return match_labels.empty() && match_expressions.empty(); }
  friend bool operator==(const LabelSelector&, const LabelSelector&) = default;
};

Json ToJson(const LabelSelector& selector);
StatusOr<LabelSelector> LabelSelectorFromJson(const Json& json);

}  // namespace zhisuan::api
