#include "agent/flops/peak_flops_table.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <initializer_list>
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
// ("nvidia-2330") next to a datasheet peak, so every entry must have a canonical name, and an
// entry keyed by chip name must have the product for that chip, not the one for the bare id.
TEST(PeakFlopsTableTest, EveryEntryIsAKnownProduct) {
  for (const auto& entry : PeakFlopsTable::BuiltIn().entries()) {
    const KnownProduct* product = FindProduct(entry.pci_vendor_id, entry.pci_device_id, entry.chip);
    ASSERT_NE(product, nullptr) << std::hex << entry.pci_vendor_id << ":" << entry.pci_device_id
                                << " " << entry.chip;
    EXPECT_EQ(product->chip.empty(), entry.chip.empty()) << product->name;
  }
}

Accelerator Named(uint16_t vendor, uint16_t device, std::string vendor_product_name,
                  std::string architecture = "", int units = 0, double clock_mhz = 0) {
  Accelerator a = Part(vendor, device, std::move(architecture), units, clock_mhz);
  a.vendor_product_name = std::move(vendor_product_name);
  return a;
}

// Issue 18: every part the review listed has its own entry (by PCI id, or by id and chip name),
// and a product name.
TEST(PeakFlopsTableTest, PartsDeployedInChineseCentresHaveEntriesAndNames) {
  struct Listed {
    uint16_t vendor;
    uint16_t device;
    std::string_view chip;
    std::string_view product;
  };
  for (const Listed& part : std::initializer_list<Listed>{
           {0x10de, 0x2324, "", "H800-SXM5"},
           {0x10de, 0x2322, "", "H800-PCIe"},
           {0x10de, 0x20f3, "", "A800-SXM4-80GB"},
           {0x10de, 0x20f5, "", "A800-PCIe-80GB"},
           {0x10de, 0x2329, "", "H20"},
           {0x10de, 0x26ba, "", "L20"},
           {0x10de, 0x26b5, "", "L40"},
           {0x10de, 0x27b8, "", "L4"},
           {0x10de, 0x20b7, "", "A30"},
           {0x10de, 0x2321, "", "H100-NVL"},
           {0x10de, 0x233b, "", "H200-NVL"},
           {0x10de, 0x20f1, "", "A100-PCIe"},
           {0x1002, 0x740f, "", "MI210"},
           {0x1002, 0x740c, "MI250X", "MI250X"},
           {0x1002, 0x74a2, "", "MI308X"},
           {0x1002, 0x74a5, "", "MI325X"},
           {0x19e5, 0xd802, "910B1", "Ascend910B1"},
           {0x19e5, 0xd802, "910B2", "Ascend910B2"},
           {0x19e5, 0xd802, "910B3", "Ascend910B3"},
           {0x19e5, 0xd802, "910B4", "Ascend910B4"},
           {0x19e5, 0xd803, "", "Ascend910C"},
           {0x19e5, 0xd500, "", "Ascend310P"},
           {0xcabc, 0x0370, "MLU370-X4", "MLU370-X4"},
           {0xcabc, 0x0590, "MLU590", "MLU590"},
           {0x1d94, 0x1234, "K100_AI", "K100-AI"},
           {0x1d22, 0x3688, "P800", "P800"},
       }) {
    const PeakFlopsEntry* entry =
        PeakFlopsTable::BuiltIn().Find(part.vendor, part.device, part.chip);
    ASSERT_NE(entry, nullptr) << part.product;
    EXPECT_EQ(entry->chip.empty(), part.chip.empty()) << part.product;
    EXPECT_EQ(CanonicalProductName(part.vendor, part.device, part.chip), part.product);
    EXPECT_FALSE(entry->source.empty()) << part.product;
  }
}

