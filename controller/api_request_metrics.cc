#include "controller/api_request_metrics.h"

#include <prometheus/counter.h>
#include <prometheus/family.h>

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>

namespace zhisuan::controller {
namespace {

// The counter family and a cache of its children, shared by the decorator's callback.
class RequestCounters {
 public:
  explicit RequestCounters(prometheus::Registry& registry)
      : requests_(prometheus::BuildCounter()
                      .Name("zhisuan_controller_api_requests_total")
                      .Help("Requests to the API server by verb (get, list, watch, create, "
                            "update, patch, delete) and resource, whatever their outcome")
                      .Register(registry)) {}

  void Count(std::string_view verb, const kube::ResourceType& type) {
    std::lock_guard lock(mu_);
    auto key = std::make_pair(std::string(verb), type.resource);
    auto it = counters_.find(key);
    if (it == counters_.end()) {
      it = counters_.emplace(key, &requests_.Add({{"verb", key.first}, {"resource", key.second}}))
               .first;
    }
    it->second->Increment();
  }

 private:
  prometheus::Family<prometheus::Counter>& requests_;
  std::mutex mu_;
  // Counter lookups by (verb, resource): Family::Add hashes a label map on every call.
  std::map<std::pair<std::string, std::string>, prometheus::Counter*> counters_;
};

kube::CountingApiClient::RequestCounter PrometheusCounter(prometheus::Registry& registry) {
  auto counters = std::make_shared<RequestCounters>(registry);
  return [counters](std::string_view verb, const kube::ResourceType& type) {
    counters->Count(verb, type);
  };
}

}  // namespace

CountingApiClient::CountingApiClient(kube::ApiClientPtr inner, prometheus::Registry& registry)
    : kube::CountingApiClient(std::move(inner), PrometheusCounter(registry)) {}

}  // namespace zhisuan::controller
