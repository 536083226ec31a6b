#pragma once
// Lives beside device.h, not under deviceplugin/ or publish/: both of those folders name resources
// (the plugin registers one socket per name, the Node status advertiser counts per name), and
// siblings must not lean on each other. The naming depends only on the device model, so it stands
// on the same layer as the model itself.
//
// Extended-resource names under which the agent advertises accelerators to Kubernetes. By default
// the name each vendor's own device plugin uses, so workloads written for that plugin
// (`resources.limits: nvidia.com/gpu: 8`) schedule unchanged. With a prefix (--resource-prefix
// zhisuan.io) every name moves under that domain ("zhisuan.io/nvidia-gpu"), so Zhisuan can run
// beside a vendor plugin without both claiming the same resource.
//
// Sources for the defaults (see docs/device-plugin.md):
//   nvidia.com/gpu        NVIDIA k8s-device-plugin
//   amd.com/gpu           ROCm k8s-device-plugin
//   huawei.com/Ascend910  Huawei Ascend device plugin (MindCluster); it names the 910B family
//                         huawei.com/Ascend910 as well, and the 310 families Ascend310/Ascend310P
//   cambricon.com/mlu     Cambricon cambricon-k8s-device-plugin
//   hygon.com/dcu, kunlunxin.com/xpu, enflame.com/gcu, iluvatar.ai/gpu, mthreads.com/gpu,
//   metax-tech.com/gpu    the vendors' plugins as HAMi and their docs name them (convention
//                         assumed where no primary source was checked)
//   habana.ai/gaudi       Habana device plugin;  gpu.intel.com/i915  Intel device plugins
//   tenstorrent.com/accelerator, zhisuan.io/accelerator (unknown vendor): convention assumed

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "agent/device.h"
#include "common/status.h"

namespace zhisuan::agent {

// The resource name for `accelerator`; `prefix` "" keeps the vendor convention.
std::string ResourceNameFor(const Accelerator& accelerator, std::string_view prefix);

// Accelerators grouped by resource name, each group in index order.
std::map<std::string, std::vector<Accelerator>> GroupByResourceName(
    const std::vector<Accelerator>& accelerators, std::string_view prefix);

// A prefix must be a DNS subdomain ("zhisuan.io"); the error says why not.
Status ValidateResourcePrefix(std::string_view prefix);

// "nvidia.com/gpu" -> "nvidia.com_gpu": a file-name-safe form for the plugin's socket.
std::string SocketSafeName(std::string_view resource_name);

}  // namespace zhisuan::agent
