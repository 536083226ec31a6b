#pragma once
// Numeric precisions compute is sold and measured at. The spelling is the API's (ComputePool
// spec.capacity.precision, ComputeNode status.flops keys, metric labels).

#include <array>
#include <optional>
#include <string_view>

namespace zhisuan::api {

enum class Precision { kFp64, kFp32, kTf32, kBf16, kFp16, kFp8, kInt8 };
inline constexpr std::array<Precision, 7> kAllPrecisions = {
    Precision::kFp64, Precision::kFp32, Precision::kTf32, Precision::kBf16,
    Precision::kFp16, Precision::kFp8,  Precision::kInt8};

// "fp64", "fp32", "tf32", "bf16", "fp16", "fp8", "int8".
std::string_view PrecisionName(Precision precision);
std::optional<Precision> PrecisionFromName(std::string_view name);

// Operations per second at each precision (int8 counts OPS), indexed by Precision; 0 where the
// device has no support or nothing was measured.
using FlopsByPrecision = std::array<double, kAllPrecisions.size()>;

inline double& At(FlopsByPrecision& flops, Precision precision) {
  return flops[static_cast<size_t>(precision)];
}
inline double At(const FlopsByPrecision& flops, Precision precision) {
  return flops[static_cast<size_t>(precision)];
}

}  // namespace zhisuan::api
