#pragma once
// Peak FLOPS: what a device or CPU can do at best, per precision. One table keyed by PCI ids (and,
// where one id covers several products, the chip name) is the single source of truth
// (docs/flops-table.md is generated from it). A per-die formula covers only unknown parts of dies
// whose every product runs at the full per-unit rates; anything else gets no peak rather than a
// guess. Every answer says which method produced it.

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "agent/device.h"
#include "agent/flops/cpu_peak_flops.h"
#include "agent/sku/sku_names.h"

namespace zhisuan::agent {

// One SKU's dense (no sparsity) peak, from its datasheet. The product's name is not repeated here:
// agent/sku/sku_names.h owns the name for each PCI id and chip (every entry must have one there).
// An entry whose figures are all 0 recognises the part but knows no public figure: it stops the
// formula from guessing and yields method none.
struct PeakFlopsEntry {
  uint16_t pci_vendor_id = 0;
  uint16_t pci_device_id = 0;  // kAnyPciDevice: any device id of the vendor, matched by chip
  // Operations per second; int8 counts OPS. 0 where the part has no support or no public figure.
  // fp64 is the FP64 tensor/matrix figure where the part has one (see fp64_is_tensor).
  FlopsByPrecision flops{};
  bool fp64_is_tensor = false;
  bool verified = true;     // false: reported figure or PCI id not confirmed against a datasheet
  std::string_view source;  // datasheet name, or where the figure comes from
  // Empty: the PCI ids alone select the entry. Else the chip name that tells apart parts sharing
  // the ids ("910B3"), compared with ChipNameMatches (agent/sku/sku_names.h).
  std::string_view chip = {};
};

// A measured/peak ratio above this marks the peak as suspect: a probe cannot beat a true peak by
// more than clock and rounding noise, so the peak (or the table entry it came from) is wrong.
inline constexpr double kSuspectPeakRatio = 1.05;

enum class PeakFlopsMethod { kTable, kFormula, kNone };
// "table", "formula", "none": the `method` label of zhisuan_device_peak_flops.
std::string_view PeakFlopsMethodName(PeakFlopsMethod method);

struct PeakFlops {
  FlopsByPrecision flops{};
  PeakFlopsMethod method = PeakFlopsMethod::kNone;
  std::string source;  // datasheet, or the formula with its inputs
};

// FLOPs per clock per compute unit (SM, CU) for one die; 0 where it has no support or no
// confirmed rate. A row exists only for dies whose every product runs at these full per-unit rates
// and whose datasheets quote every peak (tensor included) at the maximum clock, so that
// units x rate x max clock reproduces the datasheet; see docs/flops-table.md for the checks.
struct ArchitectureRates {
  std::string_view architecture;  // Accelerator::architecture spelling: "ampere", "cdna3", ...
  std::string_view die;           // "GA100": the die whose PCI id range follows
  uint16_t pci_vendor_id = 0;
  uint16_t first_pci_device_id = 0;  // inclusive range of the die's device ids
  uint16_t last_pci_device_id = 0;
  std::string_view unit;  // "SM", "CU"
  FlopsByPrecision flops_per_clock_per_unit{};
  std::string_view note;  // the datasheet parts the formula was checked against
};

class PeakFlopsTable {
 public:
  explicit PeakFlopsTable(std::vector<PeakFlopsEntry> entries,
                          std::vector<ArchitectureRates> architectures);
  // The built-in table, from ../shared/reference/accelerators.md and the datasheets it names.
  static const PeakFlopsTable& BuiltIn();

  // The entry whose chip matches `chip` (a reported chip or product name), else the entry for the
  // ids with no chip; nullptr when neither.
  const PeakFlopsEntry* Find(uint16_t pci_vendor_id, uint16_t pci_device_id,
                             std::string_view chip = {}) const;
  // The formula row for the architecture whose die's PCI id range holds the ids; nullptr when
  // none does (cut-down dies such as GA10x and AD10x, and all of Hopper, have none).
  const ArchitectureRates* FindArchitecture(std::string_view architecture, uint16_t pci_vendor_id,
                                            uint16_t pci_device_id) const;
  std::span<const PeakFlopsEntry> entries() const { return entries_; }
  std::span<const ArchitectureRates> architectures() const { return architectures_; }

  // The table entry for the part's PCI ids and chip name (vendor_product_name, else product), if
  // it has figures; else units x FLOPs/clock/unit x max clock where a formula row covers the part
  // and the table does not; else all zeros with method kNone: no peak rather than a guess.
  PeakFlops ForAccelerator(const Accelerator& accelerator) const;
  // The same for a chip name given explicitly (DCMI's "910B3"), whatever the accelerator carries.
  PeakFlops ForAccelerator(const Accelerator& accelerator, std::string_view chip) const;

 private:
  std::vector<PeakFlopsEntry> entries_;
  std::vector<ArchitectureRates> architectures_;
};

// True when a measurement beats the peak by more than kSuspectPeakRatio; false without a peak.
bool PeakLooksSuspect(double measured_flops, double peak_flops);

// Element-wise sum.
FlopsByPrecision AddFlops(const FlopsByPrecision& a, const FlopsByPrecision& b);

// docs/flops-table.md, generated from `table` (a unit test fails when the checked-in doc drifts).
std::string RenderFlopsTableMarkdown(const PeakFlopsTable& table);

}  // namespace zhisuan::agent
