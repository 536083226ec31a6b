#pragma once
// Runs the FLOPS probes at start-up and on request (POST /flops/measure, SIGUSR1), on its own
// thread, never on the scrape path. A device whose latest utilisation is above the threshold is
// skipped: the probe would both disturb the workload and measure less than the device can do.

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
                         ClockPtr clock);
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

  MeasuredFlopsResults Results() const;

 private:
  void Loop();

  std::vector<FlopsProbePtr> probes_;
  const SkipDevicePredicate is_busy_;
  const ClockPtr clock_;
  mutable std::mutex mu_;
  std::condition_variable wake_;
  bool pending_ = false;
  bool stopping_ = false;
  MeasuredFlopsResults results_;
  std::mutex run_mu_;  // one run at a time, whoever asks
  std::thread worker_;
};

}  // namespace zhisuan::agent
