#include "agent/dra/kubelet_plugin_options.h"

#include <algorithm>
#include <filesystem>

#include "common/flags.h"
#include "common/strings.h"

namespace zhisuan::agent::dra {
namespace {

Status EnsureDirectory(const std::string& dir, std::string_view flag) {
  std::error_code error;
  std::filesystem::create_directories(dir, error);
  if (error) return UnavailableError(StrCat("--", flag, "=", dir, ": ", error.message()));
  return OkStatus();
}

}  // namespace

std::string KubeletPluginUsage() {
  return R"(Kubelet DRA plugin (driver accelerators.zhisuan.io):
  --dra-kubelet-plugin=BOOL  serve NodePrepareResources/NodeUnprepareResources to the kubelet and
                             inject claimed devices through CDI specs (default false)
  --dra-registry-dir=DIR     the kubelet's plugin registry (default /var/lib/kubelet/plugins_registry)
  --dra-plugin-dir=DIR       the plugin's socket and prepared-claims checkpoint
                             (default /var/lib/kubelet/plugins/accelerators.zhisuan.io)
  --cdi-dir=DIR              where the container runtime reads CDI specs (default /var/run/cdi)
  --dra-dev-root=DIR         prefix of device nodes' host paths in CDI specs (default none; a
                             fixture tree's stand-in nodes in a node in a box)
)";
}

StatusOr<KubeletPluginOptions> ExtractKubeletPluginFlags(std::vector<std::string>& args) {
  static const std::vector<std::string> kFlags = {"dra-kubelet-plugin", "dra-registry-dir",
                                                  "dra-plugin-dir", "cdi-dir", "dra-dev-root"};
  KubeletPluginOptions options;
  std::vector<std::string> rest;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::optional<FlagArgument> flag = SplitFlagArgument(args[i]);
    const std::string name = flag ? std::string(flag->name) : "";
    if (!flag || std::find(kFlags.begin(), kFlags.end(), name) == kFlags.end()) {
      rest.push_back(args[i]);
      continue;
    }
    std::string value;
    if (flag->value) {
      value = std::string(*flag->value);
    } else if (name == "dra-kubelet-plugin") {
      value = "true";  // a bare boolean flag
    } else if (i + 1 < args.size()) {
      value = args[++i];
    } else {
      return InvalidArgumentError(StrCat("--", name, " needs a value"));
    }
    if (name == "dra-kubelet-plugin") {
      ZHISUAN_ASSIGN_OR_RETURN(options.enabled, ParseBoolFlag(name, value));
      continue;
    }
    if (value.empty() && name != "dra-dev-root") {
      return InvalidArgumentError(StrCat("--", name, " is empty"));
    }
    if (name == "dra-registry-dir") options.registry_dir = value;
    if (name == "dra-plugin-dir") options.plugin_dir = value;
    if (name == "cdi-dir") options.cdi_dir = value;
    if (name == "dra-dev-root") options.dev_root = value;
  }
  args = std::move(rest);
  return options;
}

StatusOr<std::unique_ptr<KubeletPlugin>> StartKubeletPlugin(const KubeletPluginOptions& options,
                                                            std::string node_name,
                                                            kube::ApiClientPtr client,
                                                            AcceleratorsFn accelerators) {
  ZHISUAN_RETURN_IF_ERROR(EnsureDirectory(options.registry_dir, "dra-registry-dir"));
  ZHISUAN_RETURN_IF_ERROR(EnsureDirectory(options.plugin_dir, "dra-plugin-dir"));
  ZHISUAN_RETURN_IF_ERROR(EnsureDirectory(options.cdi_dir, "cdi-dir"));
  KubeletPluginPaths paths{.registry_dir = options.registry_dir, .plugin_dir = options.plugin_dir};
  ClaimPreparerOptions preparer_options{
      .node_name = std::move(node_name),
      .cdi_dir = options.cdi_dir,
      .dev_root = options.dev_root,
      .checkpoint_path = StrCat(options.plugin_dir, "/prepared-claims.json")};
  ZHISUAN_ASSIGN_OR_RETURN(std::unique_ptr<ClaimPreparer> preparer,
                           ClaimPreparer::Create(std::move(preparer_options), std::move(client),
                                                 std::move(accelerators)));
  return KubeletPlugin::Start(std::move(paths), std::move(preparer));
}

}  // namespace zhisuan::agent::dra
