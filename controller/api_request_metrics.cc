#include "controller/api_request_metrics.h"

namespace zhisuan::controller {

CountingApiClient::CountingApiClient(kube::ApiClientPtr inner, prometheus::Registry& registry)
    : inner_(std::move(inner)),
      requests_(prometheus::BuildCounter()
                    .Name("zhisuan_controller_api_requests_total")
                    .Help("Requests to the API server by verb (get, list, watch, create, update, "
                          "patch, delete) and resource, whatever their outcome")
                    .Register(registry)) {}

void CountingApiClient::Count(const char* verb, const kube::ResourceType& type) {
  std::lock_guard lock(mu_);
  auto key = std::make_pair(std::string(verb), type.resource);
  auto it = counters_.find(key);
  if (it == counters_.end()) {
    it = counters_.emplace(key, &requests_.Add({{"verb", key.first}, {"resource", key.second}}))
             .first;
  }
  it->second->Increment();
}

StatusOr<Json> CountingApiClient::Get(const kube::ResourceType& type, std::string_view ns,
                                      std::string_view name) {
  Count("get", type);
  return inner_->Get(type, ns, name);
}

StatusOr<kube::ObjectList> CountingApiClient::List(const kube::ResourceType& type,
                                                   std::string_view ns,
                                                   const kube::ListOptions& options) {
  Count("list", type);
  return inner_->List(type, ns, options);
}

StatusOr<Json> CountingApiClient::Create(const kube::ResourceType& type, std::string_view ns,
                                         const Json& object) {
  Count("create", type);
  return inner_->Create(type, ns, object);
}

StatusOr<Json> CountingApiClient::Update(const kube::ResourceType& type, const Json& object) {
  Count("update", type);
  return inner_->Update(type, object);
}

StatusOr<Json> CountingApiClient::UpdateStatus(const kube::ResourceType& type, const Json& object) {
  Count("update", type);
  return inner_->UpdateStatus(type, object);
}

Status CountingApiClient::Delete(const kube::ResourceType& type, std::string_view ns,
                                 std::string_view name, const kube::DeleteOptions& options) {
  Count("delete", type);
  return inner_->Delete(type, ns, name, options);
}

StatusOr<Json> CountingApiClient::Patch(const kube::ResourceType& type, std::string_view ns,
                                        std::string_view name, kube::PatchType patch_type,
                                        const Json& patch, const kube::PatchOptions& options) {
  Count("patch", type);
  return inner_->Patch(type, ns, name, patch_type, patch, options);
}

StatusOr<kube::WatchStreamPtr> CountingApiClient::Watch(const kube::ResourceType& type,
                                                        std::string_view ns,
                                                        const kube::ListOptions& options) {
  Count("watch", type);
  return inner_->Watch(type, ns, options);
}

}  // namespace zhisuan::controller
