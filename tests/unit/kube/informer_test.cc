#include "kube/informer.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <map>
#include <mutex>

#include "common/strings.h"
#include "tests/unit/kube/fake_api_client.h"

namespace zhisuan::kube {
namespace {

using namespace std::chrono_literals;
using ::testing::ElementsAre;
using ::testing::IsEmpty;
using Verb = FakeApiClient::Verb;

constexpr auto kWait = 5s;  // real-time bound on waits for the informer thread

Json ConfigMap(const std::string& name, const std::string& value) {
  return Json{{"metadata", {{"name", name}, {"namespace", "ns"}}}, {"data", {{"k", value}}}};
}

// What the handlers saw, as a log and as the view a controller would hold.
class Recorder {
 public:
  ResourceEventHandlers Handlers() {
    return {
        [this](const ObjectPtr& object) { Record("add", *object, object); },
        [this](const ObjectPtr&, const ObjectPtr& object) { Record("update", *object, object); },
        [this](const ObjectPtr& object) { Record("delete", *object, nullptr); },
    };
  }
  std::vector<std::string> TakeLog() {
    std::lock_guard lock(mu_);
    return std::exchange(log_, {});
  }
  // key -> data.k of every object the handlers believe exists.
  std::map<std::string, std::string> View() {
    std::lock_guard lock(mu_);
    return view_;
  }
  bool WaitForLogSize(size_t size) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, kWait, [&] { return log_.size() >= size; });
  }

 private:
  void Record(const char* what, const Json& object, const ObjectPtr& now) {
    std::lock_guard lock(mu_);
    const std::string key = ObjectKey(object);
    log_.push_back(StrCat(what, " ", key));
    if (now) {
      view_[key] = now->value("/data/k"_json_pointer, std::string());
    } else {
      view_.erase(key);
    }
    cv_.notify_all();
  }
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::string> log_;
  std::map<std::string, std::string> view_;
};

std::map<std::string, std::string> ServerView(const FakeApiClient& fake) {
  std::map<std::string, std::string> view;
  for (const Json& object : fake.Objects(kConfigMaps)) {
    view[ObjectKey(object)] = object.value("/data/k"_json_pointer, std::string());
  }
  return view;
}

class InformerTest : public ::testing::Test {
 protected:
  InformerTest() {
    options_.type = kConfigMaps;
    options_.ns = "ns";
    options_.page_size = 2;
    options_.min_watch_timeout = 300s;
    options_.max_watch_timeout = 600s;
    options_.reconnect_backoff = {1s, 30s, 2.0, 0.0};  // predictable: 1s, 2s, 4s...
    options_.clock_poll = 1ms;
    options_.seed = 7;
  }
  void Create(const std::string& name, const std::string& value) {
    ASSERT_TRUE(fake_->Create(kConfigMaps, "ns", ConfigMap(name, value)).ok());
  }
  void Update(const std::string& name, const std::string& value) {
    auto patched =
        fake_->Patch(kConfigMaps, "ns", name, PatchType::kMerge, Json{{"data", {{"k", value}}}});
    ASSERT_TRUE(patched.ok()) << patched.status();
  }
  void Remove(const std::string& name) { ASSERT_TRUE(fake_->Delete(kConfigMaps, "ns", name).ok()); }
  void StartAndSync() {
    informer_ = std::make_unique<Informer>(fake_, options_, clock_);
    informer_->AddEventHandlers(recorder_.Handlers());
    informer_->Start();
    ASSERT_TRUE(informer_->WaitForSync(kWait));
    ASSERT_TRUE(fake_->WaitForOpenWatches(kConfigMaps, 1, kWait));
  }
  // Advances fake time in steps, letting the informer's thread run, until `done`; returns how much
  // fake time that took (or nullopt past `limit`). A backoff that started late only makes the
  // measured time longer, so lower bounds on it are exact and upper bounds are generous.
  template <typename Predicate>
  std::optional<std::chrono::milliseconds> AdvanceUntil(Predicate done,
                                                        std::chrono::milliseconds limit) {
    for (auto advanced = 0ms; advanced <= limit; advanced += 50ms) {
      if (done()) return advanced;
      clock_->Advance(50ms);
      std::this_thread::sleep_for(3ms);
    }
    return std::nullopt;
  }
  // Waits until the handlers' view matches the server's.
  void ExpectConverged() {
    const auto deadline = std::chrono::steady_clock::now() + kWait;
    while (recorder_.View() != ServerView(*fake_) && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(1ms);
    }
    EXPECT_EQ(recorder_.View(), ServerView(*fake_));
  }

