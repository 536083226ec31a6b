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

std::vector<PeakFlopsEntry> BuiltInEntries() {
  // NVIDIA quotes sparse figures first; everything here is the dense half.
  const FlopsByPrecision h100_sxm = Tflops(67, 67, 494.7, 989.4, 989.4, 1978.9, 1978.9);
  const FlopsByPrecision a100 = Tflops(19.5, 19.5, 156, 312, 312, 0, 624);
  return {
      {0x10de, 0x2330, h100_sxm, true, true, "NVIDIA H100 Tensor Core GPU datasheet (SXM5)"},
      {0x10de, 0x2331, Tflops(51.2, 51.2, 378, 756, 756, 1513, 1513), true, true,
       "NVIDIA H100 Tensor Core GPU datasheet (PCIe)"},
      // H200 has H100 SXM5's compute with more, faster memory.
      {0x10de, 0x2335, h100_sxm, true, true, "NVIDIA H200 Tensor Core GPU datasheet"},
      // No public datasheet; figures as reported by the trade press. No FP64 tensor path.
      {0x10de, 0x2329, Tflops(1, 44, 74, 148, 148, 296, 296), false, false,
       "reported (no public NVIDIA datasheet)"},
      {0x10de, 0x20b0, a100, true, true, "NVIDIA A100 Tensor Core GPU datasheet"},
      {0x10de, 0x20b2, a100, true, true, "NVIDIA A100 Tensor Core GPU datasheet"},
      {0x10de, 0x20b5, a100, true, true, "NVIDIA A100 Tensor Core GPU datasheet"},
      // Ada has no FP64 tensor path: FP64 runs at 1/64 of FP32.
      {0x10de, 0x26b9, Tflops(1.4, 91.6, 183, 362, 362, 733, 733), false, true,
       "NVIDIA L40S datasheet"},
      {0x1002, 0x74a1, Tflops(163.4, 163.4, 653.7, 1307.4, 1307.4, 2614.9, 2614.9), true, true,
       "AMD Instinct MI300X data sheet"},
      // pci.ids has no Ascend entries: d801/d802 are the ids the driver binds, unverified.
      {0x19e5, 0xd801, Tflops(0, 0, 0, 0, 256, 0, 512), false, false,
       "Huawei Ascend 910 product brief (PCI id unverified)"},
      {0x19e5, 0xd802, Tflops(0, 0, 0, 320, 320, 0, 0), false, false,
       "reported (~320 TFLOPS fp16/bf16; figure and PCI id unverified)"},
  };
}

std::vector<ArchitectureRates> BuiltInArchitectures() {
  // FLOPs per clock per unit; fp64 is the tensor/matrix rate where one exists. No int8 column:
  // the reference gives none, so the formula reports 0 rather than guess.
  return {
      {"hopper",
       "SM",
       {256, 256, 2048, 4096, 4096, 8192, 0},
       "tensor peaks quoted at a lower clock"},
      {"ampere", "SM", {128, 128, 1024, 2048, 2048, 0, 0}, "GA100 rates; GA10x parts are lower"},
      {"ada", "SM", {0, 256, 512, 1024, 1024, 2048, 0}, "no FP64 tensor path"},
      {"cdna3", "CU", {256, 256, 1024, 2048, 2048, 4096, 0}, "matrix-core rates"},
  };
}

