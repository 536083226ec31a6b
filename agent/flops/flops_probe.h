#pragma once
// Measured FLOPS: a probe runs a compute-bound kernel on a device and reports what it achieved,
// so a node that is thermally throttled, power-capped or mis-clocked shows up as a low
// measured-to-peak ratio. Probes are heavy (they saturate the device for about half a second), so
// they run only at start-up and on request, never on the scrape path.

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "agent/device.h"
#include "common/status.h"

namespace zhisuan::agent {

struct FlopsMeasurement {
  std::string target;  // "cpu", or the accelerator's PCI bus id ("0000:17:00.0")
  std::string name;    // CPU model or the driver's device name, for humans
  Precision precision = Precision::kFp32;
  std::string kernel;  // "avx2-fma", "avx512-fma", "scalar-fma", "mma-m16n8k16-bf16"
  Status status;       // not OK: skipped (busy) or failed; flops is then 0
  double flops = 0;    // achieved operations per second
  double seconds = 0;  // how long the timed run lasted
  int threads = 0;     // CPU threads used; 0 for accelerators
  // The CPU's clock while the probe ran (median of per-thread samples); 0 where not measured.
  double clock_mhz = 0;
  // The stand-in library the figure came from ("fake_cuda"); empty when measured on hardware.
  std::string stand_in;

  // kSourceSimulated when a stand-in produced the figure, else kSourceHardware.
  std::string_view Source() const { return stand_in.empty() ? kSourceHardware : kSourceSimulated; }
};

// Why the probe must leave the device at a PCI bus id alone (busy, allocated to a pod, allocation
// unknown), or nullopt to probe it. The reason reaches the measurement's status ("skipped: ...").
using SkipDevicePredicate = std::function<std::optional<std::string>(std::string_view pci_bus_id)>;

class FlopsProbe {
 public:
  virtual ~FlopsProbe() = default;
  virtual std::string_view Name() const = 0;  // "cpu", "cuda"
  // One measurement per device the probe can drive. Unavailable when the probe cannot run at all
  // (no libcuda, no CUDA device).
  virtual StatusOr<std::vector<FlopsMeasurement>> Measure(const SkipDevicePredicate& skip) = 0;
};
using FlopsProbePtr = std::unique_ptr<FlopsProbe>;

// FP32 FMA chains in SIMD registers on `threads` threads (one per physical core) for `duration`.
// The kernel (AVX-512, AVX2+FMA or scalar) is chosen at run time from what the CPU supports.
FlopsProbePtr MakeCpuFmaProbe(int threads, std::chrono::milliseconds duration);
// The name of the kernel MakeCpuFmaProbe would pick on this CPU.
std::string_view SelectedCpuFmaKernel();

// bf16 tensor-core MMA (PTX mma.sync m16n8k16, sm_80+) on every CUDA device, loaded through the
// CUDA driver API from `libcuda_path` (dlopen; no CUDA toolkit needed), run for about `duration`.
FlopsProbePtr MakeCudaMmaProbe(std::string libcuda_path, std::chrono::milliseconds duration);
// The same probe on an already-resolved driver table (cuda_driver_api.h): tests inject a fake.
struct CudaDriverApi;
FlopsProbePtr MakeCudaMmaProbe(const CudaDriverApi& api, std::chrono::milliseconds duration);

// The PTX the CUDA probe loads, exposed for tests and for `ptxas` checks.
std::string_view CudaMmaProbePtx();

}  // namespace zhisuan::agent
