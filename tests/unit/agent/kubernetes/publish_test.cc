// The publish side: labels, the status built from an AgentState, the pure planner, and the
// publisher against the in-memory API server (write only on change, zero writes on restart).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "agent/publish/compute_node_publisher.h"
#include "agent/publish/compute_node_status.h"
#include "agent/publish/node_labels.h"
#include "agent/publish/publish_planner.h"
#include "api/group_version.h"
#include "tests/unit/agent/kubernetes/inventories.h"
#include "tests/unit/kube/fake_api_client.h"

namespace zhisuan::agent {
namespace {

using ::testing::ElementsAre;
using testing::MakeAccelerator;
using testing::MakeAccelerators;
using testing::MakeState;
using ::testing::Pair;

const WallTime kNow = WallTime(std::chrono::seconds(1795000000));

DeviceHealth Unhealthy(HealthReason reason, uint64_t code = 0, std::string detail = "") {
  DeviceHealth health;
  health.healthy = false;
  health.reason = reason;
  health.code = code;
  health.detail = std::move(detail);
  return health;
}

TEST(NodeLabelsTest, HomogeneousNodeGetsFiveStableLabels) {
  EXPECT_THAT(
      NodeLabelsFor(MakeAccelerators(Vendor::kNvidia)),
      ElementsAre(Pair("zhisuan.io/accelerator-count", "8"),
                  Pair("zhisuan.io/accelerator-memory", "80Gi"),
                  Pair("zhisuan.io/architecture", "hopper"),
                  Pair("zhisuan.io/product", "H100-SXM5"), Pair("zhisuan.io/vendor", "nvidia")));
  EXPECT_EQ(NodeLabelsFor(MakeAccelerators(Vendor::kAmd))["zhisuan.io/accelerator-memory"],
            "192Gi");
}

TEST(NodeLabelsTest, MixedNodeIsLabelledForItsMajorityGroup) {
  auto accelerators = MakeAccelerators(Vendor::kAmd, 2);
  for (int i = 0; i < 3; ++i) accelerators.push_back(MakeAccelerator(Vendor::kNvidia, i));
  auto labels = NodeLabelsFor(accelerators);
  EXPECT_EQ(labels["zhisuan.io/vendor"], "nvidia");
  EXPECT_EQ(labels["zhisuan.io/accelerator-count"], "3");
  // A tie goes to the first vendor alphabetically, whatever the discovery order.
  accelerators.pop_back();
  EXPECT_EQ(NodeLabelsFor(accelerators)["zhisuan.io/vendor"], "amd");
}

TEST(NodeLabelsTest, NoAcceleratorsNoLabels) { EXPECT_TRUE(NodeLabelsFor({}).empty()); }

TEST(ComputeNodeStatusTest, CarriesInventoryHealthFlopsPowerEnergyAndConditions) {
  AgentState state = MakeState("gpu-node-1", MakeAccelerators(Vendor::kNvidia));
  std::map<std::string, DeviceHealth> live;
  live[state.devices[3].accelerator.uuid] =
      Unhealthy(HealthReason::kCriticalXid, 79, "GPU has fallen off the bus");
  auto status = BuildComputeNodeStatus(state, &live, kNow);
  ASSERT_EQ(status.accelerators.size(), 8u);
  EXPECT_EQ(status.HealthyAcceleratorCount(), 7);
  EXPECT_EQ(status.accelerators[3].reason, "Xid 79 (GPU has fallen off the bus)");
  EXPECT_EQ(status.accelerators[3].product, "H100-SXM5");
  EXPECT_EQ(status.accelerators[3].numa_node, 0);
  EXPECT_DOUBLE_EQ(At(status.peak_flops, Precision::kBf16),
                   8 * At(state.devices[0].peak.flops, Precision::kBf16));
  EXPECT_GT(At(status.peak_flops, Precision::kBf16), 7e15);
  EXPECT_DOUBLE_EQ(At(status.measured_flops, Precision::kBf16), 8 * 700e12);
  EXPECT_EQ(status.power_capacity_watts, 5600);
  EXPECT_EQ(status.energy.source, "hydro");
  EXPECT_EQ(status.energy.carbon_free_ratio, 0.97);
  const api::Condition* healthy = api::FindCondition(status.conditions, "AcceleratorsHealthy");
  ASSERT_NE(healthy, nullptr);
  EXPECT_EQ(healthy->status, "False");
  EXPECT_EQ(healthy->reason, "AcceleratorsUnhealthy");
  EXPECT_EQ(api::FindCondition(status.conditions, "Discovered")->status, "True");
  const api::Condition* carbon = api::FindCondition(status.conditions, "CarbonKnown");
  ASSERT_NE(carbon, nullptr);
  EXPECT_EQ(carbon->status, "True");
  EXPECT_EQ(carbon->reason, "EnergyProfileKnown");
  // Real hardware: every measurement says so, and nothing is simulated or suspect.
  EXPECT_EQ(status.measured_flops_source, "hardware");
  EXPECT_DOUBLE_EQ(At(status.accelerators[0].measured_flops, Precision::kBf16), 700e12);
  EXPECT_EQ(status.accelerators[0].measured_flops_source, "hardware");
  const api::Condition* simulated = api::FindCondition(status.conditions, "SimulatedHardware");
  ASSERT_NE(simulated, nullptr);
  EXPECT_EQ(simulated->status, "False");
  EXPECT_EQ(simulated->reason, "RealHardware");
  const api::Condition* suspect = api::FindCondition(status.conditions, "PeakFlopsSuspect");
  ASSERT_NE(suspect, nullptr);
  EXPECT_EQ(suspect->status, "False");
  EXPECT_EQ(suspect->reason, "WithinPeak");
}

// Issue 18: a stand-in never passes for the real thing. Discovery through a fake NVML and a
// fixture tree, and a probe through a fake CUDA driver, make the node SimulatedHardware and its
// measurements simulated, in the status and in the JSON the controller reads.
TEST(ComputeNodeStatusTest, StandInsMakeTheNodeSimulatedAndNameThemselves) {
  AgentState state = MakeState("gpu-node-1", MakeAccelerators(Vendor::kNvidia, 2));
  state.stand_ins = {{"nvml", "fake_nvml"}, {"sysfs", "fixture tree h100-8x"}};
  state.measured_flops[1].stand_in = "fake_cuda";
  const api::ComputeNodeStatus status = BuildComputeNodeStatus(state, nullptr, kNow);
  EXPECT_EQ(status.accelerators[0].measured_flops_source, "hardware");
  EXPECT_EQ(status.accelerators[1].measured_flops_source, "simulated");
  EXPECT_EQ(status.measured_flops_source, "simulated");  // one simulated figure in the total
  const api::Condition* simulated = api::FindCondition(status.conditions, "SimulatedHardware");
  ASSERT_NE(simulated, nullptr);
  EXPECT_EQ(simulated->status, "True");
  EXPECT_EQ(simulated->reason, "StandInsInUse");
  EXPECT_THAT(simulated->message, ::testing::HasSubstr("fake_nvml (nvml), fake_cuda (cuda), "
                                                       "fixture tree h100-8x (sysfs)"));

  const Json json = api::ToJson(status);
  EXPECT_EQ(json["flops"]["measuredSource"], "simulated");
  EXPECT_EQ(json["accelerators"][1]["measuredFlopsSource"], "simulated");
  EXPECT_EQ(json["accelerators"][1]["measuredFlops"]["bf16"], "700T");
  Json object = {{"metadata", {{"name", "gpu-node-1"}}}, {"status", json}};
  auto decoded = api::ComputeNodeFromJson(object);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(decoded->status.measured_flops_source, "simulated");
  EXPECT_EQ(decoded->status.accelerators[1].measured_flops_source, "simulated");
  EXPECT_DOUBLE_EQ(At(decoded->status.accelerators[1].measured_flops, Precision::kBf16), 700e12);
  object["status"]["flops"]["measuredSource"] = "measured";
  EXPECT_FALSE(api::ComputeNodeFromJson(object).ok());
}

// Issue 18: a measurement more than 1.05 x the peak shows the peak to be wrong; the condition
// names the device, the precision, the measurement and the peak, and never calls it met.
TEST(ComputeNodeStatusTest, AMeasurementAboveThePeakMakesThePeakSuspect) {
  AgentState state = MakeState("gpu-node-1", MakeAccelerators(Vendor::kNvidia, 2));
  state.measured_flops[1].flops = 1100e12;  // 1.11 x H100 SXM5's 989.4 TFLOPS bf16
  state.measured_flops[1].stand_in = "fake_cuda";
  const api::ComputeNodeStatus status = BuildComputeNodeStatus(state, nullptr, kNow);
  const api::Condition* suspect = api::FindCondition(status.conditions, "PeakFlopsSuspect");
  ASSERT_NE(suspect, nullptr);
  EXPECT_EQ(suspect->status, "True");
  EXPECT_EQ(suspect->reason, "MeasuredAbovePeak");
  EXPECT_THAT(suspect->message,
              ::testing::HasSubstr(StrCat(state.devices[1].accelerator.uuid,
                                          " (H100-SXM5) bf16: measured 1100 TFLOP/s (simulated) vs "
                                          "peak 989 TFLOP/s")));
  EXPECT_THAT(suspect->message,
              ::testing::Not(::testing::HasSubstr(state.devices[0].accelerator.uuid)));
  EXPECT_THAT(suspect->message, ::testing::Not(::testing::HasSubstr("met")));

  state.measured_flops.clear();
  const api::ComputeNodeStatus unmeasured = BuildComputeNodeStatus(state, nullptr, kNow);
  EXPECT_EQ(api::FindCondition(unmeasured.conditions, "PeakFlopsSuspect")->reason, "NotMeasured");
}

// Issue 18: a node without an energy profile published carbonIntensity 0 and carbonFreeRatio 0,
// which a maxIntensity pool read as perfectly clean. Now the figures are absent (the codec omits
// them, so the controller decodes them as unknown) and CarbonKnown says why.
TEST(ComputeNodeStatusTest, UnknownCarbonIsLeftOutAndCarbonKnownSaysWhy) {
  AgentState state = MakeState("gpu-node-1", MakeAccelerators(Vendor::kNvidia));
  state.energy_profile = EnergyProfile{};  // nothing configured or fed
  const api::ComputeNodeStatus status = BuildComputeNodeStatus(state, nullptr, kNow);
  EXPECT_FALSE(status.energy.carbon_intensity.has_value());
  EXPECT_FALSE(status.energy.carbon_free_ratio.has_value());
  const Json json = api::ToJson(status);
  EXPECT_FALSE(json["energy"].contains("carbonIntensity")) << json["energy"];
  EXPECT_FALSE(json["energy"].contains("carbonFreeRatio")) << json["energy"];
  auto decoded =
      api::ComputeNodeFromJson(Json{{"metadata", {{"name", "gpu-node-1"}}}, {"status", json}});
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_FALSE(decoded->status.energy.carbon_intensity.has_value());
  EXPECT_FALSE(decoded->status.energy.carbon_free_ratio.has_value());

  const api::Condition* carbon = api::FindCondition(status.conditions, "CarbonKnown");
  ASSERT_NE(carbon, nullptr);
  EXPECT_EQ(carbon->status, "False");
  EXPECT_EQ(carbon->reason, "NoEnergyProfile");
  EXPECT_THAT(carbon->message, ::testing::HasSubstr("no carbon intensity and carbon-free ratio"));
  EXPECT_THAT(carbon->message, ::testing::HasSubstr("energyProfile"));

  // One figure known: that one is published, the other is not, and the reason says so.
  state.energy_profile.carbon_intensity_grams_per_kwh = 0;
  const api::ComputeNodeStatus half = BuildComputeNodeStatus(state, nullptr, kNow);
  EXPECT_EQ(half.energy.carbon_intensity, 0.0);
  EXPECT_FALSE(half.energy.carbon_free_ratio.has_value());
  EXPECT_EQ(api::FindCondition(half.conditions, "CarbonKnown")->reason, "IncompleteEnergyProfile");
  EXPECT_THAT(api::FindCondition(half.conditions, "CarbonKnown")->message,
              ::testing::StartsWith("no carbon-free ratio configured"));
}

// Issue 18: a feed past its validity is treated as no profile: no figures, CarbonKnown False with
// reason FeedExpired, and the expiry in the message.
TEST(ComputeNodeStatusTest, ExpiredFeedLeavesTheCarbonOutWithReasonFeedExpired) {
  AgentState state = MakeState("gpu-node-1", MakeAccelerators(Vendor::kNvidia));
  EnergyProfile fed;
  fed.zone = "de";
  fed.carbon_intensity_grams_per_kwh = 302;
  fed.carbon_free_ratio = 0.6;
  fed.timestamp = WallTime(std::chrono::seconds(1'800'000'000));
  const EnergyProfileReading reading =
      ReadingAt(fed, WallTime(std::chrono::seconds(1'800'007'200)), std::chrono::hours(2));
  ASSERT_TRUE(reading.expired);
  state.energy_profile = reading.profile;
  state.energy_feed_valid_until = reading.valid_until;
  state.energy_feed_expired = reading.expired;
  const api::ComputeNodeStatus status = BuildComputeNodeStatus(state, nullptr, kNow);
  EXPECT_FALSE(status.energy.carbon_intensity.has_value());
  EXPECT_FALSE(status.energy.carbon_free_ratio.has_value());
  EXPECT_EQ(status.energy.zone, "de");
  const api::Condition* carbon = api::FindCondition(status.conditions, "CarbonKnown");
  ASSERT_NE(carbon, nullptr);
  EXPECT_EQ(carbon->status, "False");
  EXPECT_EQ(carbon->reason, "FeedExpired");
  EXPECT_THAT(carbon->message, ::testing::HasSubstr("2027-01-15T10:00:00Z"));
}

// A Node as the server returns it after the agent applied `labels`, with managedFields.
Json NodeWithAppliedLabels(const NodeLabels& labels, const std::string& manager) {
  Json fields = Json::object();
  Json node_labels = {{"kubernetes.io/hostname", "gpu-node-1"}};
  for (const auto& [key, value] : labels) {
    fields["f:" + key] = Json::object();
    node_labels[key] = value;
  }
  return {{"apiVersion", "v1"},
          {"kind", "Node"},
          {"metadata",
           {{"name", "gpu-node-1"},
            {"uid", "node-uid-1"},
            {"labels", node_labels},
            {"managedFields",
             Json::array({{{"manager", "kubelet"}, {"operation", "Update"}},
                          {{"manager", manager},
                           {"operation", "Apply"},
                           {"fieldsV1", {{"f:metadata", {{"f:labels", fields}}}}}}})}}}};
}

DesiredPublication Desired(const AgentState& state) {
  std::vector<Accelerator> accelerators;
  for (const auto& device : state.devices) accelerators.push_back(device.accelerator);
  return {"gpu-node-1", NodeLabelsFor(accelerators), BuildComputeNodeStatus(state, nullptr, kNow)};
}

// Issue 18: a suspect peak's message names the figures, which wobble with every probe run; only a
// new fact (another device, a status change) is worth a write.
TEST(PublishPlannerTest, ASuspectPeakWhoseFiguresWobbleWritesNothing) {
  AgentState state = MakeState("gpu-node-1", MakeAccelerators(Vendor::kNvidia, 2));
  state.measured_flops[0].flops = 1100e12;
  const DesiredPublication desired = Desired(state);
  ObservedObjects observed;
  observed.node = NodeWithAppliedLabels(desired.labels, "zhisuan-agent");
  observed.compute_node = Json{
      {"metadata",
       {{"name", "gpu-node-1"},
        {"generation", 1},
        {"ownerReferences", Json::array({NodeOwnerReference("gpu-node-1", "node-uid-1")})}}},
      {"status",
       api::ToJson(StabiliseStatus(desired.status, Json{{"metadata", {{"generation", 1}}}}, {}))}};
  AgentState later = state;
  for (auto& measurement : later.measured_flops) measurement.flops *= 1.03;
  DesiredPublication again = desired;
  again.status = BuildComputeNodeStatus(later, nullptr, kNow + std::chrono::hours(1));
  EXPECT_TRUE(PlanPublish(again, observed).Empty());

  later.measured_flops[1].flops = 1100e12;  // a second device beats its peak: news
  again.status = BuildComputeNodeStatus(later, nullptr, kNow + std::chrono::hours(1));
  EXPECT_FALSE(PlanPublish(again, observed).Empty());
}

TEST(PublishPlannerTest, LabelsAppliedByReadsManagedFields) {
  Json node = NodeWithAppliedLabels({{"zhisuan.io/vendor", "nvidia"}}, "zhisuan-agent");
  EXPECT_THAT(LabelsAppliedBy(node, "zhisuan-agent"), ElementsAre("zhisuan.io/vendor"));
  EXPECT_TRUE(LabelsAppliedBy(node, "someone-else").empty());
}

TEST(PublishPlannerTest, NothingToWriteWhenTheServerShowsWhatTheAgentWants) {
  const AgentState state = MakeState("gpu-node-1", MakeAccelerators(Vendor::kNvidia));
  const DesiredPublication desired = Desired(state);
  ObservedObjects observed;
  observed.node = NodeWithAppliedLabels(desired.labels, "zhisuan-agent");
  observed.compute_node = Json{
      {"apiVersion", "zhisuan.io/v1alpha1"},
      {"kind", "ComputeNode"},
      {"metadata",
       {{"name", "gpu-node-1"},
        {"generation", 1},
        {"resourceVersion", "42"},
        {"ownerReferences", Json::array({NodeOwnerReference("gpu-node-1", "node-uid-1")})}}},
      {"status",
       api::ToJson(StabiliseStatus(desired.status, Json{{"metadata", {{"generation", 1}}}}, {}))}};
  // A later pass: time moved on, the measurement wobbled by 2 %: still nothing to write.
  AgentState later = state;
  for (auto& measurement : later.measured_flops) measurement.flops *= 1.02;
  DesiredPublication again = desired;
  again.status = BuildComputeNodeStatus(later, nullptr, kNow + std::chrono::hours(1));
  EXPECT_TRUE(PlanPublish(again, observed).Empty());

  // A device going unhealthy changes the status only.
  std::map<std::string, DeviceHealth> live;
  live[state.devices[0].accelerator.uuid] = Unhealthy(HealthReason::kEccDoubleBit);
  again.status = BuildComputeNodeStatus(later, &live, kNow + std::chrono::hours(1));
  PublishPlan plan = PlanPublish(again, observed);
  EXPECT_FALSE(plan.node_labels);
  EXPECT_FALSE(plan.compute_node);
  ASSERT_TRUE(plan.compute_node_status);
  const Json& status = (*plan.compute_node_status)["status"];
  EXPECT_EQ(status["healthyAcceleratorCount"], 7);
  EXPECT_EQ(status["accelerators"][0]["reason"], "double-bit ECC error");
  // The changed condition carries the new transition time, the unchanged one keeps its old one.
  for (const auto& condition : status["conditions"]) {
    if (condition["type"] == "AcceleratorsHealthy") {
      EXPECT_EQ(condition["lastTransitionTime"], api::FormatRfc3339(1795003600));
    } else {
      EXPECT_EQ(condition["lastTransitionTime"], api::FormatRfc3339(1795000000));
    }
    EXPECT_EQ(condition["observedGeneration"], 1);
  }
}

TEST(PublishPlannerTest, AProfileThatBecomesUnknownIsWrittenWithoutItsFigures) {
  const AgentState state = MakeState("gpu-node-1", MakeAccelerators(Vendor::kNvidia));
  const DesiredPublication desired = Desired(state);
  ObservedObjects observed;
  observed.node = NodeWithAppliedLabels(desired.labels, "zhisuan-agent");
  observed.compute_node = Json{
      {"apiVersion", "zhisuan.io/v1alpha1"},
      {"kind", "ComputeNode"},
      {"metadata",
       {{"name", "gpu-node-1"},
        {"generation", 1},
        {"resourceVersion", "42"},
        {"ownerReferences", Json::array({NodeOwnerReference("gpu-node-1", "node-uid-1")})}}},
      {"status",
       api::ToJson(StabiliseStatus(desired.status, Json{{"metadata", {{"generation", 1}}}}, {}))}};
  AgentState unknown = state;
  unknown.energy_profile.carbon_intensity_grams_per_kwh.reset();
  unknown.energy_profile.carbon_free_ratio.reset();
  DesiredPublication again = desired;
  again.status = BuildComputeNodeStatus(unknown, nullptr, kNow);
  const PublishPlan plan = PlanPublish(again, observed);
  ASSERT_TRUE(plan.compute_node_status);
  // Server-side apply removes the fields the agent owned and no longer sends.
  const Json& energy = (*plan.compute_node_status)["status"]["energy"];
  EXPECT_EQ(energy["source"], "hydro");
  EXPECT_FALSE(energy.contains("carbonIntensity"));
  EXPECT_FALSE(energy.contains("carbonFreeRatio"));
}

TEST(PublishPlannerTest, FirstPublicationWritesLabelsOwnerAndStatus) {
  const AgentState state = MakeState("gpu-node-1", MakeAccelerators(Vendor::kNvidia));
  ObservedObjects observed;
  observed.node = Json{{"metadata", {{"name", "gpu-node-1"}, {"uid", "node-uid-1"}}}};
  PublishPlan plan = PlanPublish(Desired(state), observed);
  ASSERT_TRUE(plan.node_labels);
  EXPECT_EQ((*plan.node_labels)["metadata"]["labels"]["zhisuan.io/product"], "H100-SXM5");
  ASSERT_TRUE(plan.compute_node);
  EXPECT_EQ((*plan.compute_node)["metadata"]["ownerReferences"],
            Json::array({{{"apiVersion", "v1"},
                          {"kind", "Node"},
                          {"name", "gpu-node-1"},
                          {"uid", "node-uid-1"}}}));
  ASSERT_TRUE(plan.compute_node_status);
  EXPECT_EQ((*plan.compute_node_status)["status"]["acceleratorCount"], 8);
  // Without the Node nothing can be planned: its uid owns the ComputeNode.
  EXPECT_TRUE(PlanPublish(Desired(state), ObservedObjects{}).Empty());
}

TEST(PublishPlannerTest, LabelDiffAndReleaseFollowManagedFields) {
  const AgentState state = MakeState("gpu-node-1", MakeAccelerators(Vendor::kNvidia));
  DesiredPublication desired = Desired(state);
  ObservedObjects observed;
  observed.node = NodeWithAppliedLabels(desired.labels, "zhisuan-agent");
  EXPECT_FALSE(PlanPublish(desired, observed).node_labels);
  // A changed value is written.
  desired.labels["zhisuan.io/accelerator-count"] = "7";
  EXPECT_TRUE(PlanPublish(desired, observed).node_labels);
  // A label the agent holds but no longer wants is released by an apply without it.
  desired = Desired(state);
  desired.labels.erase("zhisuan.io/architecture");
  auto plan = PlanPublish(desired, observed);
  ASSERT_TRUE(plan.node_labels);
  EXPECT_FALSE((*plan.node_labels)["metadata"]["labels"].contains("zhisuan.io/architecture"));
  // The same keys held by another manager are not the agent's to remove: no write.
  desired = Desired(state);
  observed.node = NodeWithAppliedLabels(desired.labels, "someone-else");
  (*observed.node)["metadata"]["managedFields"].push_back(
      NodeWithAppliedLabels(desired.labels, "zhisuan-agent")["metadata"]["managedFields"][1]);
  (*observed.node)["metadata"]["labels"]["zhisuan.io/pool"] = "tenant-a.pool";
  EXPECT_FALSE(PlanPublish(desired, observed).node_labels);
}

TEST(PublishPlannerTest, ForeignOwnerOrRecreatedNodeRewritesTheOwnerReference) {
  const AgentState state = MakeState("gpu-node-1", MakeAccelerators(Vendor::kNvidia));
  ObservedObjects observed;
  observed.node = Json{{"metadata", {{"name", "gpu-node-1"}, {"uid", "node-uid-2"}}}};
  observed.compute_node =
      Json{{"metadata",
            {{"name", "gpu-node-1"},
             {"ownerReferences", Json::array({NodeOwnerReference("gpu-node-1", "node-uid-1")})}}}};
  auto plan = PlanPublish(Desired(state), observed);
  ASSERT_TRUE(plan.compute_node);
  EXPECT_EQ((*plan.compute_node)["metadata"]["ownerReferences"][0]["uid"], "node-uid-2");
}

TEST(PublishPlannerTest, SameStatusIgnoresEmptySpellingsButNotValues) {
  EXPECT_TRUE(SameStatus(Json{{"energy", Json::object()}, {"conditions", Json::array()}, {"a", 1}},
                         Json{{"a", 1.0}}));
  EXPECT_FALSE(SameStatus(Json{{"a", 1}}, Json{{"a", 2}}));
}

class PublisherTest : public ::testing::Test {
 protected:
  PublisherTest() : server_(std::make_shared<kube::FakeApiClient>()) {
    auto node = server_->Create(
        kube::kNodes, "",
        Json{{"apiVersion", "v1"}, {"kind", "Node"}, {"metadata", {{"name", "gpu-node-1"}}}});
    EXPECT_TRUE(node.ok()) << node.status();
  }
  int Writes() const { return server_->CallCount(kube::FakeApiClient::Verb::kPatch); }

  std::shared_ptr<kube::FakeApiClient> server_;
};

TEST_F(PublisherTest, WritesOnceThenOnlyOnChangeAndNothingAfterARestart) {
  AgentState state = MakeState("gpu-node-1", MakeAccelerators(Vendor::kNvidia));
  ComputeNodePublisher publisher(server_, "gpu-node-1");
  auto first = publisher.Publish(Desired(state));
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(*first, 3);  // labels, ComputeNode with owner, status
  auto stored = server_->Peek(api::kComputeNodes, "", "gpu-node-1");
  ASSERT_TRUE(stored);
  EXPECT_EQ((*stored)["status"]["acceleratorCount"], 8);
  EXPECT_EQ((*stored)["metadata"]["ownerReferences"][0]["uid"],
            server_->Peek(kube::kNodes, "", "gpu-node-1").value()["metadata"]["uid"]);
  EXPECT_EQ(server_->Peek(kube::kNodes, "", "gpu-node-1")
                .value()["metadata"]["labels"]["zhisuan.io/vendor"],
            "nvidia");

  // Steady state: no writes however often it is asked.
  for (int i = 0; i < 10; ++i) EXPECT_EQ(publisher.Publish(Desired(state)).value_or(-1), 0);
  EXPECT_EQ(Writes(), 3);

  // A restarted agent reads the objects and, with nothing changed, writes nothing.
  ComputeNodePublisher restarted(server_, "gpu-node-1");
  EXPECT_EQ(restarted.Publish(Desired(state)).value_or(-1), 0);
  EXPECT_EQ(Writes(), 3);

  // A health change is exactly one status write.
  state.devices[2].health = Unhealthy(HealthReason::kDeviceLost);
  EXPECT_EQ(restarted.Publish(Desired(state)).value_or(-1), 1);
  EXPECT_EQ(server_->Peek(api::kComputeNodes, "", "gpu-node-1")
                .value()["status"]["healthyAcceleratorCount"],
            7);
  EXPECT_EQ(Writes(), 4);
}

AgentState WithAveragePower(AgentState state, std::optional<double> watts, bool pending = false) {
  state.accelerator_average_power.figure.reset();
  if (watts) state.accelerator_average_power.figure = AveragePower{*watts, "counter"};
  state.accelerator_average_power.pending = pending;
  return state;
}

DesiredPublication DesiredWithPending(const AgentState& state) {
  DesiredPublication desired = Desired(state);
  desired.average_power_pending = state.accelerator_average_power.pending;
  return desired;
}

std::optional<double> PublishedAveragePower(kube::FakeApiClient& server) {
  const Json energy = server.Peek(api::kComputeNodes, "", "gpu-node-1").value()["status"]["energy"];
  if (!energy.contains("averagePowerWatts")) return std::nullopt;
  return energy["averagePowerWatts"].get<double>();
}

// Issue 18: the average power is written when it first becomes known, then only when it moved by
// more than the threshold from the published figure (never on a timer, never for drift), kept
// while a restarted agent's window fills, and dropped once it is unknown for good.
TEST_F(PublisherTest, AveragePowerIsRepublishedOnlyWhenItMovesBeyondTheThreshold) {
  const AgentState base = MakeState("gpu-node-1", MakeAccelerators(Vendor::kNvidia));
  ComputeNodePublisher publisher(server_, "gpu-node-1");  // the default threshold, 0.1
  ASSERT_EQ(publisher.Publish(DesiredWithPending(WithAveragePower(base, std::nullopt, true)))
                .value_or(-1),
            3);
  EXPECT_EQ(PublishedAveragePower(*server_), std::nullopt);

  // First known: written at once.
  EXPECT_EQ(publisher.Publish(DesiredWithPending(WithAveragePower(base, 4000))).value_or(-1), 1);
  EXPECT_EQ(PublishedAveragePower(*server_), 4000);
  EXPECT_EQ(server_->Peek(api::kComputeNodes, "", "gpu-node-1")
                .value()["status"]["energy"]["averagePowerSource"],
            "counter");
  // Drift within 10 % of the published figure, in small steps that add up to almost 10 %: nothing.
  for (double watts : {4100.0, 4250.0, 4399.0, 3650.0, 3601.0}) {
    EXPECT_EQ(publisher.Publish(DesiredWithPending(WithAveragePower(base, watts))).value_or(-1), 0)
        << watts;
  }
  EXPECT_EQ(PublishedAveragePower(*server_), 4000);
  // More than 10 %: one write with the new figure.
  EXPECT_EQ(publisher.Publish(DesiredWithPending(WithAveragePower(base, 4401))).value_or(-1), 1);
  EXPECT_EQ(PublishedAveragePower(*server_), 4401);
  EXPECT_EQ(Writes(), 5);

  // A restarted agent whose window is still filling keeps the published figure.
  ComputeNodePublisher restarted(server_, "gpu-node-1");
  EXPECT_EQ(restarted.Publish(DesiredWithPending(WithAveragePower(base, std::nullopt, true)))
                .value_or(-1),
            0);
  EXPECT_EQ(PublishedAveragePower(*server_), 4401);
  EXPECT_EQ(Writes(), 5);

  // Unknown for good (the window ran its length without readings): the status is applied
  // without the figure, which server-side apply then removes (the in-memory server does not
  // model that removal, so the plan is checked).
  const DesiredPublication gone = DesiredWithPending(WithAveragePower(base, std::nullopt, false));
  ObservedObjects observed;
  observed.node = server_->Peek(kube::kNodes, "", "gpu-node-1");
  observed.compute_node = server_->Peek(api::kComputeNodes, "", "gpu-node-1");
  const PublishPlan plan = PlanPublish(gone, observed);
  ASSERT_TRUE(plan.compute_node_status);
  EXPECT_FALSE((*plan.compute_node_status)["status"]["energy"].contains("averagePowerWatts"));
  EXPECT_FALSE((*plan.compute_node_status)["status"]["energy"].contains("averagePowerSource"));
  // While pending, the same observation plans nothing.
  EXPECT_TRUE(PlanPublish(DesiredWithPending(WithAveragePower(base, std::nullopt, true)), observed)
                  .compute_node_status == std::nullopt);
}

TEST_F(PublisherTest, TheAveragePowerThresholdIsTheFlagsFraction) {
  const AgentState base = MakeState("gpu-node-1", MakeAccelerators(Vendor::kNvidia));
  PublishPolicy policy;
  policy.average_power_threshold_ratio = 0.5;  // --energy-publish-threshold=0.5
  ComputeNodePublisher publisher(server_, "gpu-node-1", policy);
  ASSERT_EQ(publisher.Publish(DesiredWithPending(WithAveragePower(base, 1000))).value_or(-1), 3);
  EXPECT_EQ(publisher.Publish(DesiredWithPending(WithAveragePower(base, 1450))).value_or(-1), 0);
  EXPECT_EQ(publisher.Publish(DesiredWithPending(WithAveragePower(base, 1501))).value_or(-1), 1);
  EXPECT_EQ(PublishedAveragePower(*server_), 1501);
}

TEST(ComputeNodeStatusTest, CarriesTheAcceleratorsAveragePowerInWholeWattsWithItsSource) {
  AgentState state = MakeState("gpu-node-1", MakeAccelerators(Vendor::kHuawei));
  state.accelerator_average_power.figure = AveragePower{2345.6, "integrated_power"};
  const Json energy = api::ToJson(BuildComputeNodeStatus(state, nullptr, kNow))["energy"];
  EXPECT_EQ(energy["averagePowerWatts"], 2346);
  EXPECT_EQ(energy["averagePowerSource"], "integrated_power");
  state.accelerator_average_power.figure.reset();  // unknown: absent, never 0
  EXPECT_FALSE(api::ToJson(BuildComputeNodeStatus(state, nullptr, kNow))["energy"].contains(
      "averagePowerWatts"));
}

TEST_F(PublisherTest, AFailedWriteIsRetriedAfterReadingTheServerAgain) {
  const AgentState state = MakeState("gpu-node-1", MakeAccelerators(Vendor::kAmd));
  ComputeNodePublisher publisher(server_, "gpu-node-1");
  server_->InjectError(kube::FakeApiClient::Verb::kPatch, UnavailableError("etcd leader lost"), 1,
                       "computenodes.zhisuan.io");
  auto failed = publisher.Publish(Desired(state));
  EXPECT_FALSE(failed.ok());
  const int gets = server_->CallCount(kube::FakeApiClient::Verb::kGet);
  auto retried = publisher.Publish(Desired(state));
  ASSERT_TRUE(retried.ok()) << retried.status();
  EXPECT_EQ(server_->CallCount(kube::FakeApiClient::Verb::kGet), gets + 2);
  EXPECT_TRUE(server_->Peek(api::kComputeNodes, "", "gpu-node-1"));
  EXPECT_EQ(publisher.Publish(Desired(state)).value_or(-1), 0);
}

TEST_F(PublisherTest, MissingNodeIsAnError) {
  ComputeNodePublisher publisher(server_, "no-such-node");
  auto result = publisher.Publish(Desired(MakeState("x", MakeAccelerators(Vendor::kNvidia))));
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(Writes(), 0);
}

}  // namespace
}  // namespace zhisuan::agent
