#include "agent/discovery/cpu/cpu_parsers.h"

#include <algorithm>
#include <array>
#include <optional>
#include <set>
#include <utility>

#include "common/strings.h"

namespace zhisuan::agent::cpu {
namespace {

// x86 vector and matrix extensions, then Arm's. Anything else in the flags line is noise for
// capacity planning.
constexpr std::array<std::string_view, 18> kRelevantFlags = {
    "sse4_2",      "avx",         "avx2",        "fma",      "avx512f",  "avx512bw",
    "avx512_vnni", "avx512_bf16", "avx512_fp16", "amx_tile", "amx_bf16", "amx_int8",
    "asimd",       "sve",         "sve2",        "bf16",     "i8mm",     "sme"};

std::vector<std::string_view> Words(std::string_view text) {
  std::vector<std::string_view> words;
  for (std::string_view piece : StrSplit(text, ' ')) {
    piece = StripWhitespace(piece);
    if (!piece.empty()) words.push_back(piece);
  }
  return words;
}

// "0xd0c" (Arm's "CPU part") -> 0xd0c; nullopt unless it is 0x and up to three hex digits.
std::optional<int> ParseArmPart(std::string_view text) {
  if (text.size() < 3 || text.size() > 5 || !StartsWith(text, "0x")) return std::nullopt;
  auto value = ParseInt64(text.substr(2), 16);
  if (!value || *value < 0) return std::nullopt;
  return static_cast<int>(*value);
}

}  // namespace

bool IsRelevantIsaFlag(std::string_view flag) {
  return std::find(kRelevantFlags.begin(), kRelevantFlags.end(), flag) != kRelevantFlags.end();
}

StatusOr<CpuInfo> ParseCpuInfo(std::string_view text) {
  CpuInfo info;
  std::set<int64_t> sockets;
  std::set<std::pair<int64_t, int64_t>> cores;
  std::set<std::string_view> flags;
  int64_t physical_id = -1;
  std::string cpu_part;
  for (std::string_view line : StrSplit(text, '\n')) {
    const size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    const std::string_view key = StripWhitespace(line.substr(0, colon));
    const std::string_view value = StripWhitespace(line.substr(colon + 1));
    if (key == "processor") {
      // A new logical CPU starts; its topology lines follow.
      ++info.logical_cpus;
      physical_id = -1;
    } else if (key == "model name" && info.model.empty()) {
      info.model = std::string(value);
    } else if (key == "vendor_id" && info.vendor_id.empty()) {
      info.vendor_id = std::string(value);
    } else if (key == "CPU implementer" && info.vendor_id.empty()) {
      info.vendor_id = StrCat("arm-implementer-", value);
    } else if (key == "CPU part" && cpu_part.empty()) {
      cpu_part = std::string(value);
      if (auto part = ParseArmPart(value)) {
        info.family = 0;  // Arm has no x86-style family: the part alone names the core
        info.model_number = *part;
      }
    } else if (key == "cpu family" && info.family < 0) {
      if (auto family = ParseInt64(value); family && *family >= 0 && *family < 0x1000) {
        info.family = static_cast<int>(*family);
      }
    } else if (key == "model" && info.model_number < 0) {
      if (auto model = ParseInt64(value); model && *model >= 0 && *model < 0x1000) {
        info.model_number = static_cast<int>(*model);
      }
    } else if (key == "physical id") {
      if (auto id = ParseInt64(value)) {
        physical_id = *id;
        sockets.insert(*id);
      }
    } else if (key == "core id") {
      if (auto id = ParseInt64(value)) cores.emplace(physical_id, *id);
    } else if (key == "cpu MHz") {
      if (auto mhz = ParseDouble(value); mhz && *mhz > info.max_mhz && *mhz < 1e6) {
        info.max_mhz = *mhz;
      }
    } else if (key == "flags" || key == "Features") {
      for (std::string_view flag : Words(value)) {
        if (IsRelevantIsaFlag(flag)) flags.insert(flag);
      }
    }
  }
  if (info.logical_cpus == 0) return InvalidArgumentError("cpuinfo: no \"processor\" lines");
  if (info.model.empty() && !cpu_part.empty()) info.model = StrCat("arm-part-", cpu_part);
  info.sockets = sockets.empty() ? 1 : static_cast<int>(sockets.size());
  info.physical_cores = cores.empty() ? info.logical_cpus : static_cast<int>(cores.size());
  for (std::string_view flag : kRelevantFlags) {
    if (flags.count(flag)) info.isa_flags.emplace_back(flag);
  }
  return info;
}

StatusOr<double> ParseCpuFreqKhzAsMhz(std::string_view text) {
  if (text.size() > 32) return InvalidArgumentError("cpufreq: value too long");
  std::string_view value = StripWhitespace(text);
  auto khz = ParseUint64(value);
  if (!khz || *khz == 0 || *khz > 100'000'000) {
    return InvalidArgumentError(StrCat("cpufreq: not a frequency in kHz: \"", value, "\""));
  }
  return static_cast<double>(*khz) / 1000.0;
}

}  // namespace zhisuan::agent::cpu
