#include "kube/resource_path.h"

#include <utility>
#include <vector>

#include "common/strings.h"

namespace zhisuan::kube {
namespace {

bool IsUnreserved(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_' || c == '~';
}

Status ValidateSegment(std::string_view what, std::string_view value) {
  // "." and ".." would be normalised away by URL handling and address a different resource.
  if (value == "." || value == "..") {
    return InvalidArgumentError(StrCat(what, " may not be \"", value, "\""));
  }
  return OkStatus();
}

}  // namespace

std::string PercentEncode(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    if (IsUnreserved(c)) {
      out.push_back(c);
    } else {
      const auto byte = static_cast<unsigned char>(c);
      out.push_back('%');
      out.push_back(kHex[byte >> 4]);
      out.push_back(kHex[byte & 0xF]);
    }
  }
  return out;
}

StatusOr<std::string> ResourcePath(const ResourceType& type, std::string_view ns,
                                   std::string_view name, std::string_view subresource) {
  if (type.version.empty() || type.resource.empty()) {
    return InvalidArgumentError("resource type needs a version and a resource name");
  }
  if (!type.namespaced && !ns.empty()) {
    return InvalidArgumentError(
        StrCat(type.resource, " are cluster-scoped but namespace \"", ns, "\" was given"));
  }
  if (type.namespaced && ns.empty() && !name.empty()) {
    return InvalidArgumentError(
        StrCat(type.resource, " are namespaced; \"", name, "\" needs a namespace"));
  }
  if (!subresource.empty() && name.empty()) {
    return InvalidArgumentError(StrCat("subresource ", subresource, " needs an object name"));
  }
  ZHISUAN_RETURN_IF_ERROR(ValidateSegment("namespace", ns));
  ZHISUAN_RETURN_IF_ERROR(ValidateSegment("name", name));
  std::string path = type.group.empty() ? StrCat("/api/", PercentEncode(type.version))
                                        : StrCat("/apis/", PercentEncode(type.group), "/",
                                                 PercentEncode(type.version));
  if (!ns.empty()) path = StrCat(path, "/namespaces/", PercentEncode(ns));
  path = StrCat(path, "/", PercentEncode(type.resource));
  if (!name.empty()) path = StrCat(path, "/", PercentEncode(name));
  if (!subresource.empty()) path = StrCat(path, "/", PercentEncode(subresource));
  return path;
}

std::string ListQuery(const ListOptions& options, bool watch) {
  std::vector<std::pair<std::string_view, std::string>> params;
  if (watch) params.emplace_back("watch", "1");
  if (!options.label_selector.empty()) params.emplace_back("labelSelector", options.label_selector);
  if (!options.field_selector.empty()) params.emplace_back("fieldSelector", options.field_selector);
  if (!options.resource_version.empty()) {
    params.emplace_back("resourceVersion", options.resource_version);
  }
  if (watch) {
    if (options.allow_watch_bookmarks) params.emplace_back("allowWatchBookmarks", "true");
    if (options.timeout_seconds > 0) {
      params.emplace_back("timeoutSeconds", StrCat(options.timeout_seconds));
    }
  } else {
    if (!options.resource_version_match.empty()) {
      params.emplace_back("resourceVersionMatch", options.resource_version_match);
    }
    if (options.limit > 0) params.emplace_back("limit", StrCat(options.limit));
    if (!options.continue_token.empty()) params.emplace_back("continue", options.continue_token);
  }
  std::string query;
  for (const auto& [key, value] : params) {
    query = StrCat(query, query.empty() ? "?" : "&", key, "=", PercentEncode(value));
  }
  return query;
}

std::string PatchContentType(PatchType type) {
  switch (type) {
    case PatchType::kMerge:
      return "application/merge-patch+json";
    case PatchType::kJson:
      return "application/json-patch+json";
    case PatchType::kStrategicMerge:
      return "application/strategic-merge-patch+json";
    case PatchType::kApply:
      return "application/apply-patch+yaml";
  }
  return "application/merge-patch+json";
}

}  // namespace zhisuan::kube
