#include "kube/errors.h"

#include <set>

#include "common/strings.h"
#include "kube/bounded_json.h"

namespace zhisuan::kube {
namespace {

std::string JsonString(const Json& object, const char* key) {
  if (!object.is_object()) return "";
  auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : "";
}

// "<server message>" plus every cause the message does not already quote, so nothing the server
// said is lost and nothing is said twice.
std::string MessageWithCauses(const Json& api_status, int http_status) {
  std::string message = JsonString(api_status, "message");
  const std::string reason = JsonString(api_status, "reason");
  if (message.empty()) {
    message = reason.empty() ? StrCat("HTTP ", http_status) : reason;
  }
  std::vector<std::string> extra;
  auto details = api_status.find("details");
  if (details != api_status.end() && details->is_object()) {
    auto causes = details->find("causes");
    if (causes != details->end() && causes->is_array()) {
      for (const Json& cause : *causes) {
        const std::string cause_message = JsonString(cause, "message");
        const std::string field = JsonString(cause, "field");
        if (cause_message.empty() || message.find(cause_message) != std::string::npos) continue;
        extra.push_back(field.empty() ? cause_message : StrCat(field, ": ", cause_message));
      }
    }
  }
  if (!extra.empty()) message = StrCat(message, " (causes: ", StrJoin(extra, "; "), ")");
  return message;
}

}  // namespace

StatusCode CodeForHttpStatus(int http_status, std::string_view reason) {
  switch (http_status) {
    case 400:
    case 413:  // request entity too large: the object, not the server, must change
    case 422:
      return StatusCode::kInvalidArgument;
    case 401:
      return StatusCode::kUnauthenticated;
    case 403:
      return StatusCode::kPermissionDenied;
    case 404:
      return StatusCode::kNotFound;
    case 409:
      return reason == "AlreadyExists" ? StatusCode::kAlreadyExists : StatusCode::kAborted;
    case 410:
      return StatusCode::kOutOfRange;
    case 429:
      return StatusCode::kResourceExhausted;
    case 504:
      return StatusCode::kDeadlineExceeded;
    default:
      break;
  }
  if (http_status >= 500) {
    return reason == "Timeout" ? StatusCode::kDeadlineExceeded : StatusCode::kUnavailable;
  }
  // 405, 406, 415 and friends: a request this client should not have made.
  return StatusCode::kFailedPrecondition;
}

Status StatusFromApiStatus(const Json& api_status) {
  int code = 0;
  auto it = api_status.is_object() ? api_status.find("code") : api_status.end();
  if (it != api_status.end() && it->is_number_integer()) code = it->get<int>();
  const std::string reason = JsonString(api_status, "reason");
  if (code == 0) {
    // Old servers sent 410 watch errors with only a reason.
    if (reason == "Expired" || reason == "Gone") code = 410;
  }
  StatusCode status_code = CodeForHttpStatus(code, reason);
  if (code == 0) status_code = StatusCode::kUnknown;
  return Status(status_code, MessageWithCauses(api_status, code));
}

Status StatusFromResponse(int http_status, std::string_view body) {
  // Too deep is no Status object: the excerpt below reports it.
  const Json parsed = ParseBoundedJson(body).value;
  if (parsed.is_object() && JsonString(parsed, "kind") == "Status") {
    const std::string reason = JsonString(parsed, "reason");
    return Status(CodeForHttpStatus(http_status, reason), MessageWithCauses(parsed, http_status));
  }
  std::string excerpt(StripWhitespace(body.substr(0, 200)));
  for (char& c : excerpt) {
    if (static_cast<unsigned char>(c) < 0x20) c = ' ';
  }
  return Status(CodeForHttpStatus(http_status, ""),
                StrCat("HTTP ", http_status, " without a Kubernetes Status body",
                       excerpt.empty() ? "" : StrCat(": \"", excerpt, "\"")));
}

bool IsNotFound(const Status& status) { return status.code() == StatusCode::kNotFound; }
bool IsAlreadyExists(const Status& status) { return status.code() == StatusCode::kAlreadyExists; }
bool IsConflict(const Status& status) { return status.code() == StatusCode::kAborted; }
bool IsGone(const Status& status) { return status.code() == StatusCode::kOutOfRange; }
bool IsInvalid(const Status& status) { return status.code() == StatusCode::kInvalidArgument; }
bool IsForbidden(const Status& status) { return status.code() == StatusCode::kPermissionDenied; }
bool IsUnauthorized(const Status& status) { return status.code() == StatusCode::kUnauthenticated; }
bool IsTooManyRequests(const Status& status) {
  return status.code() == StatusCode::kResourceExhausted;
}
bool IsRetryable(const Status& status) {
  switch (status.code()) {
    case StatusCode::kResourceExhausted:
    case StatusCode::kUnavailable:
    case StatusCode::kDeadlineExceeded:
      return true;
    default:
      return false;
  }
}

StatusOr<ObjectList> ListAll(ApiClient& client, const ResourceType& type, std::string_view ns,
                             ListOptions options) {
  ObjectList all;
  // A server that hands back a token it already gave would otherwise loop forever.
  std::set<std::string> seen_tokens;
  while (true) {
    ZHISUAN_ASSIGN_OR_RETURN(ObjectList page, client.List(type, ns, options));
    if (all.resource_version.empty()) all.resource_version = page.resource_version;
    for (Json& item : page.items) all.items.push_back(std::move(item));
    if (page.continue_token.empty()) break;
    if (!seen_tokens.insert(page.continue_token).second) {
      return InternalError(
          StrCat("listing ", type.resource, ": the server repeated a continue token"));
    }
    options.continue_token = std::move(page.continue_token);
    // Pages after the first are served from the first page's snapshot.
    options.resource_version.clear();
    options.resource_version_match.clear();
  }
  return all;
}

}  // namespace zhisuan::kube
