// zhisuan-controller: binds nodes to ComputePools. Wiring only: flags are parsed by
// controller/controller_config, the run loop is controller/controller_runner, planning is
// controller/reconcile, writes are controller/plan_executor and the loop
// controller/pool_controller; --uninstall-cleanup runs controller/uninstall_cleanup instead.
// docs/controller.md describes flags and semantics.

#include <csignal>
#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include "common/log.h"
#include "controller/controller_config.h"
#include "controller/controller_runner.h"
#include "controller/uninstall_cleanup.h"

int main(int argc, char** argv) {
  using namespace zhisuan::controller;  // NOLINT(build/namespaces): main only
  // Read before any thread exists.
  const char* pod_namespace = std::getenv("POD_NAMESPACE");  // NOLINT(concurrency-mt-unsafe)
  auto config = ParseControllerFlags(std::vector<std::string>(argv + 1, argv + argc),
                                     pod_namespace != nullptr ? pod_namespace : "");
  if (!config.ok()) {
    std::cerr << "zhisuan-controller: " << config.status().message() << "\n";
    return 2;
  }
  if (config->print_help) {
    std::cout << ControllerUsage();
    return 0;
  }
  if (config->print_version) {
    std::cout << "zhisuan-controller " << ZHISUAN_VERSION << "\n";
    return 0;
  }
  zhisuan::SetLogVerbosity(config->verbosity);
  if (config->uninstall.enabled) return RunUninstallCleanup(*config);

  // Signals are taken synchronously by this thread; every thread started later inherits the mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  auto clients = ConnectToApiServer(*config);
  if (!clients.ok()) {
    std::cerr << "zhisuan-controller: " << clients.status().message() << "\n";
    return 1;
  }
  return RunController(*config, *clients, ControllerIdentity(), [&signals] {
    int received = 0;
    sigwait(&signals, &received);
    ZLOG(Info) << "signal " << received << ": shutting down";
  });
}