  std::shared_ptr<FakeApiClient> fake_ = std::make_shared<FakeApiClient>();
  std::shared_ptr<FakeClock> clock_ = std::make_shared<FakeClock>();
  InformerOptions options_;
  Recorder recorder_;
  std::unique_ptr<Informer> informer_;
};

TEST_F(InformerTest, InitialListIsPagedThenWatchesFromItsVersion) {
  for (int i = 0; i < 5; ++i) Create(StrCat("cm", i), "v");
  Create("other", "v");
  ASSERT_TRUE(fake_->Create(kConfigMaps, "elsewhere", Json{{"metadata", {{"name", "x"}}}}).ok());
  StartAndSync();
  EXPECT_EQ(informer_->store().Size(), 6u);
  EXPECT_EQ(recorder_.TakeLog().size(), 6u);
  EXPECT_TRUE(informer_->HasSynced());

  std::vector<FakeApiClient::Request> lists, watches;
  for (const auto& request : fake_->Requests()) {
    if (request.verb == Verb::kList) lists.push_back(request);
    if (request.verb == Verb::kWatch) watches.push_back(request);
  }
  ASSERT_EQ(lists.size(), 3u) << "6 objects in pages of 2";
  // Not "0": the real server ignores `limit` there (tests/integration/kube:
  // FirstListIsReallyPaged).
  EXPECT_EQ(lists[0].options.resource_version, "") << "first list reads the latest version";
  EXPECT_EQ(lists[0].options.limit, 2);
  EXPECT_FALSE(lists[1].options.continue_token.empty());
  EXPECT_EQ(lists[1].options.resource_version, "") << "the server rejects rv with continue";
  ASSERT_EQ(watches.size(), 1u);
  EXPECT_EQ(watches[0].ns, "ns");
  EXPECT_EQ(watches[0].options.resource_version, StrCat(fake_->CurrentResourceVersion()));
  EXPECT_TRUE(watches[0].options.allow_watch_bookmarks);
  EXPECT_GE(watches[0].options.timeout_seconds, 300);
  EXPECT_LE(watches[0].options.timeout_seconds, 600);
  EXPECT_EQ(informer_->metrics().lists(), 3u);
  EXPECT_EQ(informer_->metrics().relists(), 0u);
}

TEST_F(InformerTest, UnpagedInitialListComesFromTheWatchCache) {
  for (int i = 0; i < 3; ++i) Create(StrCat("cm", i), "v");
  options_.page_size = 0;
  StartAndSync();
  EXPECT_EQ(informer_->store().Size(), 3u);
  ASSERT_EQ(fake_->CallCount(Verb::kList), 1);
  for (const auto& request : fake_->Requests()) {
    if (request.verb != Verb::kList) continue;
    EXPECT_EQ(request.options.resource_version, "0") << "any version will do for one response";
    EXPECT_EQ(request.options.limit, 0);
  }
}

TEST_F(InformerTest, DeliversAddUpdateDeleteInOrder) {
  Create("a", "1");
  StartAndSync();
  EXPECT_THAT(recorder_.TakeLog(), ElementsAre("add ns/a"));
  Create("b", "1");
  Update("a", "2");
  Remove("b");
  ASSERT_TRUE(recorder_.WaitForLogSize(3));
  EXPECT_THAT(recorder_.TakeLog(), ElementsAre("add ns/b", "update ns/a", "delete ns/b"));
  EXPECT_EQ(informer_->store().Get("ns/a")->at("data").at("k"), "2");
  EXPECT_EQ(informer_->store().Get("ns/b"), nullptr);
  EXPECT_EQ(informer_->metrics().events(), 3u);
}

TEST_F(InformerTest, BookmarkAdvancesTheResumeVersion) {
  StartAndSync();
  // Writes the watch does not select move the server's version but deliver nothing.
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(
        fake_->Create(kConfigMaps, "elsewhere", Json{{"metadata", {{"name", StrCat(i)}}}}).ok());
  }
  const std::string before = informer_->LastResourceVersion();
  fake_->SendBookmarks(kConfigMaps);
  const std::string expected = StrCat(fake_->CurrentResourceVersion());
  const auto deadline = std::chrono::steady_clock::now() + kWait;
  while (informer_->LastResourceVersion() != expected &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(1ms);
  }
  EXPECT_NE(before, expected);
  EXPECT_EQ(informer_->LastResourceVersion(), expected);
  EXPECT_EQ(informer_->metrics().bookmarks(), 1u);
  EXPECT_THAT(recorder_.TakeLog(), IsEmpty()) << "bookmarks are not objects";

  // The reconnect resumes from the bookmark.
  clock_->Advance(10s);
  fake_->CloseWatches(kConfigMaps);
  ASSERT_TRUE(fake_->WaitForCalls(Verb::kWatch, 2, kWait));
  EXPECT_EQ(fake_->Requests().back().options.resource_version, expected);
}

