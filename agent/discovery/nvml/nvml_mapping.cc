#include "agent/discovery/nvml/nvml_mapping.h"

#include <cstring>

namespace zhisuan::agent::nvml {

std::string_view ArchitectureName(nvmlDeviceArchitecture_t architecture) {
  switch (architecture) {
    case NVML_DEVICE_ARCH_KEPLER:
      return "kepler";
    case NVML_DEVICE_ARCH_MAXWELL:
      return "maxwell";
    case NVML_DEVICE_ARCH_PASCAL:
      return "pascal";
    case NVML_DEVICE_ARCH_VOLTA:
      return "volta";
    case NVML_DEVICE_ARCH_TURING:
      return "turing";
    case NVML_DEVICE_ARCH_AMPERE:
      return "ampere";
    case NVML_DEVICE_ARCH_ADA:
      return "ada";
    case NVML_DEVICE_ARCH_HOPPER:
      return "hopper";
    case NVML_DEVICE_ARCH_BLACKWELL:
      return "blackwell";
    default:
      return "";
  }
}

std::optional<int> CudaCoresPerSm(int major, int minor) {
  // From the CUDA C Programming Guide's "Arithmetic Instructions" table (FP32 lanes per SM).
  switch (major) {
    case 6:
      return minor == 0 ? 64 : 128;  // GP100 : GP10x
    case 7:
      return 64;  // Volta, Turing
    case 8:
      return minor == 0 ? 64 : 128;  // GA100 : GA10x, Ada (8.9)
    case 9:                          // Hopper
    case 10:                         // Blackwell
    case 12:
      return 128;
    default:
      return std::nullopt;
  }
}

std::optional<int> StreamingMultiprocessors(unsigned int cuda_cores, int major, int minor) {
  std::optional<int> per_sm = CudaCoresPerSm(major, minor);
  if (!per_sm || cuda_cores == 0) return std::nullopt;
  const unsigned int ratio = static_cast<unsigned int>(*per_sm);
  if (cuda_cores % ratio != 0) return std::nullopt;
  return static_cast<int>(cuda_cores / ratio);
}

std::string BoundedCString(const char* buffer, size_t size) {
  const void* nul = std::memchr(buffer, '\0', size);
  const size_t length =
      nul == nullptr ? size : static_cast<size_t>(static_cast<const char*>(nul) - buffer);
  return std::string(buffer, length);
}

std::optional<HealthEvent::Kind> HealthEventKind(unsigned long long event_type) {
  if (event_type & nvmlEventTypeXidCriticalError) return HealthEvent::Kind::kXid;
  if (event_type & nvmlEventTypeDoubleBitEccError) return HealthEvent::Kind::kEccDoubleBit;
  return std::nullopt;
}

}  // namespace zhisuan::agent::nvml
