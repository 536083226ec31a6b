#pragma once
// `zhisuan-controller --uninstall-cleanup`: what the chart's post-delete hook runs after
// `helm uninstall`, so that no Zhisuan label, taint or object outlives the release (the CRDs stay,
// as Helm keeps them, and so do the tenants' ComputePools). In order:
//   1. wait, bounded, until no pod of the release's agents and controllers runs, so none of them
//      re-publishes a label or re-binds a node behind the cleanup;
//   2. strip the agent's labels, the zhisuan.io/pool label and the zhisuan.io/pool taint from every
//      Node (one merge patch per node that has any, carrying its resourceVersion; a conflict
//      re-reads the node and tries again);
//   3. delete every ComputeNode;
//   4. release every ComputePool: drop the zhisuan.io/pool-cleanup finalizer (which nothing would
//      remove once the controller is gone, so deleting the pool would hang) and the controller's
//      bookkeeping annotations; the pool itself is the tenant's and stays;
//   5. delete the controller's leader-election Lease.
// Every step is idempotent and goes on past a failed object; the run fails, naming each object it
// could not clean, and a re-run finishes the job.

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/status.h"
#include "kube/client.h"

namespace zhisuan::controller {

struct ControllerConfig;

// The flags of the cleanup mode (controller_config.h parses them).
struct UninstallCleanupOptions {
  bool enabled = false;  // --uninstall-cleanup: run the cleanup and exit
  // --uninstall-pod-selector: the pods that must be gone before the cleanup starts (the release's
  // agents and controllers); "" waits for nothing.
  std::string pod_selector;
  std::string pod_namespace = "zhisuan-system";  // --uninstall-pod-namespace, or $POD_NAMESPACE
  std::chrono::milliseconds pod_wait{std::chrono::seconds(60)};  // --uninstall-pod-wait
};

// The Node labels Zhisuan writes (api/meta.h): the agent's and the pool binding. Other zhisuan.io/
// labels on a Node (zhisuan.io/rack, a site label an energy profile selects on) are the
// operator's and stay.
const std::vector<std::string_view>& ZhisuanNodeLabels();

// The merge patch that strips ZhisuanNodeLabels() and every zhisuan.io/pool taint from `node`,
// with its resourceVersion (the taint list is replaced whole); nullopt when it carries none.
std::optional<kube::Json> NodeCleanupPatch(const kube::Json& node);

// The merge patch that drops the zhisuan.io/pool-cleanup finalizer and the controller's
// annotations from `pool`, with its resourceVersion; nullopt when it carries neither.
std::optional<kube::Json> PoolReleasePatch(const kube::Json& pool);

// What a run changed; errors name their object.
struct CleanupReport {
  int nodes_cleaned = 0;
  int compute_nodes_deleted = 0;
  int pools_released = 0;
  bool lease_deleted = false;
  std::vector<Status> errors;
};

// Where the controller's Lease is (the same flags as the controller's).
struct LeaseName {
  std::string lease_namespace;
  std::string name;
};

class UninstallCleanup {
 public:
  using Sleep = std::function<void(std::chrono::milliseconds)>;

  // `sleep` waits between polls and conflict retries; tests pass one that advances `clock`.
  UninstallCleanup(kube::ApiClientPtr client, const Clock& clock, Sleep sleep,
                   UninstallCleanupOptions options, LeaseName lease);

  // All steps; the report holds every error. Safe to run again.
  CleanupReport Run();

  // The steps, each adding to `report`.
  void WaitForReleasePodsGone(CleanupReport& report);
  void CleanNodes(CleanupReport& report);
  void DeleteComputeNodes(CleanupReport& report);
  void ReleasePools(CleanupReport& report);
  void DeleteLease(CleanupReport& report);

 private:
  // "" when none run; else the running pods, named.
  StatusOr<std::string> RunningReleasePods();
  Status CleanNode(kube::Json node, CleanupReport& report);
  Status ReleasePool(kube::Json pool, CleanupReport& report);

  kube::ApiClientPtr client_;
  const Clock& clock_;
  Sleep sleep_;
  UninstallCleanupOptions options_;
  LeaseName lease_;
};

// The cleanup mode of the binary: connects as the controller would, runs the cleanup, logs what
// it did and every error; the process exit code (0 only when nothing is left).
int RunUninstallCleanup(const ControllerConfig& config);

}  // namespace zhisuan::controller