TEST(PeakFlopsTableTest, NewEntriesCarryDenseDatasheetFigures) {
  const PeakFlopsTable& table = PeakFlopsTable::BuiltIn();
  // H800: H100 SXM5's tensor rates, FP64 cut to 1 TFLOPS.
  PeakFlops h800 = table.ForAccelerator(Part(0x10de, 0x2324, "hopper", 132, 1980));
  EXPECT_EQ(h800.method, PeakFlopsMethod::kTable);
  EXPECT_DOUBLE_EQ(At(h800.flops, Precision::kFp64), 1e12);
  EXPECT_DOUBLE_EQ(At(h800.flops, Precision::kBf16), 989.4e12);
  EXPECT_TRUE(table.Find(0x10de, 0x2324)->verified);
  // A800 is A100's compute; its PCI id is not confirmed, so it is unverified.
  EXPECT_DOUBLE_EQ(At(table.ForAccelerator(Part(0x10de, 0x20f3)).flops, Precision::kBf16), 312e12);
  EXPECT_FALSE(table.Find(0x10de, 0x20f3)->verified);
  // L40 runs half L40S's tensor rate on the same die and SM count.
  EXPECT_DOUBLE_EQ(At(table.ForAccelerator(Part(0x10de, 0x26b5)).flops, Precision::kBf16),
                   181.05e12);
  EXPECT_DOUBLE_EQ(At(table.ForAccelerator(Part(0x10de, 0x26b5)).flops, Precision::kFp64), 0);
  EXPECT_DOUBLE_EQ(At(table.ForAccelerator(Part(0x10de, 0x27b8)).flops, Precision::kFp8), 242.5e12);
  EXPECT_DOUBLE_EQ(At(table.ForAccelerator(Part(0x10de, 0x20b7)).flops, Precision::kFp64), 10.3e12);
  // MI250X: per GCD, half the package's data-sheet figure.
  PeakFlops mi250x = table.ForAccelerator(Named(0x1002, 0x740c, "AMD Instinct MI250X"));
  EXPECT_EQ(mi250x.method, PeakFlopsMethod::kTable);
  EXPECT_DOUBLE_EQ(At(mi250x.flops, Precision::kBf16), 191.5e12);
  EXPECT_DOUBLE_EQ(At(mi250x.flops, Precision::kTf32), 0);  // CDNA2 has no TF32
  EXPECT_DOUBLE_EQ(At(table.ForAccelerator(Part(0x1002, 0x74a5)).flops, Precision::kFp8),
                   2614.9e12);
}

// The formula reproduces the datasheet for a part of each die it covers, so an unknown part of
// that die (a new memory size, a new form factor) gets the right figure.
TEST(PeakFlopsFormulaTest, ReproducesTheDatasheetForAPartOfEachDie) {
  const PeakFlopsTable& built_in = PeakFlopsTable::BuiltIn();
  const PeakFlopsTable formula_only(
      {}, {built_in.architectures().begin(), built_in.architectures().end()});
  struct Check {
    Accelerator part;
    FlopsByPrecision datasheet;
  };
  const FlopsByPrecision mi300a = {122.6e12, 122.6e12, 490.3e12, 980.6e12, 980.6e12, 1961.2e12, 0};
  for (const Check& check : std::initializer_list<Check>{
           {Part(0x10de, 0x20b2, "ampere", 108, 1410), built_in.Find(0x10de, 0x20b2)->flops},
           {Part(0x10de, 0x20f1, "ampere", 108, 1410), built_in.Find(0x10de, 0x20f1)->flops},
           {Part(0x10de, 0x20b7, "ampere", 56, 1440), built_in.Find(0x10de, 0x20b7)->flops},
           {Part(0x1002, 0x740f, "cdna2", 104, 1700), built_in.Find(0x1002, 0x740f)->flops},
           {Part(0x1002, 0x740c, "cdna2", 110, 1700),
            built_in.Find(0x1002, 0x740c, "MI250X")->flops},
           {Part(0x1002, 0x74a1, "cdna3", 304, 2100), built_in.Find(0x1002, 0x74a1)->flops},
           {Part(0x1002, 0x74a0, "cdna3", 228, 2100), mi300a},  // MI300A data sheet
       }) {
    PeakFlops peak = formula_only.ForAccelerator(check.part);
    ASSERT_EQ(peak.method, PeakFlopsMethod::kFormula) << check.part.pci_device_id;
    for (Precision precision : kAllPrecisions) {
      const double formula = At(peak.flops, precision);
      if (formula == 0) continue;  // no rate in the formula: no figure, never a guess
      EXPECT_NEAR(formula, At(check.datasheet, precision), 0.01 * At(check.datasheet, precision))
          << std::hex << check.part.pci_device_id << " " << PrecisionName(precision);
    }
  }
}

