#include "kube/leader_election.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <regex>
#include <thread>

#include "tests/unit/kube/fake_api_client.h"

namespace zhisuan::kube {
namespace {

using namespace std::chrono_literals;
using ::testing::ElementsAre;

class LeaderElectionTest : public ::testing::Test {
 protected:
  LeaderElectionConfig Config(const std::string& identity) {
    LeaderElectionConfig config;
    config.lease_namespace = "kube-system";
    config.lease_name = "zhisuan-controller";
    config.identity = identity;
    config.lease_duration = 15s;
    config.renew_deadline = 10s;
    config.retry_period = 2s;
    config.acquire_jitter = 0.0;
    config.clock_poll = 1ms;
    return config;
  }
  std::unique_ptr<LeaderElector> Elector(const std::string& identity,
                                         LeaderCallbacks callbacks = {}) {
    auto elector = LeaderElector::Create(fake_, Config(identity), std::move(callbacks), clock_);
    EXPECT_TRUE(elector.ok()) << elector.status();
    return std::move(elector).value();
  }
  Json Spec() {
    auto lease = fake_->Peek(kLeases, "kube-system", "zhisuan-controller");
    return lease ? lease->value("spec", Json::object()) : Json();
  }
  // Advances fake time in small steps (letting the elector's thread run) until `done`.
  template <typename Predicate>
  bool AdvanceUntil(Predicate done, std::chrono::milliseconds limit) {
    for (auto advanced = 0ms; advanced <= limit; advanced += 50ms) {
      if (done()) return true;
      clock_->Advance(50ms);
      std::this_thread::sleep_for(2ms);
    }
    return done();
  }

