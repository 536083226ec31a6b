#include "controller/observation_cache.h"

#include <gtest/gtest.h>

#include "tests/unit/controller/reconcile/test_snapshots.h"

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
  const ClusterSnapshot decoded = SnapshotFromObjects({Pool("a", "1"), Pool("b", "2"), bad_pool},
                                                      {Node("n1", "3"), Node("n2", "4")},
                                                      {good_compute_node, bad_compute_node});
  // The pool with an invalid spec is kept, in both (issue 17).
  ASSERT_EQ(cached.pools.size(), 3u);
  ASSERT_EQ(decoded.pools.size(), 3u);
  EXPECT_NE(cached.pools[2].invalid_spec, "");  // "t/bad", after "t/b" in key order
  EXPECT_EQ(cached.pools[2].invalid_spec, decoded.pools[2].invalid_spec);
  for (size_t i = 0; i < 3; ++i) {
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

  // A pool edited into a spec that no longer decodes is not planned from stale data: it is kept
  // with an empty spec and why (issue 17: dropping it left no status and a stuck finalizer).
  cache.UpsertPool(Json::parse(R"({"metadata": {"namespace": "t", "name": "a"},
                                   "spec": {"capacity": {}}})"));
  EXPECT_EQ(cache.PoolVersion("t/a"), "");
  ASSERT_NE(cache.FindPool("t/a"), nullptr);
  EXPECT_NE(cache.FindPool("t/a")->invalid_spec, "");
  EXPECT_EQ(cache.FindPool("t/a")->pool.spec, api::ComputePoolSpec{});
  // Only a pool whose metadata does not decode is dropped.
  cache.UpsertPool(Json::parse(R"({"metadata": {"namespace": "t", "name": "a", "generation": "x"},
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

TEST(ObservationCache, UpsertsSayWhetherWhatThePlannerReadsChanged) {
  ObservationCache cache;
  EXPECT_TRUE(cache.UpsertNode(Node("n1", "1")));   // new
  EXPECT_FALSE(cache.UpsertNode(Node("n1", "2")));  // a heartbeat: only the version moved
  EXPECT_EQ(cache.NodeVersion("n1"), "2");          // ...which is still recorded
  EXPECT_TRUE(cache.UpsertNode(Node("n1", "3", "t.a")));
  Json not_ready = Node("n1", "4", "t.a");
  not_ready["status"]["conditions"][0]["status"] = "False";
  EXPECT_TRUE(cache.UpsertNode(not_ready));
  Json cordoned = not_ready;
  cordoned["spec"]["unschedulable"] = true;
  EXPECT_TRUE(cache.UpsertNode(cordoned));
  cordoned["metadata"]["resourceVersion"] = "6";
  cordoned["status"]["images"] = Json::array({"registry/image:1"});  // unread by the planner
  EXPECT_FALSE(cache.UpsertNode(cordoned));

  const Json healthy = Json::parse(R"({"metadata": {"name": "n1", "resourceVersion": "1"},
      "status": {"accelerators": [{"index": 0, "uuid": "GPU-0", "vendor": "nvidia",
                                   "product": "H100-SXM5", "health": "Healthy"}]}})");
  EXPECT_TRUE(cache.UpsertComputeNode(healthy));
  ASSERT_EQ(cache.Snapshot().compute_nodes.size(), 1u);  // decoded, not ignored
  Json rewritten = healthy;
  rewritten["metadata"]["resourceVersion"] = "2";
  EXPECT_FALSE(cache.UpsertComputeNode(rewritten));
  Json failed = rewritten;
  failed["status"]["accelerators"][0]["health"] = "Unhealthy";
  EXPECT_TRUE(cache.UpsertComputeNode(failed));
  Json hostile = failed;
  hostile["status"]["accelerators"] = "many";
  EXPECT_TRUE(cache.UpsertComputeNode(hostile));   // decoded -> ignored
  EXPECT_FALSE(cache.UpsertComputeNode(hostile));  // ignored for the same reason
  EXPECT_TRUE(cache.UpsertComputeNode(failed));    // ignored -> decoded
}

TEST(ObservationCache, ASnapshotKeepsWhatItSawAndCopiesNothing) {
  ObservationCache cache;
  cache.UpsertNode(Node("n1", "1"));
  cache.UpsertPool(Pool("a", "1"));
  const uint64_t generation = cache.Generation();
  const ClusterSnapshot before = cache.Snapshot();
  const ClusterSnapshot again = cache.Snapshot();
  // Two snapshots of an unchanged cache share the objects, not copies of them.
  EXPECT_EQ(&before.nodes[0], &again.nodes[0]);
  EXPECT_EQ(&before.pools[0], &again.pools[0]);

  cache.UpsertNode(Node("n1", "2", "t.a"));
  cache.RemovePool("t/a");
  EXPECT_GT(cache.Generation(), generation);
  EXPECT_EQ(before.nodes[0].resource_version, "1");
  EXPECT_EQ(before.nodes[0].PoolBinding(), "");
  EXPECT_EQ(before.pools.size(), 1u);
  const ClusterSnapshot after = cache.Snapshot();
  EXPECT_EQ(after.nodes[0].PoolBinding(), "t.a");
  EXPECT_TRUE(after.pools.empty());
}

TEST(MetadataOnly, KeepsWhatTheStoresAreReadForAndDropsTheRest) {
  const Json node = Json::parse(R"({"apiVersion": "v1", "kind": "Node",
      "metadata": {"name": "n1", "uid": "u1", "resourceVersion": "7",
                   "labels": {"zhisuan.io/pool": "t.a"}, "annotations": {"big": "x"},
                   "deletionTimestamp": "2026-11-23T00:00:00Z", "managedFields": [{}]},
      "spec": {"taints": []}, "status": {"images": [{"names": ["a"]}]}})");
  EXPECT_EQ(MetadataOnly(node), Json::parse(R"({"apiVersion": "v1", "kind": "Node",
      "metadata": {"name": "n1", "uid": "u1", "resourceVersion": "7",
                   "labels": {"zhisuan.io/pool": "t.a"},
                   "deletionTimestamp": "2026-11-23T00:00:00Z"}})"));
  // Whatever arrives, it never throws: no metadata, or not an object at all.
  EXPECT_EQ(MetadataOnly(Json::parse(R"({"kind": "ComputeNode", "metadata": 3})")),
            Json::parse(R"({"kind": "ComputeNode"})"));
  EXPECT_EQ(MetadataOnly(Json::array()), Json::object());
}

// Issue 17: agent pods (when a selector says which) are observed with their readiness.
TEST(ObservationCache, ObservesTheReadinessOfSelectedAgentPods) {
  AgentPodSelector selector;
  selector.pod_namespace = "zhisuan-system";
  selector.selector.match_labels = {{"app", "agent"}};
  ObservationCache cache(selector);
  auto pod = [](const std::string& ns, const std::string& app, const std::string& ready) {
    return Json{
        {"metadata",
         {{"namespace", ns},
          {"name", "agent-n1"},
          {"labels", {{"app", app}}},
          {"creationTimestamp", "2026-11-18T00:00:00Z"}}},
        {"spec", {{"nodeName", "n1"}}},
        {"status",
         {{"conditions", Json::array({{{"type", "Ready"},
                                       {"status", ready},
                                       {"lastTransitionTime", "2026-11-18T11:06:40Z"}}})}}}};
  };
  EXPECT_EQ(cache.UpsertAgent(pod("tenant", "agent", "True")), "");        // another namespace
  EXPECT_EQ(cache.UpsertAgent(pod("zhisuan-system", "web", "True")), "");  // not selected
  EXPECT_EQ(cache.UpsertAgent(pod("zhisuan-system", "agent", "True")), "n1");
  EXPECT_EQ(cache.UpsertAgent(pod("zhisuan-system", "agent", "True")), "");  // nothing new
  EXPECT_EQ(cache.UpsertAgent(pod("zhisuan-system", "agent", "False")), "n1");
  ClusterSnapshot snapshot = cache.Snapshot();
  ASSERT_EQ(snapshot.agents.size(), 1u);
  EXPECT_EQ(snapshot.agents[0].pod, "zhisuan-system/agent-n1");
  EXPECT_FALSE(snapshot.agents[0].ready);
  EXPECT_EQ(snapshot.agents[0].since, ParseRfc3339("2026-11-18T11:06:40Z"));
  EXPECT_EQ(cache.RemoveAgent("zhisuan-system/agent-n1"), "n1");
  EXPECT_TRUE(cache.Snapshot().agents.empty());
  // Without a selector nothing is an agent.
  ObservationCache plain;
  EXPECT_EQ(plain.UpsertAgent(pod("zhisuan-system", "agent", "True")), "");
}

// Issue 17: a ComputeNode deleted while its Node remains is kept as last seen, until one is
// published again or the Node goes.
TEST(ObservationCache, KeepsTheLastStateOfADeletedComputeNode) {
  ObservationCache cache;
  cache.UpsertNode(Node("n1", "1"));
  const Json published = {{"metadata", {{"name", "n1"}, {"uid", "c1"}}},
                          {"status", {{"agentVersion", "0.1.0"}}}};
  cache.UpsertComputeNode(published);
  cache.RemoveComputeNode("n1");
  ClusterSnapshot snapshot = cache.Snapshot();
  EXPECT_TRUE(snapshot.compute_nodes.empty());
  ASSERT_EQ(snapshot.deleted_compute_nodes.size(), 1u);
  EXPECT_EQ(snapshot.deleted_compute_nodes[0].uid, "c1");
  // Recreated, status not yet published: the last state still stands in.
  cache.UpsertComputeNode({{"metadata", {{"name", "n1"}, {"uid", "c2"}}}});
  EXPECT_EQ(cache.Snapshot().deleted_compute_nodes.size(), 1u);
  cache.UpsertComputeNode(
      {{"metadata", {{"name", "n1"}, {"uid", "c2"}}}, {"status", {{"agentVersion", "0.1.0"}}}});
  EXPECT_TRUE(cache.Snapshot().deleted_compute_nodes.empty());
  // A Node that goes takes the last state with it.
  cache.RemoveComputeNode("n1");
  cache.RemoveNode("n1");
  EXPECT_TRUE(cache.Snapshot().deleted_compute_nodes.empty());
}

}  // namespace
}  // namespace zhisuan::controller