TEST(PeakFlopsFormulaTest, UnknownPartOfAFullRateDieUsesTheFormula) {
  // An unlisted GA100 part with A30's 56 SMs at 1440 MHz.
  PeakFlops peak =
      PeakFlopsTable::BuiltIn().ForAccelerator(Part(0x10de, 0x20fe, "ampere", 56, 1440));
  EXPECT_EQ(peak.method, PeakFlopsMethod::kFormula);
  EXPECT_NEAR(At(peak.flops, Precision::kBf16), 165e12, 0.5e12);
  EXPECT_NE(peak.source.find("56 SM"), std::string::npos);
  EXPECT_NE(peak.source.find("GA100"), std::string::npos);
  EXPECT_DOUBLE_EQ(At(peak.flops, Precision::kInt8), 0);  // no formula column: no guess

  // MI250 shares MI250X's PCI id; its name selects no table entry, and the formula gives its
  // data-sheet figure per GCD (362.1 / 2).
  PeakFlops mi250 = PeakFlopsTable::BuiltIn().ForAccelerator(
      Named(0x1002, 0x740c, "AMD Instinct MI250", "cdna2", 104, 1700));
  EXPECT_EQ(mi250.method, PeakFlopsMethod::kFormula);
  EXPECT_NEAR(At(mi250.flops, Precision::kFp16), 181.05e12, 0.2e12);

  PeakFlops cdna3 =
      PeakFlopsTable::BuiltIn().ForAccelerator(Part(0x1002, 0x74a9, "cdna3", 304, 2100));
  EXPECT_EQ(cdna3.method, PeakFlopsMethod::kFormula);
  EXPECT_NEAR(At(cdna3.flops, Precision::kBf16), 1307.4e12, 0.1e12);
  EXPECT_DOUBLE_EQ(At(cdna3.flops, Precision::kInt8), 0);
}

// Issue 18: a cut-down part keeps the full die's units but not its rates, so the formula would be
// 2x to 67x wrong. Such parts, and any part no formula row covers, publish no peak at all.
TEST(PeakFlopsFormulaTest, CutDownAndUncoveredPartsGetNoPeakRatherThanAGuess) {
  for (const Accelerator& part : {
           Part(0x10de, 0x2339, "hopper", 78, 1980),   // an unknown Hopper export SKU (H20-like)
           Part(0x10de, 0x2338, "hopper", 132, 1980),  // an unknown H800-like SKU: FP64 cut
           Part(0x10de, 0x2236, "ampere", 72, 1695),   // GA102 (A10): GA10x rates
           Part(0x10de, 0x2684, "ada", 128, 2520),     // AD102 (RTX 4090): AD10x rates
           Part(0x10de, 0x2882, "ada", 24, 2460),      // AD107
           Part(0x1002, 0x74a2, "cdna3", 80, 2100),    // MI308X: an export part, recognised
           Named(0x19e5, 0xd802, "Ascend910B", "davinci", 24, 1800),  // no chip name: which 910B?
       }) {
    PeakFlops peak = PeakFlopsTable::BuiltIn().ForAccelerator(part);
    EXPECT_EQ(peak.method, PeakFlopsMethod::kNone) << std::hex << part.pci_device_id;
    for (double value : peak.flops) EXPECT_EQ(value, 0) << std::hex << part.pci_device_id;
  }
  // A recognised part says why it has no peak.
  EXPECT_NE(PeakFlopsTable::BuiltIn()
                .ForAccelerator(Part(0x1002, 0x74a2, "cdna3", 80, 2100))
                .source.find("recognised"),
            std::string::npos);
}

