#include "agent/flops/cpu_peak_flops.h"

#include <algorithm>
#include <cstdio>

#include "agent/flops/peak_flops_table.h"
#include "common/strings.h"

namespace zhisuan::agent {
namespace {

constexpr int kIntel = 6;  // every Xeon here is Intel family 6

// Vector FMA rates: fp64 and fp32 FLOPs per cycle with AVX-512 where the OS exposes it, else
// with 256-bit FMA (AVX2).
std::vector<CpuCoreRate> VectorRates(double fp32_avx512, double fp32_fma) {
  std::vector<CpuCoreRate> rates;
  if (fp32_avx512 > 0) {
    rates.push_back({Precision::kFp64, fp32_avx512 / 2, "avx512f"});
    rates.push_back({Precision::kFp32, fp32_avx512, "avx512f"});
  }
  rates.push_back({Precision::kFp64, fp32_fma / 2, "fma"});
  rates.push_back({Precision::kFp32, fp32_fma, "fma"});
  return rates;
}

// Arm NEON rates: every core here has Advanced SIMD.
std::vector<CpuCoreRate> NeonRates(double fp64, double fp32) {
  return {{Precision::kFp64, fp64, "asimd"}, {Precision::kFp32, fp32, "asimd"}};
}

std::vector<CpuCoreRate> With(std::vector<CpuCoreRate> rates,
                              std::initializer_list<CpuCoreRate> more) {
  // Extra precisions go first so that, for int8, AMX outranks VNNI listed after it.
  rates.insert(rates.begin(), more);
  return rates;
}

// VPDPBUSD: 64 int8 multiply-adds (128 ops) per 512-bit instruction, one per FMA unit per cycle.
constexpr CpuCoreRate Vnni(int fma_units) {
  return {Precision::kInt8, 128.0 * fma_units, "avx512_vnni"};
}

// Intel AMX (TMUL): 1024 bf16 and 2048 int8 operations per cycle per core.
constexpr CpuCoreRate kAmxBf16{Precision::kBf16, 1024, "amx_bf16"};
constexpr CpuCoreRate kAmxInt8{Precision::kInt8, 2048, "amx_int8"};

constexpr std::string_view kXeonFmaSource =
    "Intel Xeon Scalable SKU specifications (# of AVX-512 FMA units): 2 on Platinum, Gold 6xxx, "
    "Gold 5122/5222; 1 on other Gold 5xxx, Silver, Bronze";
constexpr std::string_view kAmxSource =
    "Intel AMX: 1024 bf16 / 2048 int8 ops per cycle per core; 2 AVX-512 FMA units per core";

std::vector<CpuMicroarchitecture> BuiltInTable() {
  const std::vector<CpuCoreRate> two_fma = VectorRates(64, 32);
  const std::vector<CpuCoreRate> amx = With(two_fma, {kAmxBf16, kAmxInt8, Vnni(2)});
  // Zen 2 to Zen 4, and Intel's one-FMA parts: two 256-bit FMAs per cycle, or one 512-bit one.
  const std::vector<CpuCoreRate> two_256 = VectorRates(0, 32);
  const std::vector<CpuCoreRate> zen1 = VectorRates(0, 16);
  constexpr std::string_view kZen1Source =
      "AMD Zen/Zen+: 128-bit FP datapaths, two 128-bit FMAs per cycle, AVX2 split in two halves "
      "(WikiChip, Zen 2 microarchitecture)";
  return {
      // Intel. Skylake-SP, Cascade Lake and Cooper Lake share model 0x55; the tier in the model
      // name tells the FMA units apart ("Gold 5122" before "Gold 5"). A model name that names no
      // tier (a VM's "Intel Xeon Processor (Cascadelake)") matches neither: no peak.
      {"Skylake-SP/Cascade Lake-SP, 2 FMA units",
       "GenuineIntel",
       kIntel,
       0x55,
       0x55,
       {"Platinum", "Gold 6", "Gold 5122", "Gold 5222"},
       With(two_fma, {Vnni(2)}),
       kXeonFmaSource},
      {"Skylake-SP/Cascade Lake-SP, 1 FMA unit",
       "GenuineIntel",
       kIntel,
       0x55,
       0x55,
       {"Gold 5", "Silver", "Bronze"},
       With(two_256, {Vnni(1)}),
       kXeonFmaSource},
      {"Ice Lake-SP",
       "GenuineIntel",
       kIntel,
       0x6a,
       0x6a,
       {},
       With(two_fma, {Vnni(2)}),
       "3rd Gen Xeon Scalable: 2 AVX-512 FMA units across the stack (ServeTheHome launch "
       "review)"},
      {"Sapphire Rapids", "GenuineIntel", kIntel, 0x8f, 0x8f, {}, amx, kAmxSource},
      {"Emerald Rapids", "GenuineIntel", kIntel, 0xcf, 0xcf, {}, amx, kAmxSource},
      {"Granite Rapids", "GenuineIntel", kIntel, 0xad, 0xae, {}, amx, kAmxSource},
      // AMD, by the family/model ranges Linux assigns to each Zen generation (arch/x86/kernel/
      // cpu/amd.c).
      {"Zen/Zen+", "AuthenticAMD", 0x17, 0x00, 0x2f, {}, zen1, kZen1Source},
      {"Hygon Dhyana (Zen)",
       "HygonGenuine",
       0x18,
       0x00,
       0x01,
       {},
       zen1,
       "Hygon Dhyana shares AMD family 17h's (Zen) core (Linux Hygon support series); Zen "
       "datapaths as for Zen/Zen+"},
      {"Zen 2",
       "AuthenticAMD",
       0x17,
       0x30,
       0xaf,
       {},
       two_256,
       "AMD Zen 2: 256-bit FP datapaths, two 256-bit FMAs per cycle (WikiChip, Zen 2)"},
      {"Zen 3",
       "AuthenticAMD",
       0x19,
       0x00,
       0x0f,
       {},
       two_256,
       "AMD Zen 3: two 256-bit FMAs per cycle, as Zen 2"},
      {"Zen 3",
       "AuthenticAMD",
       0x19,
       0x20,
       0x5f,
       {},
       two_256,
       "AMD Zen 3: two 256-bit FMAs per cycle, as Zen 2"},
      {"Zen 4",
       "AuthenticAMD",
       0x19,
       0x10,
       0x1f,
       {},
       two_256,
       "AMD Zen 4: AVX-512 double-pumped on the 256-bit units (numberworld.org Zen 4 AVX-512 "
       "teardown)"},
      {"Zen 4",
       "AuthenticAMD",
       0x19,
       0x60,
       0xaf,
       {},
       two_256,
       "AMD Zen 4: AVX-512 double-pumped on the 256-bit units (numberworld.org Zen 4 AVX-512 "
       "teardown)"},
      {"Zen 5 (Turin, 512-bit datapath)",
       "AuthenticAMD",
       0x1a,
       0x00,
       0x1f,
       {},
       two_fma,
       "AMD Zen 5 server and desktop: native 512-bit datapath, two 512-bit FMAs per cycle "
       "(numberworld.org Zen 5 AVX-512 teardown)"},
      {"Zen 5 (Strix Point, 256-bit datapath)",
       "AuthenticAMD",
       0x1a,
       0x20,
       0x2f,
       {},
       two_256,
       "AMD Zen 5 mobile (Strix Point) keeps 256-bit datapaths (numberworld.org Zen 5 "
       "teardown)"},
      {"Zen 5 (Granite Ridge, 512-bit datapath)",
       "AuthenticAMD",
       0x1a,
       0x40,
       0x4f,
       {},
       two_fma,
       "AMD Zen 5 server and desktop: native 512-bit datapath, two 512-bit FMAs per cycle "
       "(numberworld.org Zen 5 AVX-512 teardown)"},
      // Arm: implementer 0x41 (Arm Ltd), part numbers from each core's technical reference
      // manual; rates from its software optimization guide.
      {"Neoverse N1",
       "arm-implementer-0x41",
       0,
       0xd0c,
       0xd0c,
       {},
       NeonRates(8, 16),
       "Arm Neoverse N1 software optimization guide: two 128-bit FP/ASIMD pipes, both FMA"},
      {"Neoverse N2",
       "arm-implementer-0x41",
       0,
       0xd49,
       0xd49,
       {},
       NeonRates(8, 16),
       "Arm Neoverse N2 software optimization guide: two 128-bit FP/ASIMD/SVE2 pipes"},
      {"Neoverse V1",
       "arm-implementer-0x41",
       0,
       0xd40,
       0xd40,
       {},
       NeonRates(16, 32),
       "Arm Neoverse V1: two 256-bit SVE pipes, four 128-bit NEON (AnandTech, Neoverse V1)"},
      {"Neoverse V2",
       "arm-implementer-0x41",
       0,
       0xd4f,
       0xd4f,
       {},
       NeonRates(16, 32),
       "Arm Neoverse V2 software optimization guide: four 128-bit FP/ASIMD pipes"},
      {"HiSilicon TaiShan v110 (Kunpeng 920)",
       "arm-implementer-0x48",
       0,
       0xd01,
       0xd01,
       {},
       NeonRates(4, 16),
       "WikiChip TaiShan v110: one 128-bit FP64 FMA or two FP32 vector ops per cycle (512 "
       "GFLOPS FP64 at 64 cores x 2 GHz)"},
      {"Phytium FTC662/FTC663 (FT-2000+, S2500)",
       "arm-implementer-0x70",
       0,
       0x662,
       0x663,
       {},
       {},
       "recognised only: no public FLOPs-per-cycle figure"},
  };
}

bool HasFlag(const CpuInfo& cpu, std::string_view flag) {
  return flag.empty() ||
         std::find(cpu.isa_flags.begin(), cpu.isa_flags.end(), flag) != cpu.isa_flags.end();
}

bool NameMatches(const CpuMicroarchitecture& entry, std::string_view model_name) {
  bool any_marker = false;
  for (std::string_view marker : entry.model_name_markers) {
    if (marker.empty()) continue;
    any_marker = true;
    if (model_name.find(marker) != std::string_view::npos) return true;
  }
  return !any_marker;
}

FlopsByPrecision RatesFor(const CpuInfo& cpu, const CpuMicroarchitecture& entry) {
  FlopsByPrecision rates{};
  std::array<bool, kAllPrecisions.size()> decided{};
  for (const CpuCoreRate& rate : entry.rates) {
    const auto i = static_cast<size_t>(rate.precision);
    if (decided[i] || !HasFlag(cpu, rate.required_flag)) continue;
    rates[i] = rate.flops_per_cycle;
    decided[i] = true;
  }
  return rates;
}

std::string FormatRates(const CpuMicroarchitecture& entry, Precision precision) {
  std::string cell;
  for (const CpuCoreRate& rate : entry.rates) {
    if (rate.precision != precision) continue;
    if (!cell.empty()) cell += ", else ";
    cell += StrCat(static_cast<int64_t>(rate.flops_per_cycle));
    if (!rate.required_flag.empty()) cell += StrCat(" (", rate.required_flag, ")");
  }
  return cell.empty() ? "—" : cell;
}

std::string FormatModels(const CpuMicroarchitecture& entry) {
  char range[32];
  if (entry.first_model == entry.last_model) {
    std::snprintf(range, sizeof range, "0x%02x", entry.first_model);
  } else {
    std::snprintf(range, sizeof range, "0x%02x-0x%02x", entry.first_model, entry.last_model);
  }
  return range;
}

}  // namespace

std::span<const CpuMicroarchitecture> BuiltInCpuMicroarchitectures() {
  static const std::vector<CpuMicroarchitecture> table = BuiltInTable();
  return table;
}

const CpuMicroarchitecture* FindCpuMicroarchitecture(const CpuInfo& cpu,
                                                     std::span<const CpuMicroarchitecture> table) {
  for (const CpuMicroarchitecture& entry : table) {
    if (entry.vendor_id == cpu.vendor_id && entry.family == cpu.family &&
        cpu.model_number >= entry.first_model && cpu.model_number <= entry.last_model &&
        NameMatches(entry, cpu.model)) {
      return &entry;
    }
  }
  return nullptr;
}

FlopsByPrecision CpuFlopsPerCyclePerCore(const CpuInfo& cpu) {
  const CpuMicroarchitecture* entry = FindCpuMicroarchitecture(cpu, BuiltInCpuMicroarchitectures());
  return entry == nullptr ? FlopsByPrecision{} : RatesFor(cpu, *entry);
}

std::string_view CpuClockSourceName(CpuClockSource source) {
  return source == CpuClockSource::kMeasured ? "measured" : "nominal";
}

CpuPeakClock ChooseCpuPeakClock(const CpuInfo& cpu,
                                std::span<const FlopsMeasurement> measurements) {
  for (const FlopsMeasurement& m : measurements) {
    if (m.target == "cpu" && m.status.ok() && m.clock_mhz > 0) {
      return {m.clock_mhz, CpuClockSource::kMeasured};
    }
  }
  return {cpu.max_mhz, CpuClockSource::kNominal};
}

PeakFlops CpuPeakFlops(const CpuInfo& cpu, const CpuPeakClock& clock) {
  PeakFlops peak;
  const CpuMicroarchitecture* entry = FindCpuMicroarchitecture(cpu, BuiltInCpuMicroarchitectures());
  if (entry == nullptr) {
    char id[64];
    std::snprintf(id, sizeof id, "family 0x%x model 0x%x", cpu.family, cpu.model_number);
    peak.source =
        StrCat("unknown microarchitecture: ", cpu.vendor_id, " ", id, " \"", cpu.model, "\"");
    return peak;
  }
  peak.source = StrCat(entry->name, ": ", entry->source);
  const FlopsByPrecision per_cycle = RatesFor(cpu, *entry);
  if (cpu.physical_cores <= 0 || clock.mhz <= 0 ||
      std::none_of(per_cycle.begin(), per_cycle.end(), [](double v) { return v > 0; })) {
    return peak;
  }
  const double cycles_per_second = cpu.physical_cores * clock.mhz * 1e6;
  for (size_t i = 0; i < peak.flops.size(); ++i) {
    peak.flops[i] = per_cycle[i] * cycles_per_second;
  }
  peak.method = PeakFlopsMethod::kFormula;
  char clock_text[32];
  std::snprintf(clock_text, sizeof clock_text, "%.0f", clock.mhz);
  peak.source = StrCat("formula: ", cpu.physical_cores, " cores x ", clock_text, " MHz (",
                       CpuClockSourceName(clock.source), ") x ",
                       per_cycle[static_cast<size_t>(Precision::kFp32)], " fp32 FLOPs/cycle; ",
                       entry->name, ": ", entry->source);
  return peak;
}

PeakFlops CpuPeakFlops(const CpuInfo& cpu) {
  return CpuPeakFlops(cpu, CpuPeakClock{cpu.max_mhz, CpuClockSource::kNominal});
}

std::string RenderCpuPeakTableMarkdown(std::span<const CpuMicroarchitecture> table) {
  std::string out =
      "| microarchitecture | vendor_id | family | model | model name contains | fp64 | fp32 | "
      "bf16 | int8 | source |\n"
      "|---|---|---|---|---|---|---|---|---|---|\n";
  for (const CpuMicroarchitecture& entry : table) {
    std::string markers;
    for (std::string_view marker : entry.model_name_markers) {
      if (marker.empty()) continue;
      markers += StrCat(markers.empty() ? "" : ", ", "\"", marker, "\"");
    }
    char family[16];
    std::snprintf(family, sizeof family, "0x%02x", entry.family);
    out += StrCat("| ", entry.name, " | ", entry.vendor_id, " | ",
                  entry.family == 0 ? std::string("—") : std::string(family), " | ",
                  FormatModels(entry), " | ", markers.empty() ? "any" : markers, " |");
    for (Precision precision :
         {Precision::kFp64, Precision::kFp32, Precision::kBf16, Precision::kInt8}) {
      out += StrCat(" ", FormatRates(entry, precision), " |");
    }
    out += StrCat(" ", entry.source, " |\n");
  }
  return out;
}

}  // namespace zhisuan::agent
