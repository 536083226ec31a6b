#pragma once
// CPU peak FLOPS = physical cores x clock x FLOPs per cycle per core. The FLOPs per cycle come
// from the core's microarchitecture, named by /proc/cpuinfo's vendor, family and model (on Arm the
// implementer and part) and, where products of one die differ in FMA units, the model name. ISA
// flags alone cannot say it: Zen 1 runs AVX2 on 128-bit datapaths at half rate, Zen 4 double-pumps
// AVX-512 while server Zen 5 does not, and Xeon Silver executes AVX-512 on one FMA unit where
// Platinum has two. A core the table does not know publishes no peak rather than a guess.
//
// The clock is the one the probe measured on every core while it ran (cpu_fma_probe.cc), so the
// measured/peak ratio compares like with like; before a probe has run the nominal clock
// (cpufreq's maximum, else cpuinfo's "cpu MHz") stands in, and the clock's source says which.

#include <array>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "agent/device.h"
#include "agent/flops/flops_probe.h"

namespace zhisuan::agent {

struct PeakFlops;  // peak_flops_table.h

// One precision's FLOPs per cycle per core, usable only where the OS exposes `required_flag`
// (a hypervisor may hide AVX-512 or AMX; then the next rate for the precision counts).
struct CpuCoreRate {
  Precision precision = Precision::kFp32;
  double flops_per_cycle = 0;
  std::string_view required_flag;  // a cpuinfo flag ("avx512f", "amx_bf16"); empty: none
};

// A microarchitecture and its per-core rates. Identified by vendor_id, family and a model range;
// where model_name_markers are given, the model name must contain one of them as well.
struct CpuMicroarchitecture {
  std::string_view name;       // "Zen 4", "Cascade Lake-SP, 1 FMA unit"
  std::string_view vendor_id;  // cpuinfo's vendor_id; Arm: "arm-implementer-0x41"
  int family = 0;              // x86 "cpu family"; 0 on Arm
  int first_model = 0;         // inclusive range of x86 "model", or of Arm's "CPU part"
  int last_model = 0;
  std::array<std::string_view, 4> model_name_markers{};  // all empty: any model name
  // Per precision, in order: the first rate whose flag the CPU exposes counts. Empty: the core is
  // recognised but has no sourced figure (publishes no peak).
  std::vector<CpuCoreRate> rates;
  std::string_view source;
};

// The built-in table; more specific entries (model name markers) come before general ones.
std::span<const CpuMicroarchitecture> BuiltInCpuMicroarchitectures();

// The first entry matching the CPU, or nullptr for an unknown microarchitecture.
const CpuMicroarchitecture* FindCpuMicroarchitecture(const CpuInfo& cpu,
                                                     std::span<const CpuMicroarchitecture> table);

// FLOPs per cycle per physical core, per precision, for the CPU's microarchitecture and exposed
// flags; all zero for an unknown microarchitecture.
FlopsByPrecision CpuFlopsPerCyclePerCore(const CpuInfo& cpu);

enum class CpuClockSource { kNominal, kMeasured };
// "nominal", "measured": the `source` label of zhisuan_cpu_peak_clock_hertz.
std::string_view CpuClockSourceName(CpuClockSource source);

struct CpuPeakClock {
  double mhz = 0;
  CpuClockSource source = CpuClockSource::kNominal;
};

// The clock the latest successful CPU probe measured, else the nominal cpu.max_mhz.
CpuPeakClock ChooseCpuPeakClock(const CpuInfo& cpu, std::span<const FlopsMeasurement> measurements);

// cores x clock x FLOPs/cycle/core; method kFormula. Method kNone (all zero) when the
// microarchitecture is unknown, or cores or clock are.
PeakFlops CpuPeakFlops(const CpuInfo& cpu, const CpuPeakClock& clock);
// The same at the nominal clock.
PeakFlops CpuPeakFlops(const CpuInfo& cpu);

// The CPU section of docs/flops-table.md.
std::string RenderCpuPeakTableMarkdown(std::span<const CpuMicroarchitecture> table);

}  // namespace zhisuan::agent
