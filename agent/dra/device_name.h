#pragma once
// The names under which the DRA driver knows each accelerator. The ResourceSlice publisher and the
// kubelet plugin both stand on them: a claim's allocation names a device by driver, pool and
// device name, and NodePrepareResources must find the same accelerator from those three.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "agent/device.h"

namespace zhisuan::agent::dra {

// The driver name (a DNS subdomain under zhisuan.io) in ResourceSlices, DeviceClasses, CDI kinds
// and the kubelet plugin's registration.
inline constexpr std::string_view kDriverName = "accelerators.zhisuan.io";

// A DNS label that stays the same across agent restarts: built from the PCI bus id where there is
// one ("0000:17:00.0" -> "pci-0000-17-00-0"), else from the vendor and the runtime index
// ("huawei-3"), which is what identifies such a device to its runtime.
std::string DraDeviceName(const Accelerator& accelerator);

// The accelerator that `device_name` names, or nullopt.
std::optional<Accelerator> FindByDraDeviceName(const std::vector<Accelerator>& accelerators,
                                               std::string_view device_name);

}  // namespace zhisuan::agent::dra
