#include "common/flags.h"

#include <cmath>

#include "common/strings.h"

namespace zhisuan {
namespace {

struct Unit {
  std::string_view suffix;
  double scale;
};

// The first suffix that matches wins, so "ms" comes before "s".
constexpr Unit kDurationUnits[] = {{"ms", 1}, {"s", 1e3}, {"m", 60e3}, {"h", 3600e3}};
constexpr Unit kSizeUnits[] = {{"Ki", 0x1p10}, {"Mi", 0x1p20}, {"Gi", 0x1p30}, {"Ti", 0x1p40},
                               {"Pi", 0x1p50}, {"Ei", 0x1p60}, {"k", 1e3},     {"M", 1e6},
                               {"G", 1e9},     {"T", 1e12},    {"P", 1e15},    {"E", 1e18}};

// Splits "1.5Gi" into 1.5 and 2^30 (the first unit that matches; `bare_scale` when none does).
// nullopt unless the number is finite and not negative.
template <size_t N>
std::optional<double> ScaledNumber(std::string_view text, const Unit (&units)[N],
                                   double bare_scale) {
  double scale = bare_scale;
  for (const Unit& unit : units) {
    if (EndsWith(text, unit.suffix)) {
      text.remove_suffix(unit.suffix.size());
      scale = unit.scale;
      break;
    }
  }
  auto number = ParseDouble(text);
  if (!number || !std::isfinite(*number) || *number < 0) return std::nullopt;
  return *number * scale;
}

// Beyond this (about 285 years of milliseconds, 8 EiB) a value is a typo, and would overflow.
constexpr double kMaxMilliseconds = 9e15;
constexpr double kMaxBytes = 0x1p63;

}  // namespace

StatusOr<std::chrono::milliseconds> ParseDurationValue(std::string_view text) {
  text = StripWhitespace(text);
  auto ms = ScaledNumber(text, kDurationUnits, 1e3);  // a bare number counts seconds
  if (!ms || *ms > kMaxMilliseconds) {
    return InvalidArgumentError(
        StrCat("\"", text, "\" is not a duration (e.g. 500ms, 5s, 2m, 1h, or 1.5 for seconds)"));
  }
  return std::chrono::milliseconds(std::llround(*ms));
}

StatusOr<bool> ParseBoolValue(std::string_view text) {
  text = StripWhitespace(text);
  if (text == "true" || text == "1") return true;
  if (text == "false" || text == "0") return false;
  return InvalidArgumentError(StrCat("expected true or false, got \"", text, "\""));
}

StatusOr<uint64_t> ParseByteSizeValue(std::string_view text) {
  text = StripWhitespace(text);
  auto bytes = ScaledNumber(text, kSizeUnits, 1);
  if (!bytes || *bytes >= kMaxBytes) {
    return InvalidArgumentError(StrCat("\"", text, "\" is not a size (e.g. 512, 10k, 64Mi, 1Gi)"));
  }
  if (*bytes != std::floor(*bytes)) {
    return InvalidArgumentError(StrCat("\"", text, "\" is not a whole number of bytes"));
  }
  return static_cast<uint64_t>(*bytes);
}

namespace {
template <typename T>
StatusOr<T> NameTheFlag(StatusOr<T> parsed, std::string_view flag, std::string_view value) {
  if (parsed.ok()) return parsed;
  return parsed.status().Annotate(StrCat("--", flag, "=", value));
}
}  // namespace

StatusOr<std::chrono::milliseconds> ParseDurationFlag(std::string_view flag,
                                                      std::string_view value) {
  return NameTheFlag(ParseDurationValue(value), flag, value);
}

StatusOr<bool> ParseBoolFlag(std::string_view flag, std::string_view value) {
  return NameTheFlag(ParseBoolValue(value), flag, value);
}

StatusOr<uint64_t> ParseByteSizeFlag(std::string_view flag, std::string_view value) {
  return NameTheFlag(ParseByteSizeValue(value), flag, value);
}

std::optional<FlagArgument> SplitFlagArgument(std::string_view arg) {
  if (!StartsWith(arg, "--") || arg.size() == 2) return std::nullopt;
  arg.remove_prefix(2);
  const size_t equals = arg.find('=');
  if (equals == std::string_view::npos) return FlagArgument{arg, std::nullopt};
  return FlagArgument{arg.substr(0, equals), arg.substr(equals + 1)};
}

}  // namespace zhisuan
