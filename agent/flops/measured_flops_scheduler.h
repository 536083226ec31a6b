#pragma once
// Runs the FLOPS probes at start-up and on request (POST /flops/measure, SIGUSR1), on its own
// thread, never on the scrape path. A device whose latest utilisation is above the threshold is
// skipped: the probe would both disturb the workload and measure less than the device can do.
// A skipped device with no measurement yet is retried every `busy_retry_interval`, so a node that
// started under load still gets its figure once the workload pauses, without anyone asking.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>
#include <vector>

#include "agent/flops/flops_probe.h"
#include "common/clock.h"

namespace zhisuan::agent {

struct MeasuredFlopsResults {
  std::vector<FlopsMeasurement> measurements;  // latest per target, from the latest run
  std::vector<std::pair<std::string, Status>> probe_status;  // probe name -> why it could not run
  uint64_t runs = 0;
  WallTime finished_at{};
};

class MeasuredFlopsScheduler {
 public:
  MeasuredFlopsScheduler(std::vector<FlopsProbePtr> probes, SkipDevicePredicate is_busy,
                         ClockPtr clock,
                         std::chrono::milliseconds busy_retry_interval = std::chrono::minutes(10));
  ~MeasuredFlopsScheduler();
  MeasuredFlopsScheduler(const MeasuredFlopsScheduler&) = delete;
  MeasuredFlopsScheduler& operator=(const MeasuredFlopsScheduler&) = delete;

  // Starts the worker thread; `measure_now` queues a run at once (the start-up measurement).
  void Start(bool measure_now);
  void Stop();
  // Queues a run; requests that arrive while one is queued or running coalesce into one.
  // Returns false when a run was already pending.
  bool Request();
  // Runs every probe on the calling thread (tests and --measure-flops-once).
  void RunOnce();
  // True while a run is queued or running.
  bool Busy() const;

  MeasuredFlopsResults Results() const;

 private:
  void Loop();
  // True when some target was skipped as busy and has no earlier good measurement to keep.
  static bool NeedsBusyRetry(const MeasuredFlopsResults& results);

  std::vector<FlopsProbePtr> probes_;
  const SkipDevicePredicate is_busy_;
  const ClockPtr clock_;
  const std::chrono::milliseconds busy_retry_interval_;
  mutable std::mutex mu_;
  std::condition_variable wake_;
  bool pending_ = false;
  bool running_ = false;
  bool stopping_ = false;
  MeasuredFlopsResults results_;
  std::mutex run_mu_;  // one run at a time, whoever asks
  std::thread worker_;
};

}  // namespace zhisuan::agent
