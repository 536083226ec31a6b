#pragma once
// Leader election on a coordination.k8s.io/v1 Lease, with client-go's protocol so Zhisuan's
// controller replicas and any client-go tool agree on who leads:
//   - acquire: create the Lease, or take it over once its holder has not renewed for
//     leaseDurationSeconds. "Not renewed" is measured on the local clock from the moment this
//     process last saw the record change, never by trusting the remote renewTime (clocks skew).
//   - every write carries the resourceVersion it read, so two candidates racing for an expired
//     Lease cannot both win: the loser gets 409 Conflict.
//   - the leader renews every retry_period and gives up leadership (on_stopped_leading) if it has
//     not renewed within renew_deadline, which is shorter than lease_duration: it stops working
//     before anyone else may start.
//   - on graceful stop the leader releases the Lease (empty holder, 1s duration), so a successor
//     takes over at once instead of waiting out the lease.
// After losing leadership the elector contends again; the callbacks say when to start and stop.

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>

#include "common/clock.h"
#include "kube/client.h"

namespace zhisuan::kube {

struct LeaderElectionConfig {
  std::string lease_namespace;
  std::string lease_name;
  std::string identity;  // unique per candidate: pod name, or hostname + random suffix
  std::chrono::milliseconds lease_duration{15'000};
  std::chrono::milliseconds renew_deadline{10'000};
  std::chrono::milliseconds retry_period{2'000};
  // Acquire attempts wait retry_period * (1 + jitter * random[0,1)) so candidates spread out.
  double acquire_jitter = 1.2;
  bool release_on_stop = true;
  // How often waits re-read the clock; only a clock that jumps (FakeClock) needs it small.
  std::chrono::milliseconds clock_poll{250};
};

// Called on the elector's thread; each must return quickly (start or signal workers, no blocking).
struct LeaderCallbacks {
  std::function<void()> on_started_leading;
  std::function<void()> on_stopped_leading;
  // The holder changed (including to this identity). Not called for an empty (released) holder.
  std::function<void(const std::string& identity)> on_new_leader;
};

class LeaderElector {
 public:
  // InvalidArgument unless identity and lease name are set and
  // lease_duration > renew_deadline > retry_period * (1 + acquire_jitter).
  static StatusOr<std::unique_ptr<LeaderElector>> Create(ApiClientPtr client,
                                                         LeaderElectionConfig config,
                                                         LeaderCallbacks callbacks,
                                                         ClockPtr clock = SystemClock());
  ~LeaderElector();
  LeaderElector(const LeaderElector&) = delete;
  LeaderElector& operator=(const LeaderElector&) = delete;

  // One attempt to acquire or renew; true when this identity holds the Lease afterwards. Run()
  // loops over it; tests drive it directly on a FakeClock.
  bool TryAcquireOrRenew();
  // Gives the Lease up if this identity holds it. Run() calls it on stop when release_on_stop.
  Status Release();

  // Contends, leads, renews, until Stop(). Blocks.
  void Run();
  // Run() on a thread of its own.
  void Start();
  // Ends Run(): releases the Lease if leading and release_on_stop, calls on_stopped_leading, and
  // joins the thread started by Start().
  void Stop();

  // Leading, the Lease last seen naming this identity, and renewed within renew_deadline: false
  // as soon as the renewal is overdue (even while an API call that would tell us is still
  // hanging) or a read showed another holder. The controller gates every write on it.
  bool IsLeader() const;
  // The holder as last observed ("" when none or not yet observed).
  std::string ObservedLeader() const;

 private:
  struct LeaseRecord {
    std::string holder;
    int64_t lease_duration_seconds = 0;
    std::string acquire_time;
    std::string renew_time;
    int64_t transitions = 0;
    bool operator==(const LeaseRecord&) const = default;
  };
  LeaderElector(ApiClientPtr client, LeaderElectionConfig config, LeaderCallbacks callbacks,
                ClockPtr clock);
  static LeaseRecord ParseRecord(const Json& lease);
  static Json RecordSpec(const LeaseRecord& record);
  // Remembers `record` as observed now; reports a new holder to on_new_leader.
  void Observe(const LeaseRecord& record, SteadyTime now);
  bool WaitFor(std::chrono::nanoseconds delay);  // false once stopping
  std::chrono::nanoseconds JitteredRetry();
  void SetLeading(bool leading);

  const ApiClientPtr client_;
  const LeaderElectionConfig config_;
  const LeaderCallbacks callbacks_;
  const ClockPtr clock_;
  std::mt19937_64 random_;

  mutable std::mutex mu_;
  std::condition_variable stop_cv_;
  bool stopping_ = false;
  bool leading_ = false;
  SteadyTime last_renew_{};
  LeaseRecord observed_record_;
  SteadyTime observed_time_{};
  std::string reported_leader_;
  std::thread thread_;
};

// RFC 3339 with microseconds in UTC ("2026-11-23T03:40:25.123456Z"): metav1.MicroTime on the wire.
std::string FormatMicroTime(WallTime time);

}  // namespace zhisuan::kube
