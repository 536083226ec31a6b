// Proves the local control plane is a real Kubernetes API server: versioned, serving CRDs and
// watches over TLS, enforcing RBAC, and surviving the faults later tests inject.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <future>
#include <thread>

#include "tests/harness/control_plane_environment.h"

namespace zhisuan::harness {
namespace {

using ::testing::HasSubstr;

constexpr char kWidgetCrd[] = R"(apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.harness.zhisuan.io
spec:
  group: harness.zhisuan.io
  scope: Namespaced
  names: {plural: widgets, singular: widget, kind: Widget}
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            properties:
              size: {type: integer, minimum: 1}
)";

void ApplyWidgetCrd(ControlPlane& plane) {
  auto applied = plane.Kubectl({"apply", "-f", "-"}, kWidgetCrd);
  ASSERT_EQ(applied.exit_code, 0) << applied.output;
  auto established = plane.Kubectl(
      {"wait", "--for=condition=Established", "--timeout=60s", "crd/widgets.harness.zhisuan.io"});
  ASSERT_EQ(established.exit_code, 0) << established.output;
}

TEST(ControlPlane, ReportsThePinnedServerVersion) {
  auto version = SharedControlPlane().Kubectl({"version", "-o", "json"});
  ASSERT_EQ(version.exit_code, 0) << version.output;
  EXPECT_THAT(version.output, HasSubstr(R"("gitVersion": "v1.34.4")"));
  EXPECT_THAT(version.output, HasSubstr(R"("minor": "34")"));
  EXPECT_THAT(version.output, ::testing::Not(HasSubstr("v0.0.0")));
}

TEST(ControlPlane, AppliesCrdThenCreatesAndWatchesAnObject) {
  auto& plane = SharedControlPlane();
  ApplyWidgetCrd(plane);
  // The watch runs in its own kubectl while this thread creates the object it should see.
  auto watch = std::async(std::launch::async, [&] {
    return plane.Kubectl({"get", "widgets", "--watch", "--output-watch-events", "-o",
                          "custom-columns=EVENT:.type,NAME:.object.metadata.name",
                          "--request-timeout=10s"});
  });
  std::this_thread::sleep_for(std::chrono::seconds(2));
  auto created = plane.Kubectl(
      {"apply", "-f", "-"},
      "apiVersion: harness.zhisuan.io/v1\nkind: Widget\nmetadata: {name: w1, namespace: default}\n"
      "spec: {size: 3}\n");
  ASSERT_EQ(created.exit_code, 0) << created.output;
  auto watched = watch.get();
  EXPECT_THAT(watched.output, ::testing::ContainsRegex("ADDED +w1"));

  auto rejected = plane.Kubectl(
      {"apply", "-f", "-"},
      "apiVersion: harness.zhisuan.io/v1\nkind: Widget\nmetadata: {name: w2, namespace: default}\n"
      "spec: {size: 0}\n");
  EXPECT_NE(rejected.exit_code, 0);
  EXPECT_THAT(rejected.output, HasSubstr("spec.size"));
}

TEST(ControlPlane, RbacDeniesANonAdminUser) {
  auto& plane = SharedControlPlane();
  auto kubeconfig = plane.MintUserKubeconfig("tenant-alice", {"zhisuan:tenants"});
  ASSERT_TRUE(kubeconfig.ok()) << kubeconfig.status();
  // Authenticated (the server knows who she is) but authorised for nothing.
  auto whoami = plane.Kubectl({"auth", "whoami", "-o", "jsonpath={.status.userInfo.username}"}, "",
                              *kubeconfig);
  EXPECT_EQ(whoami.exit_code, 0) << whoami.output;
  EXPECT_EQ(whoami.output, "tenant-alice");
  auto nodes = plane.Kubectl({"get", "nodes"}, "", *kubeconfig);
  EXPECT_NE(nodes.exit_code, 0);
  EXPECT_THAT(nodes.output, HasSubstr("forbidden"));
  EXPECT_THAT(nodes.output, HasSubstr("User \"tenant-alice\" cannot list resource \"nodes\""));

  // Granting a role makes exactly that allowed.
  ASSERT_EQ(
      plane.Kubectl({"create", "clusterrole", "node-reader", "--verb=get,list", "--resource=nodes"})
          .exit_code,
      0);
  ASSERT_EQ(plane
                .Kubectl({"create", "clusterrolebinding", "alice-nodes",
                          "--clusterrole=node-reader", "--user=tenant-alice"})
                .exit_code,
            0);
  EXPECT_EQ(plane.Kubectl({"get", "nodes"}, "", *kubeconfig).exit_code, 0);
  EXPECT_NE(plane.Kubectl({"delete", "node", "any"}, "", *kubeconfig).exit_code, 0);
}

TEST(ControlPlane, SurvivesApiServerRestartAndEtcdCompaction) {
  auto& plane = SharedControlPlane();
  auto created = plane.Kubectl({"create", "configmap", "survivor", "--from-literal=k=old", "-o",
                                "jsonpath={.metadata.resourceVersion}"});
  ASSERT_EQ(created.exit_code, 0) << created.output;
  const std::string old_version = created.output;
  ASSERT_EQ(
      plane.Kubectl({"patch", "configmap", "survivor", "-p", R"({"data":{"k":"v"}})"}).exit_code,
      0);
  auto revision = plane.CompactEtcd();
  ASSERT_TRUE(revision.ok()) << revision.status();
  EXPECT_GT(*revision, std::stoll(old_version));
  const pid_t before = plane.apiserver_pid();
  ASSERT_TRUE(plane.RestartApiServer().ok());
  EXPECT_NE(plane.apiserver_pid(), before);
  // A watch from a compacted resourceVersion is gone: a 410 Expired event, as clients must handle.
  auto stale = plane.Kubectl(
      {"get", "--request-timeout=5s", "--raw",
       "/api/v1/namespaces/default/configmaps?watch=1&resourceVersion=" + old_version});
  EXPECT_THAT(stale.output, HasSubstr(R"("code":410)"));
  EXPECT_THAT(stale.output, HasSubstr("Expired"));

  auto kept = plane.Kubectl({"get", "configmap", "survivor", "-o", "jsonpath={.data.k}"});
  EXPECT_EQ(kept.exit_code, 0) << kept.output;
  EXPECT_EQ(kept.output, "v");

  ASSERT_TRUE(plane.RestartEtcd().ok());
  EXPECT_EQ(plane.Kubectl({"get", "configmap", "survivor"}).exit_code, 0);
}

}  // namespace
}  // namespace zhisuan::harness
