#include "api/quantity.h"

#include <array>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <limits>

#include "common/strings.h"

namespace zhisuan::api {
namespace {

struct Suffix {
  std::string_view text;
  double multiplier;
};

// Longest first, so "Ki" wins over a bare "K" (which Kubernetes does not accept anyway).
constexpr std::array<Suffix, 15> kSuffixes{{
    {"Ki", 1024.0},
    {"Mi", 1048576.0},
    {"Gi", 1073741824.0},
    {"Ti", 1099511627776.0},
    {"Pi", 1125899906842624.0},
    {"Ei", 1152921504606846976.0},
    {"n", 1e-9},
    {"u", 1e-6},
    {"m", 1e-3},
    {"k", 1e3},
    {"M", 1e6},
    {"G", 1e9},
    {"T", 1e12},
    {"P", 1e15},
    {"E", 1e18},
}};

// The API server caps exponents well inside double range; so do we, so nothing overflows to inf.
constexpr int kMaxExponent = 30;
constexpr double kMaxMagnitude = 1e30;

Status Invalid(std::string_view text, std::string_view why) {
  return InvalidArgumentError(StrCat("invalid quantity \"", text, "\": ", why,
                                     " (expected e.g. 20P, 7915T, 80Gi or 1.5e3)"));
}

}  // namespace

StatusOr<double> ParseQuantity(std::string_view text) {
  if (text.empty()) return Invalid(text, "empty");
  if (text.size() > 64) return Invalid(text.substr(0, 64), "longer than 64 characters");
  size_t pos = 0;
  bool negative = false;
  if (text[pos] == '+' || text[pos] == '-') {
    negative = text[pos] == '-';
    ++pos;
  }
  // Mantissa: digits with at most one decimal point, and at least one digit.
  double mantissa = 0;
  int fraction_digits = 0;
  bool seen_point = false;
  int digits = 0;
  for (; pos < text.size(); ++pos) {
    char c = text[pos];
    if (c == '.') {
      if (seen_point) return Invalid(text, "more than one decimal point");
      seen_point = true;
      continue;
    }
    if (!std::isdigit(static_cast<unsigned char>(c))) break;
    ++digits;
    mantissa = mantissa * 10 + (c - '0');
    if (seen_point) ++fraction_digits;
  }
  if (digits == 0) return Invalid(text, "no digits");
  if (digits > 40) return Invalid(text, "too many digits");
  double value = mantissa / std::pow(10.0, fraction_digits);

  std::string_view rest = text.substr(pos);
  if (!rest.empty()) {
    if (rest[0] == 'e' || rest[0] == 'E') {
      // A decimal exponent, unless this is exactly the "E" (exa) suffix.
      if (rest == "E") {
        value *= 1e18;
      } else if (rest.size() == 1) {
        return Invalid(text, "exponent has no digits");
      } else {
        size_t i = 1;
        bool negative_exponent = false;
        if (rest[i] == '+' || rest[i] == '-') {
          negative_exponent = rest[i] == '-';
          ++i;
        }
        if (i >= rest.size()) return Invalid(text, "exponent has no digits");
        int exponent = 0;
        for (; i < rest.size(); ++i) {
          if (!std::isdigit(static_cast<unsigned char>(rest[i]))) {
            return Invalid(text, "exponent is not an integer");
          }
          exponent = exponent * 10 + (rest[i] - '0');
          if (exponent > kMaxExponent) return Invalid(text, "exponent out of range");
        }
        value *= std::pow(10.0, negative_exponent ? -exponent : exponent);
      }
    } else {
      const Suffix* match = nullptr;
      for (const auto& suffix : kSuffixes) {
        if (rest == suffix.text) {
          match = &suffix;
          break;
        }
      }
      if (match == nullptr) {
        return Invalid(text, StrCat("unknown suffix \"", rest,
                                    "\" (use n u m k M G T P E, Ki Mi Gi Ti Pi Ei)"));
      }
      value *= match->multiplier;
    }
  }
  // Far beyond any compute or memory figure (a zettaFLOPS is 1e21), and beyond what formats back
  // into a quantity the parser accepts.
  if (!std::isfinite(value) || value > kMaxMagnitude) return Invalid(text, "out of range");
  return negative ? -value : value;
}

std::string FormatQuantity(double value) {
  if (!std::isfinite(value) || value <= 0) return "0";
  // Round to 4 significant digits first; everything below is presentation.
  const int magnitude = static_cast<int>(std::floor(std::log10(value)));
  const double step = std::pow(10.0, magnitude - 3);
  const double rounded = std::round(value / step) * step;

  static constexpr std::array<std::pair<int, std::string_view>, 7> kDecimalSuffixes{
      {{18, "E"}, {15, "P"}, {12, "T"}, {9, "G"}, {6, "M"}, {3, "k"}, {0, ""}}};
  for (const auto& [exponent, suffix] : kDecimalSuffixes) {
    const double scaled = rounded / std::pow(10.0, exponent);
    const double nearest = std::round(scaled);
    if (scaled >= 1 && nearest < 10000 && std::fabs(scaled - nearest) < 1e-6 * scaled) {
      return StrCat(static_cast<long long>(nearest), suffix);
    }
  }
  // Not an integer at any suffix with a short mantissa: a decimal mantissa in [1, 1000).
  for (const auto& [exponent, suffix] : kDecimalSuffixes) {
    const double scaled = rounded / std::pow(10.0, exponent);
    if (scaled >= 1) {
      char buffer[48];
      // Only exa-scale values reach 1000 here; print those whole rather than in e-notation.
      std::snprintf(buffer, sizeof buffer, scaled >= 1000 ? "%.0f" : "%.4g", scaled);
      return StrCat(buffer, suffix);
    }
  }
  // Below 1: milli units keep three significant digits readable.
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.0f", rounded * 1000);
  return StrCat(buffer, "m");
}

}  // namespace zhisuan::api
