#pragma once
// An ApiClient decorator that reports every request by verb and resource before passing it on,
// whatever its outcome. Components that talk to the server (informers, leader election, events,
// writers) go through it without knowing, so API cost can be measured from the outside: the
// controller turns the reports into a Prometheus counter, a test can just tally them.

#include <functional>
#include <string_view>

#include "kube/client.h"

namespace zhisuan::kube {

class CountingApiClient : public ApiClient {
 public:
  // `verb` is "get", "list", "watch", "create", "update" (UpdateStatus too), "patch" or
  // "delete". Called on the requesting thread, so it must be thread-safe.
  using RequestCounter = std::function<void(std::string_view verb, const ResourceType& type)>;

  CountingApiClient(ApiClientPtr inner, RequestCounter count);

  StatusOr<Json> Get(const ResourceType& type, std::string_view ns, std::string_view name) override;
  StatusOr<ObjectList> List(const ResourceType& type, std::string_view ns,
                            const ListOptions& options) override;
  StatusOr<Json> Create(const ResourceType& type, std::string_view ns, const Json& object) override;
  // Counted as "create" of "<resource>/<subresource>" (pods/eviction).
  StatusOr<Json> CreateSubresource(const ResourceType& type, std::string_view ns,
                                   std::string_view name, std::string_view subresource,
                                   const Json& object) override;
  StatusOr<Json> Update(const ResourceType& type, const Json& object) override;
  StatusOr<Json> UpdateStatus(const ResourceType& type, const Json& object) override;
  Status Delete(const ResourceType& type, std::string_view ns, std::string_view name,
                const DeleteOptions& options) override;
  StatusOr<Json> Patch(const ResourceType& type, std::string_view ns, std::string_view name,
                       PatchType patch_type, const Json& patch,
                       const PatchOptions& options) override;
  StatusOr<WatchStreamPtr> Watch(const ResourceType& type, std::string_view ns,
                                 const ListOptions& options) override;

 private:
  const ApiClientPtr inner_;
  const RequestCounter count_;
};

}  // namespace zhisuan::kube
