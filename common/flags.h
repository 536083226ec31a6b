#pragma once
// The one grammar for flag and config values, shared by zhisuan-agent and zhisuan-controller, so
// a spelling means the same thing in every flag of both binaries (docs/operations.md, "Flag
// values"):
//   durations  a non-negative decimal number with a unit: "500ms", "5s", "1.5m", "1h"; a bare
//              number counts seconds ("1.5" is 1500ms, "0" is zero).
//   booleans   "true" or "1", "false" or "0" (a bare boolean flag, "--publish", means true; the
//              callers handle that, since only they know which flags are boolean).
//   sizes      a non-negative integer of bytes with an optional Kubernetes quantity suffix: binary
//              Ki Mi Gi Ti Pi Ei (powers of 1024) or decimal k M G T P E (powers of 1000).
//              "64Mi", "1Gi", "10k", "512"; a fraction must come to whole bytes ("1.5Ki").
// Leading and trailing whitespace is ignored. The plain parsers describe the value; the *Flag
// forms also name the flag ("--publish-interval=soon: ..."), for callers with no other context.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string_view>

#include "common/status.h"

namespace zhisuan {

StatusOr<std::chrono::milliseconds> ParseDurationValue(std::string_view text);
StatusOr<bool> ParseBoolValue(std::string_view text);
StatusOr<uint64_t> ParseByteSizeValue(std::string_view text);

StatusOr<std::chrono::milliseconds> ParseDurationFlag(std::string_view flag,
                                                      std::string_view value);
StatusOr<bool> ParseBoolFlag(std::string_view flag, std::string_view value);
StatusOr<uint64_t> ParseByteSizeFlag(std::string_view flag, std::string_view value);

// One command-line argument split into its flag name and value: "--name=value" gives
// {name, value}, "--name" gives {name, nullopt} (the value may be the next argument, or the flag a
// bare boolean). nullopt for anything that is not a flag ("stray", "--", "-x").
struct FlagArgument {
  std::string_view name;
  std::optional<std::string_view> value;
};
std::optional<FlagArgument> SplitFlagArgument(std::string_view arg);

}  // namespace zhisuan
