#pragma once
// Counts the controller's requests to the API server by verb and resource, so a dashboard (and
// bench/fleet) can tell API cost per reconcile and see that steady state makes no list calls.
// It is an ApiClient decorator: every component that talks to the server (informers, executor,
// events, leader election) goes through it, and none of them needs to know.

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/registry.h>

#include <map>
#include <mutex>
#include <string>

#include "kube/client.h"

namespace zhisuan::controller {

using Json = kube::Json;

class CountingApiClient : public kube::ApiClient {
 public:
  // Registers zhisuan_controller_api_requests_total{verb,resource} in `registry`.
  CountingApiClient(kube::ApiClientPtr inner, prometheus::Registry& registry);

  StatusOr<Json> Get(const kube::ResourceType& type, std::string_view ns,
                     std::string_view name) override;
  StatusOr<kube::ObjectList> List(const kube::ResourceType& type, std::string_view ns,
                                  const kube::ListOptions& options) override;
  StatusOr<Json> Create(const kube::ResourceType& type, std::string_view ns,
                        const Json& object) override;
  StatusOr<Json> Update(const kube::ResourceType& type, const Json& object) override;
  StatusOr<Json> UpdateStatus(const kube::ResourceType& type, const Json& object) override;
  Status Delete(const kube::ResourceType& type, std::string_view ns, std::string_view name,
                const kube::DeleteOptions& options) override;
  StatusOr<Json> Patch(const kube::ResourceType& type, std::string_view ns, std::string_view name,
                       kube::PatchType patch_type, const Json& patch,
                       const kube::PatchOptions& options) override;
  StatusOr<kube::WatchStreamPtr> Watch(const kube::ResourceType& type, std::string_view ns,
                                       const kube::ListOptions& options) override;

 private:
  void Count(const char* verb, const kube::ResourceType& type);

  const kube::ApiClientPtr inner_;
  prometheus::Family<prometheus::Counter>& requests_;
  std::mutex mu_;
  // Counter lookups by (verb, resource): Family::Add hashes a label map on every call.
  std::map<std::pair<std::string, std::string>, prometheus::Counter*> counters_;
};

}  // namespace zhisuan::controller
