#pragma once
// Counts the controller's requests to the API server by verb and resource, so a dashboard (and
// bench/fleet) can tell API cost per reconcile and see that steady state makes no list calls.
// The decorator itself is kube::CountingApiClient; this is only its Prometheus glue: every
// component that talks to the server (informers, executor, events, leader election) goes through
// it, and none of them needs to know.

#include <prometheus/registry.h>

#include "kube/counting_api_client.h"

namespace zhisuan::controller {

// A kube::CountingApiClient whose counts go to zhisuan_controller_api_requests_total
// {verb,resource}, registered in `registry`.
class CountingApiClient final : public kube::CountingApiClient {
 public:
  CountingApiClient(kube::ApiClientPtr inner, prometheus::Registry& registry);
};

}  // namespace zhisuan::controller
