#pragma once
// Parsers for the CPU description in /proc/cpuinfo and the cpufreq files. Total on any input.

#include <string_view>

#include "agent/device.h"
#include "common/status.h"

namespace zhisuan::agent::cpu {

// Model, vendor, sockets (distinct "physical id"), physical cores (distinct physical id + core id),
// logical CPUs ("processor" lines), the highest "cpu MHz" and the FLOPS-relevant ISA flags. Works
// on x86 ("model name", "flags") and Arm ("CPU part", "Features") layouts; where the topology
// lines are absent (Arm, some VMs) it assumes one socket with one thread per core.
// InvalidArgument when the text names no processor at all.
StatusOr<CpuInfo> ParseCpuInfo(std::string_view text);

// cpuinfo_max_freq: "3800000\n" (kHz) -> 3800 MHz.
StatusOr<double> ParseCpuFreqKhzAsMhz(std::string_view text);

// The flags the FLOPS formula and the scheduler care about, in a fixed order.
bool IsRelevantIsaFlag(std::string_view flag);

}  // namespace zhisuan::agent::cpu
