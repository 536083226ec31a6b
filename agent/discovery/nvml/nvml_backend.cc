#include "agent/discovery/nvml/nvml_backend.h"

#include <map>
#include <mutex>
#include <optional>
#include <set>

#include "agent/discovery/nvml/nvml_abi.h"
#include "agent/discovery/nvml/nvml_api.h"
#include "agent/discovery/nvml/nvml_mapping.h"
#include "agent/discovery/pci/pci_parsers.h"
#include "agent/sku/sku_names.h"
#include "common/dynamic_library.h"
#include "common/log.h"
#include "common/strings.h"

namespace zhisuan::agent::nvml {
namespace {

constexpr uint16_t kNvidiaPciVendor = 0x10de;
// Drained per call at most, so a storm of events cannot hold the agent's loop.
constexpr int kMaxEventsPerDrain = 256;
constexpr unsigned long long kWatchedEvents =
    nvmlEventTypeXidCriticalError | nvmlEventTypeDoubleBitEccError;

StatusCode StatusCodeFor(nvmlReturn_t result) {
  switch (result) {
    case NVML_ERROR_DRIVER_NOT_LOADED:
    case NVML_ERROR_LIBRARY_NOT_FOUND:
    case NVML_ERROR_GPU_IS_LOST:
    case NVML_ERROR_LIB_RM_VERSION_MISMATCH:
      return StatusCode::kUnavailable;
    case NVML_ERROR_NO_PERMISSION:
      return StatusCode::kPermissionDenied;
    case NVML_ERROR_NOT_SUPPORTED:
    case NVML_ERROR_FUNCTION_NOT_FOUND:
      return StatusCode::kUnimplemented;
    case NVML_ERROR_NOT_FOUND:
      return StatusCode::kNotFound;
    case NVML_ERROR_TIMEOUT:
      return StatusCode::kDeadlineExceeded;
    default:
      return StatusCode::kInternal;
  }
}

// What a reading's absence means: the library or the device does not offer it.
bool IsNotSupported(nvmlReturn_t result) {
  return result == NVML_ERROR_NOT_SUPPORTED || result == NVML_ERROR_FUNCTION_NOT_FOUND;
}

class NvmlBackend final : public DiscoveryBackend {
 public:
  explicit NvmlBackend(std::string library_path) : library_path_(std::move(library_path)) {}
  // An injected table: no library is loaded, and `library_path_` only names the source in logs.
  explicit NvmlBackend(const NvmlApi& api)
      : library_path_("<injected NVML table>"), api_(api), api_injected_(true) {}

  ~NvmlBackend() override {
    if (event_set_ != nullptr && api_.event_set_free != nullptr) api_.event_set_free(event_set_);
    if (initialized_) api_.shutdown();
    // library_ closes last: it is declared first.
  }

  std::string_view Name() const override { return "nvml"; }
  std::string StandIn() const override { return api_.stand_in != nullptr ? api_.stand_in : ""; }

  StatusOr<std::vector<Accelerator>> Discover() override {
    std::lock_guard<std::mutex> lock(mu_);
    ZHISUAN_RETURN_IF_ERROR(LoadAndInit());
    unsigned int count = 0;
    if (nvmlReturn_t result = api_.device_count(&count); result != NVML_SUCCESS) {
      return ErrorStatus("nvmlDeviceGetCount_v2", result);
    }
    devices_by_uuid_.clear();
    uuid_by_device_.clear();
    std::vector<Accelerator> accelerators;
    for (unsigned int index = 0; index < count; ++index) {
      StatusOr<Accelerator> accelerator = DescribeDevice(index);
      if (!accelerator.ok()) {
        ZLOG(Warning) << "NVML: skipping GPU " << index << ": " << accelerator.status();
        continue;
      }
      accelerators.push_back(*std::move(accelerator));
    }
    WatchHealthEvents();
    return accelerators;
  }

