#include <fstream>
#include <string>

#include "agent/discovery/pci/pci_backend.h"
#include "agent/discovery/pci/pci_parsers.h"
#include "agent/sku/sku_names.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/unit/agent/discovery/fixture_trees.h"

namespace zhisuan::agent::pci {
namespace {

using ::testing::ElementsAre;
using zhisuan::agent::testing::FixtureSysfs;
using zhisuan::agent::testing::ScratchTree;

TEST(PciParsers, ParsesKernelFormattedIds) {
  EXPECT_EQ(*ParsePciId("0x10de\n"), 0x10de);
  EXPECT_EQ(*ParsePciId("0xCABC"), 0xcabc);
  EXPECT_EQ(*ParsePciId("19e5"), 0x19e5);
  EXPECT_EQ(*ParsePciClass("0x030200\n"), 0x030200u);
  EXPECT_EQ(*ParseNumaNode("1\n"), 1);
  EXPECT_EQ(*ParseNumaNode("-1\n"), -1);
}

TEST(PciParsers, RejectsGarbageWithoutCrashing) {
  const std::string_view bad_inputs[] = {
      "",        "\n",           "0x", "0x10000",
      "garbage", "0x10de extra", "-1", std::string_view("\xff\xfe\x00", 3)};
  for (std::string_view bad : bad_inputs) {
    EXPECT_FALSE(ParsePciId(bad).ok()) << "input: " << bad;
  }
  EXPECT_FALSE(ParsePciClass("0x1000000").ok());
  EXPECT_FALSE(ParseNumaNode("-2").ok());
  EXPECT_FALSE(ParseNumaNode("99999999999999").ok());
  EXPECT_FALSE(ParseNumaNode(std::string(100, '1')).ok());
  EXPECT_EQ(ParsePciId("zz").status().code(), StatusCode::kInvalidArgument);
}

TEST(PciParsers, NormalizesBusIds) {
  EXPECT_EQ(*NormalizePciBusId("00000000:9A:00.0"), "0000:9a:00.0");
  EXPECT_EQ(*NormalizePciBusId("0000:17:00.0\n"), "0000:17:00.0");
  EXPECT_EQ(*NormalizePciBusId("17:00.1"), "0000:17:00.1");
  EXPECT_EQ(*NormalizePciBusId("0001:C1:1f.7"), "0001:c1:1f.7");
  for (std::string_view bad : {"", "0000:17:00", "0000:17:00.00", "10000000:17:00.0", "0000:1:00.0",
                               "zz:00.0", "0000:17:00.0:1", "::."}) {
    EXPECT_FALSE(NormalizePciBusId(bad).ok()) << "input: " << bad;
  }
}

TEST(PciParsers, AcceleratorClassPolicy) {
  EXPECT_TRUE(IsAcceleratorFunction(0x10de, 0x030200));   // H100: 3D controller
  EXPECT_TRUE(IsAcceleratorFunction(0x10de, 0x030000));   // NVIDIA VGA
  EXPECT_TRUE(IsAcceleratorFunction(0x1002, 0x120000));   // MI300X: processing accelerator
  EXPECT_TRUE(IsAcceleratorFunction(0x1d94, 0x0b4000));   // Hygon DCU: co-processor
  EXPECT_FALSE(IsAcceleratorFunction(0x1a03, 0x030000));  // ASPEED BMC VGA
  EXPECT_FALSE(IsAcceleratorFunction(0x19e5, 0x030000));  // Huawei iBMC VGA
  EXPECT_FALSE(IsAcceleratorFunction(0x8086, 0x0b4000));  // Intel QuickAssist
  EXPECT_FALSE(IsAcceleratorFunction(0x10de, 0x068000));  // NVSwitch: a bridge
  EXPECT_FALSE(IsAcceleratorFunction(0x10de, 0x040300));  // GPU audio function
}

TEST(SkuNames, CanonicalNamesAndFallback) {
  EXPECT_EQ(CanonicalProductName(0x10de, 0x2330), "H100-SXM5");
  EXPECT_EQ(CanonicalProductName(0x10de, 0x2331), "H100-PCIe");
  EXPECT_EQ(CanonicalProductName(0x10de, 0x2335), "H200-SXM");
  EXPECT_EQ(CanonicalProductName(0x10de, 0x2329), "H20");
  EXPECT_EQ(CanonicalProductName(0x10de, 0x20b0), "A100-SXM4-40GB");
  EXPECT_EQ(CanonicalProductName(0x10de, 0x26b9), "L40S");
  EXPECT_EQ(CanonicalProductName(0x1002, 0x74a1), "MI300X");
  EXPECT_EQ(CanonicalProductName(0x10de, 0x74a1), std::nullopt);
  EXPECT_EQ(KnownArchitecture(0x10de, 0x2330), "hopper");
  EXPECT_EQ(ProductNameOrFallback(0xcabc, 0x0370), "cambricon-0370");
  EXPECT_EQ(ProductNameOrFallback(0x1234, 0xbeef), "unknown-beef");
  for (const KnownProduct& product : KnownProducts()) {
    EXPECT_EQ(LabelSafe(product.name), product.name) << "not label-safe: " << product.name;
  }
}

TEST(SkuNames, LabelSafe) {
  EXPECT_EQ(LabelSafe("NVIDIA H100 80GB HBM3"), "NVIDIA-H100-80GB-HBM3");
  EXPECT_EQ(LabelSafe("  (weird)//name!! "), "weird-name");
  EXPECT_EQ(LabelSafe(std::string(100, 'a')).size(), 63u);
  EXPECT_EQ(LabelSafe("\xff\xfe"), "");
}

TEST(PciScan, H100FixtureHasEightNvidiaGpusOnTwoNumaNodes) {
  PciScanBackend backend(FixtureSysfs("h100-8x"));
  auto found = backend.Discover();
  ASSERT_TRUE(found.ok()) << found.status();
  ASSERT_EQ(found->size(), 8u);
  for (size_t i = 0; i < found->size(); ++i) {
    const Accelerator& gpu = (*found)[i];
    EXPECT_EQ(gpu.vendor, Vendor::kNvidia);
    EXPECT_EQ(gpu.index, static_cast<int>(i));
    EXPECT_EQ(gpu.product, "H100-SXM5");
    EXPECT_EQ(gpu.architecture, "hopper");
    EXPECT_EQ(gpu.pci_device_id, 0x2330);
    EXPECT_EQ(gpu.backend, "pci");
    EXPECT_EQ(gpu.uuid, "pci-" + gpu.pci_bus_id);
    EXPECT_EQ(gpu.numa_node, i < 4 ? 0 : 1);
  }
  EXPECT_EQ((*found)[0].pci_bus_id, "0000:18:00.0");
  EXPECT_EQ((*found)[7].pci_bus_id, "0000:db:00.0");
  auto telemetry = backend.Sample((*found)[0]);
  ASSERT_TRUE(telemetry.ok());
  EXPECT_FALSE(telemetry->power_watts.has_value());
}

TEST(PciScan, MixedFixtureFindsEveryVendorAndIgnoresTheRest) {
  PciScanBackend backend(FixtureSysfs("mixed-pci"));
  auto found = backend.Discover();
  ASSERT_TRUE(found.ok()) << found.status();
  std::vector<std::string> products;
  for (const Accelerator& accelerator : *found) {
    products.push_back(accelerator.product);
    EXPECT_EQ(accelerator.index, 0) << accelerator.product;  // one of each vendor
  }
  // The garbage-vendor function, the BMC VGA, the Intel NIC and the Intel QAT are not here.
  EXPECT_THAT(products, ElementsAre("cambricon-0370", "hygon-55b7", "kunlunxin-3684",
                                    "enflame-c033", "iluvatar-0001", "moorethreads-0327",
                                    "metax-4001", "habana-1020", "tenstorrent-401e"));
  EXPECT_EQ((*found)[0].vendor, Vendor::kCambricon);
  EXPECT_EQ((*found)[5].vendor, Vendor::kMooreThreads);
  EXPECT_EQ((*found)[5].numa_node, 1);
}

TEST(PciScan, AscendAndMi300xFixtures) {
  PciScanBackend ascend(FixtureSysfs("ascend910b-8x"));
  auto npus = ascend.Discover();
  ASSERT_TRUE(npus.ok());
  ASSERT_EQ(npus->size(), 8u);  // the iBMC VGA and the Hi1822 NIC are Huawei's but not NPUs
  EXPECT_EQ((*npus)[0].product, "Ascend910B");
  EXPECT_EQ((*npus)[7].numa_node, 3);

  PciScanBackend amd(FixtureSysfs("mi300x-8x"));
  auto gpus = amd.Discover();
  ASSERT_TRUE(gpus.ok());
  ASSERT_EQ(gpus->size(), 8u);
  EXPECT_EQ((*gpus)[0].product, "MI300X");
  EXPECT_THAT((*gpus)[1].device_nodes, ElementsAre("/dev/dri/renderD136"));
}

TEST(PciScan, CpuOnlyFixtureHasNoAccelerators) {
  PciScanBackend backend(FixtureSysfs("cpu-only"));
  auto found = backend.Discover();
  ASSERT_TRUE(found.ok());
  EXPECT_TRUE(found->empty());
}

TEST(PciScan, CorruptAndMissingFilesSkipOrDegradeNeverCrash) {
  ScratchTree tree("h100-8x");
  const std::string gpu0 = "sys/devices/pci0000:18/0000:18:00.0/";
  const std::string gpu1 = "sys/devices/pci0000:2a/0000:2a:00.0/";
  const std::string gpu2 = "sys/devices/pci0000:3a/0000:3a:00.0/";
  std::ofstream(tree.path(gpu0 + "vendor")) << "\x01\x02not hex";  // garbage: skipped
  std::filesystem::remove(tree.path(gpu1 + "numa_node"));          // missing: NUMA unknown
  std::ofstream(tree.path(gpu2 + "class")) << "0x03";              // truncated class: 0x03
  std::ofstream(tree.path("sys/devices/pci0000:5d/0000:5d:00.0/numa_node")) << "banana";

  PciScanBackend backend(tree.Sysfs());
  auto found = backend.Discover();
  ASSERT_TRUE(found.ok()) << found.status();
  ASSERT_EQ(found->size(), 6u);  // gpu0 skipped, gpu2's class no longer a 3D controller
  EXPECT_EQ((*found)[0].pci_bus_id, "0000:2a:00.0");
  EXPECT_EQ((*found)[0].numa_node, -1);
  EXPECT_EQ((*found)[1].pci_bus_id, "0000:5d:00.0");
  EXPECT_EQ((*found)[1].numa_node, -1);

  EXPECT_FALSE(ReadPciFunction(*tree.Sysfs(), "0000:18:00.0").ok());
  EXPECT_EQ(ReadPciFunction(*tree.Sysfs(), "0000:77:00.0").status().code(), StatusCode::kNotFound);
}

TEST(PciScan, MissingBusDirectoryIsAnError) {
  PciScanBackend backend(MakeRootedFileReader("/nonexistent-zhisuan-root"));
  auto found = backend.Discover();
  EXPECT_EQ(found.status().code(), StatusCode::kNotFound);
}

TEST(PciScan, SampleReportsADeviceThatLeftTheBus) {
  ScratchTree tree("h100-8x");
  PciScanBackend backend(tree.Sysfs());
  auto found = backend.Discover();
  ASSERT_TRUE(found.ok());
  std::ofstream(tree.path("sys/devices/pci0000:18/0000:18:00.0/vendor")) << "0xffff\n";
  EXPECT_EQ(backend.Sample((*found)[0]).status().code(), StatusCode::kUnavailable);
  EXPECT_TRUE(backend.Sample((*found)[1]).ok());
}

}  // namespace
}  // namespace zhisuan::agent::pci
