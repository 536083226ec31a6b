#include "agent/flops/peak_flops_table.h"

#include <algorithm>
#include <cstdio>

#include "agent/sku/sku_names.h"
#include "common/strings.h"

namespace zhisuan::agent {
namespace {

constexpr double kTera = 1e12;

// Figures in TFLOPS (TOPS for int8), dense, in kAllPrecisions order:
// fp64, fp32, tf32, bf16, fp16, fp8, int8.
constexpr FlopsByPrecision Tflops(double fp64, double fp32, double tf32, double bf16, double fp16,
                                  double fp8, double int8) {
  return {fp64 * kTera, fp32 * kTera, tf32 * kTera, bf16 * kTera,
          fp16 * kTera, fp8 * kTera,  int8 * kTera};
}

// A part the table recognises but has no public figure for: method none, never a formula guess.
constexpr FlopsByPrecision kNoFigure{};

std::vector<PeakFlopsEntry> BuiltInEntries() {
  // NVIDIA and AMD quote sparse figures first; everything here is the dense half. Tensor figures
  // are the datasheet's, which NVIDIA quotes at the boost clock, not the maximum SM clock.
  const FlopsByPrecision h100_sxm = Tflops(67, 67, 494.7, 989.4, 989.4, 1978.9, 1978.9);
  // H100 NVL and H200 NVL, per GPU (the datasheets' per-GPU revision).
  const FlopsByPrecision hopper_nvl = Tflops(60, 60, 417.5, 835.5, 835.5, 1670.5, 1670.5);
  const FlopsByPrecision a100 = Tflops(19.5, 19.5, 156, 312, 312, 0, 624);
  const FlopsByPrecision mi300x = Tflops(163.4, 163.4, 653.7, 1307.4, 1307.4, 2614.9, 2614.9);
  return {
      // NVIDIA Hopper.
      {0x10de, 0x2330, h100_sxm, true, true, "NVIDIA H100 Tensor Core GPU datasheet (SXM5)"},
      {0x10de, 0x2331, Tflops(51.2, 51.2, 378, 756, 756, 1513, 1513), true, true,
       "NVIDIA H100 Tensor Core GPU datasheet (PCIe)"},
      {0x10de, 0x2321, hopper_nvl, true, true,
       "NVIDIA H100 Tensor Core GPU datasheet (H100 NVL, per GPU)"},
      // H200 has H100 SXM5's compute with more, faster memory.
      {0x10de, 0x2335, h100_sxm, true, true, "NVIDIA H200 Tensor Core GPU datasheet"},
      {0x10de, 0x233b, hopper_nvl, true, false,
       "NVIDIA H200 Tensor Core GPU datasheet (H200 NVL, per GPU); PCI id 233b unconfirmed"},
      // H800: H100's tensor rates, FP64 (vector and tensor) cut to ~1 TFLOPS.
      {0x10de, 0x2324, Tflops(1, 67, 494.7, 989.4, 989.4, 1978.9, 1978.9), true, true,
       "NVIDIA H800 Tensor Core GPU datasheet (SXM5)"},
      {0x10de, 0x2322, Tflops(0.8, 51, 378, 756, 756, 1513, 1513), true, true,
       "NVIDIA H800 Tensor Core GPU datasheet (PCIe)"},
      // No public datasheet; figures as reported by the trade press. No FP64 tensor path.
      {0x10de, 0x2329, Tflops(1, 44, 74, 148, 148, 296, 296), false, false,
       "reported (no public NVIDIA datasheet)"},
      // NVIDIA Ampere (GA100): every part below runs GA100's full per-SM rates.
      {0x10de, 0x20b0, a100, true, true, "NVIDIA A100 Tensor Core GPU datasheet"},
      {0x10de, 0x20b2, a100, true, true, "NVIDIA A100 Tensor Core GPU datasheet"},
      {0x10de, 0x20b5, a100, true, true, "NVIDIA A100 Tensor Core GPU datasheet"},
      {0x10de, 0x20f1, a100, true, true, "NVIDIA A100 Tensor Core GPU datasheet (PCIe 40GB)"},
      // A800: A100's compute with NVLink cut to 400 GB/s.
      {0x10de, 0x20f3, a100, true, false,
       "NVIDIA A800 Tensor Core GPU datasheet (SXM4 80GB); PCI id 20f3 unconfirmed"},
      {0x10de, 0x20f5, a100, true, false,
       "NVIDIA A800 Tensor Core GPU datasheet (PCIe 80GB); PCI id 20f5 unconfirmed"},
      {0x10de, 0x20b7, Tflops(10.3, 10.3, 82, 165, 165, 0, 330), true, true,
       "NVIDIA A30 Tensor Core GPU datasheet"},
      // NVIDIA Ada: no FP64 tensor path, and no FP64 figure on the datasheets below.
      {0x10de, 0x26b9, Tflops(1.4, 91.6, 183, 362, 362, 733, 733), false, true,
       "NVIDIA L40S datasheet"},
      {0x10de, 0x26b5, Tflops(0, 90.5, 90.5, 181.05, 181.05, 362, 362), false, true,
       "NVIDIA L40 datasheet"},
      {0x10de, 0x26ba, Tflops(0, 59.8, 59.8, 119.5, 119.5, 239, 239), false, false,
       "NVIDIA L20 product brief as reported (not checked against a public datasheet)"},
      {0x10de, 0x27b8, Tflops(0, 30.3, 60, 121, 121, 242.5, 242.5), false, true,
       "NVIDIA L4 Tensor Core GPU datasheet"},
      // AMD Instinct. fp32 is the matrix-core figure where it beats the vector one.
      {0x1002, 0x74a1, mi300x, true, true, "AMD Instinct MI300X data sheet"},
      {0x1002, 0x74a5, mi300x, true, true,
       "AMD Instinct MI325X data sheet (PCI id from AMD's driver device table)"},
      {0x1002, 0x74a2, kNoFigure, false, false,
       "recognised only: export part, no public AMD peak figures (id from AMD's driver table)"},
      {0x1002, 0x74a8, kNoFigure, false, false,
       "recognised only: export part, no public AMD peak figures (id from AMD's driver table)"},
      {0x1002, 0x740f, Tflops(45.3, 45.3, 0, 181, 181, 0, 181), true, true,
       "AMD Instinct MI210 data sheet"},
      // One MI250X package is two GCDs, each its own device: half the data-sheet figures.
      {0x1002, 0x740c, Tflops(47.85, 47.85, 0, 191.5, 191.5, 0, 191.5), true, true,
       "AMD Instinct MI250X data sheet, per GCD (half the package)", "MI250X"},
      // Huawei Ascend: the PCI ids come from Huawei's log-collection scripts, not pci.ids, so no
      // Ascend entry is verified. 910B variants and 310P variants are told apart by chip name.
      {0x19e5, 0xd801, Tflops(0, 0, 0, 0, 256, 0, 512), false, false,
       "Huawei Ascend 910 product brief (PCI id unverified)"},
      {0x19e5, 0xd802, kNoFigure, false, false,
       "recognised only: 910B1-910B4 share this id and differ in peak; needs DCMI's chip name"},
      {0x19e5, 0xd802, kNoFigure, false, false, "recognised only: no public figure for the 910B1",
       "910B1"},
      {0x19e5, 0xd802, Tflops(0, 0, 0, 376, 376, 0, 0), false, false,
       "reported (no public Huawei datasheet per 910B variant)", "910B2"},
      {0x19e5, 0xd802, Tflops(0, 0, 0, 313, 313, 0, 0), false, false,
       "reported (no public Huawei datasheet per 910B variant)", "910B3"},
      {0x19e5, 0xd802, Tflops(0, 0, 0, 280, 280, 0, 0), false, false,
       "reported (no public Huawei datasheet per 910B variant)", "910B4"},
      {0x19e5, 0xd803, kNoFigure, false, false,
       "recognised only: dual-die part, no public per-device figure"},
      {0x19e5, 0xd500, kNoFigure, false, false,
       "recognised only: 310P variants differ in peak; needs DCMI's chip name"},
      {0x19e5, 0xd500, Tflops(0, 0, 0, 0, 70, 0, 140), false, false,
       "Huawei Atlas 300I Pro datasheet (one 310P3 chip)", "310P3"},
      // Cambricon, Hygon, Kunlunxin: device ids unconfirmed, so matched by product name.
      {0xcabc, kAnyPciDevice, Tflops(0, 24, 0, 96, 96, 0, 256), false, false,
       "Cambricon MLU370-X4 product page; PCI device id unconfirmed", "MLU370-X4"},
      {0xcabc, kAnyPciDevice, Tflops(0, 18, 0, 72, 72, 0, 192), false, false,
       "Cambricon MLU370-S4 product page; PCI device id unconfirmed", "MLU370-S4"},
      {0xcabc, kAnyPciDevice, kNoFigure, false, false,
       "recognised only: dual-chip card, no public per-chip figure", "MLU370-X8"},
      {0xcabc, kAnyPciDevice, kNoFigure, false, false,
       "recognised only: no public datasheet figure", "MLU590"},
      {0x1d94, kAnyPciDevice, kNoFigure, false, false,
       "recognised only: no public datasheet figure", "K100_AI"},
      {0x1d22, kAnyPciDevice, kNoFigure, false, false,
       "recognised only: no public datasheet figure", "P800"},
  };
}

std::vector<ArchitectureRates> BuiltInArchitectures() {
  // FLOPs per clock per unit; fp64 is the tensor/matrix rate, fp32 the matrix rate where it beats
  // the vector one. No int8 column: no guess where the reference gives none. Only dies whose
  // every product keeps the full per-unit rates and quotes its peaks at the maximum clock are
  // here. Not here, on purpose: Hopper (H20's tensor and H800's FP64 rates are cut on the same
  // die and SM count), GA10x and AD10x (per-SM tensor rates differ between products of one die,
  // L40 against L40S), and MI308X (an export part, listed in the table without figures).
  return {
      {"ampere",
       "GA100",
       0x10de,
       0x20b0,
       0x20bf,
       "SM",
       {128, 128, 1024, 2048, 2048, 0, 0},
       "A100 SXM4 (108 SM at 1410 MHz), A30 (56 SM at 1440 MHz)"},
      {"ampere",
       "GA100",
       0x10de,
       0x20f0,
       0x20ff,
       "SM",
       {128, 128, 1024, 2048, 2048, 0, 0},
       "A100 PCIe (108 SM at 1410 MHz)"},
      {"cdna2",
       "Aldebaran",
       0x1002,
       0x7408,
       0x740f,
       "CU",
       {256, 256, 0, 1024, 1024, 0, 0},
       "MI210 (104 CU at 1700 MHz), MI250X per GCD (110 CU at 1700 MHz)"},
      {"cdna3",
       "Aqua Vanjaram",
       0x1002,
       0x74a0,
       0x74af,
       "CU",
       {256, 256, 1024, 2048, 2048, 4096, 0},
       "MI300X (304 CU at 2100 MHz), MI300A (228 CU at 2100 MHz)"},
  };
}

std::string FormatTflops(double flops) {
  if (flops <= 0) return "—";
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.1f", flops / kTera);
  return buffer;
}

}  // namespace

std::string_view PeakFlopsMethodName(PeakFlopsMethod method) {
  switch (method) {
    case PeakFlopsMethod::kTable:
      return "table";
    case PeakFlopsMethod::kFormula:
      return "formula";
    case PeakFlopsMethod::kNone:
      break;
  }
  return "none";
}

PeakFlopsTable::PeakFlopsTable(std::vector<PeakFlopsEntry> entries,
                               std::vector<ArchitectureRates> architectures)
    : entries_(std::move(entries)), architectures_(std::move(architectures)) {}

const PeakFlopsTable& PeakFlopsTable::BuiltIn() {
  static const PeakFlopsTable table(BuiltInEntries(), BuiltInArchitectures());
  return table;
}

const PeakFlopsEntry* PeakFlopsTable::Find(uint16_t pci_vendor_id, uint16_t pci_device_id,
                                           std::string_view chip) const {
  if (!chip.empty()) {
    for (const auto& entry : entries_) {
      if (entry.pci_vendor_id == pci_vendor_id &&
          (entry.pci_device_id == pci_device_id || entry.pci_device_id == kAnyPciDevice) &&
          ChipNameMatches(entry.chip, chip)) {
        return &entry;
      }
    }
  }
  for (const auto& entry : entries_) {
    if (entry.pci_vendor_id == pci_vendor_id && entry.pci_device_id == pci_device_id &&
        entry.chip.empty()) {
      return &entry;
    }
  }
  return nullptr;
}

const ArchitectureRates* PeakFlopsTable::FindArchitecture(std::string_view architecture,
                                                          uint16_t pci_vendor_id,
                                                          uint16_t pci_device_id) const {
  for (const auto& rates : architectures_) {
    if (rates.architecture == architecture && rates.pci_vendor_id == pci_vendor_id &&
        pci_device_id >= rates.first_pci_device_id && pci_device_id <= rates.last_pci_device_id) {
      return &rates;
    }
  }
  return nullptr;
}

PeakFlops PeakFlopsTable::ForAccelerator(const Accelerator& accelerator) const {
  // DCMI reports the chip name ("Ascend 910B3") as the vendor product name; the canonical product
  // name ("Ascend910B3") carries it too once discovery keeps it there.
  return ForAccelerator(accelerator, accelerator.vendor_product_name.empty()
                                         ? std::string_view(accelerator.product)
                                         : std::string_view(accelerator.vendor_product_name));
}

PeakFlops PeakFlopsTable::ForAccelerator(const Accelerator& accelerator,
                                         std::string_view chip) const {
  PeakFlops peak;
  if (const PeakFlopsEntry* entry =
          Find(accelerator.pci_vendor_id, accelerator.pci_device_id, chip)) {
    // A recognised part without figures stays kNone: its rates are exactly what is unknown.
    peak.source = std::string(entry->source);
    if (std::any_of(entry->flops.begin(), entry->flops.end(), [](double v) { return v > 0; })) {
      peak.flops = entry->flops;
      peak.method = PeakFlopsMethod::kTable;
    }
    return peak;
  }
  const ArchitectureRates* rates = FindArchitecture(
      accelerator.architecture, accelerator.pci_vendor_id, accelerator.pci_device_id);
  if (rates == nullptr || accelerator.compute_units <= 0 || accelerator.max_clock_mhz <= 0) {
    return peak;
  }
  // Only dies whose datasheets quote every peak at the maximum clock have a row, so the maximum
  // clock is the tensor clock here.
  const double per_clock = accelerator.compute_units * accelerator.max_clock_mhz * 1e6;
  for (size_t i = 0; i < peak.flops.size(); ++i) {
    peak.flops[i] = per_clock * rates->flops_per_clock_per_unit[i];
  }
  peak.method = PeakFlopsMethod::kFormula;
  peak.source = StrCat("formula: ", accelerator.compute_units, " ", rates->unit, " x ",
                       accelerator.max_clock_mhz, " MHz x ", rates->die, " rates");
  return peak;
}

bool PeakLooksSuspect(double measured_flops, double peak_flops) {
  return peak_flops > 0 && measured_flops > kSuspectPeakRatio * peak_flops;
}

FlopsByPrecision AddFlops(const FlopsByPrecision& a, const FlopsByPrecision& b) {
  FlopsByPrecision sum{};
  for (size_t i = 0; i < sum.size(); ++i) sum[i] = a[i] + b[i];
  return sum;
}

std::string RenderFlopsTableMarkdown(const PeakFlopsTable& table) {
  std::string out =
      "# Peak FLOPS table\n\n"
      "Generated from `agent/flops/peak_flops_table.cc` by `zhisuan-agent --print-flops-table`;\n"
      "do not edit by hand (`agent_flops_test` FlopsTableDocTest fails when this file drifts).\n\n"
      "Dense peak (no sparsity), TFLOPS (int8: TOPS). `—`: no support or no public figure.\n"
      "fp64 marked `*` is the FP64 tensor/matrix figure; AMD's fp32 is the matrix-core FP32\n"
      "figure where it beats the vector one (MI210, MI250X). Entries marked unverified carry a\n"
      "reported figure or an unconfirmed PCI id. A chip name in brackets after the PCI id selects\n"
      "among parts that share the id (DCMI's chip name, the vendor's product name); `any` matches\n"
      "every device id of the vendor, by that name alone. A row with no figure at all recognises\n"
      "the part and publishes no peak (method `none`) rather than a guess.\n\n"
      "| PCI id | product | fp64 | fp32 | tf32 | bf16 | fp16 | fp8 | int8 | verified | source |\n"
      "|---|---|---|---|---|---|---|---|---|---|---|\n";
  char id[16];
  for (const auto& entry : table.entries()) {
    if (entry.pci_device_id == kAnyPciDevice) {
      std::snprintf(id, sizeof id, "%04x:any", entry.pci_vendor_id);
    } else {
      std::snprintf(id, sizeof id, "%04x:%04x", entry.pci_vendor_id, entry.pci_device_id);
    }
    std::string key = id;
    if (!entry.chip.empty()) key += StrCat(" (", entry.chip, ")");
    out +=
        StrCat("| ", key, " | ",
               ProductNameOrFallback(entry.pci_vendor_id, entry.pci_device_id, entry.chip), " |");
    for (size_t i = 0; i < entry.flops.size(); ++i) {
      std::string cell = FormatTflops(entry.flops[i]);
      if (i == static_cast<size_t>(Precision::kFp64) && entry.fp64_is_tensor && cell != "—") {
        cell += "*";
      }
      out += StrCat(" ", cell, " |");
    }
    out += StrCat(" ", entry.verified ? "yes" : "unverified", " | ", entry.source, " |\n");
  }
  out +=
      "\n## Formula fallback for unknown parts\n\n"
      "peak = units x FLOPs per clock per unit x maximum clock, for a part the table lacks, and\n"
      "only where a row below covers its architecture and PCI id. A row exists only for a die\n"
      "whose every product runs the full per-unit rates and whose datasheets quote every peak,\n"
      "tensor included, at the maximum clock; the note names the datasheet parts the formula\n"
      "reproduces (a unit test checks each). There is deliberately no row for Hopper (H20's\n"
      "tensor rate and H800's FP64 are cut on the full die with the full SM count, and tensor\n"
      "peaks are quoted below the maximum SM clock), for GA10x and AD10x (products of one die\n"
      "differ in per-SM tensor rate, L40 against L40S) or for export parts such as MI308X. Any\n"
      "other part publishes no peak (method `none`): a precision without a figure is left out of\n"
      "`zhisuan_device_peak_flops` and of the ComputeNode status, never reported as 0.\n\n"
      "| architecture | die | PCI ids | unit | fp64 | fp32 | tf32 | bf16 | fp16 | fp8 | int8 | "
      "checked against |\n"
      "|---|---|---|---|---|---|---|---|---|---|---|---|\n";
  char range[32];
  for (const auto& rates : table.architectures()) {
    std::snprintf(range, sizeof range, "%04x:%04x-%04x", rates.pci_vendor_id,
                  rates.first_pci_device_id, rates.last_pci_device_id);
    out +=
        StrCat("| ", rates.architecture, " | ", rates.die, " | ", range, " | ", rates.unit, " |");
    for (double value : rates.flops_per_clock_per_unit) {
      out += value > 0 ? StrCat(" ", static_cast<int64_t>(value), " |") : std::string(" — |");
    }
    out += StrCat(" ", rates.note, " |\n");
  }
  out +=
      "\n## CPU\n\n"
      "peak = physical cores x clock x FLOPs per cycle per core. The FLOPs per cycle\n"
      "belong to the core's microarchitecture, identified by /proc/cpuinfo's `vendor_id`,\n"
      "`cpu family` and `model` (Arm: `CPU implementer` and `CPU part`) and, where one\n"
      "die's products differ in FMA units, the model name; the first matching row wins.\n"
      "For each precision the first rate whose flag the OS exposes counts (a VM may hide\n"
      "AVX-512 or AMX). A CPU no row matches, or a row without rates, publishes no CPU\n"
      "peak (`zhisuan_node_peak_flops{kind=\"cpu\"}` absent).\n\n"
      "The clock is the all-core clock the CPU probe measured while it ran\n"
      "(`zhisuan_cpu_peak_clock_hertz{source=\"measured\"}`): each probe thread times a\n"
      "chain of dependent integer adds (one per cycle on every core here) between its FMA\n"
      "batches, and the median of those samples is the clock. Until a probe has run, the\n"
      "nominal clock (cpufreq's maximum, else cpuinfo's `cpu MHz`) stands in, labelled\n"
      "`source=\"nominal\"`.\n\n";
  out += RenderCpuPeakTableMarkdown(BuiltInCpuMicroarchitectures());
  return out;
}

}  // namespace zhisuan::agent