// All Ascend 910B variants share 19e5:d802; DCMI's chip name tells them apart. Discovery reports
// it as the vendor product name ("Ascend 910B3"), or it can be passed explicitly.
TEST(PeakFlopsTableTest, AscendChipNameSelectsTheVariant) {
  const PeakFlopsTable& table = PeakFlopsTable::BuiltIn();
  PeakFlops b3 = table.ForAccelerator(Named(0x19e5, 0xd802, "Ascend 910B3"));
  EXPECT_EQ(b3.method, PeakFlopsMethod::kTable);
  EXPECT_DOUBLE_EQ(At(b3.flops, Precision::kFp16), 313e12);
  EXPECT_DOUBLE_EQ(At(table.ForAccelerator(Part(0x19e5, 0xd802), "910B4").flops, Precision::kBf16),
                   280e12);
  EXPECT_DOUBLE_EQ(At(table.ForAccelerator(Part(0x19e5, 0xd802), "910B2").flops, Precision::kBf16),
                   376e12);
  Accelerator canonical = Part(0x19e5, 0xd802);
  canonical.product = "Ascend910B4";  // the product name, once discovery keeps the chip in it
  EXPECT_DOUBLE_EQ(At(table.ForAccelerator(canonical).flops, Precision::kFp16), 280e12);
  // Recognised without a public figure: no peak.
  EXPECT_EQ(table.ForAccelerator(Part(0x19e5, 0xd802), "910B1").method, PeakFlopsMethod::kNone);
  EXPECT_EQ(table.ForAccelerator(Part(0x19e5, 0xd803), "Ascend910_9392").method,
            PeakFlopsMethod::kNone);
  // 310P3 by chip name; a 310P of unknown variant gets nothing.
  EXPECT_DOUBLE_EQ(At(table.ForAccelerator(Part(0x19e5, 0xd500), "310P3").flops, Precision::kInt8),
                   140e12);
  EXPECT_EQ(table.ForAccelerator(Part(0x19e5, 0xd500)).method, PeakFlopsMethod::kNone);
  for (const auto& entry : table.entries()) {
    if (entry.pci_vendor_id == 0x19e5) {
      EXPECT_FALSE(entry.verified) << entry.chip;
    }
  }
}

TEST(PeakFlopsTableTest, PartsWithUnconfirmedDeviceIdsAreFoundByName) {
  const PeakFlopsTable& table = PeakFlopsTable::BuiltIn();
  PeakFlops x4 = table.ForAccelerator(Named(0xcabc, 0x0370, "MLU370-X4"));
  EXPECT_EQ(x4.method, PeakFlopsMethod::kTable);
  EXPECT_DOUBLE_EQ(At(x4.flops, Precision::kInt8), 256e12);
  EXPECT_EQ(table.ForAccelerator(Named(0x1d22, 0x3688, "Kunlunxin P800")).method,
            PeakFlopsMethod::kNone);
  // Without a name nothing matches, and the PCI-id name stays the fallback.
  EXPECT_EQ(table.Find(0xcabc, 0x0370), nullptr);
  EXPECT_EQ(ProductNameOrFallback(0xcabc, 0x0370), "cambricon-0370");
  EXPECT_EQ(ProductNameOrFallback(0xcabc, 0x0370, "MLU370-X4"), "MLU370-X4");
}

TEST(SkuChipNameTest, MatchesTheEndOfTheReportedNameOnLettersAndDigits) {
  EXPECT_TRUE(ChipNameMatches("910B3", "910B3"));
  EXPECT_TRUE(ChipNameMatches("910B3", "Ascend 910B3"));
  EXPECT_TRUE(ChipNameMatches("910B3", "ascend910b3"));
  EXPECT_TRUE(ChipNameMatches("MI250X", "AMD Instinct MI250X"));
  EXPECT_TRUE(ChipNameMatches("K100_AI", "K100-AI"));
  EXPECT_FALSE(ChipNameMatches("910B3", "910B"));
  EXPECT_FALSE(ChipNameMatches("910B", "910B3"));
  EXPECT_FALSE(ChipNameMatches("MI250", "AMD Instinct MI250X"));
  EXPECT_FALSE(ChipNameMatches("", "910B3"));
  EXPECT_FALSE(ChipNameMatches("910B3", ""));
  EXPECT_EQ(CanonicalProductName(0x19e5, 0xd802, "Ascend 910B3"), "Ascend910B3");
  EXPECT_EQ(CanonicalProductName(0x19e5, 0xd802, "910B9"), "Ascend910B");  // unknown variant
  EXPECT_EQ(CanonicalProductName(0x19e5, 0xd802), "Ascend910B");
}

TEST(PeakFlopsTableTest, MeasurementsBeyondFivePercentOverPeakAreSuspect) {
  EXPECT_FALSE(PeakLooksSuspect(1.05e12, 1e12));
  EXPECT_TRUE(PeakLooksSuspect(1.06e12, 1e12));
  EXPECT_FALSE(PeakLooksSuspect(0.5e12, 1e12));
  EXPECT_FALSE(PeakLooksSuspect(1e12, 0));  // no peak: nothing to suspect
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
