#pragma once
// The agent's configuration: defaults, then the --config file (YAML or JSON, camelCase keys), then
// flags, which win. Everything is validated before the agent starts, and every error names the
// flag or the config field at fault, so a bad DaemonSet spec fails at once and says why.

#include <chrono>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "agent/discovery/discovery.h"
#include "agent/energy/average_power.h"
#include "agent/energy/energy_profile.h"
#include "agent/health/device_health_tracker.h"
#include "common/status.h"
#include "common/tls_server.h"
#include "kube/request_authorizer.h"

namespace zhisuan::agent {

// POST /flops/measure: off, or open to bearer tokens the API server authenticates and authorises.
enum class FlopsMeasureEndpointMode { kDisabled, kAuthenticated };

struct AgentConfig {
  DiscoveryOptions discovery;
  std::string libcuda_library = "libcuda.so.1";
  std::string listen_address = ":9400";
  // HTTPS for the listen address, and who may read /metrics (/healthz and /readyz stay open to
  // the kubelet's probes). The files are checked when the agent starts.
  TlsServerFiles metrics_tls;
  kube::MetricsAuth metrics_auth = kube::MetricsAuth::kNone;
  std::chrono::milliseconds sample_interval{5000};
  std::string config_file;
  std::string energy_profile_file;
  EnergyProfile energy_profile;
  // How long a fed profile with a timestamp but no validUntil is trusted.
  std::chrono::seconds energy_feed_max_age = kDefaultEnergyFeedMaxAge;
  std::chrono::seconds energy_average_window = kDefaultAveragePowerWindow;
  std::string node_name;  // empty: main fills in $NODE_NAME or the hostname
  HealthPolicy health;
  bool measure_flops_at_startup = true;
  std::chrono::milliseconds flops_probe_duration{500};
  // A device busier than this in the latest sample is not probed.
  double flops_probe_busy_utilization_ratio = 0.05;
  FlopsMeasureEndpointMode flops_measure_endpoint = FlopsMeasureEndpointMode::kDisabled;
  std::chrono::milliseconds flops_measure_min_interval{60000};
  // The kubelet's pod-resources API; devices it lists as allocated are never probed.
  std::string pod_resources_socket = "/var/lib/kubelet/pod-resources/kubelet.sock";
  int verbosity = 0;

  // One-shot modes: do the thing, print, exit.
  bool measure_flops_once = false;
  bool print_flops_table = false;
  bool print_version = false;
  bool print_help = false;
};

// Parses argv (without argv[0]). Reads the --config file through `read_file`, so tests need no
// files. Flags take `--name=value` or `--name value`; booleans also take a bare `--name`.
using ReadFileFn = std::function<StatusOr<std::string>(const std::string& path)>;
StatusOr<AgentConfig> ParseAgentConfig(const std::vector<std::string>& args,
                                       const ReadFileFn& read_file);

// Applies a config file's contents over `config`. Errors name the field ("health.quietPeriod").
Status ApplyConfigFile(std::string_view text, AgentConfig& config);

// "500ms", "5s", "2m", "1h", or a bare number of seconds ("1.5"): the shared grammar of
// common/flags.h, which this forwards to (kept for the agent's callers and tests).
StatusOr<std::chrono::milliseconds> ParseDuration(std::string_view text);

std::string AgentUsage();

}  // namespace zhisuan::agent