  StatusOr<DeviceTelemetry> Sample(const Accelerator& accelerator) override {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = devices_by_uuid_.find(accelerator.uuid);
    if (it == devices_by_uuid_.end()) {
      return NotFoundError(StrCat("NVML: no GPU with uuid ", accelerator.uuid));
    }
    nvmlDevice_t device = it->second;
    DeviceTelemetry telemetry;
    bool lost = false;
    // Each reading: absent when unsupported; on GPU_IS_LOST the sample fails as a whole.
    auto read = [&](const char* function, auto* entry, auto&&... args) {
      if (lost) return false;
      nvmlReturn_t result =
          entry == nullptr ? NVML_ERROR_FUNCTION_NOT_FOUND : entry(device, args...);
      if (result == NVML_SUCCESS) return true;
      if (result == NVML_ERROR_GPU_IS_LOST) {
        lost = true;
        RecordLost(accelerator.uuid, function);
      } else if (!IsNotSupported(result)) {
        WarnOnce(function, result);
      }
      return false;
    };

    nvmlUtilization_t utilization{};
    if (read("nvmlDeviceGetUtilizationRates", api_.utilization, &utilization)) {
      telemetry.utilization_ratio = utilization.gpu / 100.0;
    }
    nvmlMemory_v2_t memory_v2{};
    memory_v2.version = kNvmlMemoryV2Version;
    nvmlMemory_t memory{};
    if (api_.memory_info_v2 != nullptr) {
      if (read("nvmlDeviceGetMemoryInfo_v2", api_.memory_info_v2, &memory_v2)) {
        telemetry.memory_used_bytes = static_cast<double>(memory_v2.used);
      }
    } else if (read("nvmlDeviceGetMemoryInfo", api_.memory_info, &memory)) {
      telemetry.memory_used_bytes = static_cast<double>(memory.used);
    }
    unsigned int milliwatts = 0;
    if (read("nvmlDeviceGetPowerUsage", api_.power_usage, &milliwatts)) {
      telemetry.power_watts = milliwatts / 1000.0;
    }
    if (read("nvmlDeviceGetPowerManagementLimit", api_.power_limit, &milliwatts)) {
      telemetry.power_limit_watts = milliwatts / 1000.0;
    }
    unsigned long long millijoules = 0;
    if (read("nvmlDeviceGetTotalEnergyConsumption", api_.total_energy, &millijoules)) {
      telemetry.energy_joules = static_cast<double>(millijoules) / 1000.0;
    }
    unsigned int celsius = 0;
    if (read("nvmlDeviceGetTemperature", api_.temperature, NVML_TEMPERATURE_GPU, &celsius)) {
      telemetry.temperature_celsius = celsius;
    }
    unsigned int mhz = 0;
    if (read("nvmlDeviceGetClockInfo", api_.clock, NVML_CLOCK_SM, &mhz)) {
      telemetry.clock_mhz = mhz;
    }
    if (lost) return UnavailableError(StrCat("NVML: GPU ", accelerator.uuid, " is lost"));
    return telemetry;
  }

  std::vector<HealthEvent> DrainHealthEvents() override {
    std::lock_guard<std::mutex> lock(mu_);
    if (event_set_ != nullptr) PollEventSet();
    std::vector<HealthEvent> events = std::move(pending_events_);
    pending_events_.clear();
    return events;
  }

 private:
  Status ErrorStatus(std::string_view function, nvmlReturn_t result) const {
    const char* text = api_.error_string != nullptr ? api_.error_string(result) : nullptr;
    return Status(StatusCodeFor(result),
                  StrCat("NVML: ", function, " failed: ", text != nullptr ? text : "error", " (",
                         static_cast<int>(result), ")"));
  }

  Status LoadAndInit() {
    if (initialized_) return OkStatus();
    if (!library_ && !api_injected_) {
      StatusOr<DynamicLibrary> library = DynamicLibrary::Open(library_path_);
      if (!library.ok()) {
        return UnavailableError(StrCat("NVML not available (no NVIDIA driver on this node?): ",
                                       library.status().message()));
      }
      library_.emplace(*std::move(library));
      api_ = NvmlApi::Resolve(*library_);
    }
    if (const char* missing = api_.MissingRequired()) {
      return UnavailableError(
          StrCat("NVML library ", library_path_, " is too old: it lacks ", missing));
    }
    if (nvmlReturn_t result = api_.init(); result != NVML_SUCCESS) {
      return ErrorStatus("nvmlInit_v2", result);
    }
    initialized_ = true;
    if (api_.driver_version != nullptr) {
      char version[NVML_SYSTEM_DRIVER_VERSION_BUFFER_SIZE] = {};
      if (api_.driver_version(version, sizeof version) == NVML_SUCCESS) {
        ZLOG(Info) << "NVML loaded from " << library_path_ << ", driver "
                   << BoundedCString(version, sizeof version);
      }
    }
    return OkStatus();
  }

