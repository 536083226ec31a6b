#include "controller/observation_cache.h"

#include <gtest/gtest.h>

namespace zhisuan::controller {
namespace {

Json Pool(const std::string& name, const std::string& version) {
  return {{"metadata",
           {{"namespace", "t"},
            {"name", name},
            {"uid", "u-" + name},
            {"resourceVersion", version},
            {"generation", 1},
            {"creationTimestamp", "2026-11-18T00:00:00Z"}}},
          {"spec", {{"capacity", {{"accelerators", 8}}}}}};
}

Json Node(const std::string& name, const std::string& version, const std::string& binding = "") {
  Json node = {{"metadata", {{"name", name}, {"resourceVersion", version}}},
               {"status", {{"conditions", {{{"type", "Ready"}, {"status", "True"}}}}}}};
  if (!binding.empty()) node["metadata"]["labels"] = {{"zhisuan.io/pool", binding}};
  return node;
}

TEST(ObservationCache, SnapshotMatchesDecodingTheSameObjects) {
  const Json bad_pool = Json::parse(R"({"metadata": {"namespace": "t", "name": "bad"},
                                        "spec": {"capacity": {}}})");
  const Json good_compute_node = Json::parse(R"({"metadata": {"name": "n1"}, "status": {}})");
  const Json bad_compute_node = Json::parse(R"({"metadata": {"name": "n2", "uid": "u2",
      "resourceVersion": "9"}, "status": {"accelerators": "many"}})");
  ObservationCache cache;
  // Inserted out of order: the snapshot lists in key order, as the informer stores do.
  cache.UpsertPool(Pool("b", "2"));
  cache.UpsertPool(bad_pool);
  cache.UpsertPool(Pool("a", "1"));
  cache.UpsertNode(Node("n2", "4"));
  cache.UpsertNode(Node("n1", "3"));
  cache.UpsertComputeNode(bad_compute_node);
  cache.UpsertComputeNode(good_compute_node);

  const ClusterSnapshot cached = cache.Snapshot();
  const ClusterSnapshot decoded = SnapshotFromObjects({Pool("a", "1"), bad_pool, Pool("b", "2")},
                                                      {Node("n1", "3"), Node("n2", "4")},
                                                      {good_compute_node, bad_compute_node});
  ASSERT_EQ(cached.pools.size(), 2u);
  ASSERT_EQ(decoded.pools.size(), 2u);
  for (size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(cached.pools[i].pool.Key(), decoded.pools[i].pool.Key());
    EXPECT_EQ(cached.pools[i].pool.resource_version, decoded.pools[i].pool.resource_version);
    EXPECT_EQ(cached.pools[i].creation_timestamp, decoded.pools[i].creation_timestamp);
  }
  ASSERT_EQ(cached.nodes.size(), 2u);
  EXPECT_EQ(cached.nodes[0].name, "n1");
  EXPECT_EQ(cached.nodes[1].name, "n2");
  ASSERT_EQ(cached.compute_nodes.size(), 1u);
  EXPECT_EQ(cached.compute_nodes[0].name, "n1");
  EXPECT_EQ(cached.ignored_compute_nodes, decoded.ignored_compute_nodes);
}

TEST(ObservationCache, UpdatesReplaceAndRemovalsForget) {
  ObservationCache cache;
  cache.UpsertPool(Pool("a", "1"));
  cache.UpsertNode(Node("n1", "3"));
  EXPECT_EQ(cache.PoolVersion("t/a"), "1");
  EXPECT_EQ(cache.NodeVersion("n1"), "3");
  EXPECT_EQ(cache.PoolVersion("t/missing"), std::nullopt);

  cache.UpsertPool(Pool("a", "5"));
  cache.UpsertNode(Node("n1", "6", "t.a"));
  EXPECT_EQ(cache.PoolVersion("t/a"), "5");
  EXPECT_EQ(cache.NodeVersion("n1"), "6");
  ClusterSnapshot snapshot = cache.Snapshot();
  ASSERT_EQ(snapshot.nodes.size(), 1u);
  EXPECT_EQ(snapshot.nodes[0].PoolBinding(), "t.a");

  // A ComputeNode that stops decoding moves to the ignored list, and back once it is fixed.
  cache.UpsertComputeNode(Json::parse(R"({"metadata": {"name": "n1"}, "status": {}})"));
  cache.UpsertComputeNode(
      Json::parse(R"({"metadata": {"name": "n1"}, "status": {"accelerators": "many"}})"));
  snapshot = cache.Snapshot();
  EXPECT_TRUE(snapshot.compute_nodes.empty());
  ASSERT_EQ(snapshot.ignored_compute_nodes.size(), 1u);
  cache.UpsertComputeNode(Json::parse(R"({"metadata": {"name": "n1"}, "status": {}})"));
  snapshot = cache.Snapshot();
  EXPECT_EQ(snapshot.compute_nodes.size(), 1u);
  EXPECT_TRUE(snapshot.ignored_compute_nodes.empty());

  // A pool edited into something that no longer decodes is dropped, not planned from stale data.
  cache.UpsertPool(Json::parse(R"({"metadata": {"namespace": "t", "name": "a"},
                                   "spec": {"capacity": {}}})"));
  EXPECT_EQ(cache.PoolVersion("t/a"), std::nullopt);

  cache.RemoveNode("n1");
  cache.RemoveComputeNode("n1");
  snapshot = cache.Snapshot();
  EXPECT_TRUE(snapshot.pools.empty());
  EXPECT_TRUE(snapshot.nodes.empty());
  EXPECT_TRUE(snapshot.compute_nodes.empty());
  EXPECT_EQ(cache.NodeVersion("n1"), std::nullopt);
}

}  // namespace
}  // namespace zhisuan::controller
