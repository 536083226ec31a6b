#pragma once
// Pure translations from NVML's values to the agent's model, separated from the library calls so
// they can be tested (and fuzzed) in memory.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "agent/device.h"
#include "agent/discovery/nvml/nvml_abi.h"

namespace zhisuan::agent::nvml {

// NVML_DEVICE_ARCH_HOPPER -> "hopper"; "" for values this agent does not know.
std::string_view ArchitectureName(nvmlDeviceArchitecture_t architecture);

// CUDA cores per SM by compute capability, for deriving SMs from nvmlDeviceGetNumGpuCores (NVML
// has no SM count). nullopt for capabilities whose ratio is not known here.
std::optional<int> CudaCoresPerSm(int major, int minor);

// SMs from CUDA cores; nullopt when the ratio is unknown or the cores are not a whole number of SMs
// (then the caller records nothing rather than a wrong unit count).
std::optional<int> StreamingMultiprocessors(unsigned int cuda_cores, int major, int minor);

// A fixed-size C string buffer from NVML, read up to its first NUL and never past `size`
// (a library that forgets the terminator must not make us read out of bounds).
std::string BoundedCString(const char* buffer, size_t size);

// Which health event an NVML event becomes; nullopt for event types the agent does not watch.
std::optional<HealthEvent::Kind> HealthEventKind(unsigned long long event_type);

}  // namespace zhisuan::agent::nvml
