#include "agent/flops_measure_endpoint.h"

#include <gtest/gtest.h>

#include "common/clock.h"

namespace zhisuan::agent {
namespace {

// Answers TokenReviews from a token -> user table and SubjectAccessReviews from a set of allowed
// users; records what it was asked.
class ReviewingApiClient final : public kube::ApiClient {
 public:
  std::map<std::string, std::string> users;  // token -> username
  std::set<std::string> allowed;
  std::vector<kube::Json> asked;

  StatusOr<kube::Json> Create(const kube::ResourceType& type, std::string_view,
                              const kube::Json& object) override {
    asked.push_back(object);
    kube::Json reply = object;
    if (type.resource == "tokenreviews") {
      auto it = users.find(object["spec"]["token"].get<std::string>());
      reply["status"] = it == users.end()
                            ? kube::Json{{"authenticated", false}}
                            : kube::Json{{"authenticated", true},
                                         {"user", {{"username", it->second}, {"groups", {"g"}}}}};
    } else {
      reply["status"] = {{"allowed", allowed.count(object["spec"]["user"].get<std::string>()) > 0}};
    }
    return reply;
  }
  StatusOr<kube::Json> Get(const kube::ResourceType&, std::string_view, std::string_view) override {
    return UnimplementedError("");
  }
  StatusOr<kube::ObjectList> List(const kube::ResourceType&, std::string_view,
                                  const kube::ListOptions&) override {
    return UnimplementedError("");
  }
  StatusOr<kube::Json> Update(const kube::ResourceType&, const kube::Json&) override {
    return UnimplementedError("");
  }
  StatusOr<kube::Json> UpdateStatus(const kube::ResourceType&, const kube::Json&) override {
    return UnimplementedError("");
  }
  Status Delete(const kube::ResourceType&, std::string_view, std::string_view,
                const kube::DeleteOptions&) override {
    return UnimplementedError("");
  }
  StatusOr<kube::Json> Patch(const kube::ResourceType&, std::string_view, std::string_view,
                             kube::PatchType, const kube::Json&,
                             const kube::PatchOptions&) override {
    return UnimplementedError("");
  }
  StatusOr<kube::WatchStreamPtr> Watch(const kube::ResourceType&, std::string_view,
                                       const kube::ListOptions&) override {
    return UnimplementedError("");
  }
};

HttpRequest Post(std::string authorization) {
  HttpRequest request;
  request.method = "POST";
  request.path = "/flops/measure";
  if (!authorization.empty()) request.headers.emplace_back("authorization", authorization);
  return request;
}

struct Fixture {
  std::shared_ptr<ReviewingApiClient> api = std::make_shared<ReviewingApiClient>();
  std::shared_ptr<FakeClock> clock = std::make_shared<FakeClock>();
  int runs = 0;
  bool busy = false;
  std::unique_ptr<FlopsMeasureEndpoint> endpoint;

