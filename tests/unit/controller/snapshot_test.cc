#include "controller/reconcile/snapshot.h"

#include <gtest/gtest.h>

#include "tests/unit/controller/reconcile/test_snapshots.h"

namespace zhisuan::controller {
namespace {

TEST(NodeInfoFromJson, ReadsReadinessCordonTaintsAndBinding) {
  auto node = NodeInfoFromJson(Json::parse(R"({
    "metadata": {"name": "gpu-1", "uid": "u1", "resourceVersion": "42",
                 "labels": {"topology.kubernetes.io/zone": "kunming-a", "zhisuan.io/rack": "r7",
                            "zhisuan.io/pool": "team-a.train"}},
    "spec": {"unschedulable": true,
             "taints": [{"key": "zhisuan.io/pool", "value": "team-a.train", "effect": "NoSchedule"}]},
    "status": {"conditions": [{"type": "MemoryPressure", "status": "False"},
                              {"type": "Ready", "status": "True"}]}})"));
  ASSERT_TRUE(node.ok()) << node.status();
  EXPECT_EQ(node->name, "gpu-1");
  EXPECT_EQ(node->resource_version, "42");
  EXPECT_TRUE(node->ready);
  EXPECT_TRUE(node->unschedulable);
  EXPECT_FALSE(node->deleting);
  EXPECT_EQ(node->Zone(), "kunming-a");
  EXPECT_EQ(node->Rack(), "r7");
  EXPECT_EQ(node->PoolBinding(), "team-a.train");
  ASSERT_EQ(node->taints.size(), 1u);
  EXPECT_EQ(node->taints[0], (Taint{"zhisuan.io/pool", "team-a.train", "NoSchedule"}));
}

TEST(NodeInfoFromJson, NodeWithoutReadyConditionIsNotReady) {
  auto node = NodeInfoFromJson(Json::parse(R"({"metadata": {"name": "n",
      "labels": {"topology.kubernetes.io/rack": "fallback"},
      "deletionTimestamp": "2026-11-23T03:00:00Z"}})"));
  ASSERT_TRUE(node.ok()) << node.status();
  EXPECT_FALSE(node->ready);
  EXPECT_TRUE(node->deleting);
  EXPECT_EQ(node->Rack(), "fallback");
  EXPECT_EQ(node->PoolBinding(), "");
}

TEST(NodeInfoFromJson, RejectsObjectsWithoutName) {
  EXPECT_FALSE(NodeInfoFromJson(Json::parse(R"({"metadata": {}})")).ok());
  EXPECT_FALSE(NodeInfoFromJson(Json::parse(R"({"spec": {}})")).ok());
  EXPECT_FALSE(
      NodeInfoFromJson(Json::parse(R"({"metadata": {"name": "n", "labels": {"a": 1}}})")).ok());
}

TEST(NodeInfoFromJson, RejectsMistypedFieldsAndAcceptsNullLists) {
  for (const char* bad : {R"({"metadata": {"name": "n"}, "spec": "cordoned"})",
                          R"({"metadata": {"name": "n"}, "spec": {"taints": {"key": "k"}}})",
                          R"({"metadata": {"name": "n"}, "status": {"conditions": "Ready"}})",
                          R"({"metadata": {"name": "n"}, "status": []})"}) {
    auto node = NodeInfoFromJson(Json::parse(bad));
    ASSERT_FALSE(node.ok()) << bad;
    EXPECT_NE(node.status().message().find("Node is malformed"), std::string::npos)
        << node.status();
  }
  auto node = NodeInfoFromJson(Json::parse(R"({"metadata": {"name": "n"},
      "spec": {"taints": null}, "status": {"conditions": null}})"));
  ASSERT_TRUE(node.ok()) << node.status();
  EXPECT_TRUE(node->taints.empty());
  EXPECT_FALSE(node->ready);
}

TEST(MemberClocks, RoundTripAndSkipGarbage) {
  std::map<std::string, WallTime> since = {{"n1", WallTime(std::chrono::seconds(1795000000))},
                                           {"n2", WallTime(std::chrono::seconds(1795000600))}};
  const std::vector<api::MemberSince> members = MemberClocks(since);
  EXPECT_EQ(members, (std::vector<api::MemberSince>{{"n1", "2026-11-18T11:06:40Z"},
                                                    {"n2", "2026-11-18T11:16:40Z"}}));
  EXPECT_EQ(ClocksFromMembers(members), since);
  // A clock that does not parse restarts; the others stand.
  EXPECT_EQ(
      ClocksFromMembers(
          {{"n1", "yesterday"}, {"", "2026-11-18T11:06:40Z"}, {"n2", "2026-11-18T11:16:40Z"}}),
      (std::map<std::string, WallTime>{{"n2", since.at("n2")}}));
}

// Issue 17: the clocks of older controllers sat in pool annotations, which tenants may edit. They
// are never read (a tenant could otherwise keep a dead member forever), only marked for removal;
// the clocks come from the status, which only the controller may write.
TEST(PoolObservationFromJson, ReadsClocksFromStatusAndIgnoresTheLegacyAnnotations) {
  auto observation = PoolObservationFromJson(Json::parse(R"({
    "metadata": {"namespace": "t", "name": "p",
                 "annotations": {"zhisuan.io/impaired-since": "{\"n1\":\"2030-01-01T00:00:00Z\"}",
                                 "zhisuan.io/draining-since": "{\"n1\":\"2030-01-01T00:00:00Z\"}"}},
    "spec": {"capacity": {"flops": "20P"}},
    "status": {"impairedMembers": [{"node": "n2", "since": "2026-11-18T11:06:40Z"}],
               "drainingMembers": [{"node": "n3", "since": "2026-11-18T11:16:40Z"}]}})"));
  ASSERT_TRUE(observation.ok()) << observation.status();
  EXPECT_EQ(observation->impaired_since,
            (std::map<std::string, WallTime>{{"n2", WallTime(std::chrono::seconds(1795000000))}}));
  EXPECT_EQ(observation->draining_since,
            (std::map<std::string, WallTime>{{"n3", WallTime(std::chrono::seconds(1795000600))}}));
  EXPECT_TRUE(observation->legacy_clock_annotations);
}

TEST(ParseRfc3339, AcceptsFractionsAndOffsets) {
  EXPECT_EQ(ParseRfc3339("2026-11-18T11:06:40Z"), WallTime(std::chrono::seconds(1795000000)));
  EXPECT_EQ(ParseRfc3339("2026-11-18T11:06:40.123456Z"),
            WallTime(std::chrono::seconds(1795000000)));
  EXPECT_EQ(ParseRfc3339("2026-11-18T19:06:40+08:00"), WallTime(std::chrono::seconds(1795000000)));
  EXPECT_FALSE(ParseRfc3339("2026-11-18 11:06:40").has_value());
  EXPECT_FALSE(ParseRfc3339("2026-11-18T11:06:40").has_value());
}

TEST(SnapshotFromObjects, ListsUndecodableComputeNodesAndKeepsPoolsWithInvalidSpecs) {
  const Json pool = Json::parse(R"({
    "metadata": {"namespace": "t", "name": "p", "uid": "u", "resourceVersion": "7",
                 "generation": 2, "creationTimestamp": "2026-11-18T00:00:00Z",
                 "annotations": {"zhisuan.io/impaired-since": "{\"n1\":\"2026-11-18T09:46:40Z\"}"}},
    "spec": {"capacity": {"flops": "20P"}},
    "status": {"impairedMembers": [{"node": "n1", "since": "2026-11-18T09:46:40Z"}]}})");
  const Json bad_pool = Json::parse(R"({"metadata": {"namespace": "t", "name": "q"},
                                        "spec": {"capacity": {}}})");
  const Json node = Json::parse(R"({"metadata": {"name": "n1"}})");
  const Json good_compute_node = Json::parse(R"({"metadata": {"name": "n1"}, "status": {}})");
  const Json bad_compute_node = Json::parse(R"({"metadata": {"name": "n2", "uid": "u2",
      "resourceVersion": "9"}, "status": {"accelerators": "many"}})");
  ClusterSnapshot snapshot =
      SnapshotFromObjects({pool, bad_pool}, {node}, {good_compute_node, bad_compute_node});
  // The pool whose spec does not decode is kept, saying why (issue 17).
  ASSERT_EQ(snapshot.pools.size(), 2u);
  EXPECT_EQ(snapshot.pools[1].pool.Key(), "t/q");
  EXPECT_NE(snapshot.pools[1].invalid_spec.find("set exactly one of spec.capacity.flops"),
            std::string::npos)
      << snapshot.pools[1].invalid_spec;
  EXPECT_EQ(snapshot.pools[0].invalid_spec, "");
  EXPECT_EQ(snapshot.pools[0].pool.Key(), "t/p");
  EXPECT_EQ(snapshot.pools[0].creation_timestamp, "2026-11-18T00:00:00Z");
  EXPECT_EQ(snapshot.pools[0].impaired_since.size(), 1u);
  EXPECT_EQ(snapshot.nodes.size(), 1u);
  ASSERT_EQ(snapshot.compute_nodes.size(), 1u);
  ASSERT_EQ(snapshot.ignored_compute_nodes.size(), 1u);
  EXPECT_EQ(snapshot.ignored_compute_nodes[0].name, "n2");
  EXPECT_EQ(snapshot.ignored_compute_nodes[0].resource_version, "9");
  EXPECT_NE(snapshot.ignored_compute_nodes[0].reason.find("status.accelerators"), std::string::npos)
      << snapshot.ignored_compute_nodes[0].reason;
}

TEST(IgnoredComputeNodeFrom, KeepsWhateverStringMetadataAMangledObjectHas) {
  const IgnoredComputeNode full = IgnoredComputeNodeFrom(
      Json::parse(R"({"metadata": {"name": "n2", "uid": "u2", "resourceVersion": "9"}})"), "why");
  EXPECT_EQ(full, (IgnoredComputeNode{"n2", "9", "u2", "why"}));
  // A uid of the wrong type and no resourceVersion: the name still names the Warning event.
  EXPECT_EQ(IgnoredComputeNodeFrom(Json::parse(R"({"metadata": {"name": "n3", "uid": 7}})"), "r"),
            (IgnoredComputeNode{"n3", "", "", "r"}));
  EXPECT_EQ(IgnoredComputeNodeFrom(Json::parse(R"({"metadata": "oops"})"), "r"),
            (IgnoredComputeNode{"", "", "", "r"}));
  EXPECT_EQ(IgnoredComputeNodeFrom(Json::array(), "r"), (IgnoredComputeNode{"", "", "", "r"}));
}

}  // namespace
}  // namespace zhisuan::controller
