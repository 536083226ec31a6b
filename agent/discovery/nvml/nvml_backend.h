#pragma once
// NVIDIA GPUs through NVML, loaded at run time from `library_path` (never linked).
//
// - A library that cannot be loaded, or lacks the entry points enumeration needs, makes Discover()
//   return Unavailable; the PCI scan still reports the GPUs.
// - Every other missing entry point (an older driver) leaves its reading absent.
// - NVML_ERROR_GPU_IS_LOST from any call queues one kDeviceLost event for that GPU.
// - Xid critical errors and double-bit ECC errors arrive through an NVML event set that
//   DrainHealthEvents() polls with a zero timeout.
//
// Units: NVML's mW, mJ and percent become W, J and a 0..1 ratio. compute_units is the SM count,
// derived from nvmlDeviceGetNumGpuCores (CUDA cores) and the compute capability, because NVML has
// no SM-count call; it stays 0 when the cores-per-SM ratio is unknown.

#include <string>

#include "agent/device.h"

namespace zhisuan::agent::nvml {

inline constexpr char kDefaultNvmlLibrary[] = "libnvidia-ml.so.1";

DiscoveryBackendPtr MakeNvmlBackend(std::string library_path);
// The same backend on an already-filled table (nvml_api.h), for tests: nothing is loaded.
struct NvmlApi;
DiscoveryBackendPtr MakeNvmlBackend(const NvmlApi& api);

}  // namespace zhisuan::agent::nvml