TEST_F(InformerTest, GoneRelistsAndFiresMissedDeletesUpdatesAndAdds) {
  Create("keep", "1");
  Create("change", "1");
  Create("drop", "1");
  StartAndSync();
  recorder_.TakeLog();
  // Partitioned: the server moves on, the watch hears nothing, then history is compacted.
  fake_->PauseWatchDelivery(kConfigMaps, true);
  Remove("drop");
  Update("change", "2");
  Create("new", "1");
  fake_->Compact();
  fake_->PauseWatchDelivery(kConfigMaps, false);
  fake_->ExpireWatches(kConfigMaps);

  ASSERT_TRUE(recorder_.WaitForLogSize(3));
  // Pages are applied as they arrive (change, keep | new); deletes come after the last page.
  EXPECT_THAT(recorder_.TakeLog(), ElementsAre("update ns/change", "add ns/new", "delete ns/drop"))
      << "unchanged objects fire nothing";
  ExpectConverged();
  EXPECT_EQ(informer_->metrics().relists(), 1u);
  ASSERT_TRUE(fake_->WaitForOpenWatches(kConfigMaps, 1, kWait));
  // The relist must not go back in time: it asks for at least the version it had seen.
  std::vector<FakeApiClient::Request> lists;
  for (const auto& request : fake_->Requests()) {
    if (request.verb == Verb::kList) lists.push_back(request);
  }
  ASSERT_EQ(lists.size(), 4u);  // 3 objects in pages of 2, twice
  EXPECT_NE(lists[2].options.resource_version, "0");
  EXPECT_EQ(lists[2].options.resource_version_match, "NotOlderThan");
}

TEST_F(InformerTest, RelistThatFailsPartWayDeletesNothingUntilARetryCompletes) {
  for (const char* name : {"a", "b", "c", "d"}) Create(name, "1");
  StartAndSync();
  recorder_.TakeLog();
  fake_->PauseWatchDelivery(kConfigMaps, true);
  Update("a", "2");
  Remove("d");
  fake_->Compact();
  fake_->PauseWatchDelivery(kConfigMaps, false);
  // The relist's second page fails once, as when the API server restarts mid-list.
  std::atomic<int> failed_pages{0};
  fake_->SetReactor([&](const FakeApiClient::Request& request) {
    if (request.verb == Verb::kList && !request.options.continue_token.empty() &&
        failed_pages.fetch_add(1) == 0) {
      return UnavailableError("apiserver restarting");
    }
    return OkStatus();
  });
  fake_->ExpireWatches(kConfigMaps);
  // Lists 1-2 were the initial list's pages; 3 is the relist's first page (a, b), 4 fails (c).
  ASSERT_TRUE(fake_->WaitForCalls(Verb::kList, 4, kWait));
  ASSERT_TRUE(recorder_.WaitForLogSize(1));
  // The first page was applied; with the list unfinished nothing may be deleted, since the cache
  // cannot yet tell "gone" from "on a page not read".
  EXPECT_THAT(recorder_.TakeLog(), ElementsAre("update ns/a"));
  EXPECT_NE(informer_->store().Get("ns/d"), nullptr);
  // After the backoff the relist is retried whole, and the delete arrives.
  ASSERT_TRUE(AdvanceUntil([&] { return informer_->store().Get("ns/d") == nullptr; }, 5s));
  EXPECT_THAT(recorder_.TakeLog(), ElementsAre("delete ns/d"));
  ExpectConverged();
}

TEST_F(InformerTest, WatchRequestAnsweredWithGoneRelists) {
  Create("a", "1");
  StartAndSync();
  fake_->InjectError(Verb::kWatch, OutOfRangeError("too old resource version"));
  clock_->Advance(10s);
  fake_->CloseWatches(kConfigMaps);
  ASSERT_TRUE(fake_->WaitForOpenWatches(kConfigMaps, 1, kWait));
  ASSERT_TRUE(fake_->WaitForCalls(Verb::kWatch, 3, kWait));
  EXPECT_EQ(informer_->metrics().relists(), 1u);
}

