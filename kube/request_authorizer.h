#pragma once
// Authentication and authorisation of HTTP requests by the API server, as kube-rbac-proxy does:
// the bearer token goes to a TokenReview (authentication.k8s.io/v1), and the user it names to a
// SubjectAccessReview (authorization.k8s.io/v1) for one fixed resource attribute. Decisions are
// cached briefly by token, so a client that retries does not cost two API requests each time, and
// at most one review is in flight: a flood of made-up tokens costs the API server one review at a
// time and the caller an immediate kUnavailable, never a connection slot held waiting.
// Both binaries use it: the agent for POST /flops/measure, both for /metrics under
// --metrics-auth=kubernetes (docs/security.md).

#include <chrono>
#include <cstddef>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "common/clock.h"
#include "common/http_server.h"
#include "kube/client.h"

namespace zhisuan::kube {

enum class AccessDecision {
  kAllowed,
  kUnauthenticated,  // no token, or the API server does not accept it: 401
  kForbidden,        // authenticated, not authorised: 403
  kUnavailable,      // the review could not be made now (API error, another in flight): 503
};

struct AccessReview {
  AccessDecision decision = AccessDecision::kUnauthenticated;
  std::string user;    // the authenticated username, when known
  std::string reason;  // for the log and the reply
};

// The attribute a SubjectAccessReview checks: resourceAttributes, or nonResourceAttributes when
// `non_resource_path` is set (then only `verb` counts besides it).
struct AccessAttributes {
  std::string verb;
  std::string group;
  std::string resource;
  std::string subresource;
  std::string name;
  std::string non_resource_path;
};

// --metrics-auth: who may read /metrics. kKubernetes reviews a bearer token with MetricsAccess().
enum class MetricsAuth { kNone, kKubernetes };
StatusOr<MetricsAuth> ParseMetricsAuth(std::string_view value);

// get on the non-resource URL /metrics: what kube-rbac-proxy checks, and what Prometheus' usual
// ClusterRole (nonResourceURLs: [/metrics], verbs: [get]) grants.
AccessAttributes MetricsAccess();

class RequestAuthorizer {
 public:
  virtual ~RequestAuthorizer() = default;
  // `authorization` is the request's Authorization header value, if any.
  virtual AccessReview Review(std::string_view authorization) = 0;
};
using RequestAuthorizerPtr = std::unique_ptr<RequestAuthorizer>;

struct KubernetesAuthorizerOptions {
  AccessAttributes attributes;
  std::chrono::milliseconds cache_ttl{30000};  // allowed and refused alike; errors not cached
  size_t max_cached = 1024;                    // the cache is cleared when it reaches this
};

// Reviews through `client` (which needs create on tokenreviews and subjectaccessreviews).
RequestAuthorizerPtr MakeKubernetesAuthorizer(ApiClientPtr client,
                                              KubernetesAuthorizerOptions options, ClockPtr clock);

// The bearer token in an Authorization header value ("Bearer <token>"), or empty.
std::string_view BearerToken(std::string_view authorization);

// The reply for a review that did not allow the request (401 with WWW-Authenticate, 403, or 503
// with Retry-After); nullopt when it did. `what` names the request in the log ("GET /metrics").
std::optional<HttpResponse> RefusalFor(const AccessReview& review, std::string_view what);

// `handler`, behind `authorizer` (which must outlive the handler).
HttpHandler RequireAccess(RequestAuthorizer& authorizer, std::string what, HttpHandler handler);

}  // namespace zhisuan::kube