  StatusOr<Accelerator> DescribeDevice(unsigned int index) {
    nvmlDevice_t device = nullptr;
    if (nvmlReturn_t result = api_.handle_by_index(index, &device); result != NVML_SUCCESS) {
      return ErrorStatus("nvmlDeviceGetHandleByIndex_v2", result);
    }
    Accelerator accelerator;
    accelerator.index = static_cast<int>(index);
    accelerator.vendor = Vendor::kNvidia;
    accelerator.backend = "nvml";

    char uuid[NVML_DEVICE_UUID_V2_BUFFER_SIZE] = {};
    if (nvmlReturn_t result = api_.uuid(device, uuid, sizeof uuid); result != NVML_SUCCESS) {
      return ErrorStatus("nvmlDeviceGetUUID", result);
    }
    accelerator.uuid = BoundedCString(uuid, sizeof uuid);
    if (accelerator.uuid.empty()) return InternalError("NVML: GPU reports an empty UUID");

    nvmlPciInfo_t pci{};
    if (nvmlReturn_t result = api_.pci_info(device, &pci); result != NVML_SUCCESS) {
      return ErrorStatus("nvmlDeviceGetPciInfo_v3", result);
    }
    StatusOr<std::string> bus_id =
        pci::NormalizePciBusId(BoundedCString(pci.busId, sizeof pci.busId));
    if (!bus_id.ok()) return bus_id.status().Annotate("NVML: GPU PCI bus id");
    accelerator.pci_bus_id = *std::move(bus_id);
    accelerator.pci_vendor_id = static_cast<uint16_t>(pci.pciDeviceId & 0xffff);
    accelerator.pci_device_id = static_cast<uint16_t>(pci.pciDeviceId >> 16);
    if (accelerator.pci_vendor_id != kNvidiaPciVendor) {
      ZLOG(Warning) << "NVML: GPU " << index << " reports PCI vendor " << accelerator.pci_vendor_id;
    }

    char name[NVML_DEVICE_NAME_V2_BUFFER_SIZE] = {};
    if (api_.name != nullptr && api_.name(device, name, sizeof name) == NVML_SUCCESS) {
      accelerator.vendor_product_name = BoundedCString(name, sizeof name);
    }
    if (auto canonical =
            CanonicalProductName(accelerator.pci_vendor_id, accelerator.pci_device_id)) {
      accelerator.product = std::string(*canonical);
    } else if (!accelerator.vendor_product_name.empty()) {
      accelerator.product = LabelSafe(accelerator.vendor_product_name);
    } else {
      accelerator.product =
          ProductNameOrFallback(accelerator.pci_vendor_id, accelerator.pci_device_id);
    }

    nvmlDeviceArchitecture_t architecture = NVML_DEVICE_ARCH_UNKNOWN;
    if (api_.architecture != nullptr && api_.architecture(device, &architecture) == NVML_SUCCESS) {
      accelerator.architecture = std::string(ArchitectureName(architecture));
    }
    if (accelerator.architecture.empty()) {
      accelerator.architecture = std::string(
          KnownArchitecture(accelerator.pci_vendor_id, accelerator.pci_device_id).value_or(""));
    }

    nvmlMemory_v2_t memory_v2{};
    memory_v2.version = kNvmlMemoryV2Version;
    nvmlMemory_t memory{};
    if (api_.memory_info_v2 != nullptr && api_.memory_info_v2(device, &memory_v2) == NVML_SUCCESS) {
      accelerator.memory_bytes = memory_v2.total;
    } else if (api_.memory_info != nullptr && api_.memory_info(device, &memory) == NVML_SUCCESS) {
      accelerator.memory_bytes = memory.total;
    }

    unsigned int cores = 0;
    int major = 0;
    int minor = 0;
    if (api_.gpu_cores != nullptr && api_.compute_capability != nullptr &&
        api_.gpu_cores(device, &cores) == NVML_SUCCESS &&
        api_.compute_capability(device, &major, &minor) == NVML_SUCCESS) {
      accelerator.compute_units = StreamingMultiprocessors(cores, major, minor).value_or(0);
    }

    unsigned int max_sm_mhz = 0;
    if (api_.max_clock != nullptr &&
        api_.max_clock(device, NVML_CLOCK_SM, &max_sm_mhz) == NVML_SUCCESS) {
      accelerator.max_clock_mhz = max_sm_mhz;
    }

    unsigned int numa_node = 0;
    if (api_.numa_node != nullptr && api_.numa_node(device, &numa_node) == NVML_SUCCESS &&
        numa_node < 1024) {
      accelerator.numa_node = static_cast<int>(numa_node);
    }

    unsigned int device_minor = 0;
    if (api_.minor_number != nullptr && api_.minor_number(device, &device_minor) == NVML_SUCCESS) {
      accelerator.device_nodes.push_back(StrCat("/dev/nvidia", device_minor));
    } else {
      // nvidia-smi's index equals the minor number on every driver we know of.
      accelerator.device_nodes.push_back(StrCat("/dev/nvidia", index));
    }
    // The control and unified-memory nodes every CUDA container needs as well.
    accelerator.device_nodes.insert(accelerator.device_nodes.end(),
                                    {"/dev/nvidiactl", "/dev/nvidia-uvm", "/dev/nvidia-uvm-tools"});

    devices_by_uuid_[accelerator.uuid] = device;
    uuid_by_device_[device] = accelerator.uuid;
    return accelerator;
  }