TEST_F(InformerTest, ListAnsweredWithGoneFallsBackToAConsistentRead) {
  Create("a", "1");
  StartAndSync();
  fake_->InjectError(Verb::kList, OutOfRangeError("too old resource version"));
  fake_->ExpireWatches(kConfigMaps);
  // First relist fails with 410; after a backoff the next one reads from etcd ("").
  ASSERT_TRUE(fake_->WaitForCalls(Verb::kList, 2, kWait));
  ASSERT_TRUE(AdvanceUntil([&] { return fake_->CallCount(Verb::kList) >= 3; }, 5s));
  std::vector<FakeApiClient::Request> lists;
  for (const auto& request : fake_->Requests()) {
    if (request.verb == Verb::kList) lists.push_back(request);
  }
  EXPECT_EQ(lists[1].options.resource_version_match, "NotOlderThan");
  EXPECT_EQ(lists[2].options.resource_version, "");
  EXPECT_EQ(lists[2].options.resource_version_match, "");
  ASSERT_TRUE(fake_->WaitForOpenWatches(kConfigMaps, 1, kWait));
}

TEST_F(InformerTest, BrokenStreamReconnectsAfterBackoffAndResumesWithoutRelist) {
  Create("a", "1");
  StartAndSync();
  recorder_.TakeLog();
  fake_->BreakWatches(kConfigMaps);
  ASSERT_TRUE(fake_->WaitForOpenWatches(kConfigMaps, 0, kWait));
  // Written while disconnected: the resumed watch replays it.
  Update("a", "2");
  Create("b", "1");
  std::this_thread::sleep_for(20ms);
  EXPECT_EQ(fake_->CallCount(Verb::kWatch), 1) << "must wait out the backoff";
  clock_->Advance(999ms);
  std::this_thread::sleep_for(20ms);
  EXPECT_EQ(fake_->CallCount(Verb::kWatch), 1) << "reconnected before the 1s backoff";
  ASSERT_TRUE(AdvanceUntil([&] { return fake_->OpenWatchCount(kConfigMaps) == 1; }, 5s));
  ASSERT_TRUE(recorder_.WaitForLogSize(2));
  EXPECT_THAT(recorder_.TakeLog(), ElementsAre("update ns/a", "add ns/b"));
  EXPECT_EQ(informer_->metrics().relists(), 0u);
  EXPECT_EQ(fake_->CallCount(Verb::kList), 1);

  // A refused reconnect doubles the wait: 1s after the break, then 2s after the refusal.
  fake_->InjectError(Verb::kWatch, UnavailableError("connection refused"));
  fake_->BreakWatches(kConfigMaps);
  auto took = AdvanceUntil([&] { return fake_->CallCount(Verb::kWatch) >= 4; }, 10s);
  ASSERT_TRUE(took.has_value());
  EXPECT_GE(*took, 3s);
  EXPECT_TRUE(fake_->WaitForOpenWatches(kConfigMaps, 1, kWait));
}

TEST_F(InformerTest, CleanCloseAfterHealthyWatchResumesImmediately) {
  StartAndSync();
  clock_->Advance(5s);  // the watch has been open long enough to count as healthy
  fake_->CloseWatches(kConfigMaps);
  ASSERT_TRUE(fake_->WaitForCalls(Verb::kWatch, 2, kWait));
  EXPECT_EQ(informer_->metrics().relists(), 0u);
}

TEST_F(InformerTest, FailedInitialListRetriesAfterBackoff) {
  fake_->InjectError(Verb::kList, UnavailableError("apiserver starting"), 2);
  Create("a", "1");
  informer_ = std::make_unique<Informer>(fake_, options_, clock_);
  informer_->AddEventHandlers(recorder_.Handlers());
  informer_->Start();
  ASSERT_TRUE(fake_->WaitForCalls(Verb::kList, 1, kWait));
  EXPECT_FALSE(informer_->WaitForSync(20ms));
  // Two failures: 1s then 2s of backoff before the third list succeeds.
  auto took = AdvanceUntil([&] { return informer_->HasSynced(); }, 10s);
  ASSERT_TRUE(took.has_value());
  EXPECT_GE(*took, 3s);
  EXPECT_EQ(fake_->CallCount(Verb::kList), 3);
  EXPECT_THAT(recorder_.TakeLog(), ElementsAre("add ns/a"));
}

TEST_F(InformerTest, StopCancelsABlockedWatchPromptly) {
  StartAndSync();
  const auto started = std::chrono::steady_clock::now();
  informer_->Stop();
  EXPECT_LT(std::chrono::steady_clock::now() - started, 2s);
  EXPECT_EQ(fake_->OpenWatchCount(kConfigMaps), 0u);
}

