#include "agent/flops/measured_flops_scheduler.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

namespace zhisuan::agent {
namespace {

// Reports one measurement per scripted bus id, honouring the skip predicate like real probes.
class ScriptedProbe final : public FlopsProbe {
 public:
  ScriptedProbe(std::vector<std::string> targets, double flops, std::atomic<int>* runs)
      : targets_(std::move(targets)), flops_(flops), runs_(runs) {}
  std::string_view Name() const override { return "scripted"; }
  StatusOr<std::vector<FlopsMeasurement>> Measure(const SkipDevicePredicate& skip) override {
    ++*runs_;
    std::vector<FlopsMeasurement> out;
    for (const auto& target : targets_) {
      FlopsMeasurement m;
      m.target = target;
      m.precision = Precision::kBf16;
      if (skip && skip(target)) {
        m.status = FailedPreconditionError("skipped: device busy");
      } else {
        m.flops = flops_ * *runs_;
      }
      out.push_back(m);
    }
    return out;
  }

 private:
  std::vector<std::string> targets_;
  double flops_;
  std::atomic<int>* runs_;
};

class UnavailableProbe final : public FlopsProbe {
 public:
  std::string_view Name() const override { return "cuda"; }
  StatusOr<std::vector<FlopsMeasurement>> Measure(const SkipDevicePredicate&) override {
    return UnavailableError("no libcuda");
  }
};

TEST(MeasuredFlopsSchedulerTest, RunOnceCollectsEveryProbeAndRecordsWhyOneCouldNotRun) {
  std::atomic<int> runs{0};
  std::vector<FlopsProbePtr> probes;
  probes.push_back(std::make_unique<ScriptedProbe>(std::vector<std::string>{"a", "b"}, 10, &runs));
  probes.push_back(std::make_unique<UnavailableProbe>());
  MeasuredFlopsScheduler scheduler(std::move(probes), nullptr, std::make_shared<FakeClock>());
  scheduler.RunOnce();
  MeasuredFlopsResults results = scheduler.Results();
  EXPECT_EQ(results.runs, 1u);
  ASSERT_EQ(results.measurements.size(), 2u);
  EXPECT_EQ(results.measurements[0].flops, 10);
  ASSERT_EQ(results.probe_status.size(), 2u);
  EXPECT_TRUE(results.probe_status[0].second.ok());
  EXPECT_EQ(results.probe_status[1].second.code(), StatusCode::kUnavailable);
}

TEST(MeasuredFlopsSchedulerTest, BusyDeviceIsSkippedAndKeepsItsPreviousMeasurement) {
  std::atomic<int> runs{0};
  std::atomic<bool> b_busy{false};
  std::vector<FlopsProbePtr> probes;
  probes.push_back(std::make_unique<ScriptedProbe>(std::vector<std::string>{"a", "b"}, 10, &runs));
  MeasuredFlopsScheduler scheduler(
      std::move(probes),
      [&](std::string_view target) -> std::optional<std::string> {
        if (target == "b" && b_busy.load()) return "device busy";
        return std::nullopt;
      },
      std::make_shared<FakeClock>());
  scheduler.RunOnce();
  b_busy = true;
  scheduler.RunOnce();
  MeasuredFlopsResults results = scheduler.Results();
  EXPECT_EQ(results.runs, 2u);
  EXPECT_EQ(results.measurements[0].flops, 20);  // a measured again
  EXPECT_TRUE(results.measurements[1].status.ok());
  EXPECT_EQ(results.measurements[1].flops, 10);  // b kept its first measurement
}

TEST(MeasuredFlopsSchedulerTest, BusyDeviceNeverMeasuredReportsTheSkip) {
  std::atomic<int> runs{0};
  std::vector<FlopsProbePtr> probes;
  probes.push_back(std::make_unique<ScriptedProbe>(std::vector<std::string>{"a"}, 10, &runs));
  MeasuredFlopsScheduler scheduler(
      std::move(probes), [](std::string_view) { return std::optional<std::string>("device busy"); },
      std::make_shared<FakeClock>());
  scheduler.RunOnce();
  EXPECT_EQ(scheduler.Results().measurements[0].status.code(), StatusCode::kFailedPrecondition);
}

TEST(MeasuredFlopsSchedulerTest, StartMeasuresOnceAndRequestsTriggerMoreRuns) {
  std::atomic<int> runs{0};
  std::vector<FlopsProbePtr> probes;
  probes.push_back(std::make_unique<ScriptedProbe>(std::vector<std::string>{"a"}, 1, &runs));
  MeasuredFlopsScheduler scheduler(std::move(probes), nullptr, std::make_shared<FakeClock>());
  auto wait_for_runs = [&](uint64_t n) {
    for (int i = 0; i < 2000 && scheduler.Results().runs < n; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    return scheduler.Results().runs;
  };
  scheduler.Start(/*measure_now=*/true);
  EXPECT_EQ(wait_for_runs(1), 1u);
  scheduler.Request();
  EXPECT_EQ(wait_for_runs(2), 2u);
  scheduler.Stop();
  EXPECT_EQ(runs.load(), 2);
}

TEST(MeasuredFlopsSchedulerTest, StartWithoutMeasureNowWaitsForARequest) {
  std::atomic<int> runs{0};
  std::vector<FlopsProbePtr> probes;
  probes.push_back(std::make_unique<ScriptedProbe>(std::vector<std::string>{"a"}, 1, &runs));
  MeasuredFlopsScheduler scheduler(std::move(probes), nullptr, std::make_shared<FakeClock>());
  scheduler.Start(/*measure_now=*/false);
  scheduler.Stop();
  EXPECT_EQ(runs.load(), 0);
}

// The start-up probe found the device busy: without a retry the node would never publish a measured
// figure unless someone asked. Retries stop once every device has one.
TEST(MeasuredFlopsSchedulerTest, DeviceBusyAtStartIsRetriedUntilMeasured) {
  std::atomic<int> runs{0};
  std::atomic<bool> busy{true};
  std::vector<FlopsProbePtr> probes;
  probes.push_back(std::make_unique<ScriptedProbe>(std::vector<std::string>{"gpu"}, 10, &runs));
  MeasuredFlopsScheduler scheduler(
      std::move(probes),
      [&](std::string_view) -> std::optional<std::string> {
        if (busy.load()) return "device busy";
        return std::nullopt;
      },
      std::make_shared<FakeClock>(), std::chrono::milliseconds(5));
  scheduler.Start(/*measure_now=*/true);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (runs.load() < 3 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ASSERT_GE(runs.load(), 3) << "a busy device was not retried";
  EXPECT_FALSE(scheduler.Results().measurements.at(0).status.ok());

  busy = false;
  while (!scheduler.Results().measurements.at(0).status.ok() &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ASSERT_TRUE(scheduler.Results().measurements.at(0).status.ok());
  EXPECT_GT(scheduler.Results().measurements.at(0).flops, 0);

  // Measured: later busy periods keep the figure and schedule nothing more. 40 retry intervals
  // pass with no further run.
  busy = true;
  const int runs_when_measured = runs.load();
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  EXPECT_EQ(runs.load(), runs_when_measured);
  scheduler.Stop();
}

}  // namespace
}  // namespace zhisuan::agent