  Fixture() {
    api->users = {{"good", "system:serviceaccount:ops:prober"}, {"nobody", "someone"}};
    api->allowed = {"system:serviceaccount:ops:prober"};
    kube::KubernetesAuthorizerOptions options;
    options.attributes = FlopsMeasureAccess("node-a");
    endpoint = std::make_unique<FlopsMeasureEndpoint>(
        kube::MakeKubernetesAuthorizer(api, options, clock),
        FlopsMeasureEndpoint::Trigger{.busy = [this] { return busy; },
                                      .request = [this] { ++runs; }},
        clock, std::chrono::seconds(60));
  }
};

TEST(FlopsMeasureEndpointTest, UnauthenticatedForbiddenAllowedThenRateLimited) {
  Fixture f;
  EXPECT_EQ(f.endpoint->Handle(Post("")).status, 401);
  EXPECT_TRUE(f.api->asked.empty());  // no token: no review
  EXPECT_EQ(f.endpoint->Handle(Post("Bearer made-up")).status, 401);
  EXPECT_EQ(f.endpoint->Handle(Post("Bearer nobody")).status, 403);
  EXPECT_EQ(f.runs, 0);

  const HttpResponse ok = f.endpoint->Handle(Post("Bearer good"));
  EXPECT_EQ(ok.status, 202);
  EXPECT_EQ(f.runs, 1);
  // The SubjectAccessReview asks for create on computenodes/measure for this node.
  const kube::Json& sar = f.api->asked.back();
  EXPECT_EQ(sar["kind"], "SubjectAccessReview");
  EXPECT_EQ(sar["spec"]["resourceAttributes"]["verb"], "create");
  EXPECT_EQ(sar["spec"]["resourceAttributes"]["group"], "zhisuan.io");
  EXPECT_EQ(sar["spec"]["resourceAttributes"]["resource"], "computenodes");
  EXPECT_EQ(sar["spec"]["resourceAttributes"]["subresource"], "measure");
  EXPECT_EQ(sar["spec"]["resourceAttributes"]["name"], "node-a");

  const size_t reviews = f.api->asked.size();
  const HttpResponse again = f.endpoint->Handle(Post("Bearer good"));
  EXPECT_EQ(again.status, 429);
  ASSERT_EQ(again.headers.size(), 1u);
  EXPECT_EQ(again.headers[0].first, "Retry-After");
  EXPECT_EQ(again.headers[0].second, "60");
  EXPECT_EQ(f.api->asked.size(), reviews);  // the decision was cached
  EXPECT_EQ(f.runs, 1);

  f.clock->Advance(std::chrono::seconds(61));
  f.busy = true;  // one run at a time
  EXPECT_EQ(f.endpoint->Handle(Post("Bearer good")).status, 429);
  f.busy = false;
  EXPECT_EQ(f.endpoint->Handle(Post("Bearer good")).status, 202);
  EXPECT_EQ(f.runs, 2);
}

// GET /metrics under --metrics-auth=kubernetes: the same reviewer, asking about the non-resource
// URL /metrics (what kube-rbac-proxy asks, and what a ClusterRole's nonResourceURLs grants).
TEST(MetricsAccessTest, ReviewsGetOnTheNonResourceUrlAndGuardsOnlyTheWrappedRoute) {
  auto api = std::make_shared<ReviewingApiClient>();
  api->users = {{"scraper", "system:serviceaccount:monitoring:prometheus"}, {"other", "someone"}};
  api->allowed = {"system:serviceaccount:monitoring:prometheus"};
  kube::KubernetesAuthorizerOptions options;
  options.attributes = kube::MetricsAccess();
  auto authorizer = kube::MakeKubernetesAuthorizer(api, options, std::make_shared<FakeClock>());
  const HttpHandler metrics = kube::RequireAccess(*authorizer, "GET /metrics", [](const auto&) {
    return HttpResponse{200, {}, "zhisuan_agent_ready 1\n"};
  });
  HttpRequest get;
  get.method = "GET";
  get.path = "/metrics";
  const HttpResponse anonymous = metrics(get);
  EXPECT_EQ(anonymous.status, 401);
  EXPECT_EQ(anonymous.body.find("zhisuan_"), std::string::npos);
  get.headers = {{"authorization", "Bearer other"}};
  EXPECT_EQ(metrics(get).status, 403);
  get.headers = {{"authorization", "Bearer scraper"}};
  EXPECT_EQ(metrics(get).status, 200);
  const kube::Json& sar = api->asked.back();
  EXPECT_EQ(sar["kind"], "SubjectAccessReview");
  EXPECT_EQ(sar["spec"]["nonResourceAttributes"],
            (kube::Json{{"path", "/metrics"}, {"verb", "get"}}));
  EXPECT_FALSE(sar["spec"].contains("resourceAttributes"));
  EXPECT_EQ(sar["spec"]["user"], "system:serviceaccount:monitoring:prometheus");
}

TEST(FlopsMeasureEndpointTest, ParsesBearerTokens) {
  EXPECT_EQ(kube::BearerToken("Bearer abc"), "abc");
  EXPECT_EQ(kube::BearerToken("bearer  abc "), "abc");
  EXPECT_EQ(kube::BearerToken("Basic abc"), "");
  EXPECT_EQ(kube::BearerToken("Bearer "), "");
  EXPECT_EQ(kube::BearerToken(""), "");
}

}  // namespace
}  // namespace zhisuan::agent