bool HasFlag(const CpuInfo& cpu, std::string_view flag) {
  return std::find(cpu.isa_flags.begin(), cpu.isa_flags.end(), flag) != cpu.isa_flags.end();
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

const PeakFlopsEntry* PeakFlopsTable::Find(uint16_t pci_vendor_id, uint16_t pci_device_id) const {
  for (const auto& entry : entries_) {
    if (entry.pci_vendor_id == pci_vendor_id && entry.pci_device_id == pci_device_id) {
      return &entry;
    }
  }
  return nullptr;
}

const ArchitectureRates* PeakFlopsTable::FindArchitecture(std::string_view architecture) const {
  for (const auto& rates : architectures_) {
    if (rates.architecture == architecture) return &rates;
  }
  return nullptr;
}

PeakFlops PeakFlopsTable::ForAccelerator(const Accelerator& accelerator) const {
  PeakFlops peak;
  if (const PeakFlopsEntry* entry = Find(accelerator.pci_vendor_id, accelerator.pci_device_id)) {
    peak.flops = entry->flops;
    peak.method = PeakFlopsMethod::kTable;
    peak.source = std::string(entry->source);
    return peak;
  }
  const ArchitectureRates* rates = FindArchitecture(accelerator.architecture);
  if (rates == nullptr || accelerator.compute_units <= 0 || accelerator.max_clock_mhz <= 0) {
    return peak;
  }
  // The maximum clock overstates tensor peaks (vendors quote those at a lower clock); the table
  // is preferred for exactly that reason.
  const double per_clock = accelerator.compute_units * accelerator.max_clock_mhz * 1e6;
  for (size_t i = 0; i < peak.flops.size(); ++i) {
    peak.flops[i] = per_clock * rates->flops_per_clock_per_unit[i];
  }
  peak.method = PeakFlopsMethod::kFormula;
  peak.source = StrCat("formula: ", accelerator.compute_units, " ", rates->unit, " x ",
                       accelerator.max_clock_mhz, " MHz x ", rates->architecture, " rates");
  return peak;
}

FlopsByPrecision CpuFlopsPerCyclePerCore(const CpuInfo& cpu) {
  FlopsByPrecision rates{};
  const bool amd_like = cpu.vendor_id == "AuthenticAMD" || cpu.vendor_id == "HygonGenuine";
  double fp32 = 8;  // SSE: one 4-wide add and one 4-wide multiply per cycle
  if (HasFlag(cpu, "avx512f")) {
    fp32 = amd_like ? 32 : 64;  // 2 x 512-bit FMA; AMD Zen 4 executes them as 2 x 256-bit
  } else if (HasFlag(cpu, "avx2") && HasFlag(cpu, "fma")) {
    fp32 = 32;  // 2 x 256-bit FMA
  } else if (HasFlag(cpu, "avx")) {
    fp32 = 16;  // 8-wide add + 8-wide multiply
  }
  rates[static_cast<size_t>(Precision::kFp64)] = fp32 / 2;
  rates[static_cast<size_t>(Precision::kFp32)] = fp32;
  // bf16 counts only native instructions. AMX tiles: 1024 bf16 / 2048 int8 ops per cycle per core
  // (Intel's Sapphire Rapids figure); AVX512_BF16 dot products: twice the FP32 FMA rate.
  double bf16 = 0;
  if (HasFlag(cpu, "amx_bf16")) {
    bf16 = 1024;
  } else if (HasFlag(cpu, "avx512_bf16")) {
    bf16 = fp32 * 2;
  }
  rates[static_cast<size_t>(Precision::kBf16)] = bf16;
  double int8 = 0;
  if (HasFlag(cpu, "amx_int8")) {
    int8 = 2048;
  } else if (HasFlag(cpu, "avx512_vnni") || HasFlag(cpu, "avx_vnni")) {
    int8 = fp32 * 4;  // VPDPBUSD: four 8-bit multiply-adds per 32-bit lane
  }
  rates[static_cast<size_t>(Precision::kInt8)] = int8;
  return rates;
}

PeakFlops CpuPeakFlops(const CpuInfo& cpu) {
  PeakFlops peak;
  if (cpu.physical_cores <= 0 || cpu.max_mhz <= 0) return peak;
  const FlopsByPrecision per_cycle = CpuFlopsPerCyclePerCore(cpu);
  const double cycles_per_second = cpu.physical_cores * cpu.max_mhz * 1e6;
  for (size_t i = 0; i < peak.flops.size(); ++i) {
    peak.flops[i] = per_cycle[i] * cycles_per_second;
  }
  peak.method = PeakFlopsMethod::kFormula;
  peak.source = StrCat("formula: ", cpu.physical_cores, " cores x ", cpu.max_mhz, " MHz x ",
                       per_cycle[static_cast<size_t>(Precision::kFp32)], " fp32 FLOPs/cycle");
  return peak;
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
      "fp64 marked `*` is the FP64 tensor/matrix figure. Entries marked unverified carry a\n"
      "reported figure or an unconfirmed PCI id.\n\n"
      "| PCI id | product | fp64 | fp32 | tf32 | bf16 | fp16 | fp8 | int8 | verified | source |\n"
      "|---|---|---|---|---|---|---|---|---|---|---|\n";
  char id[16];
  for (const auto& entry : table.entries()) {
    std::snprintf(id, sizeof id, "%04x:%04x", entry.pci_vendor_id, entry.pci_device_id);
    out += StrCat("| ", id, " | ", ProductNameOrFallback(entry.pci_vendor_id, entry.pci_device_id),
                  " |");
    for (size_t i = 0; i < entry.flops.size(); ++i) {
      std::string cell = FormatTflops(entry.flops[i]);
      if (i == static_cast<size_t>(Precision::kFp64) && entry.fp64_is_tensor) cell += "*";
      out += StrCat(" ", cell, " |");
    }
    out += StrCat(" ", entry.verified ? "yes" : "unverified", " | ", entry.source, " |\n");
  }
  out +=
      "\n## Formula fallback for unknown parts\n\n"
      "peak = units x FLOPs per clock per unit x maximum clock. The maximum clock overstates\n"
      "tensor peaks, which vendors quote at a lower clock, so the table above wins when it has\n"
      "the part.\n\n"
      "| architecture | unit | fp64 | fp32 | tf32 | bf16 | fp16 | fp8 | int8 | note |\n"
      "|---|---|---|---|---|---|---|---|---|---|\n";
  for (const auto& rates : table.architectures()) {
    out += StrCat("| ", rates.architecture, " | ", rates.unit, " |");
    for (double value : rates.flops_per_clock_per_unit) {
      out += value > 0 ? StrCat(" ", static_cast<int64_t>(value), " |") : std::string(" — |");
    }
    out += StrCat(" ", rates.note, " |\n");
  }
  out +=
      "\n## CPU\n\n"
      "peak = physical cores x maximum clock x FLOPs per cycle per core, from the ISA flags:\n\n"
      "| ISA | fp32 FLOPs/cycle/core | fp64 |\n"
      "|---|---|---|\n"
      "| avx512f, Intel (2 FMA units assumed) | 64 | 32 |\n"
      "| avx512f, AMD/Hygon (256-bit datapath) | 32 | 16 |\n"
      "| avx2 + fma | 32 | 16 |\n"
      "| avx | 16 | 8 |\n"
      "| SSE only | 8 | 4 |\n\n"
      "bf16 counts native instructions only: amx_bf16 1024/cycle/core, else avx512_bf16 at twice\n"
      "the fp32 rate, else 0. int8: amx_int8 2048, else avx512_vnni/avx_vnni at four times the\n"
      "fp32 rate, else 0.\n";
  return out;
}

}  // namespace zhisuan::agent
