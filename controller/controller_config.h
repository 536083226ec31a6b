#pragma once
// zhisuan-controller's command line: every flag, its default and its validation, apart from the
// binary so the parser is unit-tested (tests/unit/controller/controller_config_test.cc). Values
// use the shared grammar of common/flags.h, so a duration or boolean is spelled as for the agent.

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "common/tls_server.h"
#include "controller/reconcile/pool_planner.h"
#include "controller/uninstall_cleanup.h"
#include "kube/request_authorizer.h"

namespace zhisuan::controller {

struct ControllerConfig {
  std::string kubeconfig;  // "" tries $KUBECONFIG, in-cluster, ~/.kube/config
  std::string context;
  int workers = 2;
  bool leader_elect = true;
  std::string lease_namespace = "zhisuan-system";  // or $POD_NAMESPACE
  std::string lease_name = "zhisuan-controller";
  std::string metrics_address = ":8080";  // "0" turns the endpoint off
  // HTTPS for the metrics address, and who may read /metrics (/healthz and /readyz stay open).
  TlsServerFiles metrics_tls;
  kube::MetricsAuth metrics_auth = kube::MetricsAuth::kNone;
  PlannerConfig planner;
  // --orphan-sweep-interval: how often nodes bound to pools that are gone are released.
  std::chrono::milliseconds orphan_sweep_interval{60000};
  // --agent-pod-selector (equality terms only) and --agent-pod-namespace: the agent pods whose
  // readiness decides whether their node counts; set, it sets planner.require_ready_agent.
  std::optional<api::LabelSelector> agent_pod_selector;
  std::string agent_pod_namespace = "zhisuan-system";  // or $POD_NAMESPACE
  UninstallCleanupOptions uninstall;                   // --uninstall-cleanup and its flags
  int verbosity = 0;

  // Answer and exit: --help (or -h) and --version stop parsing where they stand, so flags after
  // them are not checked (what the binary has always done).
  bool print_help = false;
  bool print_version = false;
};

// Parses argv without argv[0]. `pod_namespace` is $POD_NAMESPACE, the Lease namespace unless
// --leader-election-namespace says otherwise, and the namespace of the pods --uninstall-cleanup
// waits for unless --uninstall-pod-namespace does ("" keeps zhisuan-system). Flags take
// --name=value or --name value; --leader-elect alone means true. Errors name the flag and the
// value, and an unknown flag's error carries the usage.
StatusOr<ControllerConfig> ParseControllerFlags(const std::vector<std::string>& args,
                                                std::string_view pod_namespace = "");

std::string ControllerUsage();

}  // namespace zhisuan::controller
