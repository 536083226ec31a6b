#include "agent/flops/measured_flops_scheduler.h"

#include "api/quantity.h"
#include "common/log.h"
#include "common/strings.h"
#include "common/thread_guard.h"

namespace zhisuan::agent {

MeasuredFlopsScheduler::MeasuredFlopsScheduler(std::vector<FlopsProbePtr> probes,
                                               SkipDevicePredicate is_busy, ClockPtr clock,
                                               std::chrono::milliseconds busy_retry_interval)
    : probes_(std::move(probes)),
      is_busy_(std::move(is_busy)),
      clock_(std::move(clock)),
      busy_retry_interval_(busy_retry_interval) {}

MeasuredFlopsScheduler::~MeasuredFlopsScheduler() { Stop(); }

void MeasuredFlopsScheduler::Start(bool measure_now) {
  {
    std::lock_guard lock(mu_);
    pending_ = measure_now;
    stopping_ = false;
  }
  worker_ = std::thread([this] { RunGuarded("measured-flops", [this] { Loop(); }); });
}

void MeasuredFlopsScheduler::Stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (worker_.joinable()) worker_.join();
}

bool MeasuredFlopsScheduler::Request() {
  bool queued = false;
  {
    std::lock_guard lock(mu_);
    queued = !pending_;
    pending_ = true;
  }
  wake_.notify_all();
  return queued;
}

void MeasuredFlopsScheduler::Loop() {
  std::unique_lock lock(mu_);
  const auto woken = [this] { return pending_ || stopping_; };
  while (true) {
    if (NeedsBusyRetry(results_)) {
      // Real time, not clock_: this only paces retries, and a condition variable cannot wait on
      // an injected clock. A timeout with nothing asked for is the retry.
      if (!wake_.wait_for(lock, busy_retry_interval_, woken)) pending_ = true;
    } else {
      wake_.wait(lock, woken);
    }
    if (stopping_) return;
    pending_ = false;
    running_ = true;
    lock.unlock();
    RunOnce();
    lock.lock();
    running_ = false;
  }
}

void MeasuredFlopsScheduler::RunOnce() {
  std::lock_guard run_lock(run_mu_);
  MeasuredFlopsResults fresh;
  for (auto& probe : probes_) {
    StatusOr<std::vector<FlopsMeasurement>> measured = probe->Measure(is_busy_);
    if (!measured.ok()) {
      ZLOG(Info) << "FLOPS probe " << probe->Name() << " did not run: " << measured.status();
      fresh.probe_status.emplace_back(std::string(probe->Name()), measured.status());
      continue;
    }
    fresh.probe_status.emplace_back(std::string(probe->Name()), OkStatus());
    for (auto& measurement : *measured) {
      ZLOG(Info) << "FLOPS probe " << probe->Name() << " " << measurement.target << " "
                 << measurement.kernel << ": "
                 << (measurement.status.ok()
                         ? StrCat(api::FormatQuantity(measurement.flops), "FLOPS")
                         : measurement.status.ToString());
      fresh.measurements.push_back(std::move(measurement));
    }
  }
  fresh.finished_at = clock_->WallNow();
  std::lock_guard lock(mu_);
  // A skipped device keeps its previous good measurement: busy now says nothing about capacity.
  for (const auto& previous : results_.measurements) {
    for (auto& current : fresh.measurements) {
      if (current.target == previous.target && !current.status.ok() && previous.status.ok() &&
          current.status.code() == StatusCode::kFailedPrecondition) {
        current = previous;
      }
    }
  }
  fresh.runs = results_.runs + 1;
  results_ = std::move(fresh);
}

bool MeasuredFlopsScheduler::NeedsBusyRetry(const MeasuredFlopsResults& results) {
  // RunOnce has already put back any earlier good figure, so a skipped entry left here has none.
  for (const auto& measurement : results.measurements) {
    if (measurement.status.code() == StatusCode::kFailedPrecondition) return true;
  }
  return false;
}

bool MeasuredFlopsScheduler::Busy() const {
  std::lock_guard lock(mu_);
  return pending_ || running_;
}

MeasuredFlopsResults MeasuredFlopsScheduler::Results() const {
  std::lock_guard lock(mu_);
  return results_;
}

}  // namespace zhisuan::agent
