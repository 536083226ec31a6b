#pragma once
// Request URLs for the API server, built as pure functions so every shape (core vs named group,
// namespaced vs cluster-scoped, subresources, selectors full of '=', ',' and '!') is unit-tested
// without a server.

#include <string>
#include <string_view>

#include "common/status.h"
#include "kube/client.h"

namespace zhisuan::kube {

// RFC 3986 percent-encoding of everything but the unreserved characters, for a path segment or a
// query value.
std::string PercentEncode(std::string_view text);

// "/api/v1/namespaces/default/configmaps/x/status". An empty `ns` on a namespaced type addresses
// every namespace (lists and watches only); `name` and `subresource` may be empty.
StatusOr<std::string> ResourcePath(const ResourceType& type, std::string_view ns,
                                   std::string_view name, std::string_view subresource = "");

// "?labelSelector=...&limit=500" (empty when there is nothing to say). With `watch`, the watch
// parameters (watch=1, allowWatchBookmarks, timeoutSeconds) are added and paging is left out.
std::string ListQuery(const ListOptions& options, bool watch);

std::string PatchContentType(PatchType type);

}  // namespace zhisuan::kube
