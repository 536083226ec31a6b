#include "controller/controller_runner.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <future>
#include <mutex>
#include <thread>
#include <vector>

#include "tests/harness/loopback_http.h"
#include "tests/harness/tls_test_support.h"
#include "tests/unit/kube/fake_api_client.h"

namespace zhisuan::controller {
namespace {

using namespace std::chrono_literals;
using ::testing::ElementsAre;

// What happened, in order, across the loop's threads.
class EventLog {
 public:
  void Add(std::string event) {
    std::lock_guard lock(mu_);
    events_.push_back(std::move(event));
    changed_.notify_all();
  }
  std::vector<std::string> Events() const {
    std::lock_guard lock(mu_);
    return events_;
  }
  bool Contains(const std::string& event) const {
    std::lock_guard lock(mu_);
    return std::find(events_.begin(), events_.end(), event) != events_.end();
  }
  bool WaitFor(const std::string& event, std::chrono::milliseconds limit = 10s) {
    std::unique_lock lock(mu_);
    return changed_.wait_for(lock, limit, [&] {
      return std::find(events_.begin(), events_.end(), event) != events_.end();
    });
  }

 private:
  mutable std::mutex mu_;
  std::condition_variable changed_;
  std::vector<std::string> events_;
};

class FakeWorkers final : public ReconcileWorkers {
 public:
  explicit FakeWorkers(EventLog& log) : log_(log) {}
  void Sync() {
    std::lock_guard lock(mu_);
    synced_ = true;
    sync_.notify_all();
  }
  bool WaitForSync(std::chrono::milliseconds timeout) override {
    std::unique_lock lock(mu_);
    return sync_.wait_for(lock, std::min(timeout, 20ms), [this] { return synced_; });
  }
  bool HasSynced() override {
    std::lock_guard lock(mu_);
    return synced_;
  }
  void StartWorkers() override {
    std::lock_guard lock(mu_);
    if (started_) return;  // idempotent, like PoolController's
    started_ = true;
    log_.Add("workers started");
  }
  void Stop() override { log_.Add("workers stopped"); }

 private:
  EventLog& log_;
  std::mutex mu_;
  std::condition_variable sync_;
  bool synced_ = false;
  bool started_ = false;
};

// Stands in for LeaderElector: the test says when leadership comes; Stop reports losing it, as the
// elector does.
class FakeCampaign final : public LeadershipCampaign {
 public:
  FakeCampaign(EventLog& log, kube::LeaderCallbacks callbacks)
      : log_(log), callbacks_(std::move(callbacks)) {}
  void Start() override { log_.Add("campaign started"); }
  void Stop() override {
    log_.Add("lease released");
    callbacks_.on_stopped_leading();
  }
  bool HoldsLeadership() const override { return holds_.load(); }
  void Win() {
    holds_.store(true);
    callbacks_.on_started_leading();
  }
  void Lose() {
    holds_.store(false);
    callbacks_.on_stopped_leading();
  }
  // The Lease was taken over (or went unrenewed past the deadline); the elector has not yet
  // stepped down.
  void LeaseTakenOver() { holds_.store(false); }

 private:
  EventLog& log_;
  kube::LeaderCallbacks callbacks_;
  std::atomic<bool> holds_{false};
};

// Runs a ControllerRunLoop on a thread until Stop().
class RunLoopFixture : public ::testing::Test {
 protected:
  void Start(bool leader_elect) {
    RunLoopHooks hooks;
    hooks.set_leader = [this](bool leading) {
      log_.Add(leading ? "leader gauge 1" : "leader gauge 0");
    };
    hooks.mark_ready = [this] { log_.Add("ready"); };
    hooks.exit_on_lost_leadership = [this] { log_.Add("exit"); };
    loop_ = std::make_unique<ControllerRunLoop>(workers_, leader_elect, "ns/lease", hooks);
    if (leader_elect) campaign_ = std::make_unique<FakeCampaign>(log_, loop_->LeaderCallbacks());
    thread_ = std::thread([this] {
      loop_->Run(campaign_.get(), [this] { stop_.get_future().wait(); });
      log_.Add("returned");
    });
  }
  void Stop() {
    stop_.set_value();
    thread_.join();
  }
  void TearDown() override {
    if (thread_.joinable()) Stop();
  }

