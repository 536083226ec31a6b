// The real zhisuan-agent binary, three of them, each on its own fixture hardware tree (an 8×H100
// node through the fake NVML, an 8×MI300X node through KFD sysfs, an 8×Ascend 910B node through the
// fake DCMI), against the real API server: their labels, ComputeNodes and advertised capacity are
// what kubectl shows, and restarting them with nothing changed writes nothing.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <map>
#include <thread>

#include "tests/harness/control_plane_environment.h"
#include "tests/integration/agent_kubernetes/test_support.h"

namespace zhisuan::agent {
namespace {

using harness::SharedControlPlane;
using ::testing::ContainsRegex;
using ::testing::HasSubstr;

std::string BinaryDir() {
  const char* dir = std::getenv("ZHISUAN_BINARY_DIR");
  return dir != nullptr ? dir : ".";
}

// A zhisuan-agent on a fixture tree; SIGTERM and reaped on destruction.
class AgentProcess {
 public:
  AgentProcess(const std::string& node, const std::string& fixture, const std::string& log,
               const std::vector<std::string>& extra_args = {})
      : process_(Args(node, fixture, extra_args), log) {}
  ~AgentProcess() { process_.Stop(); }

 private:
  static std::vector<std::string> Args(const std::string& node, const std::string& fixture,
                                       const std::vector<std::string>& extra_args) {
    const std::string root = harness::SourceDir() + "/tests/fixtures/sysfs/" + fixture;
    const std::string libs = BinaryDir() + "/fixtures/lib";
    std::vector<std::string> args = {
        BinaryDir() + "/agent/zhisuan-agent",
        "--kubeconfig=" + SharedControlPlane().admin_kubeconfig(),
        "--node-name=" + node,
        "--advertise=node-status",
        "--sysfs-root=" + root + "/sys",
        "--procfs-root=" + root + "/proc",
        "--nvml-library=" +
            (fixture == "h100-8x" ? libs + "/nvml/libnvidia-ml.so.1" : "/nonexistent/libnvml.so"),
        "--dcmi-library=" +
            (fixture == "ascend910b-8x" ? libs + "/dcmi/libdcmi.so" : "/nonexistent/libdcmi.so"),
        "--libcuda-library=/nonexistent/libcuda.so.1",
        "--listen-address=127.0.0.1:0",
        "--sample-interval=1s",
        "--measure-flops-at-startup=false"};
    args.insert(args.end(), extra_args.begin(), extra_args.end());  // later flags win
    return args;
  }
  harness::BackgroundProcess process_;
};

struct FleetNode {
  std::string name, fixture, vendor, product, resource, bf16;
  std::string stand_ins;  // what the SimulatedHardware condition's message names
};
const std::vector<FleetNode> kFleet = {
    {"proc-h100", "h100-8x", "nvidia", "H100-SXM5", "nvidia.com/gpu", "7915T",
     "fake_nvml (nvml), fixture tree h100-8x (sysfs), fixture tree h100-8x (procfs)"},
    {"proc-mi300x", "mi300x-8x", "amd", "MI300X", "amd.com/gpu", "10.46P",
     "fixture tree mi300x-8x (sysfs), fixture tree mi300x-8x (procfs)"},
    {"proc-ascend", "ascend910b-8x", "huawei", "Ascend910B", "huawei.com/Ascend910", "2504T",
     "fake_dcmi (dcmi), fixture tree ascend910b-8x (sysfs), fixture tree ascend910b-8x (procfs)"}};

std::string Get(const std::vector<std::string>& args) {
  auto result = SharedControlPlane().Kubectl(args);
  return result.exit_code == 0 ? result.output : "";
}

// Polls until every fleet node's ComputeNode reports 8 accelerators (the agents have published).
bool WaitForPublication(std::chrono::seconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    bool all = true;
    for (const auto& node : kFleet) {
      all = all && Get({"get", "computenode", node.name, "-o",
                        "jsonpath={.status.acceleratorCount}"}) == "8";
    }
    if (all) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
  return false;
}

std::map<std::string, std::string> ResourceVersions() {
  std::map<std::string, std::string> versions;
  for (const auto& node : kFleet) {
    for (const char* kind : {"node", "computenode"}) {
      versions[std::string(kind) + "/" + node.name] =
          Get({"get", kind, node.name, "-o", "jsonpath={.metadata.resourceVersion}"});
    }
  }
  return versions;
}

TEST(AgentProcesses, ThreeAgentsOnThreeFixtureTreesPublishWhatKubectlShows) {
  testing::InstallCrds();
  for (const auto& node : kFleet) testing::CreateNode(node.name);
  testing::TempDir logs;
  {
    std::vector<std::unique_ptr<AgentProcess>> agents;
    for (const auto& node : kFleet) {
      agents.push_back(
          std::make_unique<AgentProcess>(node.name, node.fixture, logs.path() + "/" + node.name));
    }
    ASSERT_TRUE(WaitForPublication(std::chrono::seconds(60)))
        << Get({"get", "computenodes", "-o", "yaml"});

    const std::string table = Get({"get", "computenodes"});
    for (const auto& node : kFleet) {
      EXPECT_THAT(table, ContainsRegex(node.name + " +8 +8 +" + node.bf16)) << table;
      EXPECT_EQ(Get({"get", "node", node.name, "-o",
                     "jsonpath={.metadata.labels.zhisuan\\.io/vendor}/"
                     "{.metadata.labels.zhisuan\\.io/product}"}),
                node.vendor + "/" + node.product);
      std::string escaped = node.resource;
      for (size_t dot = escaped.find('.'); dot != std::string::npos;
           dot = escaped.find('.', dot + 2)) {
        escaped.insert(dot, "\\");
      }
      EXPECT_EQ(
          Get({"get", "node", node.name, "-o", "jsonpath={.status.capacity." + escaped + "}"}), "8")
          << node.name << " advertises " << node.resource;
      EXPECT_EQ(Get({"get", "computenode", node.name, "-o",
                     "jsonpath={.metadata.ownerReferences[0].kind}/"
                     "{.metadata.ownerReferences[0].name}"}),
                "Node/" + node.name);
      // Issue 18: the fake stack says it is one; nobody reads these nodes as hardware.
      EXPECT_EQ(Get({"get", "computenode", node.name, "-o",
                     R"(jsonpath={.status.conditions[?(@.type=="SimulatedHardware")].status})"}),
                "True")
          << node.name;
      EXPECT_THAT(Get({"get", "computenode", node.name, "-o",
                       R"(jsonpath={.status.conditions[?(@.type=="SimulatedHardware")].message})"}),
                  HasSubstr(node.stand_ins))
          << node.name;
    }
  }  // the agents stop here (SIGTERM)

  const auto before = ResourceVersions();
  {
    std::vector<std::unique_ptr<AgentProcess>> agents;
    for (const auto& node : kFleet) {
      agents.push_back(std::make_unique<AgentProcess>(node.name, node.fixture,
                                                      logs.path() + "/" + node.name + ".restart"));
    }
    // Long enough for discovery, a first sample and several publish passes (every second).
    std::this_thread::sleep_for(std::chrono::seconds(8));
    EXPECT_EQ(ResourceVersions(), before) << "a restart with nothing changed must write nothing";
  }
}

// Issue 18: the ComputeNode carries the accelerators' average power, the energy figure the
// controller weights a pool's carbon by, once the agent's window holds enough readings, and says
// where it came from: the fake DCMI has no energy counter (power integrated between samples), the
// fake NVML has one.
TEST(AgentProcesses, TheComputeNodeCarriesTheAcceleratorsAveragePowerAndItsSource) {
  testing::InstallCrds();
  testing::CreateNode("power-ascend");
  testing::CreateNode("power-h100");
  testing::TempDir logs;
  // A 12 s window needs 1 s of readings; the default hour would need 5 minutes.
  const std::vector<std::string> fast = {"--energy-average-window=12s", "--sample-interval=200ms"};
  AgentProcess ascend("power-ascend", "ascend910b-8x", logs.path() + "/ascend", fast);
  AgentProcess h100("power-h100", "h100-8x", logs.path() + "/h100", fast);
  const auto field = [](const std::string& node, const std::string& path) {
    return Get({"get", "computenode", node, "-o", "jsonpath={.status.energy." + path + "}"});
  };
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (std::chrono::steady_clock::now() < deadline &&
         (field("power-ascend", "averagePowerWatts").empty() ||
          field("power-h100", "averagePowerWatts").empty())) {
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
  // The fake DCMI's eight chips draw a constant 210.5 W + 1 W per logic id: 1712 W in all.
  EXPECT_EQ(field("power-ascend", "averagePowerWatts"), "1712")
      << Get({"get", "computenode", "power-ascend", "-o", "yaml"});
  EXPECT_EQ(field("power-ascend", "averagePowerSource"), "integrated_power");
  EXPECT_EQ(field("power-h100", "averagePowerSource"), "counter")
      << Get({"get", "computenode", "power-h100", "-o", "yaml"});
  EXPECT_GT(std::atof(field("power-h100", "averagePowerWatts").c_str()), 0);
}

}  // namespace
}  // namespace zhisuan::agent
