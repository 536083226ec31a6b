#include "agent/deviceplugin/allocation.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/unit/agent/kubernetes/inventories.h"

namespace zhisuan::agent {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing::MakeAccelerator;
using testing::MakeAccelerators;
using ::testing::Pair;
using ::testing::UnorderedElementsAre;

std::vector<std::string> Paths(const ContainerAllocation& allocation) {
  std::vector<std::string> paths;
  for (const auto& device : allocation.devices) {
    EXPECT_EQ(device.container_path, device.host_path);
    EXPECT_EQ(device.permissions, "rw");
    paths.push_back(device.host_path);
  }
  return paths;
}

std::string Uuid(const ResourceDevices& devices, int index) {
  return devices.accelerators()[static_cast<size_t>(index)].uuid;
}

TEST(AllocationTest, NvidiaGetsVisibleDevicesByUuidAndCdiNames) {
  ResourceDevices gpus("nvidia.com/gpu", MakeAccelerators(Vendor::kNvidia));
  auto allocation = gpus.Allocate({Uuid(gpus, 5), Uuid(gpus, 2)}, {});
  ASSERT_TRUE(allocation.ok()) << allocation.status();
  EXPECT_THAT(allocation->envs, ElementsAre(Pair("NVIDIA_VISIBLE_DEVICES",
                                                 "GPU-6a1f1a6e-0000-4000-8000-000000000002,"
                                                 "GPU-6a1f1a6e-0000-4000-8000-000000000005")));
  EXPECT_THAT(allocation->cdi_devices,
              ElementsAre("nvidia.com/gpu=GPU-6a1f1a6e-0000-4000-8000-000000000002",
                          "nvidia.com/gpu=GPU-6a1f1a6e-0000-4000-8000-000000000005"));
  EXPECT_TRUE(allocation->devices.empty());  // the NVIDIA container toolkit adds the nodes
}

TEST(AllocationTest, AmdGetsKfdAndOnlyTheRenderNodesOfItsDevices) {
  ResourceDevices gpus("amd.com/gpu", MakeAccelerators(Vendor::kAmd));
  auto allocation = gpus.Allocate({Uuid(gpus, 3), Uuid(gpus, 1)}, {});
  ASSERT_TRUE(allocation.ok()) << allocation.status();
  EXPECT_THAT(Paths(*allocation),
              ElementsAre("/dev/kfd", "/dev/dri/renderD129", "/dev/dri/renderD131"));
  EXPECT_TRUE(allocation->envs.empty());
}

TEST(AllocationTest, AscendGetsVisibleIndicesDavinciNodesAndTheSharedManagers) {
  ResourceDevices npus("huawei.com/Ascend910", MakeAccelerators(Vendor::kHuawei));
  auto allocation = npus.Allocate({Uuid(npus, 6), Uuid(npus, 4)}, {});
  ASSERT_TRUE(allocation.ok()) << allocation.status();
  EXPECT_THAT(allocation->envs, ElementsAre(Pair("ASCEND_VISIBLE_DEVICES", "4,6")));
  EXPECT_THAT(Paths(*allocation),
              ElementsAre("/dev/davinci4", "/dev/davinci6", "/dev/davinci_manager",
                          "/dev/devmm_svm", "/dev/hisi_hdc"));
}

TEST(AllocationTest, OtherVendorsGetTheirDeviceNodes) {
  ResourceDevices mlus("cambricon.com/mlu", MakeAccelerators(Vendor::kCambricon, 2));
  auto allocation = mlus.Allocate({Uuid(mlus, 1)}, {});
  ASSERT_TRUE(allocation.ok()) << allocation.status();
  EXPECT_THAT(Paths(*allocation), ElementsAre("/dev/cambricon_dev1"));
}

TEST(AllocationTest, UnknownDeviceIsInvalidArgumentNamingItAndTheResource) {
  ResourceDevices gpus("nvidia.com/gpu", MakeAccelerators(Vendor::kNvidia, 2));
  auto allocation = gpus.Allocate({Uuid(gpus, 0), "GPU-not-here"}, {});
  ASSERT_FALSE(allocation.ok());
  EXPECT_EQ(allocation.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(allocation.status().message(), HasSubstr("unknown device ID \"GPU-not-here\""));
  EXPECT_THAT(allocation.status().message(), HasSubstr("nvidia.com/gpu"));
}

TEST(AllocationTest, UnhealthyDeviceIsRefusedWithItsReason) {
  ResourceDevices gpus("nvidia.com/gpu", MakeAccelerators(Vendor::kNvidia, 2));
  auto allocation = gpus.Allocate({Uuid(gpus, 1)}, {{Uuid(gpus, 1), "Xid 79"}});
  ASSERT_FALSE(allocation.ok());
  EXPECT_EQ(allocation.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_THAT(allocation.status().message(), HasSubstr("Unhealthy: Xid 79"));
  EXPECT_TRUE(gpus.Allocate({Uuid(gpus, 0)}, {{Uuid(gpus, 1), "Xid 79"}}).ok());
}

TEST(AllocationTest, ListReportsHealthAndNumaNode) {
  ResourceDevices gpus("nvidia.com/gpu", MakeAccelerators(Vendor::kNvidia));
  auto list = gpus.List({{Uuid(gpus, 6), "Xid 79"}});
  ASSERT_EQ(list.size(), 8u);
  EXPECT_EQ(list[0], (PluginDevice{Uuid(gpus, 0), true, 0}));
  EXPECT_EQ(list[6], (PluginDevice{Uuid(gpus, 6), false, 1}));
}

TEST(PreferredAllocationTest, FillsFromTheNumaNodeWithMostAvailable) {
  ResourceDevices gpus("nvidia.com/gpu", MakeAccelerators(Vendor::kNvidia));
  // Node 0 offers 0,1 (2 free); node 1 offers 4..7 (4 free): all four come from node 1.
  auto chosen = gpus.Prefer(
      {Uuid(gpus, 0), Uuid(gpus, 1), Uuid(gpus, 4), Uuid(gpus, 5), Uuid(gpus, 6), Uuid(gpus, 7)},
      {}, 4);
  EXPECT_THAT(chosen, ElementsAre(Uuid(gpus, 4), Uuid(gpus, 5), Uuid(gpus, 6), Uuid(gpus, 7)));
}

TEST(PreferredAllocationTest, MustIncludeComesFirstAndPinsItsNumaNode) {
  ResourceDevices gpus("nvidia.com/gpu", MakeAccelerators(Vendor::kNvidia));
  std::vector<std::string> all;
  for (int i = 0; i < 8; ++i) all.push_back(Uuid(gpus, i));
  auto chosen = gpus.Prefer(all, {Uuid(gpus, 6)}, 3);
  EXPECT_THAT(chosen, ElementsAre(Uuid(gpus, 6), Uuid(gpus, 4), Uuid(gpus, 5)));
}

TEST(PreferredAllocationTest, SpillsToTheNextNodeAndIsDeterministic) {
  ResourceDevices gpus("nvidia.com/gpu", MakeAccelerators(Vendor::kNvidia));
  std::vector<std::string> all;
  for (int i = 0; i < 8; ++i) all.push_back(Uuid(gpus, i));
  // Equal availability: the lower NUMA node first, then spill into node 1 in index order.
  auto chosen = gpus.Prefer(all, {}, 6);
  EXPECT_THAT(chosen, ElementsAre(Uuid(gpus, 0), Uuid(gpus, 1), Uuid(gpus, 2), Uuid(gpus, 3),
                                  Uuid(gpus, 4), Uuid(gpus, 5)));
  std::vector<std::string> reversed(all.rbegin(), all.rend());
  EXPECT_EQ(gpus.Prefer(reversed, {}, 6), chosen);
}

TEST(PreferredAllocationTest, UnknownNumaNodeComesLastAndUnknownIdsAreIgnored) {
  auto accelerators = MakeAccelerators(Vendor::kNvidia, 3);
  accelerators[0].numa_node = -1;
  accelerators[1].numa_node = 1;
  accelerators[2].numa_node = -1;
  ResourceDevices gpus("nvidia.com/gpu", accelerators);
  auto chosen = gpus.Prefer({Uuid(gpus, 0), Uuid(gpus, 1), Uuid(gpus, 2), "GPU-gone"}, {}, 2);
  EXPECT_THAT(chosen, ElementsAre(Uuid(gpus, 1), Uuid(gpus, 0)));
}

}  // namespace
}  // namespace zhisuan::agent
