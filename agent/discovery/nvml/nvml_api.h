#pragma once
// The NVML entry points the agent calls, as a table of function pointers. The backend calls NVML
// only through this table, so unit tests hand it an in-process fake (plain functions or
// capture-less lambdas) and load no library; production fills it from libnvidia-ml with dlsym.

#include "agent/discovery/nvml/nvml_abi.h"
#include "common/dynamic_library.h"

namespace zhisuan::agent::nvml {

// The entry points the agent uses; nullptr where the loaded library lacks one.
struct NvmlApi {
  nvmlInit_v2_fn* init = nullptr;
  nvmlShutdown_fn* shutdown = nullptr;
  nvmlErrorString_fn* error_string = nullptr;
  nvmlSystemGetDriverVersion_fn* driver_version = nullptr;
  nvmlDeviceGetCount_v2_fn* device_count = nullptr;
  nvmlDeviceGetHandleByIndex_v2_fn* handle_by_index = nullptr;
  nvmlDeviceGetUUID_fn* uuid = nullptr;
  nvmlDeviceGetName_fn* name = nullptr;
  nvmlDeviceGetPciInfo_v3_fn* pci_info = nullptr;
  nvmlDeviceGetMemoryInfo_v2_fn* memory_info_v2 = nullptr;
  nvmlDeviceGetMemoryInfo_fn* memory_info = nullptr;
  nvmlDeviceGetCudaComputeCapability_fn* compute_capability = nullptr;
  nvmlDeviceGetArchitecture_fn* architecture = nullptr;
  nvmlDeviceGetMaxClockInfo_fn* max_clock = nullptr;
  nvmlDeviceGetClockInfo_fn* clock = nullptr;
  nvmlDeviceGetNumGpuCores_fn* gpu_cores = nullptr;
  nvmlDeviceGetMinorNumber_fn* minor_number = nullptr;
  nvmlDeviceGetNumaNodeId_fn* numa_node = nullptr;
  nvmlDeviceGetUtilizationRates_fn* utilization = nullptr;
  nvmlDeviceGetTemperature_fn* temperature = nullptr;
  nvmlDeviceGetPowerUsage_fn* power_usage = nullptr;
  nvmlDeviceGetPowerManagementLimit_fn* power_limit = nullptr;
  nvmlDeviceGetTotalEnergyConsumption_fn* total_energy = nullptr;
  nvmlEventSetCreate_fn* event_set_create = nullptr;
  nvmlEventSetFree_fn* event_set_free = nullptr;
  nvmlDeviceRegisterEvents_fn* register_events = nullptr;
  nvmlEventSetWait_v2_fn* event_set_wait = nullptr;
  // The stand-in's name when the library is one (DynamicLibrary::StandIn); "" for real NVML.
  const char* stand_in = "";

  static NvmlApi Resolve(const DynamicLibrary& library) {
    NvmlApi api;
    api.init = library.Find<nvmlInit_v2_fn>("nvmlInit_v2");
    api.shutdown = library.Find<nvmlShutdown_fn>("nvmlShutdown");
    api.error_string = library.Find<nvmlErrorString_fn>("nvmlErrorString");
    api.driver_version = library.Find<nvmlSystemGetDriverVersion_fn>("nvmlSystemGetDriverVersion");
    api.device_count = library.Find<nvmlDeviceGetCount_v2_fn>("nvmlDeviceGetCount_v2");
    api.handle_by_index =
        library.Find<nvmlDeviceGetHandleByIndex_v2_fn>("nvmlDeviceGetHandleByIndex_v2");
    api.uuid = library.Find<nvmlDeviceGetUUID_fn>("nvmlDeviceGetUUID");
    api.name = library.Find<nvmlDeviceGetName_fn>("nvmlDeviceGetName");
    api.pci_info = library.Find<nvmlDeviceGetPciInfo_v3_fn>("nvmlDeviceGetPciInfo_v3");
    api.memory_info_v2 = library.Find<nvmlDeviceGetMemoryInfo_v2_fn>("nvmlDeviceGetMemoryInfo_v2");
    api.memory_info = library.Find<nvmlDeviceGetMemoryInfo_fn>("nvmlDeviceGetMemoryInfo");
    api.compute_capability =
        library.Find<nvmlDeviceGetCudaComputeCapability_fn>("nvmlDeviceGetCudaComputeCapability");
    api.architecture = library.Find<nvmlDeviceGetArchitecture_fn>("nvmlDeviceGetArchitecture");
    api.max_clock = library.Find<nvmlDeviceGetMaxClockInfo_fn>("nvmlDeviceGetMaxClockInfo");
    api.clock = library.Find<nvmlDeviceGetClockInfo_fn>("nvmlDeviceGetClockInfo");
    api.gpu_cores = library.Find<nvmlDeviceGetNumGpuCores_fn>("nvmlDeviceGetNumGpuCores");
    api.minor_number = library.Find<nvmlDeviceGetMinorNumber_fn>("nvmlDeviceGetMinorNumber");
    api.numa_node = library.Find<nvmlDeviceGetNumaNodeId_fn>("nvmlDeviceGetNumaNodeId");
    api.utilization =
        library.Find<nvmlDeviceGetUtilizationRates_fn>("nvmlDeviceGetUtilizationRates");
    api.temperature = library.Find<nvmlDeviceGetTemperature_fn>("nvmlDeviceGetTemperature");
    api.power_usage = library.Find<nvmlDeviceGetPowerUsage_fn>("nvmlDeviceGetPowerUsage");
    api.power_limit =
        library.Find<nvmlDeviceGetPowerManagementLimit_fn>("nvmlDeviceGetPowerManagementLimit");
    api.total_energy =
        library.Find<nvmlDeviceGetTotalEnergyConsumption_fn>("nvmlDeviceGetTotalEnergyConsumption");
    api.event_set_create = library.Find<nvmlEventSetCreate_fn>("nvmlEventSetCreate");
    api.event_set_free = library.Find<nvmlEventSetFree_fn>("nvmlEventSetFree");
    api.register_events = library.Find<nvmlDeviceRegisterEvents_fn>("nvmlDeviceRegisterEvents");
    api.event_set_wait = library.Find<nvmlEventSetWait_v2_fn>("nvmlEventSetWait_v2");
    api.stand_in = library.StandIn();
    return api;
  }

  // The entry points without which no GPU can be enumerated; nullptr when all are present.
  const char* MissingRequired() const {
    if (init == nullptr) return "nvmlInit_v2";
    if (shutdown == nullptr) return "nvmlShutdown";
    if (device_count == nullptr) return "nvmlDeviceGetCount_v2";
    if (handle_by_index == nullptr) return "nvmlDeviceGetHandleByIndex_v2";
    if (uuid == nullptr) return "nvmlDeviceGetUUID";
    if (pci_info == nullptr) return "nvmlDeviceGetPciInfo_v3";
    return nullptr;
  }
};

}  // namespace zhisuan::agent::nvml
