#pragma once
// The real ApiClient: REST over HTTPS (cpprestsdk underneath, which stays out of this header so
// that only rest_client.cc pays for its boost-heavy includes). Certificate verification is always
// on, with the configured CA as the only trust root when one is given; it is off only when a
// kubeconfig explicitly says insecure-skip-tls-verify. Requests are rate limited (qps/burst) and
// retried per kube/retry.h; errors map to codes as kube/client.h documents.

#include "common/clock.h"
#include "common/status.h"
#include "kube/client.h"
#include "kube/config.h"

namespace zhisuan::kube {

// Fails when the configuration cannot work (no server, unparseable PEM, a key that does not match
// its certificate) rather than on the first request.
StatusOr<ApiClientPtr> NewRestClient(const ClientConfig& config);
StatusOr<ApiClientPtr> NewRestClient(const ClientConfig& config, const ClockPtr& clock);

}  // namespace zhisuan::kube
