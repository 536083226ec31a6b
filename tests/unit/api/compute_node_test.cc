#include "api/compute_node.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace zhisuan::api {
namespace {

using ::testing::HasSubstr;

ComputeNodeStatus H100NodeStatus() {
  ComputeNodeStatus status;
  status.agent_version = "0.1.0";
  for (int i = 0; i < 8; ++i) {
    AcceleratorStatus accelerator;
    accelerator.index = i;
    accelerator.uuid = "GPU-" + std::to_string(i);
    accelerator.vendor = "nvidia";
    accelerator.product = "H100-SXM5";
    accelerator.pci_bus_id = "0000:1" + std::to_string(i) + ":00.0";
    accelerator.memory_bytes = 85899345920;
    accelerator.numa_node = i / 4;
    At(accelerator.peak_flops, Precision::kBf16) = 989.4e12;
    At(accelerator.peak_flops, Precision::kFp8) = 1978.9e12;
    At(status.peak_flops, Precision::kBf16) += 989.4e12;
    At(status.peak_flops, Precision::kFp8) += 1978.9e12;
    status.accelerators.push_back(accelerator);
  }
  status.accelerators[3].healthy = false;
  status.accelerators[3].reason = "Xid 79";
  status.power_capacity_watts = 5600;
  status.energy = {"hydro", "kunming-a", 12.0, 1.0, std::nullopt, ""};
  return status;
}

Json AsObject(const ComputeNodeStatus& status) {
  return {{"apiVersion", "zhisuan.io/v1alpha1"},
          {"kind", "ComputeNode"},
          {"metadata", {{"name", "gpu-node-1"}, {"uid", "u1"}, {"resourceVersion", "7"}}},
          {"status", ToJson(status)}};
}

TEST(ComputeNode, EncodesCountsAndQuantities) {
  Json json = ToJson(H100NodeStatus());
  EXPECT_EQ(json["acceleratorCount"], 8);
  EXPECT_EQ(json["healthyAcceleratorCount"], 7);
  EXPECT_EQ(json["flops"]["peak"]["bf16"], "7915T");
  EXPECT_FALSE(json["flops"]["peak"].contains("fp64")) << "zero precisions are omitted";
  EXPECT_EQ(json["accelerators"][3]["health"], "Unhealthy");
  EXPECT_EQ(json["accelerators"][3]["reason"], "Xid 79");
  EXPECT_EQ(json["accelerators"][0]["peakFlops"]["bf16"], "989.4T");
}

TEST(ComputeNode, RoundTripsWithinQuantityPrecision) {
  const ComputeNodeStatus original = H100NodeStatus();
  auto decoded = ComputeNodeFromJson(AsObject(original));
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(decoded->name, "gpu-node-1");
  EXPECT_EQ(decoded->resource_version, "7");
  ASSERT_EQ(decoded->status.accelerators.size(), 8u);
  EXPECT_EQ(decoded->status.HealthyAcceleratorCount(), 7);
  EXPECT_NEAR(At(decoded->status.peak_flops, Precision::kBf16), 7915e12, 1e12);
  EXPECT_EQ(decoded->status.energy, original.energy);
  // Once rounded to quantities, encode/decode is a fixed point: the agent compares encodings to
  // decide whether to write, so a round trip must not look like a change.
  auto again = ComputeNodeFromJson(AsObject(decoded->status));
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(ToJson(again->status), ToJson(decoded->status));
}

// Issue 18: unknown carbon is absent, never 0. A 0 intensity would pass every maxIntensity policy.
TEST(ComputeNode, UnknownCarbonRoundTripsAsAbsentNotZero) {
  ComputeNodeStatus original = H100NodeStatus();
  original.energy = {"grid", "", std::nullopt, std::nullopt, std::nullopt, ""};
  const Json json = ToJson(original);
  EXPECT_EQ(json["energy"], Json({{"source", "grid"}}));
  auto decoded = ComputeNodeFromJson(AsObject(original));
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_FALSE(decoded->status.energy.carbon_intensity.has_value());
  EXPECT_FALSE(decoded->status.energy.carbon_free_ratio.has_value());
  EXPECT_EQ(ToJson(decoded->status), json);

  // A known zero is a figure, and survives as one.
  original.energy.carbon_intensity = 0.0;
  decoded = ComputeNodeFromJson(AsObject(original));
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(decoded->status.energy.carbon_intensity, 0.0);
  EXPECT_FALSE(decoded->status.energy.carbon_free_ratio.has_value());

  // A status without an energy section decodes as unknown too.
  auto bare = ComputeNodeFromJson(
      Json::parse(R"({"metadata": {"name": "n1"}, "status": {"agentVersion": "0.1.0"}})"));
  ASSERT_TRUE(bare.ok()) << bare.status();
  EXPECT_FALSE(bare->status.energy.carbon_intensity.has_value());
  EXPECT_FALSE(bare->status.energy.carbon_free_ratio.has_value());
}

struct HostileCase {
  const char* name;
  const char* patch;  // JSON merge-patched onto a valid status
  const char* expected;
};

class HostileComputeNode : public ::testing::TestWithParam<HostileCase> {};

TEST_P(HostileComputeNode, IsRejectedWithTheField) {
  Json object = AsObject(H100NodeStatus());
  object["status"].merge_patch(Json::parse(GetParam().patch));
  auto decoded = ComputeNodeFromJson(object);
  ASSERT_FALSE(decoded.ok()) << GetParam().name;
  EXPECT_THAT(decoded.status().message(), HasSubstr(GetParam().expected));
}

INSTANTIATE_TEST_SUITE_P(
    Agent, HostileComputeNode,
    ::testing::Values(
        HostileCase{"negative", R"({"flops": {"peak": {"bf16": "-5P"}}})",
                    "status.flops.peak.bf16"},
        HostileCase{"unknown precision", R"({"flops": {"peak": {"fp4": "5P"}}})",
                    "fp4 is not a known precision"},
        HostileCase{"not a quantity", R"({"flops": {"peak": {"bf16": "fast"}}})",
                    "invalid quantity"},
        HostileCase{"number not string", R"({"flops": {"peak": {"bf16": 5}}})",
                    "is not a quantity"},
        HostileCase{"ratio above one", R"({"energy": {"carbonFreeRatio": 3}})",
                    "carbonFreeRatio is outside 0..1"},
        HostileCase{"negative intensity", R"({"energy": {"carbonIntensity": -1}})",
                    "carbonIntensity is negative"},
        HostileCase{"accelerators not list", R"({"accelerators": {"a": 1}})",
                    "status.accelerators is not a list"},
        HostileCase{"bad health", R"({"accelerators": [{"uuid": "x", "health": "Fine"}]})",
                    "health must be Healthy or Unhealthy"},
        HostileCase{"no uuid", R"({"accelerators": [{"health": "Healthy"}]})", "uuid is empty"},
        HostileCase{"huge per-device flops",
                    R"({"accelerators": [{"uuid": "x", "health": "Healthy",
                        "peakFlops": {"bf16": "900E"}}]})",
                    "beyond any real accelerator"},
        HostileCase{"wrong type", R"({"accelerators": [{"uuid": 7, "health": "Healthy"}]})",
                    "malformed"},
        // Found by fuzz_compute_node: converting this to int64 was undefined behaviour.
        HostileCase{"float beyond int64",
                    R"({"powerCapacityWatts": 7009999999999999999999999999999999})",
                    "status.powerCapacityWatts is not an integer in range"},
        HostileCase{"fractional index",
                    R"({"accelerators": [{"uuid": "x", "health": "Healthy", "index": 1.5}]})",
                    "index is not an integer in range"},
        HostileCase{"negative memory",
                    R"({"accelerators": [{"uuid": "x", "health": "Healthy", "memoryBytes": -1}]})",
                    "memoryBytes is -1, outside"},
        HostileCase{"ratio as string", R"({"energy": {"carbonFreeRatio": "all"}})",
                    "carbonFreeRatio is not a number"},
        HostileCase{"negative average power",
                    R"({"energy": {"averagePowerWatts": -5, "averagePowerSource": "counter"}})",
                    "averagePowerWatts is outside 0..640000"},
        HostileCase{"average power without a source", R"({"energy": {"averagePowerWatts": 5}})",
                    "averagePowerSource must be counter, integrated_power or mixed"},
        HostileCase{"a source without average power",
                    R"({"energy": {"averagePowerSource": "counter"}})",
                    "averagePowerWatts is not a number"}));

