#include <fstream>

#include "agent/discovery/cpu/cpu_parsers.h"
#include "agent/discovery/discovery.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/unit/agent/discovery/fixture_trees.h"

namespace zhisuan::agent {
namespace {

using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::Not;
using zhisuan::agent::testing::FixtureProcfs;
using zhisuan::agent::testing::FixtureSysfs;
using zhisuan::agent::testing::ScratchTree;

TEST(CpuParsers, ParsesX86Topology) {
  constexpr std::string_view kCpuinfo =
      "processor\t: 0\nvendor_id\t: GenuineIntel\nmodel name\t: Xeon X\ncpu MHz\t\t: 1200.5\n"
      "physical id\t: 0\ncore id\t\t: 0\nflags\t\t: fpu avx2 fma avx512f amx_bf16 sse2\n\n"
      "processor\t: 1\nvendor_id\t: GenuineIntel\nmodel name\t: Xeon X\ncpu MHz\t\t: 3000\n"
      "physical id\t: 1\ncore id\t\t: 0\nflags\t\t: fpu avx2 fma avx512f amx_bf16 sse2\n\n"
      "processor\t: 2\nphysical id\t: 0\ncore id\t\t: 0\n";
  auto info = cpu::ParseCpuInfo(kCpuinfo);
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->model, "Xeon X");
  EXPECT_EQ(info->vendor_id, "GenuineIntel");
  EXPECT_EQ(info->logical_cpus, 3);
  EXPECT_EQ(info->sockets, 2);
  EXPECT_EQ(info->physical_cores, 2);  // cpu 2 is core 0's hyperthread
  EXPECT_DOUBLE_EQ(info->max_mhz, 3000);
  EXPECT_THAT(info->isa_flags, ElementsAre("avx2", "fma", "avx512f", "amx_bf16"));
}

TEST(CpuParsers, TotalOnGarbage) {
  EXPECT_FALSE(cpu::ParseCpuInfo("").ok());
  EXPECT_FALSE(cpu::ParseCpuInfo("no colon here\n\xff\xfe").ok());
  auto odd = cpu::ParseCpuInfo("processor: x\nphysical id: -\ncore id: 99999999999999999999\n");
  ASSERT_TRUE(odd.ok());
  EXPECT_EQ(odd->sockets, 1);
  EXPECT_EQ(*cpu::ParseCpuFreqKhzAsMhz("3800000\n"), 3800);
  EXPECT_FALSE(cpu::ParseCpuFreqKhzAsMhz("fast").ok());
  EXPECT_FALSE(cpu::ParseCpuFreqKhzAsMhz("0").ok());
}

TEST(DiscoverCpu, H100NodeIsTwoSocketSapphireRapids) {
  auto info = DiscoverCpu(*FixtureSysfs("h100-8x"), *FixtureProcfs("h100-8x"));
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->model, "Intel(R) Xeon(R) Platinum 8480+");
  EXPECT_EQ(info->vendor_id, "GenuineIntel");
  EXPECT_EQ(info->sockets, 2);
  EXPECT_EQ(info->physical_cores, 8);
  EXPECT_EQ(info->logical_cpus, 16);
  EXPECT_EQ(info->numa_nodes, 2);
  EXPECT_DOUBLE_EQ(info->max_mhz, 3800);  // cpufreq's rated max, not cpuinfo's current 2000
  EXPECT_THAT(info->isa_flags, Contains("amx_bf16"));
  EXPECT_THAT(info->isa_flags, Contains("avx512f"));
  EXPECT_EQ(info->family, 6);
  EXPECT_EQ(info->model_number, 0x8f);  // Sapphire Rapids
}

TEST(DiscoverCpu, OtherFixtures) {
  auto amd = DiscoverCpu(*FixtureSysfs("mi300x-8x"), *FixtureProcfs("mi300x-8x"));
  ASSERT_TRUE(amd.ok());
  EXPECT_EQ(amd->vendor_id, "AuthenticAMD");
  EXPECT_DOUBLE_EQ(amd->max_mhz, 3700);
  EXPECT_THAT(amd->isa_flags, Not(Contains("amx_bf16")));

  auto kunpeng = DiscoverCpu(*FixtureSysfs("ascend910b-8x"), *FixtureProcfs("ascend910b-8x"));
  ASSERT_TRUE(kunpeng.ok());
  EXPECT_EQ(kunpeng->model, "arm-part-0xd01");
  EXPECT_EQ(kunpeng->sockets, 1);
  EXPECT_EQ(kunpeng->physical_cores, 8);
  EXPECT_EQ(kunpeng->numa_nodes, 4);
  EXPECT_DOUBLE_EQ(kunpeng->max_mhz, 2600);
  EXPECT_THAT(kunpeng->isa_flags, ElementsAre("asimd"));
  EXPECT_EQ(kunpeng->vendor_id, "arm-implementer-0x48");
  EXPECT_EQ(kunpeng->model_number, 0xd01);  // the CPU part names the core on Arm

  auto hygon = DiscoverCpu(*FixtureSysfs("mixed-pci"), *FixtureProcfs("mixed-pci"));
  ASSERT_TRUE(hygon.ok());
  EXPECT_EQ(hygon->vendor_id, "HygonGenuine");
  EXPECT_EQ(hygon->sockets, 1);
  EXPECT_EQ(hygon->family, 0x18);
  EXPECT_EQ(hygon->model_number, 0);

  // No cpufreq in the cpu-only fixture: the clock comes from cpuinfo.
  auto vm = DiscoverCpu(*FixtureSysfs("cpu-only"), *FixtureProcfs("cpu-only"));
  ASSERT_TRUE(vm.ok());
  EXPECT_DOUBLE_EQ(vm->max_mhz, 2445.406);
  EXPECT_EQ(vm->numa_nodes, 1);
}

TEST(DiscoverCpu, MissingAndCorruptFiles) {
  ScratchTree tree("cpu-only");
  std::filesystem::remove_all(tree.path("sys/devices/system/node"));
  auto no_numa = DiscoverCpu(*tree.Sysfs(), *tree.Procfs());
  ASSERT_TRUE(no_numa.ok());
  EXPECT_EQ(no_numa->numa_nodes, 1);

  std::ofstream(tree.path("proc/cpuinfo")) << "\xff\xfe garbage";
  EXPECT_EQ(DiscoverCpu(*tree.Sysfs(), *tree.Procfs()).status().code(),
            StatusCode::kInvalidArgument);
  std::filesystem::remove(tree.path("proc/cpuinfo"));
  EXPECT_EQ(DiscoverCpu(*tree.Sysfs(), *tree.Procfs()).status().code(), StatusCode::kNotFound);
}

}  // namespace
}  // namespace zhisuan::agent
