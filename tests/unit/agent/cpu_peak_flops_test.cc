// CPU peak FLOPS per microarchitecture: /proc/cpuinfo excerpts of each family, parsed as the
// agent parses them, then the peak at a given clock.
#include "agent/flops/cpu_peak_flops.h"

#include <gtest/gtest.h>

#include <string>
#include <tuple>
#include <vector>

#include "agent/discovery/cpu/cpu_parsers.h"
#include "agent/flops/peak_flops_table.h"
#include "common/strings.h"

namespace zhisuan::agent {
namespace {

constexpr double kMhz = 2000;
constexpr CpuPeakClock kClock{kMhz, CpuClockSource::kMeasured};

// Two physical cores of an x86 CPU, as /proc/cpuinfo lists them.
std::string X86Cpuinfo(std::string_view vendor, int family, int model, std::string_view name,
                       std::string_view flags) {
  std::string text;
  for (int core = 0; core < 2; ++core) {
    text += StrCat("processor\t: ", core, "\nvendor_id\t: ", vendor, "\ncpu family\t: ", family,
                   "\nmodel\t\t: ", model, "\nmodel name\t: ", name,
                   "\nstepping\t: 1\ncpu MHz\t\t: 2600.000\nphysical id\t: 0\ncore id\t\t: ", core,
                   "\nflags\t\t: fpu sse sse2 ", flags, "\n\n");
  }
  return text;
}

// Two Arm cores: no model name, no topology lines.
std::string ArmCpuinfo(std::string_view implementer, std::string_view part) {
  std::string text;
  for (int core = 0; core < 2; ++core) {
    text += StrCat("processor\t: ", core,
                   "\nBogoMIPS\t: 200.00\nFeatures\t: fp asimd evtstrm aes pmull sha1 sha2 crc32\n"
                   "CPU implementer\t: ",
                   implementer, "\nCPU architecture: 8\nCPU variant\t: 0x1\nCPU part\t: ", part,
                   "\nCPU revision\t: 1\n\n");
  }
  return text;
}

CpuInfo Parse(const std::string& cpuinfo) {
  auto info = cpu::ParseCpuInfo(cpuinfo);
  EXPECT_TRUE(info.ok()) << info.status();
  return info.ok() ? *info : CpuInfo{};
}

double At(const PeakFlops& peak, Precision precision) {
  return peak.flops[static_cast<size_t>(precision)];
}

// FLOPs per cycle per core the peak implies at kMhz on two cores.
double PerCycle(const PeakFlops& peak, Precision precision) {
  return At(peak, precision) / (2 * kMhz * 1e6);
}

constexpr std::string_view kAvx2 = "avx avx2 fma";
constexpr std::string_view kAvx512 = "avx avx2 fma avx512f avx512dq avx512bw avx512vl";

TEST(CpuParsers, ReadsFamilyModelAndArmPart) {
  CpuInfo x86 = Parse(X86Cpuinfo("AuthenticAMD", 26, 2, "AMD EPYC 9555", kAvx512));
  EXPECT_EQ(x86.family, 0x1a);
  EXPECT_EQ(x86.model_number, 0x02);
  CpuInfo arm = Parse(ArmCpuinfo("0x41", "0xd0c"));
  EXPECT_EQ(arm.vendor_id, "arm-implementer-0x41");
  EXPECT_EQ(arm.family, 0);
  EXPECT_EQ(arm.model_number, 0xd0c);
  CpuInfo odd = Parse("processor: 0\ncpu family: x\nmodel: -3\nCPU part: 0xzz\n");
  EXPECT_EQ(odd.family, -1);
  EXPECT_EQ(odd.model_number, -1);
}

// Zen 5 server parts run AVX-512 on full 512-bit datapaths: twice Zen 4's rate per cycle.
TEST(CpuPeakFlopsTest, Zen5ServerHasFull512BitDatapaths) {
  const CpuInfo turin = Parse(X86Cpuinfo("AuthenticAMD", 26, 0x02, "AMD EPYC 9575F 64-Core",
                                         std::string(kAvx512) + " avx512_bf16 avx512_vnni"));
  const PeakFlops peak = CpuPeakFlops(turin, kClock);
  EXPECT_EQ(peak.method, PeakFlopsMethod::kFormula);
  EXPECT_DOUBLE_EQ(PerCycle(peak, Precision::kFp32), 64);
  EXPECT_DOUBLE_EQ(PerCycle(peak, Precision::kFp64), 32);
  EXPECT_DOUBLE_EQ(At(peak, Precision::kBf16), 0);  // no sourced figure: absent, not a guess
  EXPECT_NE(peak.source.find("Zen 5"), std::string::npos) << peak.source;

  // A VM that hides AVX-512 leaves the 256-bit rate.
  const CpuInfo masked = Parse(X86Cpuinfo("AuthenticAMD", 26, 0x02, "AMD EPYC 9575F", kAvx2));
  EXPECT_DOUBLE_EQ(PerCycle(CpuPeakFlops(masked, kClock), Precision::kFp32), 32);
  // Mobile Zen 5 (Strix Point) keeps 256-bit datapaths.
  const CpuInfo strix =
      Parse(X86Cpuinfo("AuthenticAMD", 26, 0x24, "AMD Ryzen AI 9 HX 370", kAvx512));
  EXPECT_DOUBLE_EQ(PerCycle(CpuPeakFlops(strix, kClock), Precision::kFp32), 32);
}

// Zen 4 double-pumps AVX-512 on its 256-bit units.
TEST(CpuPeakFlopsTest, Zen4DoublePumpsAvx512) {
  const CpuInfo genoa = Parse(X86Cpuinfo("AuthenticAMD", 25, 0x11, "AMD EPYC 9654 96-Core",
                                         std::string(kAvx512) + " avx512_bf16"));
  const PeakFlops peak = CpuPeakFlops(genoa, kClock);
  EXPECT_DOUBLE_EQ(PerCycle(peak, Precision::kFp32), 32);
  EXPECT_DOUBLE_EQ(PerCycle(peak, Precision::kFp64), 16);
  EXPECT_NE(peak.source.find("Zen 4"), std::string::npos) << peak.source;
}

// Zen 2 and Zen 3: two 256-bit FMAs per cycle.
TEST(CpuPeakFlopsTest, Zen2AndZen3RunTwo256BitFmas) {
  for (const auto& [family, model, name] : {std::tuple{
                                                23,
                                                0x31,
                                                "AMD EPYC 7742 64-Core",
                                            },
                                            std::tuple{25, 0x01, "AMD EPYC 7763"}}) {
    const PeakFlops peak =
        CpuPeakFlops(Parse(X86Cpuinfo("AuthenticAMD", family, model, name, kAvx2)), kClock);
    EXPECT_DOUBLE_EQ(PerCycle(peak, Precision::kFp32), 32) << name;
    EXPECT_NE(peak.source.find(family == 23 ? "Zen 2" : "Zen 3"), std::string::npos) << peak.source;
  }
}

// Zen 1 and Hygon Dhyana: 128-bit datapaths, AVX2 at half the rate of Zen 2.
TEST(CpuPeakFlopsTest, Zen1AndHygonDhyanaRunAvx2AtHalfRate) {
  const CpuInfo naples = Parse(X86Cpuinfo("AuthenticAMD", 23, 0x01, "AMD EPYC 7601", kAvx2));
  const CpuInfo dhyana =
      Parse(X86Cpuinfo("HygonGenuine", 24, 0x00, "Hygon C86 7185 32-core Processor", kAvx2));
  for (const CpuInfo& cpu : {naples, dhyana}) {
    const PeakFlops peak = CpuPeakFlops(cpu, kClock);
    EXPECT_DOUBLE_EQ(PerCycle(peak, Precision::kFp32), 16) << cpu.model;
    EXPECT_DOUBLE_EQ(PerCycle(peak, Precision::kFp64), 8) << cpu.model;
  }
}

// Skylake-SP and Cascade Lake: the tier in the model name says one or two AVX-512 FMA units.
TEST(CpuPeakFlopsTest, XeonScalableTierDecidesFmaUnits) {
  const std::string flags = std::string(kAvx512) + " avx512_vnni";
  const auto peak_of = [&](std::string_view name) {
    return CpuPeakFlops(Parse(X86Cpuinfo("GenuineIntel", 6, 0x55, name, flags)), kClock);
  };
  for (std::string_view two :
       {"Intel(R) Xeon(R) Platinum 8280 CPU @ 2.70GHz", "Intel(R) Xeon(R) Gold 6248 CPU @ 2.50GHz",
        "Intel(R) Xeon(R) Gold 5122 CPU @ 3.60GHz"}) {
    EXPECT_DOUBLE_EQ(PerCycle(peak_of(two), Precision::kFp32), 64) << two;
    EXPECT_DOUBLE_EQ(PerCycle(peak_of(two), Precision::kInt8), 256) << two;
  }
  for (std::string_view one :
       {"Intel(R) Xeon(R) Silver 4214 CPU @ 2.20GHz", "Intel(R) Xeon(R) Gold 5218 CPU @ 2.30GHz",
        "Intel(R) Xeon(R) Bronze 3204 CPU @ 1.90GHz"}) {
    EXPECT_DOUBLE_EQ(PerCycle(peak_of(one), Precision::kFp32), 32) << one;
    EXPECT_DOUBLE_EQ(PerCycle(peak_of(one), Precision::kFp64), 16) << one;
    EXPECT_DOUBLE_EQ(PerCycle(peak_of(one), Precision::kInt8), 128) << one;
  }
  // A VM's model name names no tier: the FMA units are unknown, so no peak.
  const PeakFlops vm = peak_of("Intel Xeon Processor (Cascadelake)");
  EXPECT_EQ(vm.method, PeakFlopsMethod::kNone);
  EXPECT_DOUBLE_EQ(At(vm, Precision::kFp32), 0);
}

// Ice Lake-SP and later: two FMA units on every SKU; AMX from Sapphire Rapids on.
TEST(CpuPeakFlopsTest, IceLakeAndSapphireRapids) {
  const PeakFlops icx =
      CpuPeakFlops(Parse(X86Cpuinfo("GenuineIntel", 6, 0x6a,
                                    "Intel(R) Xeon(R) Silver 4314 CPU @ 2.40GHz", kAvx512)),
                   kClock);
  EXPECT_DOUBLE_EQ(PerCycle(icx, Precision::kFp32), 64);
  EXPECT_NE(icx.source.find("Ice Lake-SP"), std::string::npos) << icx.source;

  const std::string amx =
      std::string(kAvx512) + " avx512_vnni avx512_bf16 amx_bf16 amx_tile amx_int8";
  const PeakFlops spr = CpuPeakFlops(
      Parse(X86Cpuinfo("GenuineIntel", 6, 0x8f, "Intel(R) Xeon(R) Platinum 8480+", amx)), kClock);
  EXPECT_DOUBLE_EQ(PerCycle(spr, Precision::kFp32), 64);
  EXPECT_DOUBLE_EQ(PerCycle(spr, Precision::kBf16), 1024);
  EXPECT_DOUBLE_EQ(PerCycle(spr, Precision::kInt8), 2048);
  EXPECT_NE(spr.source.find("Sapphire Rapids"), std::string::npos) << spr.source;
  // Without AMX exposed (an older kernel or a VM), int8 falls back to VNNI and bf16 is absent.
  const PeakFlops no_amx =
      CpuPeakFlops(Parse(X86Cpuinfo("GenuineIntel", 6, 0xcf, "Intel(R) Xeon(R) Gold 6530",
                                    std::string(kAvx512) + " avx512_vnni")),
                   kClock);
  EXPECT_DOUBLE_EQ(PerCycle(no_amx, Precision::kInt8), 256);
  EXPECT_DOUBLE_EQ(At(no_amx, Precision::kBf16), 0);
  const PeakFlops gnr = CpuPeakFlops(
      Parse(X86Cpuinfo("GenuineIntel", 6, 0xad, "Intel(R) Xeon(R) 6980P", amx)), kClock);
  EXPECT_DOUBLE_EQ(PerCycle(gnr, Precision::kBf16), 1024);
}

// Arm: the implementer and part name the core.
TEST(CpuPeakFlopsTest, ArmNeoverseAndKunpeng) {
  struct Case {
    std::string_view implementer, part, name;
    double fp32, fp64;
  };
  for (const Case& c :
       {Case{"0x41", "0xd0c", "Neoverse N1", 16, 8}, Case{"0x41", "0xd49", "Neoverse N2", 16, 8},
        Case{"0x41", "0xd40", "Neoverse V1", 32, 16}, Case{"0x41", "0xd4f", "Neoverse V2", 32, 16},
        Case{"0x48", "0xd01", "Kunpeng 920", 16, 4}}) {
    const PeakFlops peak = CpuPeakFlops(Parse(ArmCpuinfo(c.implementer, c.part)), kClock);
    EXPECT_DOUBLE_EQ(PerCycle(peak, Precision::kFp32), c.fp32) << c.name;
    EXPECT_DOUBLE_EQ(PerCycle(peak, Precision::kFp64), c.fp64) << c.name;
    EXPECT_NE(peak.source.find(c.name), std::string::npos) << peak.source;
  }
}

// An unknown core, or a recognised one without a sourced figure, publishes no peak.
TEST(CpuPeakFlopsTest, UnknownMicroarchitectureHasNoPeak) {
  for (const CpuInfo& cpu :
       {Parse(ArmCpuinfo("0x70", "0x662")),  // Phytium FT-2000+: recognised, no figure
        Parse(X86Cpuinfo("HygonGenuine", 24, 0x04, "Hygon C86-4G 7490", kAvx512)),
        Parse(X86Cpuinfo("GenuineIntel", 6, 0x97, "12th Gen Intel(R) Core(TM) i9-12900K", kAvx2)),
        Parse(X86Cpuinfo("CentaurHauls", 7, 0x3b, "ZHAOXIN KaiXian KX-U6780A", kAvx2))}) {
    const PeakFlops peak = CpuPeakFlops(cpu, kClock);
    EXPECT_EQ(peak.method, PeakFlopsMethod::kNone) << cpu.model;
    for (double value : peak.flops) EXPECT_EQ(value, 0) << cpu.model;
    EXPECT_FALSE(peak.source.empty());
  }
}

// The peak is at the clock the probe measured once it has; the nominal clock before.
TEST(CpuPeakFlopsTest, MeasuredClockReplacesTheNominalOne) {
  CpuInfo cpu = Parse(X86Cpuinfo("AuthenticAMD", 25, 0x11, "AMD EPYC 9654", kAvx512));
  cpu.max_mhz = 2400;
  std::vector<FlopsMeasurement> measurements(1);
  measurements[0].target = "cpu";
  const CpuPeakClock before = ChooseCpuPeakClock(cpu, measurements);  // no clock measured
  EXPECT_EQ(before.source, CpuClockSource::kNominal);
  EXPECT_DOUBLE_EQ(before.mhz, 2400);
  measurements[0].clock_mhz = 3100;
  const CpuPeakClock after = ChooseCpuPeakClock(cpu, measurements);
  EXPECT_EQ(after.source, CpuClockSource::kMeasured);
  EXPECT_DOUBLE_EQ(after.mhz, 3100);
  const PeakFlops peak = CpuPeakFlops(cpu, after);
  EXPECT_DOUBLE_EQ(At(peak, Precision::kFp32), 2 * 3100e6 * 32);
  EXPECT_NE(peak.source.find("3100 MHz (measured)"), std::string::npos) << peak.source;
  measurements[0].status = UnavailableError("skipped");  // a failed run measured nothing
  EXPECT_EQ(ChooseCpuPeakClock(cpu, measurements).source, CpuClockSource::kNominal);
  // No cores or no clock: no peak.
  EXPECT_EQ(CpuPeakFlops(cpu, CpuPeakClock{0, CpuClockSource::kNominal}).method,
            PeakFlopsMethod::kNone);
  cpu.physical_cores = 0;
  EXPECT_EQ(CpuPeakFlops(cpu, after).method, PeakFlopsMethod::kNone);
}

}  // namespace
}  // namespace zhisuan::agent