// Issue 18: the energy figure a pool's carbon is weighted by round-trips, and its absence
// (unknown) stays absent rather than becoming 0 W.
TEST(ComputeNode, AveragePowerRoundTripsAndStaysAbsentWhenUnknown) {
  ComputeNodeStatus original = H100NodeStatus();
  original.energy.average_power_watts = 4321;
  original.energy.average_power_source = "integrated_power";
  const Json json = ToJson(original);
  EXPECT_EQ(json["energy"]["averagePowerWatts"], 4321.0);
  EXPECT_EQ(json["energy"]["averagePowerSource"], "integrated_power");
  auto decoded = ComputeNodeFromJson(AsObject(original));
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(decoded->status.energy.average_power_watts, 4321.0);
  EXPECT_EQ(decoded->status.energy.average_power_source, "integrated_power");
  EXPECT_EQ(ToJson(decoded->status), json);

  original.energy.average_power_watts.reset();
  original.energy.average_power_source.clear();
  EXPECT_FALSE(ToJson(original)["energy"].contains("averagePowerWatts"));
  decoded = ComputeNodeFromJson(AsObject(original));
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_FALSE(decoded->status.energy.average_power_watts.has_value());
}

TEST(ComputeNode, RejectsOversizedAcceleratorList) {
  Json object = AsObject(H100NodeStatus());
  Json accelerators = Json::array();
  for (int i = 0; i < 65; ++i) {
    accelerators.push_back({{"uuid", "GPU-" + std::to_string(i)}, {"health", "Healthy"}});
  }
  object["status"]["accelerators"] = accelerators;
  auto decoded = ComputeNodeFromJson(object);
  ASSERT_FALSE(decoded.ok());
  EXPECT_THAT(decoded.status().message(), HasSubstr("at most 64"));
}

TEST(ComputeNode, AcceptsANodeWithNoStatusYet) {
  auto decoded = ComputeNodeFromJson(Json::parse(R"({"metadata": {"name": "n1"}})"));
  ASSERT_TRUE(decoded.ok());
  EXPECT_TRUE(decoded->status.accelerators.empty());
  EXPECT_FALSE(ComputeNodeFromJson(Json::parse(R"({"metadata": {}})")).ok());
  // Found by fuzz_compute_node: a non-string name threw out of the decoder.
  auto numeric_name = ComputeNodeFromJson(Json::parse(R"({"metadata": {"name": 999999999999}})"));
  ASSERT_FALSE(numeric_name.ok());
  EXPECT_THAT(numeric_name.status().message(), HasSubstr("metadata is malformed"));
  EXPECT_FALSE(ComputeNodeFromJson(Json::parse(R"("text")")).ok());
}

}  // namespace
}  // namespace zhisuan::api
