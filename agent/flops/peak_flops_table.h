#pragma once
// Peak FLOPS: what a device or CPU can do at best, per precision. One table keyed by PCI ids is the
// single source of truth (docs/flops-table.md is generated from it); a per-architecture formula
// covers parts the table lacks, and every answer says which method produced it.

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "agent/device.h"

namespace zhisuan::agent {

// One SKU's dense (no sparsity) peak, from its datasheet. The product's name is not repeated here:
// agent/sku/sku_names.h owns the name for each PCI id (every entry must have one there).
struct PeakFlopsEntry {
  uint16_t pci_vendor_id = 0;
  uint16_t pci_device_id = 0;
  // Operations per second; int8 counts OPS. 0 where the part has no support or no public figure.
  // fp64 is the FP64 tensor/matrix figure where the part has one (see fp64_is_tensor).
  FlopsByPrecision flops{};
  bool fp64_is_tensor = false;
  bool verified = true;     // false: reported figure or PCI id not confirmed against a datasheet
  std::string_view source;  // datasheet name
};

enum class PeakFlopsMethod { kTable, kFormula, kNone };
// "table", "formula", "none": the `method` label of zhisuan_device_peak_flops.
std::string_view PeakFlopsMethodName(PeakFlopsMethod method);

struct PeakFlops {
  FlopsByPrecision flops{};
  PeakFlopsMethod method = PeakFlopsMethod::kNone;
  std::string source;  // datasheet, or the formula with its inputs
};

// FLOPs per clock per compute unit (SM, CU) for one architecture; 0 where it has no support.
struct ArchitectureRates {
  std::string_view architecture;  // Accelerator::architecture spelling: "hopper", "ampere", ...
  std::string_view unit;          // "SM", "CU"
  FlopsByPrecision flops_per_clock_per_unit{};
  std::string_view note;
};

class PeakFlopsTable {
 public:
  explicit PeakFlopsTable(std::vector<PeakFlopsEntry> entries,
                          std::vector<ArchitectureRates> architectures);
  // The built-in table, from ../shared/reference/accelerators.md and the datasheets it names.
  static const PeakFlopsTable& BuiltIn();

  const PeakFlopsEntry* Find(uint16_t pci_vendor_id, uint16_t pci_device_id) const;
  const ArchitectureRates* FindArchitecture(std::string_view architecture) const;
  std::span<const PeakFlopsEntry> entries() const { return entries_; }
  std::span<const ArchitectureRates> architectures() const { return architectures_; }

  // The table entry for the part's PCI ids, else units x FLOPs/clock/unit x max clock for its
  // architecture, else all zeros with method kNone.
  PeakFlops ForAccelerator(const Accelerator& accelerator) const;

 private:
  std::vector<PeakFlopsEntry> entries_;
  std::vector<ArchitectureRates> architectures_;
};

// FLOPs per cycle per physical core the CPU's ISA allows, per precision. Assumes two FMA units
// per core for Intel AVX-512 (Gold/Platinum; Silver/Bronze parts have one and will measure ~50%),
// and 256-bit datapaths for AMD/Hygon AVX-512 (Zen 4 double-pumps), so the figure errs low.
FlopsByPrecision CpuFlopsPerCyclePerCore(const CpuInfo& cpu);

// cores x max clock x FLOPs/cycle/core. Zero when cores or clock are unknown.
PeakFlops CpuPeakFlops(const CpuInfo& cpu);

// Element-wise sum.
FlopsByPrecision AddFlops(const FlopsByPrecision& a, const FlopsByPrecision& b);

// docs/flops-table.md, generated from `table` (a unit test fails when the checked-in doc drifts).
std::string RenderFlopsTableMarkdown(const PeakFlopsTable& table);

}  // namespace zhisuan::agent
