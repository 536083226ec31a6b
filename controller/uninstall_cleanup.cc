#include "controller/uninstall_cleanup.h"

#include <algorithm>
#include <thread>
#include <utility>

#include "api/group_version.h"
#include "api/meta.h"
#include "common/log.h"
#include "common/strings.h"
#include "controller/controller_config.h"
#include "controller/reconcile/snapshot.h"
#include "kube/config.h"
#include "kube/rest_client.h"
#include "kube/retry.h"

namespace zhisuan::controller {
namespace {

using kube::Json;

constexpr char kFieldManager[] = "zhisuan-uninstall-cleanup";
constexpr int kConflictAttempts = 5;
constexpr std::chrono::seconds kPodPollInterval{1};
constexpr int64_t kPageSize = 500;

std::string NameOf(const Json& object) {
  return object.value("/metadata/name"_json_pointer, std::string());
}

std::string ResourceVersionOf(const Json& object) {
  return object.value("/metadata/resourceVersion"_json_pointer, std::string());
}

// "nodes/gpu-1", "computepools/team-a/train": how errors name an object.
std::string Describe(const kube::ResourceType& type, const Json& object) {
  const std::string ns = object.value("/metadata/namespace"_json_pointer, std::string());
  return StrCat(type.resource, "/", ns.empty() ? "" : ns + "/", NameOf(object));
}

StatusOr<std::vector<Json>> ListEverything(kube::ApiClient& client, const kube::ResourceType& type,
                                           const std::string& label_selector = "",
                                           const std::string& ns = "") {
  kube::ListOptions options;
  options.limit = kPageSize;
  options.label_selector = label_selector;
  auto list = kube::ListAll(client, type, ns, options);
  if (!list.ok()) return list.status().Annotate(StrCat("list ", type.resource));
  return std::move(list->items);
}

bool IsPoolTaint(const Json& taint) {
  return taint.is_object() && taint.value("key", std::string()) == api::kPoolTaintKey;
}

bool IsFinished(const Json& pod) {
  const std::string phase = pod.value("/status/phase"_json_pointer, std::string());
  return phase == "Succeeded" || phase == "Failed";
}

}  // namespace

const std::vector<std::string_view>& ZhisuanNodeLabels() {
  static const std::vector<std::string_view> labels = {
      api::kLabelVendor,           api::kLabelProduct,
      api::kLabelAcceleratorCount, api::kLabelAcceleratorMemory,
      api::kLabelArchitecture,     api::kPoolLabel};
  return labels;
}

std::optional<Json> NodeCleanupPatch(const Json& node) {
  Json metadata = {{"resourceVersion", ResourceVersionOf(node)}};
  const Json labels = node.value("/metadata/labels"_json_pointer, Json::object());
  for (std::string_view key : ZhisuanNodeLabels()) {
    if (labels.contains(std::string(key))) metadata["labels"][std::string(key)] = nullptr;
  }
  const Json taints = node.value("/spec/taints"_json_pointer, Json::array());
  Json kept = Json::array();
  for (const Json& taint : taints) {
    if (!IsPoolTaint(taint)) kept.push_back(taint);
  }
  const bool strips_taints = taints.is_array() && kept.size() != taints.size();
  if (!metadata.contains("labels") && !strips_taints) return std::nullopt;
  Json patch = {{"metadata", std::move(metadata)}};
  // A merge patch replaces a list whole; the resourceVersion makes that safe against a concurrent
  // writer (409, then a re-read).
  if (strips_taints) patch["spec"]["taints"] = kept.empty() ? Json(nullptr) : std::move(kept);
  return patch;
}

std::optional<Json> PoolReleasePatch(const Json& pool) {
  Json metadata = {{"resourceVersion", ResourceVersionOf(pool)}};
  const Json finalizers = pool.value("/metadata/finalizers"_json_pointer, Json::array());
  Json kept = Json::array();
  for (const Json& finalizer : finalizers) {
    if (!finalizer.is_string() || finalizer.get<std::string>() != api::kPoolFinalizer) {
      kept.push_back(finalizer);
    }
  }
  if (finalizers.is_array() && kept.size() != finalizers.size()) {
    metadata["finalizers"] = kept.empty() ? Json(nullptr) : std::move(kept);
  }
  const Json annotations = pool.value("/metadata/annotations"_json_pointer, Json::object());
  for (std::string_view key : {kImpairedSinceAnnotation, kDrainingSinceAnnotation}) {
    if (annotations.contains(std::string(key))) metadata["annotations"][std::string(key)] = nullptr;
  }
  if (!metadata.contains("finalizers") && !metadata.contains("annotations")) return std::nullopt;
  return Json{{"metadata", std::move(metadata)}};
}

UninstallCleanup::UninstallCleanup(kube::ApiClientPtr client, const Clock& clock, Sleep sleep,
                                   UninstallCleanupOptions options, LeaseName lease)
    : client_(std::move(client)),
      clock_(clock),
      sleep_(std::move(sleep)),
      options_(std::move(options)),
      lease_(std::move(lease)) {}

CleanupReport UninstallCleanup::Run() {
  CleanupReport report;
  WaitForReleasePodsGone(report);
  CleanNodes(report);
  DeleteComputeNodes(report);
  // After the nodes: a pool released while a node still carried its binding would orphan it.
  ReleasePools(report);
  DeleteLease(report);
  return report;
}

StatusOr<std::string> UninstallCleanup::RunningReleasePods() {
  ZHISUAN_ASSIGN_OR_RETURN(
      std::vector<Json> pods,
      ListEverything(*client_, kube::kPods, options_.pod_selector, options_.pod_namespace));
  std::vector<std::string> running;
  for (const Json& pod : pods) {
    if (!IsFinished(pod)) running.push_back(NameOf(pod));
  }
  return StrJoin(running, ", ");
}

void UninstallCleanup::WaitForReleasePodsGone(CleanupReport& report) {
  if (options_.pod_selector.empty()) return;
  const SteadyTime deadline = clock_.Now() + options_.pod_wait;
  StatusOr<std::string> running = RunningReleasePods();
  while (!running.ok() || !running->empty()) {
    if (clock_.Now() >= deadline) break;
    sleep_(kPodPollInterval);
    running = RunningReleasePods();
  }
  if (!running.ok()) {
    report.errors.push_back(running.status().Annotate(
        StrCat("waiting for pods ", options_.pod_selector, " in ", options_.pod_namespace)));
  } else if (!running->empty()) {
    // The cleanup goes on: what a pod on a lost node holds would otherwise stay for good. A pod
    // still running may write again, so the run fails and is worth repeating.
    report.errors.push_back(DeadlineExceededError(
        StrCat("pods of the release still run after ", options_.pod_wait.count(), "ms (namespace ",
               options_.pod_namespace, "): ", *running,
               "; they may re-publish labels or ComputeNodes: run the cleanup again once they "
               "are gone")));
  }
}

Status UninstallCleanup::CleanNode(Json node, CleanupReport& report) {
  const std::string name = NameOf(node);
  bool listed_copy = true;  // the first attempt patches the listed object; a retry re-reads it
  return kube::RetryOnConflict(
      [&]() -> Status {
        if (!listed_copy) {
          auto fresh = client_->Get(kube::kNodes, "", name);
          if (!fresh.ok()) return kube::IsNotFound(fresh.status()) ? OkStatus() : fresh.status();
          node = std::move(*fresh);
        }
        listed_copy = false;
        std::optional<Json> patch = NodeCleanupPatch(node);
        if (!patch) return OkStatus();
        auto patched = client_->Patch(kube::kNodes, "", name, kube::PatchType::kMerge, *patch,
                                      {kFieldManager, false, ""});
        if (patched.ok()) ++report.nodes_cleaned;
        if (!patched.ok() && kube::IsNotFound(patched.status())) return OkStatus();
        return patched.status();
      },
      kConflictAttempts, sleep_);
}

void UninstallCleanup::CleanNodes(CleanupReport& report) {
  auto nodes = ListEverything(*client_, kube::kNodes);
  if (!nodes.ok()) {
    report.errors.push_back(nodes.status());
    return;
  }
  for (Json& node : *nodes) {
    const std::string described = Describe(kube::kNodes, node);
    Status cleaned = CleanNode(std::move(node), report);
    if (!cleaned.ok()) report.errors.push_back(cleaned.Annotate(StrCat("patch ", described)));
  }
}

void UninstallCleanup::DeleteComputeNodes(CleanupReport& report) {
  const kube::ResourceType type = api::kComputeNodes;
  auto compute_nodes = ListEverything(*client_, type);
  if (!compute_nodes.ok()) {
    report.errors.push_back(compute_nodes.status());
    return;
  }
  for (const Json& compute_node : *compute_nodes) {
    if (compute_node.contains("/metadata/deletionTimestamp"_json_pointer)) continue;
    Status deleted = client_->Delete(type, "", NameOf(compute_node));
    if (deleted.ok()) ++report.compute_nodes_deleted;
    if (!deleted.ok() && !kube::IsNotFound(deleted)) {
      report.errors.push_back(deleted.Annotate(StrCat("delete ", Describe(type, compute_node))));
    }
  }
}

Status UninstallCleanup::ReleasePool(Json pool, CleanupReport& report) {
  const kube::ResourceType type = api::kComputePools;
  const std::string ns = pool.value("/metadata/namespace"_json_pointer, std::string());
  const std::string name = NameOf(pool);
  bool listed_copy = true;
  return kube::RetryOnConflict(
      [&]() -> Status {
        if (!listed_copy) {
          auto fresh = client_->Get(type, ns, name);
          if (!fresh.ok()) return kube::IsNotFound(fresh.status()) ? OkStatus() : fresh.status();
          pool = std::move(*fresh);
        }
        listed_copy = false;
        std::optional<Json> patch = PoolReleasePatch(pool);
        if (!patch) return OkStatus();
        auto patched = client_->Patch(type, ns, name, kube::PatchType::kMerge, *patch,
                                      {kFieldManager, false, ""});
        // A pool being deleted goes with its last finalizer: released all the same.
        if (patched.ok() || kube::IsNotFound(patched.status())) {
          ++report.pools_released;
          return OkStatus();
        }
        return patched.status();
      },
      kConflictAttempts, sleep_);
}

void UninstallCleanup::ReleasePools(CleanupReport& report) {
  const kube::ResourceType type = api::kComputePools;
  auto pools = ListEverything(*client_, type);
  if (!pools.ok()) {
    report.errors.push_back(pools.status());
    return;
  }
  for (Json& pool : *pools) {
    const std::string described = Describe(type, pool);
    Status released = ReleasePool(std::move(pool), report);
    if (!released.ok()) report.errors.push_back(released.Annotate(StrCat("patch ", described)));
  }
}

void UninstallCleanup::DeleteLease(CleanupReport& report) {
  if (lease_.name.empty()) return;
  Status deleted = client_->Delete(kube::kLeases, lease_.lease_namespace, lease_.name);
  if (deleted.ok()) report.lease_deleted = true;
  if (!deleted.ok() && !kube::IsNotFound(deleted)) {
    report.errors.push_back(
        deleted.Annotate(StrCat("delete leases/", lease_.lease_namespace, "/", lease_.name)));
  }
}

int RunUninstallCleanup(const ControllerConfig& config) {
  auto resolved = kube::ResolveClientConfig(config.kubeconfig, config.context);
  if (!resolved.ok()) {
    ZLOG(Error) << "--kubeconfig: " << resolved.status().message();
    return 1;
  }
  auto client = kube::NewRestClient(*resolved);
  if (!client.ok()) {
    ZLOG(Error) << "API client: " << client.status().message();
    return 1;
  }
  const ClockPtr clock = SystemClock();
  UninstallCleanup cleanup(
      *client, *clock, [](std::chrono::milliseconds delay) { std::this_thread::sleep_for(delay); },
      config.uninstall, {config.lease_namespace, config.lease_name});
  const CleanupReport report = cleanup.Run();
  ZLOG(Info) << "uninstall cleanup: " << report.nodes_cleaned << " node(s) unlabelled, "
             << report.compute_nodes_deleted << " ComputeNode(s) deleted, " << report.pools_released
             << " ComputePool(s) released"
             << (report.lease_deleted ? ", the leader-election Lease deleted" : "");
  for (const Status& error : report.errors) ZLOG(Error) << error.message();
  if (report.errors.empty()) return 0;
  ZLOG(Error) << report.errors.size() << " error(s); the cleanup is safe to run again";
  return 1;
}

}  // namespace zhisuan::controller
