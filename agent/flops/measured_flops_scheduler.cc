#include "agent/flops/measured_flops_scheduler.h"

#include "api/quantity.h"
#include "common/log.h"
#include "common/strings.h"

namespace zhisuan::agent {

MeasuredFlopsScheduler::MeasuredFlopsScheduler(std::vector<FlopsProbePtr> probes,
                                               SkipDevicePredicate is_busy, ClockPtr clock)
    : probes_(std::move(probes)), is_busy_(std::move(is_busy)), clock_(std::move(clock)) {}

MeasuredFlopsScheduler::~MeasuredFlopsScheduler() { Stop(); }

void MeasuredFlopsScheduler::Start(bool measure_now) {
  {
    std::lock_guard lock(mu_);
    pending_ = measure_now;
    stopping_ = false;
  }
  worker_ = std::thread([this] { Loop(); });
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
  while (true) {
    wake_.wait(lock, [this] { return pending_ || stopping_; });
    if (stopping_) return;
    pending_ = false;
    lock.unlock();
    RunOnce();
    lock.lock();
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

MeasuredFlopsResults MeasuredFlopsScheduler::Results() const {
  std::lock_guard lock(mu_);
  return results_;
}

}  // namespace zhisuan::agent
