// zhisuan-agent: parses flags and hands over to the mode they pick. Nothing else lives here.
#include <iostream>
#include <string>
#include <vector>

#include "agent/agent_runner.h"
#include "agent/config/agent_config.h"
#include "agent/dra/kubelet_plugin_options.h"
#include "agent/flops/peak_flops_table.h"
#include "agent/kubernetes_integration.h"
#include "common/file_reader.h"
#include "common/log.h"

int main(int argc, char** argv) {
  using namespace zhisuan::agent;  // NOLINT(build/namespaces): main only
  std::vector<std::string> args(argv + 1, argv + argc);
  auto kubernetes = ExtractKubernetesFlags(args);
  if (!kubernetes.ok()) {
    std::cerr << "zhisuan-agent: " << kubernetes.status().message() << "\n";
    return 2;
  }
  auto dra_plugin = dra::ExtractKubeletPluginFlags(args);
  if (!dra_plugin.ok()) {
    std::cerr << "zhisuan-agent: " << dra_plugin.status().message() << "\n";
    return 2;
  }
  const zhisuan::FileReaderPtr files = zhisuan::MakeRootedFileReader("");
  auto config = ParseAgentConfig(args, [&](const std::string& path) { return files->Read(path); });
  if (!config.ok()) {
    std::cerr << "zhisuan-agent: " << config.status().message() << "\n";
    return 2;
  }
  if (config->print_help) {
    std::cout << AgentUsage() << KubernetesUsage() << dra::KubeletPluginUsage();
    return 0;
  }
  if (config->print_version) {
    std::cout << "zhisuan-agent " << ZHISUAN_VERSION << "\n";
    return 0;
  }
  if (config->print_flops_table) {
    std::cout << RenderFlopsTableMarkdown(PeakFlopsTable::BuiltIn());
    return 0;
  }
  zhisuan::SetLogVerbosity(config->verbosity);
  if (config->measure_flops_once) {
    std::cout << MeasureFlopsOnceJson(*config, *kubernetes) << "\n";
    return 0;
  }
  BlockAgentSignals();
  return RunAgent(*config, *kubernetes, *dra_plugin);
}
