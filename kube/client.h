#pragma once
// The Kubernetes API as Zhisuan's components see it: untyped JSON objects addressed by resource
// type, namespace and name. Everything above (informers, leader election, events, the agent's
// publisher, the controller's executor) is written against ApiClient so unit tests can replace it;
// the real implementation speaks REST over HTTPS with verification always on.

#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "common/strings.h"

namespace zhisuan::kube {

using Json = nlohmann::json;

// A kind of resource on the API server. Built-in kinds are below; custom resources come from
// the package that defines them (Zhisuan's in api/group_version.h), not from this client.
struct ResourceType {
  std::string group;     // "" for the core group
  std::string version;   // "v1", "v1alpha1"
  std::string resource;  // plural, as in the URL: "nodes", "leases"
  std::string kind;      // "Node", "Lease"
  bool namespaced = false;

  // "v1" or "apps/v1", as objects carry it in apiVersion.
  std::string ApiVersion() const { return group.empty() ? version : group + "/" + version; }
};

inline const ResourceType kNodes{"", "v1", "nodes", "Node", false};
inline const ResourceType kPods{"", "v1", "pods", "Pod", true};
inline const ResourceType kConfigMaps{"", "v1", "configmaps", "ConfigMap", true};
inline const ResourceType kEvents{"", "v1", "events", "Event", true};
inline const ResourceType kLeases{"coordination.k8s.io", "v1", "leases", "Lease", true};

struct ListOptions {
  std::string label_selector;
  std::string field_selector;
  int64_t limit = 0;           // 0: no paging
  std::string continue_token;  // from the previous page
  std::string resource_version;
  std::string resource_version_match;  // "", "NotOlderThan", "Exact"
  // Watch only.
  bool allow_watch_bookmarks = true;
  int64_t timeout_seconds = 0;  // 0: server default
};

struct ObjectList {
  std::vector<Json> items;
  std::string resource_version;  // of the list, where a watch should start
  std::string continue_token;    // empty on the last page
};

enum class PatchType {
  kMerge,           // application/merge-patch+json
  kJson,            // application/json-patch+json
  kStrategicMerge,  // application/strategic-merge-patch+json (built-in types only)
  kApply,           // application/apply-patch+yaml: server-side apply; needs a field manager
};

struct PatchOptions {
  std::string field_manager;  // required for kApply
  bool force = false;         // kApply: take ownership of conflicting fields
  std::string subresource;    // "" or "status"
};

struct DeleteOptions {
  std::string precondition_uid;
  std::string precondition_resource_version;
};

struct WatchEvent {
  enum class Type { kAdded, kModified, kDeleted, kBookmark, kError };
  Type type = Type::kError;
  Json object;  // for kError, the metav1.Status the server sent (code 410 means relist)
};

// One open watch. Next() blocks until an event arrives, the stream ends (nullopt: the server
// closed it cleanly, e.g. timeoutSeconds elapsed), or it breaks (a Status).
class WatchStream {
 public:
  virtual ~WatchStream() = default;
  virtual StatusOr<std::optional<WatchEvent>> Next() = 0;
  // Unblocks Next() from another thread; it then returns nullopt or Cancelled.
  virtual void Cancel() = 0;
};
using WatchStreamPtr = std::unique_ptr<WatchStream>;

// Errors map to these codes, which the predicates below test:
//   404 NotFound -> kNotFound           409 AlreadyExists -> kAlreadyExists
//   409 Conflict -> kAborted            410 Gone/Expired  -> kOutOfRange
//   400 BadRequest, 422 Invalid -> kInvalidArgument (message carries the server's causes)
//   401 -> kUnauthenticated   403 -> kPermissionDenied   429 -> kResourceExhausted
//   5xx, connection failures -> kUnavailable   timeouts -> kDeadlineExceeded
class ApiClient {
 public:
  virtual ~ApiClient() = default;
  virtual StatusOr<Json> Get(const ResourceType& type, std::string_view ns,
                             std::string_view name) = 0;
  // One page; see ListAll for every page.
  virtual StatusOr<ObjectList> List(const ResourceType& type, std::string_view ns,
                                    const ListOptions& options) = 0;
  virtual StatusOr<Json> Create(const ResourceType& type, std::string_view ns,
                                const Json& object) = 0;
  // POST to a subresource of one object, e.g. pods/<name>/eviction. Clients that need not send
  // one (test doubles) keep this default.
  virtual StatusOr<Json> CreateSubresource(const ResourceType& type, std::string_view ns,
                                           std::string_view name, std::string_view subresource,
                                           const Json& object) {
    (void)object;
    return UnimplementedError(StrCat("POST ", type.resource, "/", name, "/", subresource,
                                     " (namespace ", ns, ") is not supported by this client"));
  }
  // PUT; optimistic concurrency through metadata.resourceVersion in `object`.
  virtual StatusOr<Json> Update(const ResourceType& type, const Json& object) = 0;
  virtual StatusOr<Json> UpdateStatus(const ResourceType& type, const Json& object) = 0;
  virtual Status Delete(const ResourceType& type, std::string_view ns, std::string_view name,
                        const DeleteOptions& options = {}) = 0;
  virtual StatusOr<Json> Patch(const ResourceType& type, std::string_view ns, std::string_view name,
                               PatchType patch_type, const Json& patch,
                               const PatchOptions& options = {}) = 0;
  virtual StatusOr<WatchStreamPtr> Watch(const ResourceType& type, std::string_view ns,
                                         const ListOptions& options) = 0;
};
using ApiClientPtr = std::shared_ptr<ApiClient>;

bool IsNotFound(const Status& status);
bool IsAlreadyExists(const Status& status);
bool IsConflict(const Status& status);
bool IsGone(const Status& status);
bool IsInvalid(const Status& status);
bool IsForbidden(const Status& status);
bool IsUnauthorized(const Status& status);
bool IsTooManyRequests(const Status& status);
// Worth retrying as is: 429, 5xx, connection failures and timeouts.
bool IsRetryable(const Status& status);

// Every page of a list, following continue tokens.
StatusOr<ObjectList> ListAll(ApiClient& client, const ResourceType& type, std::string_view ns,
                             ListOptions options);

}  // namespace zhisuan::kube
