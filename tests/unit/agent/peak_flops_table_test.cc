#include "agent/flops/peak_flops_table.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "agent/sku/sku_names.h"

namespace zhisuan::agent {
namespace {

// At(flops, precision) is api::At, from api/precision.h.

Accelerator Part(uint16_t vendor, uint16_t device, std::string architecture = "", int units = 0,
                 double clock_mhz = 0) {
  Accelerator a;
  a.pci_vendor_id = vendor;
  a.pci_device_id = device;
  a.architecture = std::move(architecture);
  a.compute_units = units;
  a.max_clock_mhz = clock_mhz;
  return a;
}

TEST(PeakFlopsTableTest, KnownPartsComeFromTheTableWithTheirSource) {
  const PeakFlopsTable& table = PeakFlopsTable::BuiltIn();
  PeakFlops h100 = table.ForAccelerator(Part(0x10de, 0x2330, "hopper", 132, 1980));
  EXPECT_EQ(h100.method, PeakFlopsMethod::kTable);
  EXPECT_DOUBLE_EQ(At(h100.flops, Precision::kBf16), 989.4e12);
  EXPECT_DOUBLE_EQ(At(h100.flops, Precision::kFp8), 1978.9e12);
  EXPECT_DOUBLE_EQ(At(h100.flops, Precision::kFp64), 67e12);  // the FP64 tensor figure
  EXPECT_NE(h100.source.find("H100"), std::string::npos);

  PeakFlops mi300x = table.ForAccelerator(Part(0x1002, 0x74a1));
  EXPECT_DOUBLE_EQ(At(mi300x.flops, Precision::kFp16), 1307.4e12);
  PeakFlops a100 = table.ForAccelerator(Part(0x10de, 0x20b2));
  EXPECT_DOUBLE_EQ(At(a100.flops, Precision::kFp8), 0);  // Ampere has no FP8
  EXPECT_DOUBLE_EQ(At(a100.flops, Precision::kTf32), 156e12);
}

TEST(PeakFlopsTableTest, EveryEntryHasASourceAndReportedFiguresAreMarkedUnverified) {
  for (const auto& entry : PeakFlopsTable::BuiltIn().entries()) {
    EXPECT_FALSE(entry.source.empty()) << entry.pci_device_id;
  }
  EXPECT_FALSE(PeakFlopsTable::BuiltIn().Find(0x10de, 0x2329)->verified);  // H20
  EXPECT_FALSE(PeakFlopsTable::BuiltIn().Find(0x19e5, 0xd802)->verified);  // Ascend 910B
  EXPECT_TRUE(PeakFlopsTable::BuiltIn().Find(0x10de, 0x2331)->verified);   // H100 PCIe
}

// The SKU table owns product names; a FLOPS entry for an id it lacks would publish a fallback name
// ("nvidia-2330") next to a datasheet peak, so every entry must have a canonical name and the same
// architecture the formula would use.
TEST(PeakFlopsTableTest, EveryEntryIsAKnownProduct) {
  for (const auto& entry : PeakFlopsTable::BuiltIn().entries()) {
    EXPECT_TRUE(CanonicalProductName(entry.pci_vendor_id, entry.pci_device_id).has_value())
        << std::hex << entry.pci_vendor_id << ":" << entry.pci_device_id;
  }
}

TEST(PeakFlopsTableTest, UnknownPartsFallBackToTheArchitectureFormula) {
  // An unlisted Hopper part: 132 SMs at 1830 MHz reproduces the H100 SXM tensor figure.
  PeakFlops peak =
      PeakFlopsTable::BuiltIn().ForAccelerator(Part(0x10de, 0x9999, "hopper", 132, 1830));
  EXPECT_EQ(peak.method, PeakFlopsMethod::kFormula);
  EXPECT_NEAR(At(peak.flops, Precision::kBf16), 989.4e12, 0.5e12);
  EXPECT_NE(peak.source.find("132 SM"), std::string::npos);

  PeakFlops cdna3 =
      PeakFlopsTable::BuiltIn().ForAccelerator(Part(0x1002, 0x1111, "cdna3", 304, 2100));
  EXPECT_NEAR(At(cdna3.flops, Precision::kBf16), 1307.4e12, 0.1e12);
  EXPECT_DOUBLE_EQ(At(cdna3.flops, Precision::kInt8), 0);  // no formula column: no guess

  PeakFlops ada = PeakFlopsTable::BuiltIn().ForAccelerator(Part(0x10de, 0x1234, "ada", 142, 2520));
  EXPECT_DOUBLE_EQ(At(ada.flops, Precision::kFp64), 0);
  EXPECT_GT(At(ada.flops, Precision::kFp8), 0);
}

TEST(PeakFlopsTableTest, UnknownArchitectureOrMissingInputsGiveNone) {
  const PeakFlopsTable& table = PeakFlopsTable::BuiltIn();
  for (const Accelerator& part :
       {Part(0x1ed5, 0x0001, "musa", 128, 1500), Part(0x10de, 0x9999, "hopper", 0, 1830),
        Part(0x10de, 0x9999, "hopper", 132, 0)}) {
    PeakFlops peak = table.ForAccelerator(part);
    EXPECT_EQ(peak.method, PeakFlopsMethod::kNone);
    for (double value : peak.flops) EXPECT_EQ(value, 0);
  }
}

CpuInfo Cpu(std::string vendor, std::vector<std::string> flags, int cores = 2, double mhz = 2000) {
  CpuInfo cpu;
  cpu.vendor_id = std::move(vendor);
  cpu.isa_flags = std::move(flags);
  cpu.physical_cores = cores;
  cpu.max_mhz = mhz;
  return cpu;
}

TEST(CpuPeakFlopsTest, IsaDecidesFlopsPerCycle) {
  PeakFlops avx512 = CpuPeakFlops(Cpu("GenuineIntel", {"avx2", "fma", "avx512f"}));
  EXPECT_DOUBLE_EQ(At(avx512.flops, Precision::kFp32), 2 * 2000e6 * 64);
  EXPECT_DOUBLE_EQ(At(avx512.flops, Precision::kFp64), 2 * 2000e6 * 32);
  EXPECT_DOUBLE_EQ(At(avx512.flops, Precision::kBf16), 0);  // no native bf16 instruction
  EXPECT_EQ(avx512.method, PeakFlopsMethod::kFormula);

  PeakFlops avx2 = CpuPeakFlops(Cpu("GenuineIntel", {"avx", "avx2", "fma"}));
  EXPECT_DOUBLE_EQ(At(avx2.flops, Precision::kFp32), 2 * 2000e6 * 32);
  EXPECT_DOUBLE_EQ(At(avx2.flops, Precision::kFp64), 2 * 2000e6 * 16);

  // Zen 4 double-pumps AVX-512 on 256-bit units.
  PeakFlops zen4 = CpuPeakFlops(Cpu("AuthenticAMD", {"avx2", "fma", "avx512f", "avx512_bf16"}));
  EXPECT_DOUBLE_EQ(At(zen4.flops, Precision::kFp32), 2 * 2000e6 * 32);
  EXPECT_DOUBLE_EQ(At(zen4.flops, Precision::kBf16), 2 * 2000e6 * 64);

  PeakFlops spr =
      CpuPeakFlops(Cpu("GenuineIntel", {"avx512f", "avx512_bf16", "amx_bf16", "amx_int8"}));
  EXPECT_DOUBLE_EQ(At(spr.flops, Precision::kBf16), 2 * 2000e6 * 1024);
  EXPECT_DOUBLE_EQ(At(spr.flops, Precision::kInt8), 2 * 2000e6 * 2048);

  PeakFlops sse = CpuPeakFlops(Cpu("GenuineIntel", {"sse2"}));
  EXPECT_DOUBLE_EQ(At(sse.flops, Precision::kFp32), 2 * 2000e6 * 8);
}

TEST(CpuPeakFlopsTest, UnknownCoresOrClockGiveNone) {
  EXPECT_EQ(CpuPeakFlops(Cpu("GenuineIntel", {"avx2", "fma"}, 0)).method, PeakFlopsMethod::kNone);
  EXPECT_EQ(CpuPeakFlops(Cpu("GenuineIntel", {"avx2", "fma"}, 4, 0)).method,
            PeakFlopsMethod::kNone);
}

TEST(PeakFlopsTableTest, AddFlopsSumsPerPrecision) {
  FlopsByPrecision a{1, 2, 3, 4, 5, 6, 7};
  FlopsByPrecision sum = AddFlops(a, a);
  for (size_t i = 0; i < sum.size(); ++i) EXPECT_EQ(sum[i], 2 * a[i]);
}

// docs/flops-table.md is generated from the table; regenerate with
//   build/agent/zhisuan-agent --print-flops-table > docs/flops-table.md
TEST(FlopsTableDocTest, CheckedInDocMatchesTheTable) {
  const char* source_dir = std::getenv("ZHISUAN_SOURCE_DIR");
  ASSERT_NE(source_dir, nullptr);
  std::ifstream in(std::string(source_dir) + "/docs/flops-table.md");
  ASSERT_TRUE(in) << "docs/flops-table.md missing";
  std::stringstream doc;
  doc << in.rdbuf();
  const std::string rendered = RenderFlopsTableMarkdown(PeakFlopsTable::BuiltIn());
  EXPECT_EQ(doc.str(), rendered)
      << "docs/flops-table.md drifted: run zhisuan-agent --print-flops-table > docs/flops-table.md";
  EXPECT_NE(rendered.find("| 10de:2330 | H100-SXM5 | 67.0* | 67.0 | 494.7 | 989.4 |"),
            std::string::npos);
}

}  // namespace
}  // namespace zhisuan::agent
