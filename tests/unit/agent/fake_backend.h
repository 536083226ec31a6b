#pragma once
// A DiscoveryBackend tests script by hand: the devices it finds, the telemetry it reports, and the
// health events it has queued.

#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "agent/device.h"

namespace zhisuan::agent::testing {

class FakeBackend final : public DiscoveryBackend {
 public:
  explicit FakeBackend(std::string name = "fake") : name_(std::move(name)) {}

  std::string_view Name() const override { return name_; }
  StatusOr<std::vector<Accelerator>> Discover() override {
    std::lock_guard lock(mu_);
    if (!discover_status.ok()) return discover_status;
    return accelerators;
  }
  StatusOr<DeviceTelemetry> Sample(const Accelerator& accelerator) override {
    std::lock_guard lock(mu_);
    auto failure = sample_errors.find(accelerator.uuid);
    if (failure != sample_errors.end()) return failure->second;
    return telemetry[accelerator.uuid];
  }
  std::vector<HealthEvent> DrainHealthEvents() override {
    std::lock_guard lock(mu_);
    return std::exchange(events, {});
  }
  void Push(HealthEvent event) {
    std::lock_guard lock(mu_);
    events.push_back(std::move(event));
  }

  // Scripted behaviour; set before the code under test runs (or under Push for events).
  Status discover_status;
  std::vector<Accelerator> accelerators;
  std::map<std::string, DeviceTelemetry> telemetry;
  std::map<std::string, Status> sample_errors;

 private:
  std::string name_;
  std::mutex mu_;
  std::vector<HealthEvent> events;
};

// An NVIDIA H100 SXM5 as NVML would describe it.
inline Accelerator MakeH100(int index) {
  Accelerator a;
  a.index = index;
  a.uuid = "GPU-0000000" + std::to_string(index);
  a.vendor = Vendor::kNvidia;
  a.product = "H100-SXM5";
  a.vendor_product_name = "NVIDIA H100 80GB HBM3";
  a.pci_bus_id = "0000:1" + std::to_string(index) + ":00.0";
  a.pci_vendor_id = 0x10de;
  a.pci_device_id = 0x2330;
  a.architecture = "hopper";
  a.memory_bytes = 85899345920;
  a.numa_node = 0;
  a.compute_units = 132;
  a.max_clock_mhz = 1980;
  a.backend = "fake";
  return a;
}

}  // namespace zhisuan::agent::testing
