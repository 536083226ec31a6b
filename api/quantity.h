#pragma once
// Kubernetes resource quantities ("20P", "7915T", "80Gi", "1.5e3"), parsed and formatted the way
// the API server accepts them. FLOPS at fleet scale (80 EFLOPS of fp8 across 5,000 nodes) overflow
// int64, so values are doubles: 15 significant digits are far more than any FLOPS figure carries.

#include <string>
#include <string_view>

#include "common/status.h"

namespace zhisuan::api {

// Parses a quantity string. Accepts decimal SI suffixes (n u m k M G T P E), binary suffixes
// (Ki Mi Gi Ti Pi Ei) and decimal exponents (e6, E-3), with an optional sign. Rejects anything the
// API server would reject, with a message saying what was wrong.
StatusOr<double> ParseQuantity(std::string_view text);

// Formats a non-negative value as a decimal-SI quantity rounded to 4 significant digits: an integer
// mantissa with the largest suffix that keeps it under 10,000 ("7915T", "20P", "1500T"), or else a
// short decimal ("989.4T"). Negative and non-finite values format as "0".
std::string FormatQuantity(double value);

}  // namespace zhisuan::api
