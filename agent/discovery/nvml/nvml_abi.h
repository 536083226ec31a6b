#pragma once
// The subset of NVML's C ABI the agent calls, declared here so the agent neither links against nor
// ships NVIDIA's header. Written from the documented public API shapes (NVML API Reference,
// nvml.h of the CUDA toolkit): names, numeric values and struct layouts match that ABI, which
// NVIDIA keeps stable across driver versions (new layouts get new _vN entry points instead).
//
// Also included by tests/fixtures/fake_nvml, so the fake and the agent agree by construction;
// it must stay plain C-compatible declarations with no agent dependencies.

#include <cstdint>

extern "C" {

typedef enum nvmlReturn_enum {
  NVML_SUCCESS = 0,
  NVML_ERROR_UNINITIALIZED = 1,
  NVML_ERROR_INVALID_ARGUMENT = 2,
  NVML_ERROR_NOT_SUPPORTED = 3,
  NVML_ERROR_NO_PERMISSION = 4,
  NVML_ERROR_ALREADY_INITIALIZED = 5,
  NVML_ERROR_NOT_FOUND = 6,
  NVML_ERROR_INSUFFICIENT_SIZE = 7,
  NVML_ERROR_INSUFFICIENT_POWER = 8,
  NVML_ERROR_DRIVER_NOT_LOADED = 9,
  NVML_ERROR_TIMEOUT = 10,
  NVML_ERROR_IRQ_ISSUE = 11,
  NVML_ERROR_LIBRARY_NOT_FOUND = 12,
  NVML_ERROR_FUNCTION_NOT_FOUND = 13,
  NVML_ERROR_CORRUPTED_INFOROM = 14,
  NVML_ERROR_GPU_IS_LOST = 15,
  NVML_ERROR_RESET_REQUIRED = 16,
  NVML_ERROR_OPERATING_SYSTEM = 17,
  NVML_ERROR_LIB_RM_VERSION_MISMATCH = 18,
  NVML_ERROR_IN_USE = 19,
  NVML_ERROR_MEMORY = 20,
  NVML_ERROR_NO_DATA = 21,
  NVML_ERROR_UNKNOWN = 999,
} nvmlReturn_t;

typedef struct nvmlDevice_st* nvmlDevice_t;
typedef struct nvmlEventSet_st* nvmlEventSet_t;

#define NVML_DEVICE_PCI_BUS_ID_BUFFER_SIZE 32
#define NVML_DEVICE_PCI_BUS_ID_BUFFER_V2_SIZE 16
#define NVML_DEVICE_UUID_V2_BUFFER_SIZE 96
#define NVML_DEVICE_NAME_V2_BUFFER_SIZE 96
#define NVML_SYSTEM_DRIVER_VERSION_BUFFER_SIZE 80

typedef struct nvmlPciInfo_st {
  char busIdLegacy[NVML_DEVICE_PCI_BUS_ID_BUFFER_V2_SIZE];
  unsigned int domain;
  unsigned int bus;
  unsigned int device;
  unsigned int pciDeviceId;  // device id in the high 16 bits, vendor id in the low 16
  unsigned int pciSubSystemId;
  char busId[NVML_DEVICE_PCI_BUS_ID_BUFFER_SIZE];  // "00000000:17:00.0"
} nvmlPciInfo_t;

typedef struct nvmlMemory_st {
  unsigned long long total;
  unsigned long long free;
  unsigned long long used;
} nvmlMemory_t;

typedef struct nvmlMemory_v2_st {
  unsigned int version;  // kNvmlMemoryV2Version
  unsigned long long total;
  unsigned long long reserved;
  unsigned long long free;
  unsigned long long used;
} nvmlMemory_v2_t;
// NVML's NVML_STRUCT_VERSION(Memory, 2): the struct size with the version in the top byte.
inline constexpr unsigned int kNvmlMemoryV2Version =
    static_cast<unsigned int>(sizeof(nvmlMemory_v2_t)) | (2U << 24U);

typedef struct nvmlUtilization_st {
  unsigned int gpu;     // percent of time a kernel was running
  unsigned int memory;  // percent of time device memory was read or written
} nvmlUtilization_t;

typedef struct nvmlEventData_st {
  nvmlDevice_t device;
  unsigned long long eventType;
  unsigned long long eventData;  // the Xid for nvmlEventTypeXidCriticalError
  unsigned int gpuInstanceId;
  unsigned int computeInstanceId;
} nvmlEventData_t;

#define nvmlEventTypeSingleBitEccError 0x0000000000000001LL
#define nvmlEventTypeDoubleBitEccError 0x0000000000000002LL
#define nvmlEventTypePState 0x0000000000000004LL
#define nvmlEventTypeXidCriticalError 0x0000000000000008LL

typedef unsigned int nvmlDeviceArchitecture_t;
#define NVML_DEVICE_ARCH_KEPLER 2
#define NVML_DEVICE_ARCH_MAXWELL 3
#define NVML_DEVICE_ARCH_PASCAL 4
#define NVML_DEVICE_ARCH_VOLTA 5
#define NVML_DEVICE_ARCH_TURING 6
#define NVML_DEVICE_ARCH_AMPERE 7
#define NVML_DEVICE_ARCH_ADA 8
#define NVML_DEVICE_ARCH_HOPPER 9
#define NVML_DEVICE_ARCH_BLACKWELL 10
#define NVML_DEVICE_ARCH_UNKNOWN 0xffffffff

typedef enum nvmlClockType_enum {
  NVML_CLOCK_GRAPHICS = 0,
  NVML_CLOCK_SM = 1,
  NVML_CLOCK_MEM = 2,
  NVML_CLOCK_VIDEO = 3,
} nvmlClockType_t;

typedef enum nvmlTemperatureSensors_enum {
  NVML_TEMPERATURE_GPU = 0,
} nvmlTemperatureSensors_t;

// Function types, one per entry point, named after the entry point.
typedef nvmlReturn_t nvmlInit_v2_fn(void);
typedef nvmlReturn_t nvmlShutdown_fn(void);
typedef const char* nvmlErrorString_fn(nvmlReturn_t result);
typedef nvmlReturn_t nvmlSystemGetDriverVersion_fn(char* version, unsigned int length);
typedef nvmlReturn_t nvmlDeviceGetCount_v2_fn(unsigned int* count);
typedef nvmlReturn_t nvmlDeviceGetHandleByIndex_v2_fn(unsigned int index, nvmlDevice_t* device);
typedef nvmlReturn_t nvmlDeviceGetUUID_fn(nvmlDevice_t device, char* uuid, unsigned int length);
typedef nvmlReturn_t nvmlDeviceGetName_fn(nvmlDevice_t device, char* name, unsigned int length);
typedef nvmlReturn_t nvmlDeviceGetPciInfo_v3_fn(nvmlDevice_t device, nvmlPciInfo_t* pci);
typedef nvmlReturn_t nvmlDeviceGetMemoryInfo_fn(nvmlDevice_t device, nvmlMemory_t* memory);
typedef nvmlReturn_t nvmlDeviceGetMemoryInfo_v2_fn(nvmlDevice_t device, nvmlMemory_v2_t* memory);
typedef nvmlReturn_t nvmlDeviceGetCudaComputeCapability_fn(nvmlDevice_t device, int* major,
                                                           int* minor);
typedef nvmlReturn_t nvmlDeviceGetArchitecture_fn(nvmlDevice_t device,
                                                  nvmlDeviceArchitecture_t* arch);
typedef nvmlReturn_t nvmlDeviceGetMaxClockInfo_fn(nvmlDevice_t device, nvmlClockType_t type,
                                                  unsigned int* clock_mhz);
typedef nvmlReturn_t nvmlDeviceGetClockInfo_fn(nvmlDevice_t device, nvmlClockType_t type,
                                               unsigned int* clock_mhz);
typedef nvmlReturn_t nvmlDeviceGetNumGpuCores_fn(nvmlDevice_t device, unsigned int* cores);
typedef nvmlReturn_t nvmlDeviceGetMinorNumber_fn(nvmlDevice_t device, unsigned int* minor);
typedef nvmlReturn_t nvmlDeviceGetNumaNodeId_fn(nvmlDevice_t device, unsigned int* node);
typedef nvmlReturn_t nvmlDeviceGetUtilizationRates_fn(nvmlDevice_t device,
                                                      nvmlUtilization_t* utilization);
typedef nvmlReturn_t nvmlDeviceGetTemperature_fn(nvmlDevice_t device,
                                                 nvmlTemperatureSensors_t sensor,
                                                 unsigned int* celsius);
typedef nvmlReturn_t nvmlDeviceGetPowerUsage_fn(nvmlDevice_t device, unsigned int* milliwatts);
typedef nvmlReturn_t nvmlDeviceGetPowerManagementLimit_fn(nvmlDevice_t device,
                                                          unsigned int* milliwatts);
typedef nvmlReturn_t nvmlDeviceGetTotalEnergyConsumption_fn(nvmlDevice_t device,
                                                            unsigned long long* millijoules);
typedef nvmlReturn_t nvmlEventSetCreate_fn(nvmlEventSet_t* set);
typedef nvmlReturn_t nvmlEventSetFree_fn(nvmlEventSet_t set);
typedef nvmlReturn_t nvmlDeviceRegisterEvents_fn(nvmlDevice_t device,
                                                 unsigned long long event_types,
                                                 nvmlEventSet_t set);
typedef nvmlReturn_t nvmlEventSetWait_v2_fn(nvmlEventSet_t set, nvmlEventData_t* data,
                                            unsigned int timeout_ms);

}  // extern "C"
