#include "kube/request_authorizer.h"

#include "common/log.h"
#include "common/strings.h"

namespace zhisuan::kube {
namespace {

const ResourceType kTokenReviews{"authentication.k8s.io", "v1", "tokenreviews", "TokenReview",
                                 false};
const ResourceType kSubjectAccessReviews{"authorization.k8s.io", "v1", "subjectaccessreviews",
                                         "SubjectAccessReview", false};

Json AttributesJson(const AccessAttributes& attributes) {
  if (!attributes.non_resource_path.empty()) {
    return {{"nonResourceAttributes",
             {{"path", attributes.non_resource_path}, {"verb", attributes.verb}}}};
  }
  return {{"resourceAttributes",
           {{"verb", attributes.verb},
            {"group", attributes.group},
            {"resource", attributes.resource},
            {"subresource", attributes.subresource},
            {"name", attributes.name}}}};
}

std::string Describe(const AccessAttributes& attributes) {
  if (!attributes.non_resource_path.empty()) {
    return StrCat(attributes.verb, " ", attributes.non_resource_path);
  }
  return StrCat(attributes.verb, " ", attributes.resource, "/", attributes.subresource, " in ",
                attributes.group);
}

class KubernetesAuthorizer final : public RequestAuthorizer {
 public:
  KubernetesAuthorizer(ApiClientPtr client, KubernetesAuthorizerOptions options, ClockPtr clock)
      : client_(std::move(client)), options_(std::move(options)), clock_(std::move(clock)) {}

  AccessReview Review(std::string_view authorization) override {
    const std::string token(BearerToken(authorization));
    if (token.empty()) {
      return {AccessDecision::kUnauthenticated, "", "no bearer token"};
    }
    const auto now = clock_->Now();
    {
      std::lock_guard lock(cache_mu_);
      auto it = cache_.find(token);
      if (it != cache_.end() && now < it->second.expires) return it->second.review;
    }
    std::unique_lock review_lock(review_mu_, std::try_to_lock);
    if (!review_lock.owns_lock()) {
      return {AccessDecision::kUnavailable, "", "another review is in flight"};
    }
    AccessReview review = Ask(token);
    if (review.decision != AccessDecision::kUnavailable) {
      std::lock_guard lock(cache_mu_);
      if (cache_.size() >= options_.max_cached) cache_.clear();
      cache_[token] = {review, now + options_.cache_ttl};
    }
    return review;
  }

 private:
  struct Cached {
    AccessReview review;
    SteadyTime expires;
  };

  AccessReview Ask(const std::string& token) {
    StatusOr<Json> authn = client_->Create(kTokenReviews, "",
                                           Json{{"apiVersion", "authentication.k8s.io/v1"},
                                                {"kind", "TokenReview"},
                                                {"spec", {{"token", token}}}});
    if (!authn.ok()) {
      ZLOG(Warning) << "TokenReview failed: " << authn.status();
      return {AccessDecision::kUnavailable, "", "TokenReview failed"};
    }
    const Json status = authn->value("status", Json::object());
    if (!status.value("authenticated", false)) {
      return {AccessDecision::kUnauthenticated, "", status.value("error", "token not accepted")};
    }
    const Json user = status.value("user", Json::object());
    const std::string username = user.value("username", "");
    Json spec = {{"user", username},
                 {"uid", user.value("uid", "")},
                 {"groups", user.value("groups", Json::array())}};
    spec.update(AttributesJson(options_.attributes));
    if (user.contains("extra")) spec["extra"] = user["extra"];
    StatusOr<Json> authz = client_->Create(kSubjectAccessReviews, "",
                                           Json{{"apiVersion", "authorization.k8s.io/v1"},
                                                {"kind", "SubjectAccessReview"},
                                                {"spec", std::move(spec)}});
    if (!authz.ok()) {
      ZLOG(Warning) << "SubjectAccessReview failed: " << authz.status();
      return {AccessDecision::kUnavailable, username, "SubjectAccessReview failed"};
    }
    const Json verdict = authz->value("status", Json::object());
    if (verdict.value("allowed", false) && !verdict.value("denied", false)) {
      return {AccessDecision::kAllowed, username, ""};
    }
    return {AccessDecision::kForbidden, username,
            StrCat("user \"", username, "\" may not ", Describe(options_.attributes))};
  }

  const ApiClientPtr client_;
  const KubernetesAuthorizerOptions options_;
  const ClockPtr clock_;
  std::mutex review_mu_;  // one review in flight
  std::mutex cache_mu_;
  std::map<std::string, Cached> cache_;
};

}  // namespace

std::string_view BearerToken(std::string_view authorization) {
  authorization = StripWhitespace(authorization);
  constexpr std::string_view kScheme = "bearer ";
  if (authorization.size() <= kScheme.size() ||
      AsciiLower(authorization.substr(0, kScheme.size())) != kScheme) {
    return {};
  }
  return StripWhitespace(authorization.substr(kScheme.size()));
}

StatusOr<MetricsAuth> ParseMetricsAuth(std::string_view value) {
  if (value == "none") return MetricsAuth::kNone;
  if (value == "kubernetes") return MetricsAuth::kKubernetes;
  return InvalidArgumentError(StrCat("\"", value, "\": expected \"none\" or \"kubernetes\""));
}

AccessAttributes MetricsAccess() {
  AccessAttributes attributes;
  attributes.verb = "get";
  attributes.non_resource_path = "/metrics";
  return attributes;
}

std::optional<HttpResponse> RefusalFor(const AccessReview& review, std::string_view what) {
  switch (review.decision) {
    case AccessDecision::kAllowed:
      return std::nullopt;
    case AccessDecision::kUnauthenticated: {
      HttpResponse response{401, {}, "unauthorized\n"};
      response.headers.emplace_back("WWW-Authenticate", "Bearer");
      return response;
    }
    case AccessDecision::kForbidden:
      ZLOG(Info) << what << " refused: " << review.reason;
      return HttpResponse{403, {}, StrCat("forbidden: ", review.reason, "\n")};
    case AccessDecision::kUnavailable:
      break;
  }
  HttpResponse response{503, {}, StrCat("cannot authorise now: ", review.reason, "\n")};
  response.headers.emplace_back("Retry-After", "1");
  return response;
}

HttpHandler RequireAccess(RequestAuthorizer& authorizer, std::string what, HttpHandler handler) {
  return [&authorizer, what = std::move(what),
          handler = std::move(handler)](const HttpRequest& request) {
    const AccessReview review = authorizer.Review(request.Header("authorization").value_or(""));
    if (auto refusal = RefusalFor(review, what)) return std::move(*refusal);
    return handler(request);
  };
}

RequestAuthorizerPtr MakeKubernetesAuthorizer(ApiClientPtr client,
                                              KubernetesAuthorizerOptions options, ClockPtr clock) {
  return std::make_unique<KubernetesAuthorizer>(std::move(client), std::move(options),
                                                std::move(clock));
}

}  // namespace zhisuan::kube
