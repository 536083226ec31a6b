#pragma once
// Turning the API server's answers into Status codes (the table is in kube/client.h). The server
// explains failures with a metav1.Status body; its message, and for 422 its causes, are kept
// verbatim because the controller shows them to tenants.

#include <string_view>

#include "common/status.h"
#include "kube/client.h"

namespace zhisuan::kube {

// The code for an HTTP status, refined by the metav1.Status reason where one code means two
// things (409 is AlreadyExists or Conflict).
StatusCode CodeForHttpStatus(int http_status, std::string_view reason);

// The Status for a non-2xx response. `body` is normally a metav1.Status; anything else (a proxy's
// HTML page) still gives the right code and a short, clearly labelled excerpt.
Status StatusFromResponse(int http_status, std::string_view body);

// The Status a metav1.Status object describes, e.g. the object of a watch ERROR event (code 410
// there means the watch's resourceVersion is gone and the caller must relist).
Status StatusFromApiStatus(const Json& api_status);

}  // namespace zhisuan::kube