  std::shared_ptr<FakeApiClient> fake_ = std::make_shared<FakeApiClient>();
  std::shared_ptr<FakeClock> clock_ = std::make_shared<FakeClock>();
};

TEST_F(LeaderElectionTest, RejectsUnsafeTimings) {
  LeaderElectionConfig config = Config("a");
  config.renew_deadline = 20s;  // longer than the lease: two leaders possible
  EXPECT_FALSE(LeaderElector::Create(fake_, config, {}, clock_).ok());
  config = Config("a");
  config.retry_period = 6s;
  config.acquire_jitter = 1.0;  // a retry could outlast the renew deadline
  EXPECT_FALSE(LeaderElector::Create(fake_, config, {}, clock_).ok());
  config = Config("");
  EXPECT_FALSE(LeaderElector::Create(fake_, config, {}, clock_).ok());
}

TEST_F(LeaderElectionTest, AcquiresAnAbsentLeaseByCreatingIt) {
  std::vector<std::string> leaders;
  auto a = Elector("a", {nullptr, nullptr, [&](const std::string& id) { leaders.push_back(id); }});
  EXPECT_TRUE(a->TryAcquireOrRenew());
  const Json spec = Spec();
  EXPECT_EQ(spec["holderIdentity"], "a");
  EXPECT_EQ(spec["leaseDurationSeconds"], 15);
  EXPECT_EQ(spec["leaseTransitions"], 0);
  EXPECT_TRUE(std::regex_match(spec["renewTime"].get<std::string>(),
                               std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z)")))
      << spec["renewTime"];
  EXPECT_EQ(a->ObservedLeader(), "a");
  EXPECT_THAT(leaders, ElementsAre("a"));
}

TEST_F(LeaderElectionTest, NoTakeoverWhileTheHolderKeepsRenewing) {
  std::vector<std::string> seen_by_b;
  auto a = Elector("a");
  auto b =
      Elector("b", {nullptr, nullptr, [&](const std::string& id) { seen_by_b.push_back(id); }});
  ASSERT_TRUE(a->TryAcquireOrRenew());
  EXPECT_FALSE(b->TryAcquireOrRenew());
  // 40s of renewals every 2s: far past one lease duration, yet b must never win.
  for (int i = 0; i < 20; ++i) {
    clock_->Advance(2s);
    ASSERT_TRUE(a->TryAcquireOrRenew()) << "renewal " << i;
    EXPECT_FALSE(b->TryAcquireOrRenew()) << "b took over a live lease at renewal " << i;
  }
  EXPECT_EQ(Spec()["holderIdentity"], "a");
  EXPECT_EQ(Spec()["leaseTransitions"], 0);
  EXPECT_THAT(seen_by_b, ElementsAre("a"));
}

TEST_F(LeaderElectionTest, TakesOverOnlyAfterTheLeaseExpiresOnTheLocalClock) {
  auto a = Elector("a");
  auto b = Elector("b");
  ASSERT_TRUE(a->TryAcquireOrRenew());
  EXPECT_FALSE(b->TryAcquireOrRenew());  // b observes a's record now
  clock_->Advance(14900ms);
  EXPECT_FALSE(b->TryAcquireOrRenew());
  clock_->Advance(200ms);
  EXPECT_TRUE(b->TryAcquireOrRenew());
  EXPECT_EQ(Spec()["holderIdentity"], "b");
  EXPECT_EQ(Spec()["leaseTransitions"], 1);
  EXPECT_FALSE(a->TryAcquireOrRenew()) << "the old holder must see it lost the lease";
  EXPECT_EQ(a->ObservedLeader(), "b");
}

TEST_F(LeaderElectionTest, ExpiryCountsFromObservationNotFromRemoteTimestamps) {
  auto a = Elector("a");
  ASSERT_TRUE(a->TryAcquireOrRenew());
  // b starts long after a's renewTime was written: it still must wait a full lease from when it
  // first saw the record, since it cannot trust a's clock.
  clock_->Advance(60s);
  auto b = Elector("b");
  EXPECT_FALSE(b->TryAcquireOrRenew());
  clock_->Advance(14s);
  EXPECT_FALSE(b->TryAcquireOrRenew());
  clock_->Advance(2s);
  EXPECT_TRUE(b->TryAcquireOrRenew());
}

TEST_F(LeaderElectionTest, RacingCandidatesCannotBothWin) {
  auto a = Elector("a");
  auto b = Elector("b");
  auto c = Elector("c");
  ASSERT_TRUE(a->TryAcquireOrRenew());
  EXPECT_FALSE(b->TryAcquireOrRenew());
  EXPECT_FALSE(c->TryAcquireOrRenew());
  clock_->Advance(16s);
  // c completes its takeover between b's read and b's write.
  bool c_won = false;
  fake_->SetReactor([&](const FakeApiClient::Request& request) {
    if (request.verb == FakeApiClient::Verb::kUpdate &&
        request.body.value("/spec/holderIdentity"_json_pointer, std::string()) == "b" && !c_won) {
      c_won = true;
      fake_->SetReactor(nullptr);
      EXPECT_TRUE(c->TryAcquireOrRenew());
    }
    return OkStatus();
  });
  EXPECT_FALSE(b->TryAcquireOrRenew()) << "b wrote with a stale resourceVersion";
  EXPECT_TRUE(c_won);
  EXPECT_EQ(Spec()["holderIdentity"], "c");
  EXPECT_EQ(Spec()["leaseTransitions"], 1);
}

TEST_F(LeaderElectionTest, RunLeadsThenReleasesOnStopSoASuccessorTakesOverAtOnce) {
  std::atomic<int> started{0}, stopped{0};
  auto a = Elector("a", {[&] { ++started; }, [&] { ++stopped; }, nullptr});
  a->Start();
  // IsLeader() turns true just before on_started_leading runs on the elector's thread.
  ASSERT_TRUE(AdvanceUntil([&] { return a->IsLeader() && started.load() > 0; }, 1s));
  EXPECT_EQ(started.load(), 1);
  // Renewals keep it leading well past the lease duration.
  ASSERT_FALSE(AdvanceUntil([&] { return !a->IsLeader(); }, 30s));
  a->Stop();
  EXPECT_EQ(stopped.load(), 1);
  EXPECT_FALSE(a->IsLeader());
  EXPECT_EQ(Spec()["holderIdentity"], "");
  EXPECT_EQ(Spec()["leaseDurationSeconds"], 1);
  auto b = Elector("b");
  EXPECT_TRUE(b->TryAcquireOrRenew()) << "a released lease is free immediately";
}

TEST_F(LeaderElectionTest, LeaderStepsDownWhenItCannotRenewWithinTheDeadline) {
  std::atomic<int> started{0}, stopped{0};
  // Written on the elector's thread before the counter that publishes them.
  SteadyTime acquired_at{}, stopped_at{};
  auto a = Elector("a", {[&] {
                           acquired_at = clock_->Now();
                           ++started;
                         },
                         [&] {
                           stopped_at = clock_->Now();
                           ++stopped;
                         },
                         nullptr});
  a->Start();
  ASSERT_TRUE(AdvanceUntil([&] { return a->IsLeader() && started.load() > 0; }, 1s));
  fake_->InjectError(FakeApiClient::Verb::kGet, UnavailableError("apiserver unreachable"), 1000);
  ASSERT_TRUE(AdvanceUntil([&] { return stopped.load() == 1; }, 30s));
  const auto held = stopped_at - acquired_at;
  // The deadline counts from the start of the last successful renewal, which precedes the
  // on_started_leading callback by however many 50ms steps of fake time the test thread made
  // while the elector's thread got there: one normally, a few under a sanitizer (TSan: 9.9 s).
  // A second of slack still catches giving up at the first failed renewal.
  EXPECT_GE(held, 9s) << "gave up before renew_deadline";
  EXPECT_LE(held, 12s) << "kept leading past renew_deadline + retry_period";
  EXPECT_LT(held, 15s) << "must stop before anyone else may take over";
  EXPECT_FALSE(a->IsLeader());
  a->Stop();
  EXPECT_EQ(stopped.load(), 1);
}

// Issue 17: the controller gates every write on IsLeader. A Lease taken over (another holder
// written, here by hand as kubectl would) must close that gate at the first read that shows it,
// not only when the renew deadline runs out 10 s later.
TEST_F(LeaderElectionTest, IsLeaderTurnsFalseAtTheFirstReadShowingAnotherHolder) {
  std::atomic<int> started{0}, stopped{0};
  auto a = Elector("a", {[&] { ++started; }, [&] { ++stopped; }, nullptr});
  a->Start();
  ASSERT_TRUE(AdvanceUntil([&] { return a->IsLeader() && started.load() > 0; }, 1s));
  Json lease = *fake_->Peek(kLeases, "kube-system", "zhisuan-controller");
  lease["spec"]["holderIdentity"] = "usurper";
  lease["spec"]["leaseDurationSeconds"] = 3600;
  ASSERT_TRUE(fake_->Update(kLeases, lease).ok());
  // The next renewal (every 2 s) reads the new holder.
  EXPECT_TRUE(AdvanceUntil([&] { return !a->IsLeader(); }, 3s))
      << "still claims leadership of a Lease held by someone else";
  EXPECT_EQ(stopped.load(), 0) << "the gate closes before the renew deadline steps down";
  ASSERT_TRUE(AdvanceUntil([&] { return stopped.load() == 1; }, 30s));
  a->Stop();
  EXPECT_EQ(Spec()["holderIdentity"], "usurper") << "a never held it again, nor released it";
}

TEST(MicroTime, FormatsUtcWithMicroseconds) {
  const WallTime time =
      WallTime(std::chrono::seconds(1'800'000'000)) + std::chrono::microseconds(42);
  EXPECT_EQ(FormatMicroTime(time), "2027-01-15T08:00:00.000042Z");
}

}  // namespace
}  // namespace zhisuan::kube
