// The fake stands in for the API server in many suites, so its own semantics are pinned here.
#include "tests/unit/kube/fake_api_client.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/strings.h"

namespace zhisuan::kube {
namespace {

using namespace std::chrono_literals;
using Verb = FakeApiClient::Verb;

Json Named(const std::string& name) { return Json{{"metadata", {{"name", name}}}}; }

WatchEvent NextEvent(WatchStream& stream) {
  auto next = stream.Next();
  EXPECT_TRUE(next.ok()) << next.status();
  if (!next.ok() || !next->has_value()) return {};
  return **next;
}

TEST(FakeApiClient, CreateAssignsMetadataAndRejectsDuplicates) {
  FakeApiClient fake;
  auto created = fake.Create(kConfigMaps, "ns", Named("a"));
  ASSERT_TRUE(created.ok()) << created.status();
  EXPECT_EQ((*created)["metadata"]["namespace"], "ns");
  EXPECT_FALSE((*created)["metadata"]["uid"].get<std::string>().empty());
  EXPECT_EQ((*created)["metadata"]["resourceVersion"], StrCat(fake.CurrentResourceVersion()));
  EXPECT_EQ((*created)["kind"], "ConfigMap");
  EXPECT_TRUE(IsAlreadyExists(fake.Create(kConfigMaps, "ns", Named("a")).status()));
  EXPECT_TRUE(IsNotFound(fake.Get(kConfigMaps, "ns", "b").status()));
  auto node = fake.Create(kNodes, "", Named("n1"));
  ASSERT_TRUE(node.ok());
  EXPECT_FALSE((*node)["metadata"].contains("namespace"));
}

TEST(FakeApiClient, UpdateWithStaleResourceVersionConflicts) {
  FakeApiClient fake;
  auto created = fake.Create(kConfigMaps, "ns", Named("a"));
  ASSERT_TRUE(created.ok());
  Json first = *created;
  first["data"] = {{"k", "1"}};
  auto updated = fake.Update(kConfigMaps, first);
  ASSERT_TRUE(updated.ok()) << updated.status();
  Json stale = *created;
  stale["data"] = {{"k", "2"}};
  EXPECT_TRUE(IsConflict(fake.Update(kConfigMaps, stale).status()));
  EXPECT_EQ(fake.Peek(kConfigMaps, "ns", "a")->at("data").at("k"), "1");
}

TEST(FakeApiClient, StatusSubresourceIsSeparateFromSpec) {
  FakeApiClient fake;
  Json node = Named("n1");
  node["spec"] = {{"unschedulable", false}};
  node["status"] = {{"phase", "ignored"}};
  auto created = fake.Create(kNodes, "", node);
  ASSERT_TRUE(created.ok());
  Json with_status = *created;
  with_status["status"] = {{"phase", "Ready"}};
  auto status_updated = fake.UpdateStatus(kNodes, with_status);
  ASSERT_TRUE(status_updated.ok()) << status_updated.status();
  EXPECT_EQ((*status_updated)["metadata"]["generation"], 1) << "status does not bump generation";
  Json spec_change = *status_updated;
  spec_change["spec"]["unschedulable"] = true;
  spec_change["status"] = {{"phase", "Overwritten?"}};
  auto spec_updated = fake.Update(kNodes, spec_change);
  ASSERT_TRUE(spec_updated.ok());
  EXPECT_EQ((*spec_updated)["status"]["phase"], "Ready");
  EXPECT_EQ((*spec_updated)["metadata"]["generation"], 2);
}

TEST(FakeApiClient, PatchesMergeJsonPatchAndApply) {
  FakeApiClient fake;
  ASSERT_TRUE(fake.Create(kConfigMaps, "ns", Named("a")).ok());
  auto merged = fake.Patch(kConfigMaps, "ns", "a", PatchType::kMerge, {{"data", {{"x", "1"}}}});
  ASSERT_TRUE(merged.ok());
  auto json_patched =
      fake.Patch(kConfigMaps, "ns", "a", PatchType::kJson,
                 Json::array({{{"op", "replace"}, {"path", "/data/x"}, {"value", "2"}}}));
  ASSERT_TRUE(json_patched.ok()) << json_patched.status();
  EXPECT_EQ((*json_patched)["data"]["x"], "2");
  EXPECT_TRUE(IsInvalid(fake.Patch(kConfigMaps, "ns", "a", PatchType::kJson,
                                   Json::array({{{"op", "remove"}, {"path", "/nope/x"}}}))
                            .status()));
  EXPECT_FALSE(fake.Patch(kConfigMaps, "ns", "b", PatchType::kApply, Named("b")).ok())
      << "apply needs a field manager";
  PatchOptions apply;
  apply.field_manager = "test";
  EXPECT_TRUE(fake.Patch(kConfigMaps, "ns", "b", PatchType::kApply, Named("b"), apply).ok());
  EXPECT_TRUE(fake.Peek(kConfigMaps, "ns", "b").has_value());
}

TEST(FakeApiClient, DeleteWaitsForFinalizers) {
  FakeApiClient fake;
  Json object = Named("a");
  object["metadata"]["finalizers"] = {"zhisuan.io/cleanup"};
  ASSERT_TRUE(fake.Create(kConfigMaps, "ns", object).ok());
  ASSERT_TRUE(fake.Delete(kConfigMaps, "ns", "a").ok());
  auto pending = fake.Peek(kConfigMaps, "ns", "a");
  ASSERT_TRUE(pending.has_value());
  EXPECT_TRUE(pending->at("metadata").contains("deletionTimestamp"));
  Json released = *pending;
  released["metadata"]["finalizers"] = Json::array();
  ASSERT_TRUE(fake.Update(kConfigMaps, released).ok());
  EXPECT_FALSE(fake.Peek(kConfigMaps, "ns", "a").has_value());
}

TEST(FakeApiClient, ListPagesWithContinueTokensAndSelectors) {
  FakeApiClient fake;
  for (int i = 0; i < 5; ++i) {
    Json object = Named(StrCat("cm", i));
    object["metadata"]["labels"] = {{"parity", i % 2 ? "odd" : "even"}};
    ASSERT_TRUE(fake.Create(kConfigMaps, "ns", object).ok());
  }
  ListOptions options;
  options.limit = 2;
  auto all = ListAll(fake, kConfigMaps, "ns", options);
  ASSERT_TRUE(all.ok()) << all.status();
  EXPECT_EQ(all->items.size(), 5u);
  EXPECT_EQ(fake.CallCount(Verb::kList), 3);
  options.label_selector = "parity=even";
  auto even = ListAll(fake, kConfigMaps, "ns", options);
  ASSERT_TRUE(even.ok());
  EXPECT_EQ(even->items.size(), 3u);
  // Like kube-apiserver, a list at resourceVersion "0" ignores the limit.
  ListOptions from_cache;
  from_cache.limit = 2;
  from_cache.resource_version = "0";
  auto whole = fake.List(kConfigMaps, "ns", from_cache);
  ASSERT_TRUE(whole.ok());
  EXPECT_EQ(whole->items.size(), 5u);
  EXPECT_TRUE(whole->continue_token.empty());
  EXPECT_TRUE(MatchesLabelSelector(Json{{"a", "1"}}, "a,!b,a!=2"));
  EXPECT_FALSE(MatchesLabelSelector(Json{{"a", "1"}}, "b"));
}

TEST(FakeApiClient, WatchReplaysFromAVersionAndExpiresAfterCompaction) {
  FakeApiClient fake;
  ASSERT_TRUE(fake.Create(kConfigMaps, "ns", Named("a")).ok());
  const std::string after_a = StrCat(fake.CurrentResourceVersion());
  ASSERT_TRUE(fake.Create(kConfigMaps, "ns", Named("b")).ok());
  ListOptions options;
  options.resource_version = after_a;
  auto stream = fake.Watch(kConfigMaps, "ns", options);
  ASSERT_TRUE(stream.ok());
  WatchEvent replayed = NextEvent(**stream);
  EXPECT_EQ(replayed.type, WatchEvent::Type::kAdded);
  EXPECT_EQ(replayed.object["metadata"]["name"], "b");
  ASSERT_TRUE(fake.Delete(kConfigMaps, "ns", "a").ok());
  EXPECT_EQ(NextEvent(**stream).type, WatchEvent::Type::kDeleted);

  fake.Compact();
  auto expired = fake.Watch(kConfigMaps, "ns", options);
  ASSERT_TRUE(expired.ok());
  WatchEvent gone = NextEvent(**expired);
  EXPECT_EQ(gone.type, WatchEvent::Type::kError);
  EXPECT_EQ(gone.object["code"], 410);
  auto end = (*expired)->Next();
  ASSERT_TRUE(end.ok());
  EXPECT_FALSE(end->has_value());
}

TEST(FakeApiClient, InjectedFaultsReachCallsAndStreams) {
  FakeApiClient fake;
  fake.InjectError(Verb::kList, UnavailableError("500"), 1, "configmaps");
  EXPECT_TRUE(fake.List(kNodes, "", {}).ok()) << "scoped to configmaps";
  EXPECT_TRUE(IsRetryable(fake.List(kConfigMaps, "ns", {}).status()));
  EXPECT_TRUE(fake.List(kConfigMaps, "ns", {}).ok()) << "only the next call";

  auto stream = fake.Watch(kConfigMaps, "ns", {});
  ASSERT_TRUE(stream.ok());
  EXPECT_EQ(fake.OpenWatchCount(kConfigMaps), 1u);
  fake.BreakWatches(kConfigMaps);
  EXPECT_FALSE((*stream)->Next().ok());
  EXPECT_EQ(fake.OpenWatchCount(kConfigMaps), 0u);

  auto cancelled = fake.Watch(kConfigMaps, "ns", {});
  ASSERT_TRUE(cancelled.ok());
  (*cancelled)->Cancel();
  EXPECT_EQ((*cancelled)->Next().status().code(), StatusCode::kCancelled);

  fake.SetReactor([](const FakeApiClient::Request& request) {
    return request.name == "forbidden" ? PermissionDeniedError("no") : OkStatus();
  });
  EXPECT_TRUE(IsForbidden(fake.Create(kConfigMaps, "ns", Named("forbidden")).status()));
  EXPECT_TRUE(fake.Create(kConfigMaps, "ns", Named("fine")).ok());
}

}  // namespace
}  // namespace zhisuan::kube
