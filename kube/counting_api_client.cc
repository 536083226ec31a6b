#include "kube/counting_api_client.h"

#include <utility>

#include "common/strings.h"

namespace zhisuan::kube {

CountingApiClient::CountingApiClient(ApiClientPtr inner, RequestCounter count)
    : inner_(std::move(inner)), count_(std::move(count)) {}

StatusOr<Json> CountingApiClient::Get(const ResourceType& type, std::string_view ns,
                                      std::string_view name) {
  count_("get", type);
  return inner_->Get(type, ns, name);
}

StatusOr<ObjectList> CountingApiClient::List(const ResourceType& type, std::string_view ns,
                                             const ListOptions& options) {
  count_("list", type);
  return inner_->List(type, ns, options);
}

StatusOr<Json> CountingApiClient::Create(const ResourceType& type, std::string_view ns,
                                         const Json& object) {
  count_("create", type);
  return inner_->Create(type, ns, object);
}

StatusOr<Json> CountingApiClient::CreateSubresource(const ResourceType& type, std::string_view ns,
                                                    std::string_view name,
                                                    std::string_view subresource,
                                                    const Json& object) {
  ResourceType counted = type;
  counted.resource = StrCat(type.resource, "/", subresource);
  count_("create", counted);
  return inner_->CreateSubresource(type, ns, name, subresource, object);
}

StatusOr<Json> CountingApiClient::Update(const ResourceType& type, const Json& object) {
  count_("update", type);
  return inner_->Update(type, object);
}

StatusOr<Json> CountingApiClient::UpdateStatus(const ResourceType& type, const Json& object) {
  count_("update", type);
  return inner_->UpdateStatus(type, object);
}

Status CountingApiClient::Delete(const ResourceType& type, std::string_view ns,
                                 std::string_view name, const DeleteOptions& options) {
  count_("delete", type);
  return inner_->Delete(type, ns, name, options);
}

StatusOr<Json> CountingApiClient::Patch(const ResourceType& type, std::string_view ns,
                                        std::string_view name, PatchType patch_type,
                                        const Json& patch, const PatchOptions& options) {
  count_("patch", type);
  return inner_->Patch(type, ns, name, patch_type, patch, options);
}

StatusOr<WatchStreamPtr> CountingApiClient::Watch(const ResourceType& type, std::string_view ns,
                                                  const ListOptions& options) {
  count_("watch", type);
  return inner_->Watch(type, ns, options);
}

}  // namespace zhisuan::kube