  // Registers every known GPU for Xid and double-bit ECC events; GPUs without ECC get Xid only.
  void WatchHealthEvents() {
    if (api_.event_set_create == nullptr || api_.register_events == nullptr ||
        api_.event_set_wait == nullptr) {
      ZLOG(Warning) << "NVML: this library has no event API; Xid and ECC events are not watched";
      return;
    }
    if (event_set_ == nullptr) {
      if (nvmlReturn_t result = api_.event_set_create(&event_set_); result != NVML_SUCCESS) {
        ZLOG(Warning) << "NVML: cannot create an event set: "
                      << ErrorStatus("nvmlEventSetCreate", result);
        event_set_ = nullptr;
        return;
      }
    }
    for (const auto& [device, uuid] : uuid_by_device_) {
      if (registered_.count(device)) continue;
      nvmlReturn_t result = api_.register_events(device, kWatchedEvents, event_set_);
      if (result == NVML_ERROR_NOT_SUPPORTED) {
        result = api_.register_events(device, nvmlEventTypeXidCriticalError, event_set_);
      }
      if (result == NVML_SUCCESS) {
        registered_.insert(device);
      } else {
        ZLOG(Warning) << "NVML: GPU " << uuid << " health events not watched: "
                      << ErrorStatus("nvmlDeviceRegisterEvents", result);
      }
    }
  }

  void PollEventSet() {
    for (int i = 0; i < kMaxEventsPerDrain; ++i) {
      nvmlEventData_t data{};
      nvmlReturn_t result = api_.event_set_wait(event_set_, &data, 0);
      if (result == NVML_ERROR_TIMEOUT) return;
      if (result == NVML_ERROR_GPU_IS_LOST) {
        // The set does not say which GPU; ask each one.
        FindLostDevices();
        return;
      }
      if (result != NVML_SUCCESS) {
        WarnOnce("nvmlEventSetWait_v2", result);
        return;
      }
      std::optional<HealthEvent::Kind> kind = HealthEventKind(data.eventType);
      auto uuid = uuid_by_device_.find(data.device);
      if (!kind || uuid == uuid_by_device_.end()) continue;
      HealthEvent event;
      event.uuid = uuid->second;
      event.kind = *kind;
      if (*kind == HealthEvent::Kind::kXid) {
        event.code = data.eventData;
        event.detail = StrCat("Xid ", data.eventData);
      } else {
        event.detail = "double-bit ECC error";
      }
      pending_events_.push_back(std::move(event));
    }
  }

  void FindLostDevices() {
    for (const auto& [device, uuid] : uuid_by_device_) {
      nvmlPciInfo_t pci{};
      if (api_.pci_info(device, &pci) == NVML_ERROR_GPU_IS_LOST) {
        RecordLost(uuid, "nvmlEventSetWait_v2");
      }
    }
  }

  void RecordLost(const std::string& uuid, std::string_view function) {
    if (!lost_uuids_.insert(uuid).second) return;
    ZLOG(Error) << "NVML: GPU " << uuid << " is lost (NVML_ERROR_GPU_IS_LOST from " << function
                << ")";
    pending_events_.push_back({uuid, HealthEvent::Kind::kDeviceLost, 0,
                               StrCat("NVML_ERROR_GPU_IS_LOST from ", function)});
  }

  void WarnOnce(std::string_view function, nvmlReturn_t result) {
    if (!warned_.insert(StrCat(function, "/", static_cast<int>(result))).second) return;
    ZLOG(Warning) << ErrorStatus(function, result) << "; the reading is left out";
  }

  std::string library_path_;
  std::mutex mu_;
  std::optional<DynamicLibrary> library_;  // declared before the state that calls into it
  NvmlApi api_;
  bool api_injected_ = false;
  bool initialized_ = false;
  nvmlEventSet_t event_set_ = nullptr;
  std::map<std::string, nvmlDevice_t> devices_by_uuid_;
  std::map<nvmlDevice_t, std::string> uuid_by_device_;
  std::set<nvmlDevice_t> registered_;
  std::set<std::string> lost_uuids_;
  std::set<std::string> warned_;
  std::vector<HealthEvent> pending_events_;
};

}  // namespace

DiscoveryBackendPtr MakeNvmlBackend(std::string library_path) {
  return std::make_unique<NvmlBackend>(std::move(library_path));
}

DiscoveryBackendPtr MakeNvmlBackend(const NvmlApi& api) {
  return std::make_unique<NvmlBackend>(api);
}

}  // namespace zhisuan::agent::nvml
