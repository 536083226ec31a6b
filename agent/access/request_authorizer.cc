#include "agent/access/request_authorizer.h"

#include "common/log.h"
#include "common/strings.h"

namespace zhisuan::agent {
namespace {

const kube::ResourceType kTokenReviews{"authentication.k8s.io", "v1", "tokenreviews", "TokenReview",
                                       false};
const kube::ResourceType kSubjectAccessReviews{"authorization.k8s.io", "v1", "subjectaccessreviews",
                                               "SubjectAccessReview", false};

class KubernetesAuthorizer final : public RequestAuthorizer {
 public:
  KubernetesAuthorizer(kube::ApiClientPtr client, KubernetesAuthorizerOptions options,
                       ClockPtr clock)
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
    StatusOr<kube::Json> authn =
        client_->Create(kTokenReviews, "",
                        kube::Json{{"apiVersion", "authentication.k8s.io/v1"},
                                   {"kind", "TokenReview"},
                                   {"spec", {{"token", token}}}});
    if (!authn.ok()) {
      ZLOG(Warning) << "TokenReview failed: " << authn.status();
      return {AccessDecision::kUnavailable, "", "TokenReview failed"};
    }
    const kube::Json status = authn->value("status", kube::Json::object());
    if (!status.value("authenticated", false)) {
      return {AccessDecision::kUnauthenticated, "", status.value("error", "token not accepted")};
    }
    const kube::Json user = status.value("user", kube::Json::object());
    const std::string username = user.value("username", "");
    kube::Json spec = {{"user", username},
                       {"uid", user.value("uid", "")},
                       {"groups", user.value("groups", kube::Json::array())},
                       {"resourceAttributes",
                        {{"verb", options_.attributes.verb},
                         {"group", options_.attributes.group},
                         {"resource", options_.attributes.resource},
                         {"subresource", options_.attributes.subresource},
                         {"name", options_.attributes.name}}}};
    if (user.contains("extra")) spec["extra"] = user["extra"];
    StatusOr<kube::Json> authz =
        client_->Create(kSubjectAccessReviews, "",
                        kube::Json{{"apiVersion", "authorization.k8s.io/v1"},
                                   {"kind", "SubjectAccessReview"},
                                   {"spec", std::move(spec)}});
    if (!authz.ok()) {
      ZLOG(Warning) << "SubjectAccessReview failed: " << authz.status();
      return {AccessDecision::kUnavailable, username, "SubjectAccessReview failed"};
    }
    const kube::Json verdict = authz->value("status", kube::Json::object());
    if (verdict.value("allowed", false) && !verdict.value("denied", false)) {
      return {AccessDecision::kAllowed, username, ""};
    }
    return {AccessDecision::kForbidden, username,
            StrCat("user \"", username, "\" may not ", options_.attributes.verb, " ",
                   options_.attributes.resource, "/", options_.attributes.subresource, " in ",
                   options_.attributes.group)};
  }

  const kube::ApiClientPtr client_;
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

RequestAuthorizerPtr MakeKubernetesAuthorizer(kube::ApiClientPtr client,
                                              KubernetesAuthorizerOptions options, ClockPtr clock) {
  return std::make_unique<KubernetesAuthorizer>(std::move(client), std::move(options),
                                                std::move(clock));
}

}  // namespace zhisuan::agent
