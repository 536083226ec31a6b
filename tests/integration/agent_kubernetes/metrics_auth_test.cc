// /metrics over HTTPS behind the API server's reviews (issue 17), against the real API server: the
// zhisuan-agent binary with --metrics-tls-cert-file/--metrics-tls-key-file and
// --metrics-auth=kubernetes reviews each scraper's bearer token with a TokenReview, then a
// SubjectAccessReview for get on the non-resource URL /metrics, as kube-rbac-proxy does. No token
// is 401, a ServiceAccount without that right 403, one bound to a ClusterRole with
// nonResourceURLs [/metrics] verbs [get] (what Prometheus' chart grants) 200. /healthz and
// /readyz answer without a token, as the kubelet's probes need. Bad TLS flags stop the start.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <regex>
#include <sstream>

#include "common/strings.h"
#include "tests/harness/control_plane_environment.h"
#include "tests/harness/loopback_http.h"
#include "tests/harness/tls_test_support.h"
#include "tests/integration/agent_kubernetes/test_support.h"

namespace zhisuan::agent {
namespace {

using harness::SharedControlPlane;
using ::testing::HasSubstr;

constexpr char kNode[] = "metrics-auth-node";
constexpr char kNamespace[] = "metrics-auth";

std::string Binary() {
  const char* dir = std::getenv("ZHISUAN_BINARY_DIR");
  return std::string(dir != nullptr ? dir : ".") + "/agent/zhisuan-agent";
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// A fresh token for the ServiceAccount `scraper` (the agent caches a decision per token for 30 s).
std::string ScraperToken() {
  auto token = SharedControlPlane().Kubectl(
      {"create", "token", "scraper", "-n", kNamespace, "--duration=10m"});
  EXPECT_EQ(token.exit_code, 0) << token.output;
  return std::string(StripWhitespace(token.output));
}

// The port from the "serving on port N" log line; 0 if it did not appear within 30 s.
int WaitForPort(const std::string& log) {
  const std::regex serving("serving on port ([0-9]+)");
  int port = 0;
  testing::WaitFor(
      [&] {
        std::smatch match;
        const std::string text = ReadFile(log);
        if (!std::regex_search(text, match, serving)) return false;
        port = std::stoi(match[1]);
        return true;
      },
      std::chrono::seconds(30));
  return port;
}

TEST(MetricsAuthTest, OnlyAScraperGrantedGetOnMetricsReadsThemOverHttps) {
  testing::InstallCrds();
  testing::CreateNode(kNode);
  auto& plane = SharedControlPlane();
  plane.Kubectl({"create", "namespace", kNamespace});
  ASSERT_EQ(plane.Kubectl({"create", "serviceaccount", "scraper", "-n", kNamespace}).exit_code, 0);

  testing::TempDir dir;
  const harness::TestCertificate cert = harness::WriteSelfSignedCertificate(dir.path(), "agent");
  const std::string log = dir.path() + "/agent.log";
  harness::BackgroundProcess agent(
      {Binary(), "--kubeconfig=" + plane.admin_kubeconfig(), std::string("--node-name=") + kNode,
       "--advertise=node-status",
       "--sysfs-root=" + harness::SourceDir() + "/tests/fixtures/sysfs/h100-8x/sys",
       "--procfs-root=" + harness::SourceDir() + "/tests/fixtures/sysfs/h100-8x/proc",
       "--nvml-library=/nonexistent/libnvidia-ml.so.1", "--dcmi-library=/nonexistent/libdcmi.so",
       "--pod-resources-socket=/nonexistent/pod-resources/kubelet.sock",
       "--listen-address=127.0.0.1:0", "--sample-interval=200ms",
       "--measure-flops-at-startup=false", "--metrics-tls-cert-file=" + cert.cert_file,
       "--metrics-tls-key-file=" + cert.key_file, "--metrics-auth=kubernetes"},
      log);
  const int port = WaitForPort(log);
  ASSERT_GT(port, 0) << ReadFile(log);
  harness::TlsClientOptions tls;
  tls.ca_file = cert.cert_file;

  // The probes' paths need no token.
  EXPECT_TRUE(testing::WaitFor([&] { return harness::TlsGet(port, "/readyz", tls) == 200; },
                               std::chrono::seconds(30)))
      << ReadFile(log);
  EXPECT_EQ(harness::TlsGet(port, "/healthz", tls), 200);

  std::string reply;
  EXPECT_EQ(harness::TlsGet(port, "/metrics", tls, "", &reply), 401) << reply;
  EXPECT_THAT(reply, HasSubstr("WWW-Authenticate: Bearer"));
  EXPECT_EQ(harness::TlsGet(port, "/metrics", tls, "not-a-token"), 401);
  EXPECT_EQ(harness::TlsGet(port, "/metrics", tls, ScraperToken(), &reply), 403) << reply;
  EXPECT_THAT(reply, HasSubstr("may not get /metrics"));

  const std::string grant = std::string(R"(apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: metrics-reader
rules:
  - nonResourceURLs: [/metrics]
    verbs: [get]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: metrics-reader-scraper
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: ClusterRole
  name: metrics-reader
subjects:
  - kind: ServiceAccount
    name: scraper
    namespace: )") + kNamespace +
                            "\n";
  const auto applied = plane.Kubectl({"apply", "-f", "-"}, grant);
  ASSERT_EQ(applied.exit_code, 0) << applied.output;
  // The API server's RBAC cache takes a moment to see the binding: retry with fresh tokens.
  int status = 0;
  testing::WaitFor(
      [&] {
        status = harness::TlsGet(port, "/metrics", tls, ScraperToken(), &reply);
        return status == 200;
      },
      std::chrono::seconds(20));
  EXPECT_EQ(status, 200) << reply << ReadFile(log);
  EXPECT_THAT(reply, HasSubstr("zhisuan_agent_build_info"));
  // The same scrape in plain HTTP gets nothing.
  EXPECT_EQ(harness::LoopbackRequest(port, "GET", "/metrics").status, 0);
}

TEST(MetricsAuthTest, BadTlsFlagsStopTheStartWithAClearError) {
  testing::TempDir dir;
  const harness::TestCertificate cert = harness::WriteSelfSignedCertificate(dir.path(), "agent");
  const std::vector<std::string> common = {Binary(), "--kubernetes=false",
                                           "--listen-address=127.0.0.1:0"};
  auto run = [&](std::vector<std::string> extra) {
    std::vector<std::string> argv = common;
    argv.insert(argv.end(), extra.begin(), extra.end());
    return harness::RunCommand(argv, "", std::chrono::seconds(30));
  };
  const auto no_key = run({"--metrics-tls-cert-file=" + cert.cert_file});
  EXPECT_NE(no_key.exit_code, 0);
  EXPECT_THAT(no_key.output, HasSubstr("a TLS certificate file needs a key file"));
  const auto missing = run({"--metrics-tls-cert-file=" + dir.path() + "/absent.crt",
                            "--metrics-tls-key-file=" + cert.key_file});
  EXPECT_NE(missing.exit_code, 0);
  EXPECT_THAT(missing.output, HasSubstr("absent.crt\": No such file or directory"));
  const auto bad_mode = run({"--metrics-auth=token"});
  EXPECT_NE(bad_mode.exit_code, 0);
  EXPECT_THAT(bad_mode.output, HasSubstr("--metrics-auth"));
  // Reviews need the API server.
  const auto no_cluster = run({"--metrics-auth=kubernetes"});
  EXPECT_NE(no_cluster.exit_code, 0);
  EXPECT_THAT(no_cluster.output, HasSubstr("--metrics-auth=kubernetes"));
}

}  // namespace
}  // namespace zhisuan::agent
