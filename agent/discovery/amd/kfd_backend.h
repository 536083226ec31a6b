#pragma once
// AMD Instinct GPUs (and Hygon DCUs, whose driver forks amdgpu's KFD) through the KFD topology in
// sysfs, with telemetry from the amdgpu driver's sysfs files (no ROCm library needed). Nodes are
// numbered in KFD order, GPUs only, which is the order HIP and rocm-smi use.

#include "agent/device.h"
#include "common/file_reader.h"

namespace zhisuan::agent::amd {

// Reads <sysfs>/class/kfd/kfd/topology/nodes and <sysfs>/bus/pci/devices/<bus id>/.
DiscoveryBackendPtr MakeKfdBackend(FileReaderPtr sysfs);

}  // namespace zhisuan::agent::amd
