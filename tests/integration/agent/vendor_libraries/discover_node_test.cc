// The node discovery on the fake vendor libraries (loaded by path). Discovery on the sysfs
// fixtures alone, and NVML through an in-test table, is unit-tested in
// tests/unit/agent/discovery/discover_node_test.cc.
#include <cstdlib>

#include "agent/discovery/amd/kfd_backend.h"
#include "agent/discovery/ascend/dcmi_backend.h"
#include "agent/discovery/discovery.h"
#include "agent/discovery/nvml/nvml_backend.h"
#include "agent/discovery/pci/pci_backend.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/unit/agent/discovery/fixture_trees.h"

namespace zhisuan::agent {
namespace {

using ::testing::SizeIs;
using zhisuan::agent::testing::FakeDcmiPath;
using zhisuan::agent::testing::FakeNvmlPath;
using zhisuan::agent::testing::FixtureProcfs;
using zhisuan::agent::testing::FixtureRoot;
using zhisuan::agent::testing::FixtureSysfs;
using zhisuan::agent::testing::OldFakeNvmlPath;

DiscoveryOptions OptionsFor(const std::string& fixture) {
  DiscoveryOptions options;
  options.sysfs_root = FixtureRoot(fixture) + "/sys";
  options.procfs_root = FixtureRoot(fixture) + "/proc";
  options.nvml_library = "/nonexistent/libnvidia-ml.so.1";
  options.dcmi_library = "/nonexistent/libdcmi.so";
  return options;
}

const BackendResult* ResultOf(const NodeInventory& inventory, std::string_view backend) {
  for (const BackendResult& result : inventory.backend_results) {
    if (result.backend == backend) return &result;
  }
  return nullptr;
}

class DiscoverNodeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    unsetenv("FAKE_NVML_CONFIG");
    unsetenv("FAKE_NVML_FAIL");
    unsetenv("FAKE_NVML_EVENTS_FILE");
    unsetenv("FAKE_DCMI_FAIL");
    unsetenv("FAKE_DCMI_CARDS");
    unsetenv("FAKE_DCMI_HEALTH_FILE");
  }
};

TEST_F(DiscoverNodeTest, NvmlSupersedesPciByBusId) {
  DiscoveryOptions options = OptionsFor("h100-8x");
  options.nvml_library = FakeNvmlPath();
  auto backends = MakeDiscoveryBackends(options);
  NodeInventory inventory =
      DiscoverNode(backends, *FixtureSysfs("h100-8x"), *FixtureProcfs("h100-8x"));
  ASSERT_THAT(inventory.accelerators, SizeIs(8));  // not 16
  for (size_t i = 0; i < 8; ++i) {
    EXPECT_EQ(inventory.accelerators[i].backend, "nvml");
    EXPECT_EQ(inventory.accelerators[i].index, static_cast<int>(i));
  }
  EXPECT_TRUE(ResultOf(inventory, "nvml")->status.ok());
  EXPECT_TRUE(ResultOf(inventory, "pci")->status.ok());
  EXPECT_EQ(ResultOf(inventory, "kfd")->status.code(), StatusCode::kUnavailable);
  EXPECT_EQ(ResultOf(inventory, "dcmi")->status.code(), StatusCode::kUnavailable);
  EXPECT_TRUE(ResultOf(inventory, "cpu")->status.ok());
  EXPECT_EQ(inventory.cpu.sockets, 2);
  // Issue 18: the fake NVML and the fixture tree are stand-ins, and the inventory says so.
  EXPECT_THAT(
      inventory.stand_ins,
      ::testing::ElementsAre(StandIn{"nvml", "fake_nvml"}, StandIn{"sysfs", "fixture tree h100-8x"},
                             StandIn{"procfs", "fixture tree h100-8x"}));
}

TEST_F(DiscoverNodeTest, PciFillsWhatAnOldNvmlCannotTell) {
  DiscoveryOptions options = OptionsFor("h100-8x");
  options.nvml_library = OldFakeNvmlPath();
  auto backends = MakeDiscoveryBackends(options);
  NodeInventory inventory =
      DiscoverNode(backends, *FixtureSysfs("h100-8x"), *FixtureProcfs("h100-8x"));
  ASSERT_THAT(inventory.accelerators, SizeIs(8));
  EXPECT_EQ(inventory.accelerators[0].backend, "nvml");
  EXPECT_EQ(inventory.accelerators[0].numa_node, 0);  // the old library has no NUMA call
  EXPECT_EQ(inventory.accelerators[7].numa_node, 1);
}

TEST_F(DiscoverNodeTest, Mi300xAndAscendNodes) {
  auto amd_backends = MakeDiscoveryBackends(OptionsFor("mi300x-8x"));
  NodeInventory amd =
      DiscoverNode(amd_backends, *FixtureSysfs("mi300x-8x"), *FixtureProcfs("mi300x-8x"));
  ASSERT_THAT(amd.accelerators, SizeIs(8));
  EXPECT_EQ(amd.accelerators[0].backend, "kfd");

  DiscoveryOptions options = OptionsFor("ascend910b-8x");
  options.dcmi_library = FakeDcmiPath();
  auto ascend_backends = MakeDiscoveryBackends(options);
  NodeInventory ascend = DiscoverNode(ascend_backends, *FixtureSysfs("ascend910b-8x"),
                                      *FixtureProcfs("ascend910b-8x"));
  ASSERT_THAT(ascend.accelerators, SizeIs(8));
  for (size_t i = 0; i < 8; ++i) {
    EXPECT_EQ(ascend.accelerators[i].backend, "dcmi");
    EXPECT_EQ(ascend.accelerators[i].index, static_cast<int>(i));
  }
  EXPECT_EQ(ascend.accelerators[7].numa_node, 3);  // from the PCI scan
  ASSERT_FALSE(ascend.stand_ins.empty());
  EXPECT_EQ(ascend.stand_ins[0], (StandIn{"dcmi", "fake_dcmi"}));
}

TEST_F(DiscoverNodeTest, VendorWithoutBusIdsSupersedesItsPciEntries) {
  setenv("FAKE_DCMI_FAIL", "dcmi_get_device_pcie_info_v2", 1);
  DiscoveryOptions options = OptionsFor("ascend910b-8x");
  options.dcmi_library = FakeDcmiPath();
  auto backends = MakeDiscoveryBackends(options);
  NodeInventory inventory =
      DiscoverNode(backends, *FixtureSysfs("ascend910b-8x"), *FixtureProcfs("ascend910b-8x"));
  ASSERT_THAT(inventory.accelerators, SizeIs(8));  // not 8 from DCMI plus 8 from PCI
  EXPECT_EQ(inventory.accelerators[0].uuid, "ascend-0");
}

}  // namespace
}  // namespace zhisuan::agent
