#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "agent/discovery/nvml/nvml_backend.h"
#include "agent/discovery/nvml/nvml_mapping.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/unit/agent/discovery/fixture_trees.h"

namespace zhisuan::agent::nvml {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::SizeIs;
using zhisuan::agent::testing::FakeNvmlPath;
using zhisuan::agent::testing::OldFakeNvmlPath;

// Every test starts from the fake's defaults; knobs are set per test.
class NvmlBackendTest : public ::testing::Test {
 protected:
  void SetUp() override {
    unsetenv("FAKE_NVML_CONFIG");
    unsetenv("FAKE_NVML_FAIL");
    events_file_ = std::filesystem::temp_directory_path() /
                   ("zhisuan-nvml-events-" + std::to_string(::getpid()));
    std::ofstream(events_file_).flush();
    setenv("FAKE_NVML_EVENTS_FILE", events_file_.c_str(), 1);
  }
  void TearDown() override {
    unsetenv("FAKE_NVML_EVENTS_FILE");
    unsetenv("FAKE_NVML_FAIL");
    unsetenv("FAKE_NVML_CONFIG");
    std::filesystem::remove(events_file_);
  }
  void Inject(const std::string& line) {
    std::ofstream(events_file_, std::ios::app) << line << "\n";
  }

  std::filesystem::path events_file_;
};

TEST(NvmlMapping, ArchitecturesAndSms) {
  EXPECT_EQ(ArchitectureName(NVML_DEVICE_ARCH_HOPPER), "hopper");
  EXPECT_EQ(ArchitectureName(NVML_DEVICE_ARCH_AMPERE), "ampere");
  EXPECT_EQ(ArchitectureName(NVML_DEVICE_ARCH_ADA), "ada");
  EXPECT_EQ(ArchitectureName(12345), "");
  EXPECT_EQ(StreamingMultiprocessors(16896, 9, 0), 132);  // H100 SXM5
  EXPECT_EQ(StreamingMultiprocessors(6912, 8, 0), 108);   // A100
  EXPECT_EQ(StreamingMultiprocessors(18176, 8, 9), 142);  // L40S
  EXPECT_EQ(StreamingMultiprocessors(100, 9, 0), std::nullopt);
  EXPECT_EQ(StreamingMultiprocessors(16896, 3, 0), std::nullopt);
  const char unterminated[4] = {'a', 'b', 'c', 'd'};
  EXPECT_EQ(BoundedCString(unterminated, sizeof unterminated), "abcd");
  EXPECT_EQ(HealthEventKind(nvmlEventTypeXidCriticalError), HealthEvent::Kind::kXid);
  EXPECT_EQ(HealthEventKind(nvmlEventTypeDoubleBitEccError), HealthEvent::Kind::kEccDoubleBit);
  EXPECT_EQ(HealthEventKind(nvmlEventTypePState), std::nullopt);
}

TEST_F(NvmlBackendTest, MissingLibraryIsUnavailableNotACrash) {
  auto backend = MakeNvmlBackend("/nonexistent/libnvidia-ml.so.1");
  auto found = backend->Discover();
  EXPECT_EQ(found.status().code(), StatusCode::kUnavailable);
  EXPECT_THAT(found.status().message(), ::testing::HasSubstr("NVML not available"));
  EXPECT_THAT(backend->DrainHealthEvents(), IsEmpty());
  Accelerator unknown;
  unknown.uuid = "GPU-x";
  EXPECT_EQ(backend->Sample(unknown).status().code(), StatusCode::kNotFound);
}

TEST_F(NvmlBackendTest, IdentityOfEightH100s) {
  auto backend = MakeNvmlBackend(FakeNvmlPath());
  EXPECT_EQ(backend->Name(), "nvml");
  auto gpus = backend->Discover();
  ASSERT_TRUE(gpus.ok()) << gpus.status();
  ASSERT_THAT(*gpus, SizeIs(8));
  const Accelerator& gpu = (*gpus)[4];
  EXPECT_EQ(gpu.index, 4);
  EXPECT_EQ(gpu.vendor, Vendor::kNvidia);
  EXPECT_EQ(gpu.uuid, "GPU-7b3c1f0e-1a2f-4d2a-9c5e-3f4e5d6c7b04");
  EXPECT_EQ(gpu.vendor_product_name, "NVIDIA H100 80GB HBM3");
  EXPECT_EQ(gpu.product, "H100-SXM5");
  EXPECT_EQ(gpu.pci_bus_id, "0000:9a:00.0");  // NVML's "00000000:9A:00.0", normalised
  EXPECT_EQ(gpu.pci_vendor_id, 0x10de);
  EXPECT_EQ(gpu.pci_device_id, 0x2330);
  EXPECT_EQ(gpu.architecture, "hopper");
  EXPECT_EQ(gpu.memory_bytes, 85520809984u);
  EXPECT_EQ(gpu.compute_units, 132);
  EXPECT_DOUBLE_EQ(gpu.max_clock_mhz, 1980);
  EXPECT_EQ(gpu.numa_node, 1);
  EXPECT_EQ(gpu.backend, "nvml");
  EXPECT_THAT(gpu.device_nodes, ElementsAre("/dev/nvidia4", "/dev/nvidiactl", "/dev/nvidia-uvm",
                                            "/dev/nvidia-uvm-tools"));
}

TEST_F(NvmlBackendTest, TelemetryInAgentUnits) {
  auto backend = MakeNvmlBackend(FakeNvmlPath());
  auto gpus = backend->Discover();
  ASSERT_TRUE(gpus.ok()) << gpus.status();
  auto first = backend->Sample((*gpus)[2]);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_DOUBLE_EQ(*first->utilization_ratio, 0.2);
  EXPECT_DOUBLE_EQ(*first->memory_used_bytes, 3.0 * (1 << 30));
  EXPECT_DOUBLE_EQ(*first->power_watts, 370);
  EXPECT_DOUBLE_EQ(*first->power_limit_watts, 700);
  EXPECT_DOUBLE_EQ(*first->temperature_celsius, 42);
  EXPECT_DOUBLE_EQ(*first->clock_mhz, 1755);
  ASSERT_TRUE(first->energy_joules.has_value());
  auto second = backend->Sample((*gpus)[2]);
  ASSERT_TRUE(second.ok());
  EXPECT_GT(*second->energy_joules, *first->energy_joules);  // a monotonic counter
}

TEST_F(NvmlBackendTest, XidAndEccEventsAreDelivered) {
  auto backend = MakeNvmlBackend(FakeNvmlPath());
  auto gpus = backend->Discover();
  ASSERT_TRUE(gpus.ok()) << gpus.status();
  EXPECT_THAT(backend->DrainHealthEvents(), IsEmpty());
  Inject("xid 1 79");
  Inject("ecc 6");
  auto events = backend->DrainHealthEvents();
  ASSERT_THAT(events, SizeIs(2));
  EXPECT_EQ(events[0].uuid, (*gpus)[1].uuid);
  EXPECT_EQ(events[0].kind, HealthEvent::Kind::kXid);
  EXPECT_EQ(events[0].code, 79u);
  EXPECT_EQ(events[1].uuid, (*gpus)[6].uuid);
  EXPECT_EQ(events[1].kind, HealthEvent::Kind::kEccDoubleBit);
  EXPECT_THAT(backend->DrainHealthEvents(), IsEmpty());  // drained once
}

TEST_F(NvmlBackendTest, LostGpuBecomesOneDeviceLostEvent) {
  auto backend = MakeNvmlBackend(FakeNvmlPath());
  auto gpus = backend->Discover();
  ASSERT_TRUE(gpus.ok()) << gpus.status();
  Inject("lost 3");
  auto events = backend->DrainHealthEvents();
  ASSERT_THAT(events, SizeIs(1));
  EXPECT_EQ(events[0].uuid, (*gpus)[3].uuid);
  EXPECT_EQ(events[0].kind, HealthEvent::Kind::kDeviceLost);
  // Sampling the lost GPU fails, without a second event; its neighbours are fine.
  EXPECT_EQ(backend->Sample((*gpus)[3]).status().code(), StatusCode::kUnavailable);
  EXPECT_THAT(backend->DrainHealthEvents(), IsEmpty());
  EXPECT_TRUE(backend->Sample((*gpus)[2]).ok());
}

TEST_F(NvmlBackendTest, LostGpuSeenFirstBySample) {
  auto backend = MakeNvmlBackend(FakeNvmlPath());
  auto gpus = backend->Discover();
  ASSERT_TRUE(gpus.ok());
  Inject("lost 0");
  EXPECT_EQ(backend->Sample((*gpus)[0]).status().code(), StatusCode::kUnavailable);
  auto events = backend->DrainHealthEvents();
  ASSERT_THAT(events, SizeIs(1));
  EXPECT_EQ(events[0].kind, HealthEvent::Kind::kDeviceLost);
  EXPECT_EQ(events[0].uuid, (*gpus)[0].uuid);
}

TEST_F(NvmlBackendTest, OldLibraryLeavesNewerReadingsAbsent) {
  auto backend = MakeNvmlBackend(OldFakeNvmlPath());
  auto gpus = backend->Discover();
  ASSERT_TRUE(gpus.ok()) << gpus.status();
  ASSERT_THAT(*gpus, SizeIs(8));
  EXPECT_EQ((*gpus)[0].architecture, "hopper");      // from the SKU table instead
  EXPECT_EQ((*gpus)[0].memory_bytes, 85520809984u);  // from nvmlDeviceGetMemoryInfo (v1)
  EXPECT_EQ((*gpus)[0].numa_node, -1);               // DiscoverNode fills it from PCI
  auto telemetry = backend->Sample((*gpus)[0]);
  ASSERT_TRUE(telemetry.ok()) << telemetry.status();
  EXPECT_FALSE(telemetry->energy_joules.has_value());
  EXPECT_TRUE(telemetry->power_watts.has_value());
  EXPECT_TRUE(telemetry->memory_used_bytes.has_value());
}

TEST_F(NvmlBackendTest, FailingCallsBecomeStatusesOrAbsentReadings) {
  setenv("FAKE_NVML_FAIL", "nvmlInit_v2", 1);
  EXPECT_EQ(MakeNvmlBackend(FakeNvmlPath())->Discover().status().code(),
            StatusCode::kUnavailable);  // NVML_ERROR_DRIVER_NOT_LOADED

  setenv("FAKE_NVML_FAIL", "nvmlDeviceGetCount_v2", 1);
  auto count_fails = MakeNvmlBackend(FakeNvmlPath())->Discover();
  EXPECT_EQ(count_fails.status().code(), StatusCode::kInternal);
  EXPECT_THAT(count_fails.status().message(), ::testing::HasSubstr("nvmlDeviceGetCount_v2"));

  setenv("FAKE_NVML_FAIL", "nvmlDeviceGetPowerUsage,nvmlDeviceGetArchitecture", 1);
  auto backend = MakeNvmlBackend(FakeNvmlPath());
  auto gpus = backend->Discover();
  ASSERT_TRUE(gpus.ok()) << gpus.status();
  EXPECT_EQ((*gpus)[0].architecture, "hopper");  // the SKU table's answer
  auto telemetry = backend->Sample((*gpus)[0]);
  ASSERT_TRUE(telemetry.ok());
  EXPECT_FALSE(telemetry->power_watts.has_value());
  EXPECT_TRUE(telemetry->temperature_celsius.has_value());
}

TEST_F(NvmlBackendTest, TwoBackendsShareTheLibrary) {
  // Rediscovery may build new backends before dropping the old: init/shutdown must nest.
  auto first = MakeNvmlBackend(FakeNvmlPath());
  ASSERT_TRUE(first->Discover().ok());
  auto second = MakeNvmlBackend(FakeNvmlPath());
  auto gpus = second->Discover();
  ASSERT_TRUE(gpus.ok()) << gpus.status();
  first.reset();
  EXPECT_TRUE(second->Sample((*gpus)[0]).ok());
}

TEST_F(NvmlBackendTest, ConfigFileOverridesDevices) {
  const auto config = std::filesystem::temp_directory_path() /
                      ("zhisuan-nvml-config-" + std::to_string(::getpid()) + ".json");
  std::ofstream(config) << R"({"device_count": 2, "devices": [
      {"name": "NVIDIA H200", "pci_device_id": 590680286, "uuid": "GPU-h200"},
      {"bus_id": "not a bus id"}]})";
  setenv("FAKE_NVML_CONFIG", config.c_str(), 1);
  auto backend = MakeNvmlBackend(FakeNvmlPath());
  auto gpus = backend->Discover();
  std::filesystem::remove(config);
  ASSERT_TRUE(gpus.ok()) << gpus.status();
  ASSERT_THAT(*gpus, SizeIs(1));  // the GPU with a malformed bus id is skipped, with a log line
  EXPECT_EQ((*gpus)[0].uuid, "GPU-h200");
  EXPECT_EQ((*gpus)[0].product, "H200-SXM");  // 590680286 = 0x233510de
}

}  // namespace
}  // namespace zhisuan::agent::nvml
