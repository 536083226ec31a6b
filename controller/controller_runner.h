#pragma once
// zhisuan-controller's run loop, apart from main.cc so its sequencing is unit-tested
// (tests/unit/controller/controller_runner_test.cc):
//   - informers run on every replica; reconcile workers start once this replica leads AND the
//     caches have synced, whichever comes last (workers started earlier would plan from partial
//     caches); without --leader-elect the replica leads from the start;
//   - /readyz answers once the caches have synced;
//   - losing leadership while running exits the process (another replica may be writing already;
//     stopping mid-plan is safe since every write is conditional, carrying on is not);
//   - every write is gated on leadership (MayWrite): the executor asks before each write, so a
//     plan made while leading and applied after the Lease was lost, taken over or left unrenewed
//     past the renew deadline writes nothing further;
//   - on a stop signal: the sync wait ends, the workers and informers stop (in-flight reconciles
//     finish, so every write has landed or failed), and only then is the Lease released (so a
//     successor takes over at once, and never writes beside a straggler of ours). Until issue 17
//     the release came first, which let a successor lead while our last writes were in flight.

#include <prometheus/registry.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "common/status.h"
#include "common/tls_server.h"
#include "controller/controller_config.h"
#include "kube/client.h"
#include "kube/leader_election.h"
#include "kube/request_authorizer.h"

namespace zhisuan::controller {

// What the run loop starts and stops: PoolController in the binary, a recording fake in tests.
class ReconcileWorkers {
 public:
  virtual ~ReconcileWorkers() = default;
  virtual bool WaitForSync(std::chrono::milliseconds timeout) = 0;
  virtual bool HasSynced() = 0;
  virtual void StartWorkers() = 0;  // idempotent
  virtual void Stop() = 0;
};

// A bid for leadership (kube::LeaderElector in the binary). Start returns at once; Stop releases
// the Lease if held and calls the on_stopped_leading callback.
class LeadershipCampaign {
 public:
  virtual ~LeadershipCampaign() = default;
  virtual void Start() = 0;
  virtual void Stop() = 0;
  // Holds the Lease right now and has renewed it within the renew deadline
  // (kube::LeaderElector::IsLeader). Called before every write, from the worker threads.
  virtual bool HoldsLeadership() const = 0;
};

// What the run loop reports to the rest of the process.
struct RunLoopHooks {
  std::function<void(bool leading)> set_leader;  // the zhisuan_controller leader gauge
  std::function<void()> mark_ready;              // /readyz answers from now on
  // Leadership lost while not shutting down. Default: log and _Exit(1), so the restart contends
  // afresh.
  std::function<void()> exit_on_lost_leadership;
};

// Sequences the workers against leadership, cache sync and shutdown; see the header comment.
class ControllerRunLoop {
 public:
  // `lease` ("namespace/name") is for the log only. `workers` must outlive the loop.
  ControllerRunLoop(ReconcileWorkers& workers, bool leader_elect, std::string lease,
                    RunLoopHooks hooks);
  ControllerRunLoop(const ControllerRunLoop&) = delete;
  ControllerRunLoop& operator=(const ControllerRunLoop&) = delete;

  // Callbacks for the LeaderElector that `campaign` wraps (called on the elector's thread).
  kube::LeaderCallbacks LeaderCallbacks();

  // Starts `campaign` (null without leader election) and the wait for the caches, blocks in
  // `wait_for_stop` (main: sigwait), then shuts down in the order of the header comment.
  void Run(LeadershipCampaign* campaign, const std::function<void()>& wait_for_stop);

  // Whether a write may go out now: without leader election always; with it, only while this
  // replica leads (started, not stopped) and the campaign still holds a fresh Lease. The gate the
  // PlanExecutor checks before each write (PoolControllerOptions::may_write).
  bool MayWrite() const;

 private:
  void OnStartedLeading();
  void OnStoppedLeading();
  // Waits for the caches, but not for ever: a stop signal still stops the process promptly.
  void WaitForCachesThenStart();

  ReconcileWorkers& workers_;
  const bool leader_elect_;
  const std::string lease_;
  const RunLoopHooks hooks_;
  std::atomic<bool> shutting_down_{false};
  std::atomic<bool> leading_;
  // Set by Run before the campaign starts, so before any worker can ask MayWrite.
  std::atomic<const LeadershipCampaign*> campaign_{nullptr};
};

// /metrics, /healthz and /readyz on one port, served by the agent's server (common/http_server.h:
// bounded concurrent connections, a whole-request deadline, size limits). /readyz answers 503
// until MarkReady.
// With `tls` it serves HTTPS; with `authorizer`, /metrics asks for a bearer token it accepts
// (/healthz and /readyz stay open: the kubelet's probes carry none).
struct MetricsSecurity {
  std::shared_ptr<TlsServerContext> tls;
  kube::RequestAuthorizerPtr authorizer;
  bool require_client_certificate = false;  // /metrics only: one the TLS client CA verified
};

class MetricsEndpoint {
 public:
  // `address` is HOST:PORT or :PORT (all interfaces). Errors name neither flag nor binary.
  static StatusOr<std::unique_ptr<MetricsEndpoint>> Create(
      std::string_view address, const std::shared_ptr<prometheus::Registry>& registry,
      MetricsSecurity security = {});
  ~MetricsEndpoint();
  void MarkReady();
  // The bound port (for tests binding port 0).
  int port() const;

 private:
  struct Impl;
  explicit MetricsEndpoint(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// The clients the controller talks through, before request counting is added.
struct ApiClients {
  kube::ApiClientPtr client;
  // Leader election's own client: one attempt per request, timed out at the renew deadline (see
  // ConnectToApiServer). Null when --leader-elect=false.
  kube::ApiClientPtr election_client;
};

// Resolves the kubeconfig and builds the clients. Errors start with what is at fault
// ("--kubeconfig: ...", "API client: ...").
StatusOr<ApiClients> ConnectToApiServer(const ControllerConfig& config);

// $POD_NAME, else the hostname and a random suffix: unique per candidate for the Lease.
std::string ControllerIdentity();

// Runs the controller until `wait_for_stop` returns; the process exit code (errors are written to
// stderr, naming the flag at fault).
int RunController(const ControllerConfig& config, const ApiClients& clients,
                  const std::string& identity, const std::function<void()>& wait_for_stop);

}  // namespace zhisuan::controller