TEST_F(InformerTest, LabelSelectorChangesBecomeAddsAndDeletes) {
  options_.label_selector = "tier=gpu";
  ASSERT_TRUE(fake_
                  ->Create(kConfigMaps, "ns",
                           Json{{"metadata", {{"name", "a"}, {"labels", {{"tier", "gpu"}}}}}})
                  .ok());
  Create("b", "1");
  StartAndSync();
  EXPECT_THAT(recorder_.TakeLog(), ElementsAre("add ns/a"));
  ASSERT_TRUE(fake_
                  ->Patch(kConfigMaps, "ns", "a", PatchType::kMerge,
                          Json{{"metadata", {{"labels", {{"tier", "cpu"}}}}}})
                  .ok());
  ASSERT_TRUE(fake_
                  ->Patch(kConfigMaps, "ns", "b", PatchType::kMerge,
                          Json{{"metadata", {{"labels", {{"tier", "gpu"}}}}}})
                  .ok());
  ASSERT_TRUE(recorder_.WaitForLogSize(2));
  EXPECT_THAT(recorder_.TakeLog(), ElementsAre("delete ns/a", "add ns/b"));
}

TEST_F(InformerTest, DropsManagedFieldsOnlyWhenAsked) {
  Json with_fields = ConfigMap("a", "1");
  with_fields["metadata"]["managedFields"] = Json::array({{{"manager", "kubectl"}}});
  ASSERT_TRUE(fake_->Create(kConfigMaps, "ns", with_fields).ok());
  options_.drop_managed_fields = true;
  StartAndSync();
  EXPECT_FALSE(informer_->store().Get("ns/a")->at("metadata").contains("managedFields"));
  // Objects from the watch are trimmed too, and the rest of the object is kept.
  with_fields["metadata"]["name"] = "b";
  ASSERT_TRUE(fake_->Create(kConfigMaps, "ns", with_fields).ok());
  ASSERT_TRUE(recorder_.WaitForLogSize(2));
  ObjectPtr b = informer_->store().Get("ns/b");
  ASSERT_NE(b, nullptr);
  EXPECT_FALSE(b->at("metadata").contains("managedFields"));
  EXPECT_EQ(b->at("data").at("k"), "1");

  // By default they are kept: the agent's publisher reads them.
  InformerOptions keep = options_;
  keep.drop_managed_fields = false;
  Informer plain(fake_, keep, clock_);
  plain.Start();
  ASSERT_TRUE(plain.WaitForSync(kWait));
  EXPECT_TRUE(plain.store().Get("ns/a")->at("metadata").contains("managedFields"));
  plain.Stop();
}

TEST_F(InformerTest, StoresTheProjectionAndHandsHandlersTheWholeObject) {
  Create("a", "1");
  options_.project_for_store = [](const Json& object) {
    return Json{{"metadata", object.at("metadata")}};  // everything but data
  };
  std::vector<Json> arrived, previous;
  std::mutex mu;
  informer_ = std::make_unique<Informer>(fake_, options_, clock_);
  informer_->AddEventHandlers({[&](const ObjectPtr& object) {
                                 std::lock_guard lock(mu);
                                 arrived.push_back(*object);
                               },
                               [&](const ObjectPtr& old_object, const ObjectPtr& object) {
                                 std::lock_guard lock(mu);
                                 previous.push_back(*old_object);
                                 arrived.push_back(*object);
                               },
                               nullptr});
  informer_->AddEventHandlers(recorder_.Handlers());
  informer_->Start();
  ASSERT_TRUE(informer_->WaitForSync(kWait));
  ASSERT_TRUE(fake_->WaitForOpenWatches(kConfigMaps, 1, kWait));
  // The store holds the projection, listed or watched.
  ObjectPtr stored = informer_->store().Get("ns/a");
  ASSERT_NE(stored, nullptr);
  EXPECT_FALSE(stored->contains("data"));
  EXPECT_EQ(stored->at("metadata").at("name"), "a");
  Update("a", "2");
  ASSERT_TRUE(recorder_.WaitForLogSize(2));
  EXPECT_FALSE(informer_->store().Get("ns/a")->contains("data"));
  std::lock_guard lock(mu);
  // Handlers got each object whole as it arrived, and the old object as the store kept it.
  ASSERT_EQ(arrived.size(), 2u);
  EXPECT_EQ(arrived[0].at("data").at("k"), "1");
  EXPECT_EQ(arrived[1].at("data").at("k"), "2");
  ASSERT_EQ(previous.size(), 1u);
  EXPECT_FALSE(previous[0].contains("data"));
  EXPECT_NE(previous[0].at("metadata").at("resourceVersion"),
            arrived[1].at("metadata").at("resourceVersion"));
}

}  // namespace
}  // namespace zhisuan::kube
