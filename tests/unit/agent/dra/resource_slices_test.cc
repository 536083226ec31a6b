// The DRA ResourceSlices: what each device carries (names, types, units, absent-not-zero), the API
// limits, unhealthy devices left out, and the publisher's write-on-change with pool generations
// against the in-memory API server.
#include "agent/dra/resource_slices.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "agent/dra/device_name.h"
#include "agent/dra/resource_slice_publisher.h"
#include "tests/unit/agent/kubernetes/inventories.h"
#include "tests/unit/kube/fake_api_client.h"

namespace zhisuan::agent::dra {
namespace {

using kube::Json;
using testing::MakeAccelerators;
using testing::MakeState;

SliceInputs Inputs(std::string node = "gpu-0") {
  SliceInputs inputs;
  inputs.node_name = std::move(node);
  inputs.pool_binding = "team-a.train";
  return inputs;
}

TEST(CanonicalQuantityTest, WritesDecimalSuffixesAsTheApiServerDoes) {
  EXPECT_EQ(CanonicalQuantity(0), "0");
  EXPECT_EQ(CanonicalQuantity(1000), "1k");
  EXPECT_EQ(CanonicalQuantity(192000000000), "192G");
  EXPECT_EQ(CanonicalQuantity(uint64_t{192} << 30), "206158430208");
  EXPECT_EQ(CanonicalQuantity(1500), "1500");
}

TEST(ResourceSlicesTest, AnH100CarriesItsAttributesInStatedUnits) {
  const AgentState state = MakeState("gpu-0", MakeAccelerators(Vendor::kNvidia, 2));
  const std::vector<Json> slices = BuildResourceSlices(state, Inputs());
  ASSERT_EQ(slices.size(), 1u);
  const Json& spec = slices[0]["spec"];
  EXPECT_EQ(slices[0]["metadata"]["name"], "gpu-0-zhisuan-0");
  EXPECT_EQ(spec["driver"], "accelerators.zhisuan.io");
  EXPECT_EQ(spec["nodeName"], "gpu-0");
  EXPECT_EQ(spec["pool"]["name"], "gpu-0");
  EXPECT_EQ(spec["pool"]["resourceSliceCount"], 1);
  EXPECT_FALSE(spec["pool"].contains("generation"));  // the publisher's
  ASSERT_EQ(spec["devices"].size(), 2u);
  const Json& device = spec["devices"][0];
  EXPECT_EQ(device["name"], DraDeviceName(state.devices[0].accelerator));
  const Json& a = device["attributes"];
  EXPECT_EQ(a["vendor"]["string"], "nvidia");
  EXPECT_EQ(a["product"]["string"], "H100-SXM5");
  EXPECT_EQ(a["architecture"]["string"], "hopper");
  EXPECT_EQ(a["uuid"]["string"], state.devices[0].accelerator.uuid);
  EXPECT_EQ(a["resource.kubernetes.io/pciBusID"]["string"], "0000:16:00.0");
  EXPECT_FALSE(a.contains("resource.kubernetes.io/pcieRoot"));  // not known: left out
  EXPECT_EQ(a["numaNode"]["int"], 0);
  EXPECT_EQ(a["healthy"]["bool"], true);
  EXPECT_EQ(a["bf16PeakTeraflops"]["int"], 989);  // 989.4 TFLOPS, rounded down
  EXPECT_EQ(a["bf16MeasuredTeraflops"]["int"], 700);
  EXPECT_EQ(a["measuredFlopsSource"]["string"], "hardware");
  EXPECT_EQ(a["energyZone"]["string"], "cn-sichuan");
  EXPECT_EQ(a["energySource"]["string"], "hydro");
  EXPECT_EQ(a["carbonFreePermille"]["int"], 970);
  EXPECT_EQ(a["carbonIntensityGramsPerKwh"]["int"], 24);
  EXPECT_EQ(a["pool"]["string"], "team-a.train");
  EXPECT_EQ(device["capacity"]["memory"]["value"], std::to_string(uint64_t{81559} << 20));
  EXPECT_LE(a.size() + device["capacity"].size(), kMaxAttributesAndCapacitiesPerDevice);
}

TEST(ResourceSlicesTest, UnknownCarbonAndUnboundPoolAreAbsentNotZero) {
  AgentState state = MakeState("gpu-0", MakeAccelerators(Vendor::kAmd, 1));
  state.energy_profile.carbon_free_ratio.reset();
  state.energy_profile.carbon_intensity_grams_per_kwh.reset();
  SliceInputs inputs = Inputs();
  inputs.pool_binding.clear();
  const std::vector<Json> slices = BuildResourceSlices(state, inputs);
  const Json& a = slices[0]["spec"]["devices"][0]["attributes"];
  EXPECT_FALSE(a.contains("carbonFreePermille"));
  EXPECT_FALSE(a.contains("carbonIntensityGramsPerKwh"));
  EXPECT_FALSE(a.contains("pool"));
  EXPECT_EQ(a["vendor"]["string"], "amd");
  EXPECT_EQ(a["product"]["string"], "MI300X");
}

TEST(ResourceSlicesTest, EveryDeviceStaysWithinTheAttributeLimitWithEveryFigureKnown) {
  AgentState state = MakeState("gpu-0", MakeAccelerators(Vendor::kNvidia, 1));
  for (Precision precision : kAllPrecisions) {
    FlopsMeasurement m;
    m.target = state.devices[0].accelerator.pci_bus_id;
    m.precision = precision;
    m.flops = 1e15;
    m.stand_in = "fake_cuda";
    state.measured_flops.push_back(m);
    At(state.devices[0].peak.flops, precision) = 2e15;
  }
  SliceInputs inputs = Inputs();
  inputs.pcie_roots[state.devices[0].accelerator.pci_bus_id] = "pci0000:15";
  const Json device = BuildDevice(state.devices[0], state, inputs);
  EXPECT_EQ(device["attributes"]["resource.kubernetes.io/pcieRoot"]["string"], "pci0000:15");
  EXPECT_EQ(device["attributes"]["measuredFlopsSource"]["string"], "simulated");
  EXPECT_EQ(device["attributes"]["fp64MeasuredTeraflops"]["int"], 1000);
  EXPECT_LE(device["attributes"].size() + device["capacity"].size(),
            kMaxAttributesAndCapacitiesPerDevice);
}

TEST(ResourceSlicesTest, UnhealthyDevicesAreLeftOutUntilTheyRecover) {
  const AgentState state = MakeState("gpu-0", MakeAccelerators(Vendor::kNvidia, 3));
  SliceInputs inputs = Inputs();
  inputs.health[state.devices[1].accelerator.uuid].healthy = false;
  Json devices = BuildResourceSlices(state, inputs)[0]["spec"]["devices"];
  ASSERT_EQ(devices.size(), 2u);
  for (const Json& device : devices) {
    EXPECT_NE(device["name"], DraDeviceName(state.devices[1].accelerator));
  }
  inputs.health[state.devices[1].accelerator.uuid].healthy = true;
  EXPECT_EQ(BuildResourceSlices(state, inputs)[0]["spec"]["devices"].size(), 3u);
}

TEST(ResourceSlicesTest, UnhealthyDevicesStayTaintedWhenAsked) {
  const AgentState state = MakeState("gpu-0", MakeAccelerators(Vendor::kNvidia, 3));
  SliceInputs inputs = Inputs();
  inputs.unhealthy = UnhealthyDevices::kTaintNoExecute;
  DeviceHealth& failed = inputs.health[state.devices[1].accelerator.uuid];
  failed.healthy = false;
  failed.reason = HealthReason::kCriticalXid;
  failed.since = WallTime(std::chrono::seconds(1796601600));  // 2026-12-07T00:00:00Z
  Json devices = BuildResourceSlices(state, inputs)[0]["spec"]["devices"];
  ASSERT_EQ(devices.size(), 3u);
  const std::string name = DraDeviceName(state.devices[1].accelerator);
  for (const Json& device : devices) {
    if (device["name"] != name) {
      EXPECT_FALSE(device.contains("taints")) << device.dump();
      continue;
    }
    EXPECT_EQ(device["attributes"]["healthy"]["bool"], false);
    EXPECT_EQ(device["taints"], Json::parse(R"([{"key": "zhisuan.io/unhealthy", "value": "xid",
        "effect": "NoExecute", "timeAdded": "2026-12-07T00:00:00Z"}])"));
  }
  // The devices are copied out of the temporary slices: a range-for over a reference into a
  // temporary would outlive it.
  inputs.unhealthy = UnhealthyDevices::kTaintNoSchedule;
  devices = BuildResourceSlices(state, inputs)[0]["spec"]["devices"];
  for (const Json& device : devices) {
    if (device["name"] == name) {
      EXPECT_EQ(device["taints"][0]["effect"], "NoSchedule");
    }
  }
  failed.healthy = true;
  devices = BuildResourceSlices(state, inputs)[0]["spec"]["devices"];
  for (const Json& device : devices) {
    EXPECT_FALSE(device.contains("taints")) << device.dump();
  }
}

TEST(ResourceSlicesTest, UnhealthyDevicesPolicyParsesTheChartSpelling) {
  EXPECT_EQ(ParseUnhealthyDevices("off").value(), UnhealthyDevices::kLeaveOut);
  EXPECT_EQ(ParseUnhealthyDevices("NoSchedule").value(), UnhealthyDevices::kTaintNoSchedule);
  EXPECT_EQ(ParseUnhealthyDevices("NoExecute").value(), UnhealthyDevices::kTaintNoExecute);
  EXPECT_FALSE(ParseUnhealthyDevices("").ok());
  EXPECT_FALSE(ParseUnhealthyDevices("PreferNoSchedule").ok());
}

TEST(ResourceSlicesTest, SplitsAtTheDeviceLimitAndKeepsAnEmptyPool) {
  AgentState state;
  for (int i = 0; i < 130; ++i) {
    DeviceState device;
    device.accelerator = testing::MakeAccelerator(Vendor::kNvidia, 0);
    device.accelerator.pci_bus_id = StrCat("0000:", i, ":00.0");
    device.accelerator.uuid = StrCat("GPU-", i);
    state.devices.push_back(device);
  }
  const std::vector<Json> slices = BuildResourceSlices(state, Inputs());
  ASSERT_EQ(slices.size(), 2u);
  EXPECT_EQ(slices[0]["spec"]["devices"].size(), kMaxDevicesPerSlice);
  EXPECT_EQ(slices[1]["spec"]["devices"].size(), 2u);
  EXPECT_EQ(slices[1]["spec"]["pool"]["resourceSliceCount"], 2);
  const std::vector<Json> empty = BuildResourceSlices(AgentState{}, Inputs());
  ASSERT_EQ(empty.size(), 1u);
  EXPECT_TRUE(empty[0]["spec"]["devices"].empty());
}

TEST(ResourceSlicesTest, PcieRootsComeFromTheSysfsLink) {
  class Links final : public FileReader {
   public:
    StatusOr<std::string> Read(std::string_view) const override { return NotFoundError("x"); }
    StatusOr<std::vector<std::string>> List(std::string_view) const override {
      return std::vector<std::string>{};
    }
    StatusOr<std::string> ReadLink(std::string_view path) const override {
      if (path == "/bus/pci/devices/0000:17:00.0") {
        return std::string("../../../devices/pci0000:15/0000:15:01.0/0000:17:00.0");
      }
      return NotFoundError("no link");
    }
    bool Exists(std::string_view) const override { return false; }
  };
  const auto roots = PcieRoots(Links(), {"0000:17:00.0", "0000:99:00.0", ""});
  ASSERT_EQ(roots.size(), 1u);
  EXPECT_EQ(roots.at("0000:17:00.0"), "pci0000:15");
}

class ResourceSlicePublisherTest : public ::testing::Test {
 protected:
  std::shared_ptr<kube::FakeApiClient> server_ = std::make_shared<kube::FakeApiClient>();
  AgentState state_ = MakeState("gpu-0", MakeAccelerators(Vendor::kNvidia, 2));

