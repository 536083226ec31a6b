// /proc/cpuinfo and cpufreq text from any kernel, architecture or hypervisor. The first byte picks
// the parser. A parsed CpuInfo is self-consistent, since FLOPS and scheduling multiply by it.
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "agent/discovery/cpu/cpu_parsers.h"

namespace cpu = zhisuan::agent::cpu;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
  if (data[0] % 2 == 0) {
    auto info = cpu::ParseCpuInfo(text);
    if (!info.ok()) {
      if (info.status().message().empty()) std::abort();
      return 0;
    }
    if (info->logical_cpus < 1 || info->sockets < 1 || info->physical_cores < 1) std::abort();
    if (!std::isfinite(info->max_mhz) || info->max_mhz < 0) std::abort();
    // Family and model (or Arm part) are -1 when absent, else within cpuinfo's range.
    if (info->family < -1 || info->family > 0xfff) std::abort();
    if (info->model_number < -1 || info->model_number > 0xfff) std::abort();
    for (const auto& flag : info->isa_flags) {
      if (!cpu::IsRelevantIsaFlag(flag)) std::abort();
    }
  } else {
    auto mhz = cpu::ParseCpuFreqKhzAsMhz(text);
    if (!mhz.ok()) {
      if (mhz.status().message().empty()) std::abort();
      return 0;
    }
    if (!std::isfinite(*mhz) || *mhz < 0) std::abort();
  }
  return 0;
}
