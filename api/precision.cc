#include "api/precision.h"

namespace zhisuan::api {
namespace {
constexpr std::array<std::string_view, kAllPrecisions.size()> kPrecisionNames = {
    "fp64", "fp32", "tf32", "bf16", "fp16", "fp8", "int8"};
}  // namespace

std::string_view PrecisionName(Precision precision) {
  return kPrecisionNames[static_cast<size_t>(precision)];
}

std::optional<Precision> PrecisionFromName(std::string_view name) {
  for (size_t i = 0; i < kPrecisionNames.size(); ++i) {
    if (kPrecisionNames[i] == name) return kAllPrecisions[i];
  }
  return std::nullopt;
}

}  // namespace zhisuan::api
