// Node discovery on the sysfs fixtures, with NVML through an in-test table (fake_nvml_table.h):
// no library is loaded. The same discovery on the fake vendor libraries is tested in
// tests/integration/agent/vendor_libraries/discover_node_test.cc.
#include <string>
#include <vector>

#include "agent/discovery/amd/kfd_backend.h"
#include "agent/discovery/ascend/dcmi_backend.h"
#include "agent/discovery/discovery.h"
#include "agent/discovery/nvml/nvml_backend.h"
#include "agent/discovery/pci/pci_backend.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/unit/agent/discovery/fake_nvml_table.h"
#include "tests/unit/agent/discovery/fixture_trees.h"

namespace zhisuan::agent {
namespace {

using ::testing::SizeIs;
using zhisuan::agent::testing::FixtureProcfs;
using zhisuan::agent::testing::FixtureRoot;
using zhisuan::agent::testing::FixtureSysfs;

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

class DiscoverNodeTest : public ::testing::Test {};

// The backends MakeDiscoveryBackends makes, with NVML on the in-test table.
std::vector<DiscoveryBackendPtr> WithNvmlTable(std::vector<DiscoveryBackendPtr> backends) {
  for (auto& backend : backends) {
    if (backend->Name() == "nvml") backend = nvml::MakeNvmlBackend(nvml::testing::FakeNvml::Api());
  }
  return backends;
}

TEST_F(DiscoverNodeTest, MakesEveryBackend) {
  auto backends = MakeDiscoveryBackends(OptionsFor("cpu-only"));
  std::vector<std::string> names;
  for (const auto& backend : backends) names.emplace_back(backend->Name());
  EXPECT_THAT(names, ::testing::ElementsAre("nvml", "kfd", "dcmi", "pci"));
}

TEST_F(DiscoverNodeTest, NvmlSupersedesPciByBusId) {
  auto backends = WithNvmlTable(MakeDiscoveryBackends(OptionsFor("h100-8x")));
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
}

TEST_F(DiscoverNodeTest, WithoutNvmlThePciScanStillReportsEightGpus) {
  auto backends = MakeDiscoveryBackends(OptionsFor("h100-8x"));
  NodeInventory inventory =
      DiscoverNode(backends, *FixtureSysfs("h100-8x"), *FixtureProcfs("h100-8x"));
  ASSERT_THAT(inventory.accelerators, SizeIs(8));
  for (const Accelerator& gpu : inventory.accelerators) {
    EXPECT_EQ(gpu.backend, "pci");
    EXPECT_EQ(gpu.product, "H100-SXM5");
  }
  const BackendResult* nvml = ResultOf(inventory, "nvml");
  ASSERT_NE(nvml, nullptr);
  EXPECT_EQ(nvml->status.code(), StatusCode::kUnavailable);
}

TEST_F(DiscoverNodeTest, MixedNodeSortedByVendorAndCpuOnlyNode) {
  auto mixed_backends = MakeDiscoveryBackends(OptionsFor("mixed-pci"));
  NodeInventory mixed =
      DiscoverNode(mixed_backends, *FixtureSysfs("mixed-pci"), *FixtureProcfs("mixed-pci"));
  ASSERT_THAT(mixed.accelerators, SizeIs(9));
  for (size_t i = 1; i < mixed.accelerators.size(); ++i) {
    EXPECT_LT(mixed.accelerators[i - 1].vendor, mixed.accelerators[i].vendor);
  }
  EXPECT_EQ(mixed.cpu.vendor_id, "HygonGenuine");

  auto cpu_backends = MakeDiscoveryBackends(OptionsFor("cpu-only"));
  NodeInventory cpu_only =
      DiscoverNode(cpu_backends, *FixtureSysfs("cpu-only"), *FixtureProcfs("cpu-only"));
  EXPECT_TRUE(cpu_only.accelerators.empty());
  EXPECT_EQ(cpu_only.cpu.logical_cpus, 8);
  EXPECT_THAT(cpu_only.backend_results, SizeIs(5));
}

TEST_F(DiscoverNodeTest, NeverFailsEvenWithNothingToRead) {
  DiscoveryOptions options = OptionsFor("cpu-only");
  options.sysfs_root = "/nonexistent-zhisuan-root/sys";
  auto backends = MakeDiscoveryBackends(options);
  auto nothing = MakeRootedFileReader("/nonexistent-zhisuan-root");
  NodeInventory inventory = DiscoverNode(backends, *nothing, *nothing);
  EXPECT_TRUE(inventory.accelerators.empty());
  EXPECT_EQ(ResultOf(inventory, "pci")->status.code(), StatusCode::kNotFound);
  EXPECT_EQ(ResultOf(inventory, "cpu")->status.code(), StatusCode::kNotFound);
}

// Issue 18: a fixture tree says it is one, and the inventory read from it is simulated.
TEST_F(DiscoverNodeTest, AFixtureTreeAndAStandInLibraryMakeTheInventorySimulated) {
  nvml::NvmlApi api = nvml::testing::FakeNvml::Api();
  api.stand_in = "fake_nvml";  // as NvmlApi::Resolve reads it from a stand-in library
  std::vector<DiscoveryBackendPtr> backends;
  backends.push_back(nvml::MakeNvmlBackend(api));
  backends.push_back(std::make_unique<pci::PciScanBackend>(FixtureSysfs("h100-8x")));
  NodeInventory inventory =
      DiscoverNode(backends, *FixtureSysfs("h100-8x"), *FixtureProcfs("h100-8x"));
  ASSERT_THAT(inventory.accelerators, SizeIs(8));
  EXPECT_THAT(
      inventory.stand_ins,
      ::testing::ElementsAre(StandIn{"nvml", "fake_nvml"}, StandIn{"sysfs", "fixture tree h100-8x"},
                             StandIn{"procfs", "fixture tree h100-8x"}));
}

TEST_F(DiscoverNodeTest, ARealLibraryAndTreeAreNoStandIns) {
  std::vector<DiscoveryBackendPtr> backends;
  backends.push_back(nvml::MakeNvmlBackend(nvml::testing::FakeNvml::Api()));  // no marker
  auto nothing = MakeRootedFileReader("/nonexistent-zhisuan-root");
  NodeInventory inventory = DiscoverNode(backends, *nothing, *nothing);
  EXPECT_THAT(inventory.stand_ins, ::testing::IsEmpty());
  EXPECT_EQ(FixtureTreeAt(*MakeRootedFileReader("/sys")), std::nullopt);
  EXPECT_EQ(FixtureTreeAt(*FixtureSysfs("cpu-only")), "fixture tree cpu-only");
}

}  // namespace
}  // namespace zhisuan::agent