  EventLog log_;
  FakeWorkers workers_{log_};
  std::unique_ptr<ControllerRunLoop> loop_;
  std::unique_ptr<FakeCampaign> campaign_;
  std::promise<void> stop_;
  std::thread thread_;
};

TEST_F(RunLoopFixture, WithoutElectionWorkersStartOnceTheCachesSync) {
  Start(/*leader_elect=*/false);
  std::this_thread::sleep_for(50ms);
  EXPECT_FALSE(log_.Contains("workers started"));
  EXPECT_FALSE(log_.Contains("ready"));
  workers_.Sync();
  ASSERT_TRUE(log_.WaitFor("workers started"));
  Stop();
  EXPECT_THAT(log_.Events(), ElementsAre("ready", "leader gauge 1", "workers started",
                                         "workers stopped", "returned"));
}

TEST_F(RunLoopFixture, WorkersWaitForLeadershipEvenWithSyncedCaches) {
  Start(/*leader_elect=*/true);
  workers_.Sync();
  ASSERT_TRUE(log_.WaitFor("ready"));
  std::this_thread::sleep_for(50ms);
  EXPECT_FALSE(log_.Contains("workers started"));
  EXPECT_FALSE(log_.Contains("leader gauge 1"));  // with election, only leadership sets it
  campaign_->Win();
  ASSERT_TRUE(log_.WaitFor("workers started"));
  EXPECT_THAT(log_.Events(),
              ElementsAre("campaign started", "ready", "leader gauge 1", "workers started"));
}

TEST_F(RunLoopFixture, LeadershipBeforeSyncStartsWorkersOnlyOnceSynced) {
  Start(/*leader_elect=*/true);
  ASSERT_TRUE(log_.WaitFor("campaign started"));
  campaign_->Win();
  ASSERT_TRUE(log_.WaitFor("leader gauge 1"));
  std::this_thread::sleep_for(50ms);
  EXPECT_FALSE(log_.Contains("workers started"));  // partial caches: no plans yet
  workers_.Sync();
  ASSERT_TRUE(log_.WaitFor("workers started"));
  EXPECT_THAT(log_.Events(),
              ElementsAre("campaign started", "leader gauge 1", "ready", "workers started"));
}

// Issue 17: stop writing, then release. The workers stop first (in-flight reconciles finish while
// this replica still holds the Lease), and only then is the Lease released, so a successor never
// leads while a write of ours is in flight. Losing leadership as part of that does not exit.
TEST_F(RunLoopFixture, ShutdownStopsTheWorkersThenReleasesTheLease) {
  Start(/*leader_elect=*/true);
  workers_.Sync();
  ASSERT_TRUE(log_.WaitFor("ready"));
  campaign_->Win();
  ASSERT_TRUE(log_.WaitFor("workers started"));
  Stop();
  EXPECT_THAT(log_.Events(),
              ElementsAre("campaign started", "ready", "leader gauge 1", "workers started",
                          "workers stopped", "lease released", "leader gauge 0", "returned"));
  EXPECT_FALSE(log_.Contains("exit"));
}

// The gate the executor asks before each write: open only while this replica leads and the
// campaign still holds a fresh Lease.
TEST_F(RunLoopFixture, WritesAreAllowedOnlyWhileLeadingWithAFreshLease) {
  Start(/*leader_elect=*/true);
  ASSERT_TRUE(log_.WaitFor("campaign started"));
  workers_.Sync();
  ASSERT_TRUE(log_.WaitFor("ready"));
  EXPECT_FALSE(loop_->MayWrite()) << "a standby must not write";
  campaign_->Win();
  ASSERT_TRUE(log_.WaitFor("workers started"));
  EXPECT_TRUE(loop_->MayWrite());
  campaign_->LeaseTakenOver();
  EXPECT_FALSE(loop_->MayWrite()) << "the Lease is someone else's before the elector steps down";
  campaign_->Win();
  EXPECT_TRUE(loop_->MayWrite());
  campaign_->Lose();
  ASSERT_TRUE(log_.WaitFor("exit"));
  EXPECT_FALSE(loop_->MayWrite()) << "leadership lost, exit pending";
}

TEST_F(RunLoopFixture, WithoutElectionWritesAreAlwaysAllowed) {
  Start(/*leader_elect=*/false);
  EXPECT_TRUE(loop_->MayWrite());
}

TEST_F(RunLoopFixture, LosingLeadershipWhileRunningExits) {
  Start(/*leader_elect=*/true);
  workers_.Sync();
  campaign_->Win();
  ASSERT_TRUE(log_.WaitFor("workers started"));
  campaign_->Lose();
  EXPECT_TRUE(log_.WaitFor("exit"));
  EXPECT_TRUE(log_.Contains("leader gauge 0"));
}

TEST_F(RunLoopFixture, AStopBeforeTheCachesSyncEndsTheWaitPromptly) {
  Start(/*leader_elect=*/false);
  const auto began = std::chrono::steady_clock::now();
  Stop();
  EXPECT_LT(std::chrono::steady_clock::now() - began, 5s);
  EXPECT_THAT(log_.Events(), ElementsAre("workers stopped", "returned"));
}

// The real LeaderElector on the in-memory API server: a standby replica's workers wait until the
// other holder's Lease runs out.
TEST(ControllerRunLoopElectionTest, WorkersStartOnlyAfterTheLeaseIsAcquired) {
  auto api = std::make_shared<kube::FakeApiClient>();
  auto clock = std::make_shared<FakeClock>();
  ASSERT_TRUE(api->Create(kube::kLeases, "ns",
                          {{"apiVersion", "coordination.k8s.io/v1"},
                           {"kind", "Lease"},
                           {"metadata", {{"name", "lease"}, {"namespace", "ns"}}},
                           {"spec", {{"holderIdentity", "other"}, {"leaseDurationSeconds", 15}}}})
                  .ok());
  EventLog log;
  FakeWorkers workers(log);
  workers.Sync();
  ControllerRunLoop loop(workers, /*leader_elect=*/true, "ns/lease",
                         {.set_leader = [&](bool leading) { log.Add(leading ? "lead" : "unlead"); },
                          .mark_ready = [&] { log.Add("ready"); },
                          .exit_on_lost_leadership = [&] { log.Add("exit"); }});
  kube::LeaderElectionConfig election;
  election.lease_namespace = "ns";
  election.lease_name = "lease";
  election.identity = "me";
  election.acquire_jitter = 0;
  election.clock_poll = 1ms;
  auto elector = kube::LeaderElector::Create(api, election, loop.LeaderCallbacks(), clock);
  ASSERT_TRUE(elector.ok()) << elector.status();
  class Campaign final : public LeadershipCampaign {
   public:
    explicit Campaign(kube::LeaderElector& elector) : elector_(elector) {}
    void Start() override { elector_.Start(); }
    void Stop() override { elector_.Stop(); }
    bool HoldsLeadership() const override { return elector_.IsLeader(); }
    kube::LeaderElector& elector_;
  } campaign(**elector);
  std::promise<void> stop;
  std::thread runner([&] { loop.Run(&campaign, [&] { stop.get_future().wait(); }); });

  ASSERT_TRUE(log.WaitFor("ready"));
  clock->Advance(10s);  // the other holder's Lease has 5 s left
  std::this_thread::sleep_for(100ms);
  EXPECT_FALSE(log.Contains("workers started"));
  for (int i = 0; i < 400 && !log.Contains("workers started"); ++i) {
    clock->Advance(50ms);
    std::this_thread::sleep_for(2ms);
  }
  EXPECT_TRUE(log.Contains("workers started"));
  EXPECT_TRUE(log.Contains("lead"));
  stop.set_value();
  runner.join();
  EXPECT_FALSE(log.Contains("exit"));
  auto lease = api->Peek(kube::kLeases, "ns", "lease");
  ASSERT_TRUE(lease.has_value());
  EXPECT_EQ(lease->value("spec", kube::Json::object()).value("holderIdentity", ""), "");
}

TEST(MetricsEndpointTest, HealthAnswersAtOnceReadinessOnlyOnceMarked) {
  auto endpoint = MetricsEndpoint::Create("127.0.0.1:0", std::make_shared<prometheus::Registry>());
  ASSERT_TRUE(endpoint.ok()) << endpoint.status();
  const int port = (*endpoint)->port();
  ASSERT_GT(port, 0);
  EXPECT_EQ(harness::LoopbackRequest(port, "GET", "/healthz").status, 200);
  EXPECT_EQ(harness::LoopbackRequest(port, "GET", "/metrics").status, 200);
  EXPECT_EQ(harness::LoopbackRequest(port, "GET", "/readyz").status, 503);
  (*endpoint)->MarkReady();
  EXPECT_EQ(harness::LoopbackRequest(port, "GET", "/readyz").status, 200);
}

// Lets through only the token "allowed"; "denied" is authenticated but not authorised.
class TokenAuthorizer final : public kube::RequestAuthorizer {
 public:
  kube::AccessReview Review(std::string_view authorization) override {
    const std::string_view token = kube::BearerToken(authorization);
    if (token == "allowed") return {kube::AccessDecision::kAllowed, "scraper", ""};
    if (token == "denied") return {kube::AccessDecision::kForbidden, "other", "may not"};
    return {kube::AccessDecision::kUnauthenticated, "", "no"};
  }
};

TEST(MetricsEndpointTest, WithTlsAndAnAuthorizerOnlyMetricsAskForAToken) {
  char pattern[] = "/tmp/zhisuan-controller-tls-XXXXXX";
  const std::string dir = ::mkdtemp(pattern);
  const auto cert = harness::WriteSelfSignedCertificate(dir, "controller");
  auto tls = TlsServerContext::Create({cert.cert_file, cert.key_file, ""});
  ASSERT_TRUE(tls.ok()) << tls.status();
  MetricsSecurity security{*tls, std::make_unique<TokenAuthorizer>(), false};
  auto endpoint = MetricsEndpoint::Create("127.0.0.1:0", std::make_shared<prometheus::Registry>(),
                                          std::move(security));
  ASSERT_TRUE(endpoint.ok()) << endpoint.status();
  const int port = (*endpoint)->port();
  harness::TlsClientOptions client;
  client.ca_file = cert.cert_file;
  (*endpoint)->MarkReady();
  EXPECT_EQ(harness::TlsGet(port, "/healthz", client), 200);
  EXPECT_EQ(harness::TlsGet(port, "/readyz", client), 200);
  EXPECT_EQ(harness::TlsGet(port, "/metrics", client), 401);
  EXPECT_EQ(harness::TlsGet(port, "/metrics", client, "denied"), 403);
  EXPECT_EQ(harness::TlsGet(port, "/metrics", client, "allowed"), 200);
  EXPECT_EQ(harness::LoopbackRequest(port, "GET", "/healthz").status, 0);  // no plain HTTP
  std::filesystem::remove_all(dir);
}

TEST(MetricsEndpointTest, AnUnusableAddressIsAnError) {
  EXPECT_FALSE(
      MetricsEndpoint::Create("not an address", std::make_shared<prometheus::Registry>()).ok());
}

}  // namespace
}  // namespace zhisuan::controller
