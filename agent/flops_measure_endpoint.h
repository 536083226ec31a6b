#pragma once
// POST /flops/measure (--flops-measure-endpoint=authenticated; off by default). A run saturates
// every idle accelerator and every CPU core for about a second, so the trigger is guarded three
// ways: the caller must hold create on computenodes/measure in zhisuan.io for this node
// (RequestAuthorizer: TokenReview, then SubjectAccessReview), one run at a time, and at most one
// requested run per `min_interval` (429 with Retry-After otherwise).

#include <chrono>
#include <functional>
#include <mutex>
#include <optional>

#include "common/clock.h"
#include "common/http_server.h"
#include "kube/request_authorizer.h"

namespace zhisuan::agent {

using kube::AccessAttributes;
using kube::RequestAuthorizerPtr;

// The SubjectAccessReview attribute that authorises a probe run on `node_name`.
AccessAttributes FlopsMeasureAccess(const std::string& node_name);

class FlopsMeasureEndpoint {
 public:
  struct Trigger {
    std::function<bool()> busy;     // a run is queued or running
    std::function<void()> request;  // queue a run
  };
  FlopsMeasureEndpoint(RequestAuthorizerPtr authorizer, Trigger trigger, ClockPtr clock,
                       std::chrono::milliseconds min_interval);

  HttpResponse Handle(const HttpRequest& request);

 private:
  const RequestAuthorizerPtr authorizer_;
  const Trigger trigger_;
  const ClockPtr clock_;
  const std::chrono::milliseconds min_interval_;
  std::mutex mu_;
  std::optional<SteadyTime> last_run_;
};

}  // namespace zhisuan::agent
