#pragma once
// The one-line, human-readable reason a device is unhealthy. Both the device plugin (kubelet's
// ListAndWatch) and the ComputeNode status say why a device is out of service, and they must say
// it the same way, so the wording lives here beside the tracker that decides health rather than in
// either consumer.

#include <string>

#include "agent/health/device_health_tracker.h"

namespace zhisuan::agent {

// "Xid 79 (GPU has fallen off the bus)", "double-bit ECC error", ...; "" when healthy. At most
// 256 characters, the CRD's limit.
std::string DescribeHealth(const DeviceHealth& health);

}  // namespace zhisuan::agent
