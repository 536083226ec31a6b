#include "kube/errors.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>

namespace zhisuan::kube {
namespace {

using ::testing::HasSubstr;

std::string ApiStatus(int code, const std::string& reason, const std::string& message) {
  return Json{{"kind", "Status"}, {"apiVersion", "v1"}, {"status", "Failure"},
              {"code", code},     {"reason", reason},   {"message", message}}
      .dump();
}

TEST(StatusFromResponse, MapsEveryDocumentedCode) {
  struct Case {
    int http;
    std::string reason;
    StatusCode code;
    bool (*predicate)(const Status&);
  };
  const std::vector<Case> cases = {
      {404, "NotFound", StatusCode::kNotFound, &IsNotFound},
      {409, "AlreadyExists", StatusCode::kAlreadyExists, &IsAlreadyExists},
      {409, "Conflict", StatusCode::kAborted, &IsConflict},
      {410, "Expired", StatusCode::kOutOfRange, &IsGone},
      {400, "BadRequest", StatusCode::kInvalidArgument, &IsInvalid},
      {422, "Invalid", StatusCode::kInvalidArgument, &IsInvalid},
      {401, "Unauthorized", StatusCode::kUnauthenticated, &IsUnauthorized},
      {403, "Forbidden", StatusCode::kPermissionDenied, &IsForbidden},
      {429, "TooManyRequests", StatusCode::kResourceExhausted, &IsTooManyRequests},
      {500, "InternalError", StatusCode::kUnavailable, &IsRetryable},
      {503, "ServiceUnavailable", StatusCode::kUnavailable, &IsRetryable},
      {504, "Timeout", StatusCode::kDeadlineExceeded, &IsRetryable},
  };
  for (const Case& c : cases) {
    Status status =
        StatusFromResponse(c.http, ApiStatus(c.http, c.reason, "server says " + c.reason));
    EXPECT_EQ(status.code(), c.code) << c.http << " " << c.reason;
    EXPECT_TRUE(c.predicate(status)) << c.http << " " << c.reason;
    EXPECT_EQ(status.message(), "server says " + c.reason);
  }
}

// An error body nested too deep to be a Status is reported by its excerpt, like any non-Status.
TEST(StatusFromResponse, ErrorBodyNestedTooDeepIsAnExcerptNotACrash) {
  const std::string deep = std::string(100000, '[') + std::string(100000, ']');
  const Status status = StatusFromResponse(503, deep);
  EXPECT_EQ(status.code(), StatusCode::kUnavailable);
  EXPECT_NE(status.message().find("[[[["), std::string::npos) << status;
}

TEST(StatusFromResponse, PredicatesDoNotOverlap) {
  Status conflict = StatusFromResponse(409, ApiStatus(409, "Conflict", "stale"));
  EXPECT_FALSE(IsAlreadyExists(conflict));
  EXPECT_FALSE(IsRetryable(conflict));
  Status exists = StatusFromResponse(409, ApiStatus(409, "AlreadyExists", "exists"));
  EXPECT_FALSE(IsConflict(exists));
  EXPECT_FALSE(IsRetryable(StatusFromResponse(403, ApiStatus(403, "Forbidden", "no"))));
  EXPECT_FALSE(IsRetryable(StatusFromResponse(404, ApiStatus(404, "NotFound", "no"))));
}

TEST(StatusFromResponse, InvalidCarriesTheServersCausesVerbatim) {
  const Json body = Json::parse(R"({
    "kind": "Status", "apiVersion": "v1", "status": "Failure", "code": 422, "reason": "Invalid",
    "message": "ComputePool.zhisuan.io \"p\" is invalid: spec.size: Invalid value: 0: spec.size in body should be greater than or equal to 1",
    "details": {"name": "p", "group": "zhisuan.io", "kind": "ComputePool", "causes": [
      {"reason": "FieldValueInvalid", "message": "Invalid value: 0: spec.size in body should be greater than or equal to 1", "field": "spec.size"},
      {"reason": "FieldValueRequired", "message": "Required value", "field": "spec.selector"}
    ]}})");
  Status status = StatusFromResponse(422, body.dump());
  EXPECT_TRUE(IsInvalid(status));
  // The message as sent, then the cause it did not already quote.
  EXPECT_THAT(status.message(),
              HasSubstr("spec.size: Invalid value: 0: spec.size in body should be greater than or "
                        "equal to 1"));
  EXPECT_THAT(status.message(), HasSubstr("(causes: spec.selector: Required value)"));
}

TEST(StatusFromResponse, NonStatusBodiesStillMapAndSayWhatCame) {
  Status gateway = StatusFromResponse(502, "<html>\n<h1>Bad Gateway</h1></html>");
  EXPECT_EQ(gateway.code(), StatusCode::kUnavailable);
  EXPECT_THAT(gateway.message(), HasSubstr("HTTP 502 without a Kubernetes Status body"));
  EXPECT_THAT(gateway.message(), HasSubstr("Bad Gateway"));
  EXPECT_EQ(StatusFromResponse(404, "").code(), StatusCode::kNotFound);
  EXPECT_EQ(StatusFromResponse(415, "{}").code(), StatusCode::kFailedPrecondition);
}

TEST(StatusFromApiStatus, WatchErrorEventWith410IsGone) {
  const Json expired = Json::parse(R"json({"kind":"Status","apiVersion":"v1","status":"Failure",
    "message":"too old resource version: 5 (77)","reason":"Expired","code":410})json");
  Status status = StatusFromApiStatus(expired);
  EXPECT_TRUE(IsGone(status));
  EXPECT_EQ(status.message(), "too old resource version: 5 (77)");
  EXPECT_TRUE(IsGone(StatusFromApiStatus(Json{{"reason", "Expired"}, {"message", "old"}})));
  EXPECT_EQ(StatusFromApiStatus(Json::object()).code(), StatusCode::kUnknown);
  EXPECT_EQ(StatusFromApiStatus(Json::array()).code(), StatusCode::kUnknown);
}

}  // namespace
}  // namespace zhisuan::kube
