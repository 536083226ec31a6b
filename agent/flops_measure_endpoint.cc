#include "agent/flops_measure_endpoint.h"

#include <algorithm>

#include "common/log.h"
#include "common/strings.h"

namespace zhisuan::agent {
namespace {

HttpResponse TooManyRequests(std::chrono::milliseconds retry_after, std::string_view why) {
  const auto seconds =
      std::max<int64_t>(1, std::chrono::ceil<std::chrono::seconds>(retry_after).count());
  HttpResponse response{429, {}, StrCat(why, "\n")};
  response.headers.emplace_back("Retry-After", StrCat(seconds));
  return response;
}

}  // namespace

AccessAttributes FlopsMeasureAccess(const std::string& node_name) {
  return {.verb = "create",
          .group = "zhisuan.io",
          .resource = "computenodes",
          .subresource = "measure",
          .name = node_name,
          .non_resource_path = {}};
}

FlopsMeasureEndpoint::FlopsMeasureEndpoint(RequestAuthorizerPtr authorizer, Trigger trigger,
                                           ClockPtr clock, std::chrono::milliseconds min_interval)
    : authorizer_(std::move(authorizer)),
      trigger_(std::move(trigger)),
      clock_(std::move(clock)),
      min_interval_(min_interval) {}

HttpResponse FlopsMeasureEndpoint::Handle(const HttpRequest& request) {
  const kube::AccessReview review =
      authorizer_->Review(request.Header("authorization").value_or(""));
  if (auto refusal = kube::RefusalFor(review, "POST /flops/measure")) return std::move(*refusal);
  std::lock_guard lock(mu_);
  const SteadyTime now = clock_->Now();
  if (last_run_ && now - *last_run_ < min_interval_) {
    return TooManyRequests(
        std::chrono::duration_cast<std::chrono::milliseconds>(*last_run_ + min_interval_ - now),
        "a FLOPS measurement was requested recently");
  }
  if (trigger_.busy()) return TooManyRequests(min_interval_, "a FLOPS measurement is running");
  last_run_ = now;
  trigger_.request();
  ZLOG(Info) << "POST /flops/measure by \"" << review.user << "\": measuring FLOPS";
  return {202, "application/json", "{\"queued\":true}\n"};
}

}  // namespace zhisuan::agent