  std::vector<Json> Stored() {
    auto listed = server_->List(kResourceSlices, "", {});
    EXPECT_TRUE(listed.ok()) << listed.status();
    return listed.ok() ? listed->items : std::vector<Json>{};
  }
};

TEST_F(ResourceSlicePublisherTest, WritesOnlyOnChangeAndBumpsThePoolGeneration) {
  ResourceSlicePublisher publisher(server_, "gpu-0");
  SliceInputs inputs = Inputs();
  auto first = publisher.Publish(BuildResourceSlices(state_, inputs));
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(*first, 1);
  ASSERT_EQ(Stored().size(), 1u);
  EXPECT_EQ(Stored()[0]["spec"]["pool"]["generation"], 1);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(*publisher.Publish(BuildResourceSlices(state_, inputs)), 0);

  inputs.health[state_.devices[0].accelerator.uuid].healthy = false;
  EXPECT_EQ(*publisher.Publish(BuildResourceSlices(state_, inputs)), 1);
  EXPECT_EQ(Stored()[0]["spec"]["pool"]["generation"], 2);
  EXPECT_EQ(Stored()[0]["spec"]["devices"].size(), 1u);

  // A restarted agent finds the server up to date: no write.
  ResourceSlicePublisher restarted(server_, "gpu-0");
  EXPECT_EQ(*restarted.Publish(BuildResourceSlices(state_, inputs)), 0);
  EXPECT_EQ(restarted.writes(), 0u);
}

TEST_F(ResourceSlicePublisherTest, DeletesSlicesThePoolNoLongerHas) {
  AgentState big;
  for (int i = 0; i < 130; ++i) {
    DeviceState device;
    device.accelerator = testing::MakeAccelerator(Vendor::kNvidia, 0);
    device.accelerator.pci_bus_id = StrCat("0000:", i, ":00.0");
    device.accelerator.uuid = StrCat("GPU-", i);
    big.devices.push_back(device);
  }
  ResourceSlicePublisher publisher(server_, "gpu-0");
  ASSERT_EQ(*publisher.Publish(BuildResourceSlices(big, Inputs())), 2);
  big.devices.resize(100);
  EXPECT_EQ(*publisher.Publish(BuildResourceSlices(big, Inputs())), 2);  // update + delete
  const std::vector<Json> stored = Stored();
  ASSERT_EQ(stored.size(), 1u);
  EXPECT_EQ(stored[0]["spec"]["pool"]["generation"], 2);
  EXPECT_EQ(stored[0]["spec"]["pool"]["resourceSliceCount"], 1);
}

TEST_F(ResourceSlicePublisherTest, AFailedWriteIsRetriedFromAFreshList) {
  ResourceSlicePublisher publisher(server_, "gpu-0");
  server_->InjectError(kube::FakeApiClient::Verb::kCreate, UnavailableError("down"));
  EXPECT_FALSE(publisher.Publish(BuildResourceSlices(state_, Inputs())).ok());
  auto retried = publisher.Publish(BuildResourceSlices(state_, Inputs()));
  ASSERT_TRUE(retried.ok()) << retried.status();
  EXPECT_EQ(*retried, 1);
  EXPECT_EQ(Stored().size(), 1u);
}

TEST_F(ResourceSlicePublisherTest, SlicesTheKubeletWipedAreRestoredAtTheNextRecheck) {
  auto clock = std::make_shared<FakeClock>();
  ResourceSlicePublisher publisher(server_, "gpu-0", clock);
  ASSERT_EQ(*publisher.Publish(BuildResourceSlices(state_, Inputs())), 1);
  // A starting kubelet deletes every slice of its node; the agent is not told.
  const std::string name = Stored()[0]["metadata"].value("name", "");
  ASSERT_TRUE(server_->Delete(kResourceSlices, "", name).ok());

  clock->Advance(kSliceRecheck - std::chrono::seconds(1));
  EXPECT_EQ(*publisher.Publish(BuildResourceSlices(state_, Inputs())), 0);  // no read yet
  EXPECT_TRUE(Stored().empty());

  clock->Advance(std::chrono::seconds(1));
  EXPECT_EQ(*publisher.Publish(BuildResourceSlices(state_, Inputs())), 1);
  ASSERT_EQ(Stored().size(), 1u);
  EXPECT_EQ(Stored()[0]["spec"]["devices"].size(), 2u);
}

TEST_F(ResourceSlicePublisherTest, TaintedDevicesAreWrittenOnceAndKept) {
  ResourceSlicePublisher publisher(server_, "gpu-0");
  SliceInputs inputs = Inputs();
  inputs.unhealthy = UnhealthyDevices::kTaintNoSchedule;
  inputs.health[state_.devices[0].accelerator.uuid].healthy = false;
  ASSERT_EQ(*publisher.Publish(BuildResourceSlices(state_, inputs)), 1);
  EXPECT_EQ(*publisher.Publish(BuildResourceSlices(state_, inputs)), 0);
  EXPECT_FALSE(publisher.taints_dropped());
  ASSERT_EQ(Stored()[0]["spec"]["devices"].size(), 2u);
}

TEST_F(ResourceSlicePublisherTest, AServerThatDropsTaintsIsDetected) {
  // kube-apiserver without the DRADeviceTaints gate drops Device.taints and answers 200.
  server_->SetWriteMutator(kResourceSlices, [](Json& slice) {
    for (Json& device : slice["spec"]["devices"]) device.erase("taints");
  });
  ResourceSlicePublisher publisher(server_, "gpu-0");
  SliceInputs inputs = Inputs();
  inputs.unhealthy = UnhealthyDevices::kTaintNoExecute;
  ASSERT_EQ(*publisher.Publish(BuildResourceSlices(state_, inputs)), 1);  // no taint to lose yet
  EXPECT_FALSE(publisher.taints_dropped());

  inputs.health[state_.devices[0].accelerator.uuid].healthy = false;
  auto tainted = publisher.Publish(BuildResourceSlices(state_, inputs));
  EXPECT_THAT(tainted.status().message(), ::testing::HasSubstr("DRADeviceTaints feature gate"));
  EXPECT_TRUE(publisher.taints_dropped());

  inputs.unhealthy = UnhealthyDevices::kLeaveOut;
  auto left_out = publisher.Publish(BuildResourceSlices(state_, inputs));
  ASSERT_TRUE(left_out.ok()) << left_out.status();
  ASSERT_EQ(Stored()[0]["spec"]["devices"].size(), 1u);
  EXPECT_NE(Stored()[0]["spec"]["devices"][0]["name"],
            DraDeviceName(state_.devices[0].accelerator));
}

}  // namespace
}  // namespace zhisuan::agent::dra
