#include "kube/store.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace zhisuan::kube {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::UnorderedElementsAre;

ObjectPtr Pod(const std::string& ns, const std::string& name, const std::string& node,
              const std::string& version = "1") {
  return std::make_shared<const Json>(
      Json{{"metadata", {{"namespace", ns}, {"name", name}, {"resourceVersion", version}}},
           {"spec", {{"nodeName", node}}}});
}

std::vector<std::string> ByNode(const Json& pod) {
  const std::string node = pod.value("/spec/nodeName"_json_pointer, std::string());
  if (node.empty()) return {};
  return {node};
}

std::vector<std::string> Names(const StatusOr<std::vector<ObjectPtr>>& objects) {
  std::vector<std::string> names;
  if (!objects.ok()) return {"<" + objects.status().ToString() + ">"};
  for (const auto& object : *objects) names.push_back((*object)["metadata"]["name"]);
  return names;
}

TEST(Store, KeysNamespacedAndClusterScopedObjects) {
  EXPECT_EQ(ObjectKey(*Pod("team-a", "p1", "n1")), "team-a/p1");
  EXPECT_EQ(ObjectKey(Json{{"metadata", {{"name", "node-1"}}}}), "node-1");
}

TEST(Store, UpsertReturnsWhatItReplacedAndGetSharesTheObject) {
  Store store;
  auto first = Pod("ns", "p", "n1", "1");
  EXPECT_EQ(store.Upsert(first), nullptr);
  auto second = Pod("ns", "p", "n1", "2");
  EXPECT_EQ(store.Upsert(second), first);
  EXPECT_EQ(store.Get("ns/p"), second) << "readers share the stored object, no copy";
  EXPECT_EQ(store.Get("ns/missing"), nullptr);
  EXPECT_EQ(store.Size(), 1u);
  EXPECT_EQ(store.Remove("ns/p"), second);
  EXPECT_EQ(store.Remove("ns/p"), nullptr);
  EXPECT_EQ(store.Size(), 0u);
}

TEST(Store, IndexFollowsUpdatesAndDeletes) {
  Store store;
  ASSERT_TRUE(store.AddIndex("node", ByNode).ok());
  store.Upsert(Pod("ns", "a", "n1"));
  store.Upsert(Pod("ns", "b", "n1"));
  store.Upsert(Pod("ns", "c", "n2"));
  EXPECT_THAT(Names(store.ByIndex("node", "n1")), UnorderedElementsAre("a", "b"));

  store.Upsert(Pod("ns", "b", "n2", "2"));  // moved
  EXPECT_THAT(Names(store.ByIndex("node", "n1")), ElementsAre("a"));
  EXPECT_THAT(Names(store.ByIndex("node", "n2")), UnorderedElementsAre("b", "c"));

  store.Upsert(Pod("ns", "a", "", "2"));  // unscheduled: in no bucket
  EXPECT_THAT(Names(store.ByIndex("node", "n1")), IsEmpty());

  store.Remove("ns/c");
  EXPECT_THAT(Names(store.ByIndex("node", "n2")), ElementsAre("b"));
}

TEST(Store, IndexAddedLaterCoversExistingObjects) {
  Store store;
  store.Upsert(Pod("x", "a", "n1"));
  store.Upsert(Pod("y", "b", "n1"));
  ASSERT_TRUE(store.AddIndex("namespace", NamespaceIndexFunc).ok());
  EXPECT_THAT(Names(store.ByIndex("namespace", "y")), ElementsAre("b"));
  EXPECT_FALSE(store.AddIndex("namespace", NamespaceIndexFunc).ok());
  EXPECT_FALSE(store.ByIndex("nope", "y").ok());
}

TEST(Store, ListAndKeysAreSnapshots) {
  Store store;
  store.Upsert(Pod("ns", "a", "n1"));
  store.Upsert(Pod("ns", "b", "n1"));
  auto listed = store.List();
  store.Remove("ns/a");
  EXPECT_EQ(listed.size(), 2u);
  EXPECT_EQ((*listed[0])["metadata"]["name"], "a") << "a snapshot keeps removed objects alive";
  EXPECT_THAT(store.ListKeys(), ElementsAre("ns/b"));
}

}  // namespace
}  // namespace zhisuan::kube
