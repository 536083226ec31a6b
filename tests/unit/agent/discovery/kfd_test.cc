#include <fstream>

#include "agent/discovery/amd/kfd_backend.h"
#include "agent/discovery/amd/kfd_parsers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/unit/agent/discovery/fixture_trees.h"

namespace zhisuan::agent::amd {
namespace {

using ::testing::ElementsAre;
using zhisuan::agent::testing::FixtureSysfs;
using zhisuan::agent::testing::ScratchTree;

TEST(KfdParsers, ParsesPropertiesAndDerivesIdentity) {
  auto props = ParseKfdProperties(
      "simd_count 1216\nsimd_per_cu 4\nvendor_id 4098\ndevice_id 29857\nlocation_id 49664\n"
      "domain 1\ndrm_render_minor 136\nmax_engine_clk_fcompute 2100\ngfx_target_version 90402\n"
      "unique_id 255\n");
  ASSERT_TRUE(props.ok()) << props.status();
  auto node = KfdNodeFromProperties(*props);
  ASSERT_TRUE(node.ok()) << node.status();
  EXPECT_TRUE(node->is_gpu);
  EXPECT_EQ(node->compute_units, 304);
  EXPECT_EQ(node->vendor_id, 0x1002);
  EXPECT_EQ(node->device_id, 0x74a1);
  EXPECT_EQ(node->pci_bus_id, "0001:c2:00.0");
  EXPECT_EQ(node->render_minor, 136);
  EXPECT_DOUBLE_EQ(node->max_clock_mhz, 2100);
  EXPECT_EQ(GfxArchitecture(node->gfx_target_version), "cdna3");
  EXPECT_EQ(AmdUuid(node->unique_id), "GPU-00000000000000ff");
}

TEST(KfdParsers, ArchitectureNames) {
  EXPECT_EQ(GfxArchitecture(90010), "cdna2");
  EXPECT_EQ(GfxArchitecture(90008), "cdna");
  EXPECT_EQ(GfxArchitecture(110000), "rdna3");
  EXPECT_EQ(GfxArchitecture(0), "");
}

TEST(KfdParsers, CpuNodesAndBadInput) {
  auto cpu = KfdNodeFromProperties(*ParseKfdProperties("cpu_cores_count 8\nsimd_count 0\n"));
  ASSERT_TRUE(cpu.ok());
  EXPECT_FALSE(cpu->is_gpu);

  EXPECT_FALSE(ParseKfdProperties("").ok());
  EXPECT_FALSE(ParseKfdProperties("simd_count\n").ok());     // truncated mid-line
  EXPECT_FALSE(ParseKfdProperties("simd_count -4\n").ok());  // not unsigned
  EXPECT_FALSE(ParseKfdProperties("\xff\xfe\x00 1\n junk").ok());
  // A GPU node that lost its tail: identity keys are missing.
  auto truncated = ParseKfdProperties("simd_count 1216\nsimd_per_cu 4\nvendor_id 4098\n");
  ASSERT_TRUE(truncated.ok());
  EXPECT_EQ(KfdNodeFromProperties(*truncated).status().code(), StatusCode::kInvalidArgument);
  auto zero_per_cu = ParseKfdProperties(
      "simd_count 8\nsimd_per_cu 0\nvendor_id 4098\ndevice_id 1\nlocation_id 1\n"
      "drm_render_minor 128\n");
  EXPECT_FALSE(KfdNodeFromProperties(*zero_per_cu).ok());
  // Fewer SIMDs than one CU: would be a GPU with 0 compute units and 0 FLOPS.
  auto fewer_simds_than_a_cu = ParseKfdProperties(
      "simd_count 3\nsimd_per_cu 4\nvendor_id 4098\ndevice_id 1\nlocation_id 1\n"
      "drm_render_minor 128\n");
  EXPECT_THAT(KfdNodeFromProperties(*fewer_simds_than_a_cu).status().message(),
              ::testing::HasSubstr("simd_count 3 is less than simd_per_cu 4"));
  auto huge_vendor = ParseKfdProperties(
      "simd_count 8\nsimd_per_cu 4\nvendor_id 99999999\ndevice_id 1\nlocation_id 1\n"
      "drm_render_minor 128\n");
  EXPECT_FALSE(KfdNodeFromProperties(*huge_vendor).ok());
}

TEST(KfdBackend, Mi300xFixture) {
  auto backend = MakeKfdBackend(FixtureSysfs("mi300x-8x"));
  EXPECT_EQ(backend->Name(), "kfd");
  auto gpus = backend->Discover();
  ASSERT_TRUE(gpus.ok()) << gpus.status();
  ASSERT_EQ(gpus->size(), 8u);  // the two CPU nodes are skipped
  for (size_t i = 0; i < gpus->size(); ++i) {
    const Accelerator& gpu = (*gpus)[i];
    EXPECT_EQ(gpu.index, static_cast<int>(i));
    EXPECT_EQ(gpu.vendor, Vendor::kAmd);
    EXPECT_EQ(gpu.product, "MI300X");
    EXPECT_EQ(gpu.vendor_product_name, "AMD Instinct MI300X");
    EXPECT_EQ(gpu.architecture, "cdna3");
    EXPECT_EQ(gpu.compute_units, 304);
    EXPECT_DOUBLE_EQ(gpu.max_clock_mhz, 2100);
    EXPECT_EQ(gpu.memory_bytes, 206158430208u);
    EXPECT_EQ(gpu.numa_node, i < 4 ? 0 : 1);
    EXPECT_EQ(gpu.backend, "kfd");
    EXPECT_THAT(gpu.device_nodes,
                ElementsAre("/dev/dri/renderD" + std::to_string(128 + 8 * i), "/dev/kfd"));
  }
  EXPECT_EQ((*gpus)[0].pci_bus_id, "0000:11:00.0");
  EXPECT_EQ((*gpus)[0].uuid, "GPU-1f2e3d4c5b6a7980");
  EXPECT_EQ((*gpus)[7].pci_bus_id, "0000:da:00.0");

  auto telemetry = backend->Sample((*gpus)[3]);
  ASSERT_TRUE(telemetry.ok()) << telemetry.status();
  EXPECT_DOUBLE_EQ(*telemetry->utilization_ratio, 0.30);
  EXPECT_DOUBLE_EQ(*telemetry->memory_used_bytes, 4.0 * 1073741824);
  EXPECT_DOUBLE_EQ(*telemetry->power_watts, 330);
  EXPECT_DOUBLE_EQ(*telemetry->power_limit_watts, 750);
  EXPECT_DOUBLE_EQ(*telemetry->energy_joules, 1003);
  EXPECT_DOUBLE_EQ(*telemetry->temperature_celsius, 43);  // the junction sensor
  EXPECT_DOUBLE_EQ(*telemetry->clock_mhz, 2100);
  EXPECT_TRUE(backend->DrainHealthEvents().empty());
}

TEST(KfdBackend, UnavailableWithoutKfd) {
  auto backend = MakeKfdBackend(FixtureSysfs("h100-8x"));
  EXPECT_EQ(backend->Discover().status().code(), StatusCode::kUnavailable);
}

TEST(KfdBackend, CorruptNodeIsSkippedAndMissingTelemetryIsAbsent) {
  ScratchTree tree("mi300x-8x");
  std::ofstream(tree.path("sys/class/kfd/kfd/topology/nodes/3/properties"))
      << "cpu_cores_count 0\nsimd_count 1216\nsimd_per_cu 4\nvendor_id 40";  // truncated
  const std::string gpu0 = "sys/devices/pci0000:11/0000:11:00.0/";
  std::ofstream(tree.path(gpu0 + "gpu_busy_percent")) << "busy";
  std::filesystem::remove_all(tree.path(gpu0 + "hwmon"));
  auto backend = MakeKfdBackend(tree.Sysfs());
  auto gpus = backend->Discover();
  ASSERT_TRUE(gpus.ok());
  ASSERT_EQ(gpus->size(), 7u);
  EXPECT_EQ((*gpus)[1].pci_bus_id, "0000:46:00.0");
  EXPECT_EQ((*gpus)[1].index, 1);
  auto telemetry = backend->Sample((*gpus)[0]);
  ASSERT_TRUE(telemetry.ok());
  EXPECT_FALSE(telemetry->utilization_ratio.has_value());
  EXPECT_FALSE(telemetry->power_watts.has_value());
  EXPECT_TRUE(telemetry->memory_used_bytes.has_value());

  std::filesystem::remove_all(tree.path(gpu0));
  EXPECT_EQ(backend->Sample((*gpus)[0]).status().code(), StatusCode::kUnavailable);
}

}  // namespace
}  // namespace zhisuan::agent::amd
