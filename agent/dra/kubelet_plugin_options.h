#pragma once
// The flags of the kubelet DRA plugin (kubelet_plugin.h), and the one call that starts it from
// RunAgent. Off by default: the plugin needs the kubelet's plugin directories mounted and RBAC to
// read ResourceClaims, which the chart grants only with agent.dra.kubeletPlugin=true.

#include <memory>
#include <string>
#include <vector>

#include "agent/dra/kubelet_plugin.h"

namespace zhisuan::agent::dra {

struct KubeletPluginOptions {
  bool enabled = false;                                            // --dra-kubelet-plugin
  std::string registry_dir = "/var/lib/kubelet/plugins_registry";  // --dra-registry-dir
  std::string plugin_dir = "/var/lib/kubelet/plugins/accelerators.zhisuan.io";  // --dra-plugin-dir
  std::string cdi_dir = "/var/run/cdi";                                         // --cdi-dir
  std::string dev_root;                                                         // --dra-dev-root
};

// Removes the DRA plugin's flags from `args` (both --name=value and --name value) and returns
// them, leaving the rest for the other parsers. Errors name the flag.
StatusOr<KubeletPluginOptions> ExtractKubeletPluginFlags(std::vector<std::string>& args);
std::string KubeletPluginUsage();

// Creates the plugin and CDI directories where missing, loads the checkpoint and starts serving.
StatusOr<std::unique_ptr<KubeletPlugin>> StartKubeletPlugin(const KubeletPluginOptions& options,
                                                            std::string node_name,
                                                            kube::ApiClientPtr client,
                                                            AcceleratorsFn accelerators);

}  // namespace zhisuan::agent::dra
