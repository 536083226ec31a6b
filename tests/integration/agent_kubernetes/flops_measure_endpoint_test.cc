// POST /flops/measure against the real API server (issue 17): the zhisuan-agent binary with
// --flops-measure-endpoint=authenticated reviews each caller's bearer token with a TokenReview and
// a SubjectAccessReview for create on computenodes/measure (zhisuan.io, name: its node). No token
// is 401, a ServiceAccount token without that right 403, one with it 202 and the probes run, and a
// second request right after is 429. The unit tests (tests/unit/agent/flops_measure_endpoint_test)
// cover the same decisions with a fake authorizer; this one proves the reviews the API server
// actually answers.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <regex>
#include <sstream>
#include <thread>

#include "common/strings.h"
#include "tests/harness/control_plane_environment.h"
#include "tests/harness/loopback_http.h"
#include "tests/integration/agent_kubernetes/test_support.h"

namespace zhisuan::agent {
namespace {

using harness::SharedControlPlane;
using ::testing::HasSubstr;

constexpr char kNode[] = "measure-node";
constexpr char kNamespace[] = "flops-measure";

std::string BinaryDir() {
  const char* dir = std::getenv("ZHISUAN_BINARY_DIR");
  return dir != nullptr ? dir : ".";
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

struct Reply {
  int status = 0;
  std::string raw;  // status line, headers and body
};

// POST /flops/measure on 127.0.0.1:`port`, with "Authorization: Bearer `token`" unless empty.
Reply PostMeasure(int port, const std::string& token) {
  std::string request = "POST /flops/measure HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n";
  if (!token.empty()) request += "Authorization: Bearer " + token + "\r\n";
  request += "Content-Length: 0\r\n\r\n";
  Reply reply;
  reply.raw = harness::LoopbackExchange(port, request);
  if (reply.raw.size() >= 12 && StartsWith(reply.raw, "HTTP/1.")) {
    reply.status = std::atoi(reply.raw.substr(9, 3).c_str());
  }
  return reply;
}

// A fresh token for the ServiceAccount `prober` (each call a new one: the agent caches a decision
// per token for 30 s, so a token refused before a grant stays refused that long).
std::string ProberToken() {
  auto token = SharedControlPlane().Kubectl(
      {"create", "token", "prober", "-n", kNamespace, "--duration=10m"});
  EXPECT_EQ(token.exit_code, 0) << token.output;
  return std::string(StripWhitespace(token.output));
}

// The agent on the h100-8x fixture (fake NVML and fake libcuda), Node status advertising (no
// kubelet, so no pod-resources socket is needed), no start-up measurement, short probes.
class MeasuringAgent {
 public:
  explicit MeasuringAgent(const std::string& log)
      : log_(log),
        process_({BinaryDir() + "/agent/zhisuan-agent",
                  "--kubeconfig=" + SharedControlPlane().admin_kubeconfig(),
                  std::string("--node-name=") + kNode, "--advertise=node-status",
                  "--sysfs-root=" + harness::SourceDir() + "/tests/fixtures/sysfs/h100-8x/sys",
                  "--procfs-root=" + harness::SourceDir() + "/tests/fixtures/sysfs/h100-8x/proc",
                  "--nvml-library=" + BinaryDir() + "/fixtures/lib/nvml/libnvidia-ml.so.1",
                  "--dcmi-library=/nonexistent/libdcmi.so",
                  "--libcuda-library=" + BinaryDir() + "/fixtures/lib/cuda/libcuda.so.1",
                  "--pod-resources-socket=/nonexistent/pod-resources/kubelet.sock",
                  "--listen-address=127.0.0.1:0", "--sample-interval=200ms",
                  "--measure-flops-at-startup=false", "--flops-probe-duration=50ms",
                  "--flops-measure-endpoint=authenticated", "--flops-measure-min-interval=1m"},
                 log) {}
  ~MeasuringAgent() { process_.Stop(); }
  std::string Log() const { return ReadFile(log_); }
  // The port from the "serving on port N" log line; 0 if it did not appear within 30 s.
  int WaitForPort() const {
    const std::regex serving("serving on port ([0-9]+)");
    int port = 0;
    testing::WaitFor(
        [&] {
          std::smatch match;
          const std::string log = Log();
          if (!std::regex_search(log, match, serving)) return false;
          port = std::stoi(match[1]);
          return true;
        },
        std::chrono::seconds(30));
    return port;
  }

 private:
  const std::string log_;
  harness::BackgroundProcess process_;
};

TEST(FlopsMeasureEndpointTest, OnlyAnAuthorisedServiceAccountRunsTheProbesAndOnlyOncePerInterval) {
  testing::InstallCrds();
  testing::CreateNode(kNode);
  auto& plane = SharedControlPlane();
  plane.Kubectl({"create", "namespace", kNamespace});
  ASSERT_EQ(plane.Kubectl({"create", "serviceaccount", "prober", "-n", kNamespace}).exit_code, 0);

  testing::TempDir dir;
  MeasuringAgent agent(dir.path() + "/agent.log");
  const int port = agent.WaitForPort();
  ASSERT_GT(port, 0) << agent.Log();
  ASSERT_TRUE(testing::WaitFor(
      [&] { return harness::LoopbackRequest(port, "GET", "/readyz").status == 200; },
      std::chrono::seconds(30)))
      << agent.Log();

  // No token: 401, with the scheme to use.
  const Reply anonymous = PostMeasure(port, "");
  EXPECT_EQ(anonymous.status, 401) << anonymous.raw;
  EXPECT_THAT(anonymous.raw, HasSubstr("WWW-Authenticate: Bearer"));
  // A token the API server does not know: 401 too.
  EXPECT_EQ(PostMeasure(port, "not-a-token").status, 401);
  // A real ServiceAccount without create on computenodes/measure: 403.
  const Reply unauthorised = PostMeasure(port, ProberToken());
  EXPECT_EQ(unauthorised.status, 403) << unauthorised.raw << agent.Log();
  EXPECT_THAT(unauthorised.raw, HasSubstr("forbidden"));

  // Grant it, for this node only.
  const std::string grant = std::string(R"(apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: flops-measure
rules:
  - apiGroups: [zhisuan.io]
    resources: [computenodes/measure]
    resourceNames: [)") + kNode +
                            R"(]
    verbs: [create]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: flops-measure-prober
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: ClusterRole
  name: flops-measure
subjects:
  - kind: ServiceAccount
    name: prober
    namespace: )" + kNamespace +
                            "\n";
  const auto applied = plane.Kubectl({"apply", "-f", "-"}, grant);
  ASSERT_EQ(applied.exit_code, 0) << applied.output;

  // The API server's RBAC cache takes a moment to see the binding, and the agent's scheduler
  // exists a moment after /readyz: retry with fresh tokens until neither is in the way.
  std::string token;
  Reply accepted;
  testing::WaitFor(
      [&] {
        token = ProberToken();
        accepted = PostMeasure(port, token);
        return accepted.status != 403 &&
               !(accepted.status == 429 && accepted.raw.find("is running") != std::string::npos);
      },
      std::chrono::seconds(20));
  ASSERT_TRUE(accepted.status == 200 || accepted.status == 202) << accepted.raw << agent.Log();
  EXPECT_THAT(agent.Log(), HasSubstr("POST /flops/measure by \"system:serviceaccount:" +
                                     std::string(kNamespace) + ":prober\""));

  // Right after: 429 with Retry-After, the same token or another.
  const Reply again = PostMeasure(port, token);
  EXPECT_EQ(again.status, 429) << again.raw;
  EXPECT_THAT(again.raw, HasSubstr("Retry-After: "));
  EXPECT_EQ(PostMeasure(port, ProberToken()).status, 429);

  // The probes ran: the CPU figure reaches /metrics on a sampler tick.
  const std::regex cpu_figure(R"(\nzhisuan_cpu_measured_flops\{[^}]*\} [1-9])");
  std::string metrics;
  EXPECT_TRUE(testing::WaitFor(
      [&] {
        metrics = harness::LoopbackRequest(port, "GET", "/metrics").body;
        return std::regex_search(metrics, cpu_figure);
      },
      std::chrono::seconds(30)))
      << metrics << agent.Log();
  EXPECT_THAT(metrics, HasSubstr("zhisuan_flops_probe_runs_total 1\n"));
  EXPECT_THAT(agent.Log(), HasSubstr("FLOPS probe cpu cpu"));
}

}  // namespace
}  // namespace zhisuan::agent
