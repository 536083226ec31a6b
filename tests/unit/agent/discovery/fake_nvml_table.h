#pragma once
// An in-process NVML for unit tests, handed to MakeNvmlBackend as its API table (nvml_api.h): no
// library is loaded and no environment is read.

#include <cstdio>

#include "agent/discovery/nvml/nvml_api.h"

namespace zhisuan::agent::nvml::testing {

// The eight H100 SXM5 GPUs of the sysfs fixture h100-8x, with only the entries enumeration needs
// plus name, memory and architecture. State is static so the table can hold plain, capture-less
// functions.
struct FakeNvml {
  static inline nvmlReturn_t init_result = NVML_SUCCESS;
  static constexpr unsigned int kCount = 8;
  static constexpr unsigned int kBuses[kCount] = {0x18, 0x2a, 0x3a, 0x5d, 0x9a, 0xab, 0xba, 0xdb};

  // A device handle is the address of its index in this array.
  static inline unsigned int indices[kCount] = {0, 1, 2, 3, 4, 5, 6, 7};
  static unsigned int IndexOf(nvmlDevice_t device) {
    return *reinterpret_cast<unsigned int*>(device);
  }

  static NvmlApi Api() {
    NvmlApi api;
    api.init = [] { return init_result; };
    api.shutdown = [] { return NVML_SUCCESS; };
    api.error_string = [](nvmlReturn_t) { return "fake NVML error"; };
    api.device_count = [](unsigned int* count) {
      *count = kCount;
      return NVML_SUCCESS;
    };
    api.handle_by_index = [](unsigned int index, nvmlDevice_t* device) {
      if (index >= kCount) return NVML_ERROR_INVALID_ARGUMENT;
      *device = reinterpret_cast<nvmlDevice_t>(&indices[index]);
      return NVML_SUCCESS;
    };
    api.uuid = [](nvmlDevice_t device, char* uuid, unsigned int length) {
      std::snprintf(uuid, length, "GPU-fake-%u", IndexOf(device));
      return NVML_SUCCESS;
    };
    api.name = [](nvmlDevice_t, char* name, unsigned int length) {
      std::snprintf(name, length, "%s", "NVIDIA H100 80GB HBM3");
      return NVML_SUCCESS;
    };
    api.pci_info = [](nvmlDevice_t device, nvmlPciInfo_t* pci) {
      std::snprintf(pci->busId, sizeof pci->busId, "00000000:%02X:00.0", kBuses[IndexOf(device)]);
      pci->pciDeviceId = (0x2330u << 16) | 0x10deu;
      return NVML_SUCCESS;
    };
    api.memory_info_v2 = [](nvmlDevice_t, nvmlMemory_v2_t* memory) {
      memory->total = 85520809984ull;
      return NVML_SUCCESS;
    };
    api.architecture = [](nvmlDevice_t, nvmlDeviceArchitecture_t* architecture) {
      *architecture = NVML_DEVICE_ARCH_HOPPER;
      return NVML_SUCCESS;
    };
    return api;
  }
};

}  // namespace zhisuan::agent::nvml::testing
