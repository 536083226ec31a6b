#include "kube/resource_path.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace zhisuan::kube {
namespace {

// Custom resources as a caller would describe them; the client itself knows no CRD group.
const ResourceType kComputeNodes{"zhisuan.io", "v1alpha1", "computenodes", "ComputeNode", false};
const ResourceType kComputePools{"zhisuan.io", "v1alpha1", "computepools", "ComputePool", true};

TEST(ResourcePath, CoreAndNamedGroupsNamespacedAndClusterScoped) {
  EXPECT_EQ(*ResourcePath(kConfigMaps, "default", "cm"),
            "/api/v1/namespaces/default/configmaps/cm");
  EXPECT_EQ(*ResourcePath(kConfigMaps, "", ""), "/api/v1/configmaps");
  EXPECT_EQ(*ResourcePath(kConfigMaps, "kube-system", ""),
            "/api/v1/namespaces/kube-system/configmaps");
  EXPECT_EQ(*ResourcePath(kNodes, "", "gpu-0"), "/api/v1/nodes/gpu-0");
  EXPECT_EQ(*ResourcePath(kNodes, "", "gpu-0", "status"), "/api/v1/nodes/gpu-0/status");
  EXPECT_EQ(*ResourcePath(kLeases, "zhisuan-system", "leader"),
            "/apis/coordination.k8s.io/v1/namespaces/zhisuan-system/leases/leader");
  EXPECT_EQ(*ResourcePath(kComputeNodes, "", "n1", "status"),
            "/apis/zhisuan.io/v1alpha1/computenodes/n1/status");
  EXPECT_EQ(*ResourcePath(kComputePools, "team-a", "pool"),
            "/apis/zhisuan.io/v1alpha1/namespaces/team-a/computepools/pool");
}

TEST(ResourcePath, RejectsAddressesThatCannotBeRight) {
  EXPECT_FALSE(ResourcePath(kNodes, "default", "n").ok());        // cluster-scoped with a namespace
  EXPECT_FALSE(ResourcePath(kConfigMaps, "", "cm").ok());         // namespaced object, no namespace
  EXPECT_FALSE(ResourcePath(kConfigMaps, "default", "..").ok());  // would be normalised away
  EXPECT_FALSE(ResourcePath(kConfigMaps, "default", "", "status").ok());
  EXPECT_FALSE(ResourcePath(ResourceType{}, "", "").ok());
}

TEST(ResourcePath, EncodesSegmentsSoANameCannotEscapeItsCollection) {
  EXPECT_EQ(*ResourcePath(kConfigMaps, "default", "a/../../secrets"),
            "/api/v1/namespaces/default/configmaps/a%2F..%2F..%2Fsecrets");
}

TEST(PercentEncode, KeepsUnreservedAndEncodesTheRest) {
  EXPECT_EQ(PercentEncode("az-AZ_09.~"), "az-AZ_09.~");
  EXPECT_EQ(PercentEncode("app=gpu,tier!=web"), "app%3Dgpu%2Ctier%21%3Dweb");
  EXPECT_EQ(PercentEncode("a b+c&d?e#f%"), "a%20b%2Bc%26d%3Fe%23f%25");
  EXPECT_EQ(PercentEncode("\xE4\xB8\xAD"), "%E4%B8%AD");
}

TEST(ListQuery, ListParametersEncoded) {
  ListOptions options;
  EXPECT_EQ(ListQuery(options, false), "");
  options.label_selector = "app=gpu,tier!=web,!legacy";
  options.field_selector = "metadata.name=n1";
  options.limit = 500;
  options.continue_token = "eyJ2Ijoi+/=";
  options.resource_version = "123";
  options.resource_version_match = "NotOlderThan";
  EXPECT_EQ(ListQuery(options, false),
            "?labelSelector=app%3Dgpu%2Ctier%21%3Dweb%2C%21legacy"
            "&fieldSelector=metadata.name%3Dn1&resourceVersion=123"
            "&resourceVersionMatch=NotOlderThan&limit=500&continue=eyJ2Ijoi%2B%2F%3D");
}

TEST(ListQuery, WatchParametersLeaveOutPaging) {
  ListOptions options;
  options.resource_version = "42";
  options.limit = 500;
  options.continue_token = "x";
  options.timeout_seconds = 300;
  EXPECT_EQ(ListQuery(options, true),
            "?watch=1&resourceVersion=42&allowWatchBookmarks=true&timeoutSeconds=300");
  options.allow_watch_bookmarks = false;
  options.timeout_seconds = 0;
  EXPECT_EQ(ListQuery(options, true), "?watch=1&resourceVersion=42");
}

TEST(PatchContentType, OnePerPatchType) {
  EXPECT_EQ(PatchContentType(PatchType::kMerge), "application/merge-patch+json");
  EXPECT_EQ(PatchContentType(PatchType::kJson), "application/json-patch+json");
  EXPECT_EQ(PatchContentType(PatchType::kStrategicMerge), "application/strategic-merge-patch+json");
  EXPECT_EQ(PatchContentType(PatchType::kApply), "application/apply-patch+yaml");
}

}  // namespace
}  // namespace zhisuan::kube
