#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "agent/discovery/ascend/dcmi_backend.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/unit/agent/discovery/fixture_trees.h"

namespace zhisuan::agent::ascend {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::SizeIs;
using zhisuan::agent::testing::FakeDcmiPath;

class DcmiBackendTest : public ::testing::Test {
 protected:
  void SetUp() override {
    unsetenv("FAKE_DCMI_FAIL");
    unsetenv("FAKE_DCMI_CARDS");
    health_file_ = std::filesystem::temp_directory_path() /
                   ("zhisuan-dcmi-health-" + std::to_string(::getpid()));
    std::ofstream(health_file_).flush();
    setenv("FAKE_DCMI_HEALTH_FILE", health_file_.c_str(), 1);
  }
  void TearDown() override {
    unsetenv("FAKE_DCMI_HEALTH_FILE");
    unsetenv("FAKE_DCMI_FAIL");
    unsetenv("FAKE_DCMI_CARDS");
    std::filesystem::remove(health_file_);
  }
  void SetHealth(const std::string& lines) { std::ofstream(health_file_) << lines; }

  std::filesystem::path health_file_;
};

TEST(AscendProductName, FromChipNames) {
  EXPECT_EQ(AscendProductName("910B3"), "Ascend910B3");
  EXPECT_EQ(AscendProductName("Ascend 910"), "Ascend-910");
  EXPECT_EQ(AscendProductName(""), "Ascend");
}

TEST_F(DcmiBackendTest, MissingLibraryIsUnavailable) {
  auto backend = MakeDcmiBackend("/nonexistent/libdcmi.so");
  auto found = backend->Discover();
  EXPECT_EQ(found.status().code(), StatusCode::kUnavailable);
  EXPECT_THAT(found.status().message(), ::testing::HasSubstr("DCMI not available"));
  EXPECT_THAT(backend->DrainHealthEvents(), IsEmpty());
}

TEST_F(DcmiBackendTest, EightAscend910B) {
  auto backend = MakeDcmiBackend(FakeDcmiPath());
  EXPECT_EQ(backend->Name(), "dcmi");
  auto npus = backend->Discover();
  ASSERT_TRUE(npus.ok()) << npus.status();
  ASSERT_THAT(*npus, SizeIs(8));
  const Accelerator& npu = (*npus)[6];
  EXPECT_EQ(npu.index, 6);
  EXPECT_EQ(npu.vendor, Vendor::kHuawei);
  EXPECT_EQ(npu.product, "Ascend910B");  // canonical name for 19e5:d802
  EXPECT_EQ(npu.vendor_product_name, "Ascend 910B3");
  EXPECT_EQ(npu.pci_bus_id, "0000:c1:00.0");
  EXPECT_EQ(npu.uuid, "pci-0000:c1:00.0");
  EXPECT_EQ(npu.pci_device_id, 0xd802);
  EXPECT_EQ(npu.architecture, "davinci");
  EXPECT_EQ(npu.compute_units, 20);
  EXPECT_DOUBLE_EQ(npu.max_clock_mhz, 1800);
  EXPECT_EQ(npu.memory_bytes, 64ull << 30);
  EXPECT_EQ(npu.backend, "dcmi");
  EXPECT_THAT(npu.device_nodes, ElementsAre("/dev/davinci6", "/dev/davinci_manager",
                                            "/dev/devmm_svm", "/dev/hisi_hdc"));

  auto telemetry = backend->Sample(npu);
  ASSERT_TRUE(telemetry.ok()) << telemetry.status();
  EXPECT_DOUBLE_EQ(*telemetry->utilization_ratio, 0.30);
  EXPECT_DOUBLE_EQ(*telemetry->power_watts, 216.5);
  EXPECT_DOUBLE_EQ(*telemetry->temperature_celsius, 51);
  EXPECT_DOUBLE_EQ(*telemetry->clock_mhz, 1650);
  EXPECT_DOUBLE_EQ(*telemetry->memory_used_bytes, 3600.0 * 1024 * 1024);
  EXPECT_FALSE(telemetry->energy_joules.has_value());
}

TEST_F(DcmiBackendTest, HealthCodesAreReportedOnChange) {
  auto backend = MakeDcmiBackend(FakeDcmiPath());
  auto npus = backend->Discover();
  ASSERT_TRUE(npus.ok()) << npus.status();
  EXPECT_THAT(backend->DrainHealthEvents(), IsEmpty());

  SetHealth("2 3 80e01801 80e18402\n");
  auto events = backend->DrainHealthEvents();
  ASSERT_THAT(events, SizeIs(2));
  EXPECT_EQ(events[0].uuid, (*npus)[2].uuid);
  EXPECT_EQ(events[0].kind, HealthEvent::Kind::kVendorHealthCode);
  EXPECT_EQ(events[0].code, 0x80e01801u);
  EXPECT_EQ(events[1].code, 0x80e18402u);
  EXPECT_THAT(events[0].detail, ::testing::HasSubstr("health 3"));
  EXPECT_THAT(backend->DrainHealthEvents(), IsEmpty());  // unchanged: not repeated

  SetHealth("2 0\n5 1\n");  // chip 2 recovers; chip 5 raises a minor alarm without codes
  events = backend->DrainHealthEvents();
  ASSERT_THAT(events, SizeIs(1));
  EXPECT_EQ(events[0].uuid, (*npus)[5].uuid);
  EXPECT_EQ(events[0].code, 0u);
}

TEST_F(DcmiBackendTest, FailuresDegrade) {
  setenv("FAKE_DCMI_FAIL", "dcmi_init", 1);
  EXPECT_EQ(MakeDcmiBackend(FakeDcmiPath())->Discover().status().code(), StatusCode::kUnavailable);

  setenv("FAKE_DCMI_FAIL", "dcmi_get_card_num_list", 1);
  EXPECT_EQ(MakeDcmiBackend(FakeDcmiPath())->Discover().status().code(), StatusCode::kInternal);

  // Without PCI information the chips are still found, under logic-id uuids.
  setenv("FAKE_DCMI_FAIL", "dcmi_get_device_pcie_info_v2,dcmi_get_device_power_info", 1);
  setenv("FAKE_DCMI_CARDS", "2", 1);
  auto backend = MakeDcmiBackend(FakeDcmiPath());
  auto npus = backend->Discover();
  ASSERT_TRUE(npus.ok()) << npus.status();
  ASSERT_THAT(*npus, SizeIs(2));
  EXPECT_EQ((*npus)[1].uuid, "ascend-1");
  EXPECT_EQ((*npus)[1].pci_bus_id, "");
  EXPECT_EQ((*npus)[1].product, "Ascend910B3");
  auto telemetry = backend->Sample((*npus)[1]);
  ASSERT_TRUE(telemetry.ok());
  EXPECT_FALSE(telemetry->power_watts.has_value());
  EXPECT_TRUE(telemetry->temperature_celsius.has_value());
}

}  // namespace
}  // namespace zhisuan::agent::ascend
