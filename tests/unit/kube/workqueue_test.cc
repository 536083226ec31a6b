#include "kube/workqueue.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <thread>

namespace zhisuan::kube {
namespace {

using namespace std::chrono_literals;

// Fake time, a fast clock poll (so a Get() blocked on a delayed key notices Advance) and no
// overall bucket unless a test asks for one.
struct QueueFixture {
  explicit QueueFixture(WorkQueueOptions options = Options())
      : clock(std::make_shared<FakeClock>()), queue(options, clock) {}
  static WorkQueueOptions Options() {
    WorkQueueOptions options;
    options.overall_qps = 0;
    options.clock_poll = 1ms;
    return options;
  }
  std::shared_ptr<FakeClock> clock;
  WorkQueue queue;
};

TEST(WorkQueue, AddDeduplicatesQueuedKeys) {
  QueueFixture f;
  f.queue.Add("default/a");
  f.queue.Add("default/b");
  f.queue.Add("default/a");
  EXPECT_EQ(f.queue.Len(), 2u);
  EXPECT_EQ(f.queue.Get(), "default/a");
  EXPECT_EQ(f.queue.Get(), "default/b");
  EXPECT_EQ(f.queue.Len(), 0u);
}

TEST(WorkQueue, KeyInProcessIsRequeuedOnlyAfterDone) {
  QueueFixture f;
  f.queue.Add("k");
  ASSERT_EQ(f.queue.Get(), "k");
  f.queue.Add("k");  // changed again while a worker is on it
  f.queue.Add("k");
  EXPECT_EQ(f.queue.Len(), 0u) << "a second worker must not get a key in process";
  f.queue.Done("k");
  EXPECT_EQ(f.queue.Len(), 1u);
  EXPECT_EQ(f.queue.Get(), "k");
  f.queue.Done("k");
  EXPECT_EQ(f.queue.Len(), 0u);
}

TEST(WorkQueue, ConcurrentWorkersNeverProcessOneKeyTwice) {
  QueueFixture f;
  std::atomic<int> in_process{0};
  std::atomic<int> max_in_process{0};
  std::atomic<int> processed{0};
  std::vector<std::thread> workers;
  for (int i = 0; i < 4; ++i) {
    workers.emplace_back([&] {
      while (auto key = f.queue.Get()) {
        const int now = ++in_process;
        int seen = max_in_process.load();
        while (now > seen && !max_in_process.compare_exchange_weak(seen, now)) {
        }
        std::this_thread::yield();
        --in_process;
        ++processed;
        f.queue.Done(*key);
      }
    });
  }
  for (int i = 0; i < 2000; ++i) f.queue.Add("same-key");
  f.queue.ShutDownWithDrain();
  for (auto& worker : workers) worker.join();
  EXPECT_EQ(max_in_process.load(), 1);
  EXPECT_GE(processed.load(), 1);
}

TEST(WorkQueue, AddAfterReleasesKeysInDueOrder) {
  QueueFixture f;
  f.queue.AddAfter("late", 3s);
  f.queue.AddAfter("early", 1s);
  f.queue.AddAfter("now", 0s);
  EXPECT_EQ(f.queue.Len(), 1u);
  EXPECT_EQ(f.queue.Get(), "now");
  f.clock->Advance(1s);
  EXPECT_EQ(f.queue.Get(), "early");
  EXPECT_EQ(f.queue.Len(), 0u);
  f.clock->Advance(2s);
  EXPECT_EQ(f.queue.Get(), "late");
}

TEST(WorkQueue, EarlierAddAfterWinsAndLaterIsIgnored) {
  QueueFixture f;
  f.queue.AddAfter("k", 10s);
  f.queue.AddAfter("k", 2s);
  f.queue.AddAfter("k", 20s);
  f.clock->Advance(2s);
  EXPECT_EQ(f.queue.Get(), "k");
  f.queue.Done("k");
  f.clock->Advance(30s);
  // The superseded 10s and 20s entries must not bring the key back.
  f.queue.Add("marker");
  EXPECT_EQ(f.queue.Get(), "marker");
  EXPECT_EQ(f.queue.Len(), 0u);
}

TEST(WorkQueue, BlockedGetWakesWhenDelayedKeyBecomesDue) {
  QueueFixture f;
  f.queue.AddAfter("k", 5s);
  auto got = std::async(std::launch::async, [&] { return f.queue.Get(); });
  EXPECT_EQ(got.wait_for(50ms), std::future_status::timeout);
  f.clock->Advance(5s);
  ASSERT_EQ(got.wait_for(5s), std::future_status::ready);
  EXPECT_EQ(got.get(), "k");
}

TEST(WorkQueue, RateLimitedBackoffGrowsAndForgetResetsIt) {
  QueueFixture f;
  // 5ms, 10ms, 20ms: each requeue doubles the key's delay.
  for (int attempt = 0; attempt < 3; ++attempt) {
    f.queue.AddRateLimited("k");
    EXPECT_EQ(f.queue.NumRequeues("k"), attempt + 1);
    const auto delay = std::chrono::milliseconds(5 << attempt);
    f.clock->Advance(delay - 1ms);
    f.queue.Add("probe");
    EXPECT_EQ(f.queue.Get(), "probe") << "k released early on attempt " << attempt;
    f.queue.Done("probe");
    f.clock->Advance(1ms);
    EXPECT_EQ(f.queue.Get(), "k");
    f.queue.Done("k");
  }
  f.queue.Forget("k");
  EXPECT_EQ(f.queue.NumRequeues("k"), 0);
  f.queue.AddRateLimited("k");
  f.clock->Advance(5ms);
  EXPECT_EQ(f.queue.Get(), "k");
}

TEST(WorkQueue, OverallBucketDelaysBurstsBeyondItsCapacity) {
  WorkQueueOptions options = QueueFixture::Options();
  options.overall_qps = 10;  // one token every 100ms
  options.overall_burst = 2;
  QueueFixture f(options);
  f.queue.AddRateLimited("a");
  f.queue.AddRateLimited("b");
  f.queue.AddRateLimited("c");  // bucket empty: waits 100ms, longer than its own 5ms backoff
  f.clock->Advance(5ms);
  EXPECT_EQ(f.queue.Get(), "a");
  EXPECT_EQ(f.queue.Get(), "b");
  EXPECT_EQ(f.queue.Len(), 0u);
  f.clock->Advance(95ms);
  EXPECT_EQ(f.queue.Get(), "c");
}

TEST(WorkQueue, ShutDownWakesEveryBlockedGet) {
  QueueFixture f;
  std::vector<std::future<std::optional<std::string>>> waiters;
  for (int i = 0; i < 3; ++i) {
    waiters.push_back(std::async(std::launch::async, [&] { return f.queue.Get(); }));
  }
  EXPECT_EQ(waiters[0].wait_for(20ms), std::future_status::timeout);
  f.queue.ShutDown();
  for (auto& waiter : waiters) {
    ASSERT_EQ(waiter.wait_for(5s), std::future_status::ready);
    EXPECT_EQ(waiter.get(), std::nullopt);
  }
  EXPECT_TRUE(f.queue.ShuttingDown());
  f.queue.Add("ignored");
  EXPECT_EQ(f.queue.Len(), 0u);
}

TEST(WorkQueue, ShutDownStillHandsOutQueuedKeysThenStops) {
  QueueFixture f;
  f.queue.Add("a");
  f.queue.AddAfter("delayed", 1s);
  f.queue.ShutDown();
  EXPECT_EQ(f.queue.Get(), "a");
  f.clock->Advance(2s);
  EXPECT_EQ(f.queue.Get(), std::nullopt) << "delayed keys are dropped on shutdown";
}

TEST(WorkQueue, ShutDownWithDrainWaitsForKeysInProcess) {
  QueueFixture f;
  f.queue.Add("k");
  ASSERT_EQ(f.queue.Get(), "k");
  auto drained = std::async(std::launch::async, [&] { f.queue.ShutDownWithDrain(); });
  EXPECT_EQ(drained.wait_for(50ms), std::future_status::timeout);
  f.queue.Done("k");
  EXPECT_EQ(drained.wait_for(5s), std::future_status::ready);
}

}  // namespace
}  // namespace zhisuan::kube
