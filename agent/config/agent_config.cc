#include "agent/config/agent_config.h"

#include <yaml-cpp/yaml.h>

#include <cmath>
#include <functional>
#include <map>
#include <optional>
#include <set>

#include "common/flags.h"
#include "common/strings.h"

namespace zhisuan::agent {
namespace {

using std::chrono::milliseconds;

StatusOr<double> ParseNumber(std::string_view text) {
  auto value = ParseDouble(StripWhitespace(text));
  if (!value || !std::isfinite(*value)) {
    return InvalidArgumentError(StrCat("expected a number, got \"", text, "\""));
  }
  return *value;
}

StatusOr<std::set<uint64_t>> ParseXidList(std::string_view text) {
  std::set<uint64_t> xids;
  for (std::string_view piece : StrSplit(text, ',')) {
    piece = StripWhitespace(piece);
    if (piece.empty()) continue;
    auto xid = ParseUint64(piece);
    if (!xid) return InvalidArgumentError(StrCat("\"", piece, "\" is not an Xid number"));
    xids.insert(*xid);
  }
  return xids;
}

// Every setting, by its flag name and its config-file key, applied from text. One table so the
// flag and the file cannot drift apart.
struct Setting {
  std::string_view flag;
  std::string_view key;  // config file key; "" for flag-only settings
  bool is_bool;
  std::function<Status(AgentConfig&, std::string_view)> apply;
};

Status SetString(std::string& field, std::string_view value) {
  field = std::string(value);
  return OkStatus();
}

const std::vector<Setting>& Settings() {
  static const std::vector<Setting> settings = {
      {"sysfs-root", "sysfsRoot", false,
       [](AgentConfig& c, std::string_view v) { return SetString(c.discovery.sysfs_root, v); }},
      {"procfs-root", "procfsRoot", false,
       [](AgentConfig& c, std::string_view v) { return SetString(c.discovery.procfs_root, v); }},
      {"dev-root", "devRoot", false,
       [](AgentConfig& c, std::string_view v) { return SetString(c.discovery.dev_root, v); }},
      {"nvml-library", "nvmlLibrary", false,
       [](AgentConfig& c, std::string_view v) { return SetString(c.discovery.nvml_library, v); }},
      {"dcmi-library", "dcmiLibrary", false,
       [](AgentConfig& c, std::string_view v) { return SetString(c.discovery.dcmi_library, v); }},
      {"libcuda-library", "libcudaLibrary", false,
       [](AgentConfig& c, std::string_view v) { return SetString(c.libcuda_library, v); }},
      {"listen-address", "listenAddress", false,
       [](AgentConfig& c, std::string_view v) { return SetString(c.listen_address, v); }},
      {"metrics-tls-cert-file", "metricsTlsCertFile", false,
       [](AgentConfig& c, std::string_view v) { return SetString(c.metrics_tls.cert_file, v); }},
      {"metrics-tls-key-file", "metricsTlsKeyFile", false,
       [](AgentConfig& c, std::string_view v) { return SetString(c.metrics_tls.key_file, v); }},
      {"metrics-client-ca-file", "metricsClientCaFile", false,
       [](AgentConfig& c, std::string_view v) {
         return SetString(c.metrics_tls.client_ca_file, v);
       }},
      {"metrics-auth", "metricsAuth", false,
       [](AgentConfig& c, std::string_view v) -> Status {
         ZHISUAN_ASSIGN_OR_RETURN(c.metrics_auth, kube::ParseMetricsAuth(v));
         return OkStatus();
       }},
      {"sample-interval", "sampleInterval", false,
       [](AgentConfig& c, std::string_view v) -> Status {
         ZHISUAN_ASSIGN_OR_RETURN(c.sample_interval, ParseDuration(v));
         if (c.sample_interval < milliseconds(100) || c.sample_interval > std::chrono::hours(1)) {
           return InvalidArgumentError("must be between 100ms and 1h");
         }
         return OkStatus();
       }},
      {"energy-profile-file", "energyProfileFile", false,
       [](AgentConfig& c, std::string_view v) { return SetString(c.energy_profile_file, v); }},
      {"energy-feed-max-age", "energyFeedMaxAge", false,
       [](AgentConfig& c, std::string_view v) -> Status {
         ZHISUAN_ASSIGN_OR_RETURN(milliseconds age, ParseDuration(v));
         if (age < std::chrono::minutes(1) || age > std::chrono::hours(24 * 7)) {
           return InvalidArgumentError("must be between 1m and 168h");
         }
         c.energy_feed_max_age = std::chrono::duration_cast<std::chrono::seconds>(age);
         return OkStatus();
       }},
      {"energy-average-window", "energyAverageWindow", false,
       [](AgentConfig& c, std::string_view v) -> Status {
         ZHISUAN_ASSIGN_OR_RETURN(milliseconds window, ParseDuration(v));
         // Shorter than a minute would move with every job step and be republished often.
         if (window < std::chrono::seconds(12) || window > std::chrono::hours(24)) {
           return InvalidArgumentError("must be between 12s and 24h");
         }
         c.energy_average_window = std::chrono::duration_cast<std::chrono::seconds>(window);
         return OkStatus();
       }},
      {"node-name", "nodeName", false,
       [](AgentConfig& c, std::string_view v) { return SetString(c.node_name, v); }},
      {"ignored-xids", "ignoredXids", false,
       [](AgentConfig& c, std::string_view v) -> Status {
         ZHISUAN_ASSIGN_OR_RETURN(c.health.ignored_xids, ParseXidList(v));
         return OkStatus();
       }},
      {"health-quiet-period", "healthQuietPeriod", false,
       [](AgentConfig& c, std::string_view v) -> Status {
         ZHISUAN_ASSIGN_OR_RETURN(milliseconds period, ParseDuration(v));
         c.health.quiet_period = std::chrono::duration_cast<std::chrono::seconds>(period);
         return OkStatus();
       }},
      {"over-temperature-celsius", "overTemperatureCelsius", false,
       [](AgentConfig& c, std::string_view v) -> Status {
         ZHISUAN_ASSIGN_OR_RETURN(c.health.over_temperature_celsius, ParseNumber(v));
         if (c.health.over_temperature_celsius != 0 &&
             (c.health.over_temperature_celsius < 30 || c.health.over_temperature_celsius > 150)) {
           return InvalidArgumentError("must be 0 (off) or between 30 and 150");
         }
         return OkStatus();
       }},
      {"temperature-hysteresis-celsius", "temperatureHysteresisCelsius", false,
       [](AgentConfig& c, std::string_view v) -> Status {
         ZHISUAN_ASSIGN_OR_RETURN(c.health.temperature_hysteresis_celsius, ParseNumber(v));
         if (c.health.temperature_hysteresis_celsius < 0 ||
             c.health.temperature_hysteresis_celsius > 50) {
           return InvalidArgumentError("must be between 0 and 50");
         }
         return OkStatus();
       }},
      {"measure-flops-at-startup", "measureFlopsAtStartup", true,
       [](AgentConfig& c, std::string_view v) -> Status {
         ZHISUAN_ASSIGN_OR_RETURN(c.measure_flops_at_startup, ParseBoolValue(v));
         return OkStatus();
       }},
      {"flops-probe-duration", "flopsProbeDuration", false,
       [](AgentConfig& c, std::string_view v) -> Status {
         ZHISUAN_ASSIGN_OR_RETURN(c.flops_probe_duration, ParseDuration(v));
         if (c.flops_probe_duration < milliseconds(10) ||
             c.flops_probe_duration > std::chrono::seconds(10)) {
           return InvalidArgumentError("must be between 10ms and 10s");
         }
         return OkStatus();
       }},
      {"flops-measure-endpoint", "flopsMeasureEndpoint", false,
       [](AgentConfig& c, std::string_view v) -> Status {
         if (v == "disabled") {
           c.flops_measure_endpoint = FlopsMeasureEndpointMode::kDisabled;
         } else if (v == "authenticated") {
           c.flops_measure_endpoint = FlopsMeasureEndpointMode::kAuthenticated;
         } else {
           return InvalidArgumentError(
               StrCat("\"", v, "\": expected \"disabled\" or \"authenticated\""));
         }
         return OkStatus();
       }},
      {"flops-measure-min-interval", "flopsMeasureMinInterval", false,
       [](AgentConfig& c, std::string_view v) -> Status {
         ZHISUAN_ASSIGN_OR_RETURN(c.flops_measure_min_interval, ParseDuration(v));
         if (c.flops_measure_min_interval < std::chrono::seconds(1)) {
           return InvalidArgumentError("must be at least 1s");
         }
         return OkStatus();
       }},
      {"pod-resources-socket", "podResourcesSocket", false,
       [](AgentConfig& c, std::string_view v) -> Status {
         c.pod_resources_socket = std::string(v);
         return OkStatus();
       }},
      {"flops-probe-busy-utilization-ratio", "flopsProbeBusyUtilizationRatio", false,
       [](AgentConfig& c, std::string_view v) -> Status {
         ZHISUAN_ASSIGN_OR_RETURN(c.flops_probe_busy_utilization_ratio, ParseNumber(v));
         if (c.flops_probe_busy_utilization_ratio < 0 || c.flops_probe_busy_utilization_ratio > 1) {
           return InvalidArgumentError("must be between 0 and 1");
         }
         return OkStatus();
       }},
      {"v", "verbosity", false,
       [](AgentConfig& c, std::string_view v) -> Status {
         auto level = ParseInt64(v);
         if (!level || *level < 0 || *level > 10) {
           return InvalidArgumentError(StrCat("expected 0..10, got \"", v, "\""));
         }
         c.verbosity = static_cast<int>(*level);
         return OkStatus();
       }},
      {"config", "", false,
       [](AgentConfig& c, std::string_view v) { return SetString(c.config_file, v); }},
      {"measure-flops-once", "", true,
       [](AgentConfig& c, std::string_view v) -> Status {
         ZHISUAN_ASSIGN_OR_RETURN(c.measure_flops_once, ParseBoolValue(v));
         return OkStatus();
       }},
      {"print-flops-table", "", true,
       [](AgentConfig& c, std::string_view v) -> Status {
         ZHISUAN_ASSIGN_OR_RETURN(c.print_flops_table, ParseBoolValue(v));
         return OkStatus();
       }},
      {"version", "", true,
       [](AgentConfig& c, std::string_view v) -> Status {
         ZHISUAN_ASSIGN_OR_RETURN(c.print_version, ParseBoolValue(v));
         return OkStatus();
       }},
      {"help", "", true,
       [](AgentConfig& c, std::string_view v) -> Status {
         ZHISUAN_ASSIGN_OR_RETURN(c.print_help, ParseBoolValue(v));
         return OkStatus();
       }},
  };
  return settings;
}

const Setting* FindFlag(std::string_view flag) {
  for (const auto& setting : Settings()) {
    if (setting.flag == flag) return &setting;
  }
  return nullptr;
}

StatusOr<std::string> ScalarText(const YAML::Node& node, std::string_view field) {
  if (node.IsSequence()) {
    std::vector<std::string> items;
    for (const auto& item : node) {
      if (!item.IsScalar()) {
        return InvalidArgumentError(StrCat(field, ": expected a list of values"));
      }
      items.push_back(item.Scalar());
    }
    return StrJoin(items, ",");
  }
  if (!node.IsScalar()) return InvalidArgumentError(StrCat(field, ": expected a single value"));
  return node.Scalar();
}

Status ApplyEnergyProfile(const YAML::Node& node, AgentConfig& config) {
  if (!node.IsMap()) return InvalidArgumentError("energyProfile: expected a mapping");
  StatusOr<EnergyProfile> profile = ParseEnergyProfile(YAML::Dump(node), config.energy_profile);
  if (!profile.ok()) return profile.status().Annotate("energyProfile");
  config.energy_profile = *profile;
  return OkStatus();
}

}  // namespace

StatusOr<milliseconds> ParseDuration(std::string_view text) { return ParseDurationValue(text); }

Status ApplyConfigFile(std::string_view text, AgentConfig& config) {
  YAML::Node root;
  try {
    root = YAML::Load(std::string(text));
  } catch (const YAML::Exception& e) {
    return InvalidArgumentError(StrCat("not valid YAML or JSON: ", e.what()));
  }
  if (root.IsNull()) return OkStatus();
  if (!root.IsMap()) return InvalidArgumentError("expected a mapping of settings");
  try {
    for (const auto& item : root) {
      const std::string key = item.first.as<std::string>();
      if (key == "energyProfile") {
        ZHISUAN_RETURN_IF_ERROR(ApplyEnergyProfile(item.second, config));
        continue;
      }
      const Setting* setting = nullptr;
      for (const auto& candidate : Settings()) {
        if (!candidate.key.empty() && candidate.key == key) setting = &candidate;
      }
      if (setting == nullptr) return InvalidArgumentError(StrCat(key, ": unknown field"));
      ZHISUAN_ASSIGN_OR_RETURN(std::string value, ScalarText(item.second, key));
      Status status = setting->apply(config, value);
      if (!status.ok()) return status.Annotate(key);
    }
  } catch (const YAML::Exception& e) {
    return InvalidArgumentError(StrCat("malformed config: ", e.what()));
  }
  return OkStatus();
}

StatusOr<AgentConfig> ParseAgentConfig(const std::vector<std::string>& args,
                                       const ReadFileFn& read_file) {
  struct Parsed {
    const Setting* setting;
    std::string name;
    std::string value;
  };
  std::vector<Parsed> flags;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::optional<FlagArgument> flag = SplitFlagArgument(args[i]);
    if (!flag) {
      return InvalidArgumentError(StrCat("unexpected argument \"", args[i], "\" (see --help)"));
    }
    const std::string name(flag->name);
    std::optional<std::string> value;
    if (flag->value) value = std::string(*flag->value);
    const Setting* setting = FindFlag(name);
    if (setting == nullptr) {
      return InvalidArgumentError(StrCat("--", name, ": unknown flag (see --help)"));
    }
    if (!value) {
      if (setting->is_bool) {
        value = "true";
      } else if (i + 1 < args.size()) {
        value = args[++i];
      } else {
        return InvalidArgumentError(StrCat("--", name, ": missing value"));
      }
    }
    flags.push_back({setting, name, *value});
  }

  AgentConfig config;
  for (const auto& flag : flags) {
    if (flag.name != "config") continue;
    config.config_file = flag.value;
    StatusOr<std::string> text = read_file(flag.value);
    if (!text.ok()) return text.status().Annotate(StrCat("--config ", flag.value));
    Status status = ApplyConfigFile(*text, config);
    if (!status.ok()) return status.Annotate(StrCat("config ", flag.value));
  }
  for (const auto& flag : flags) {
    if (flag.name == "config") continue;
    Status status = flag.setting->apply(config, flag.value);
    if (!status.ok()) return status.Annotate(StrCat("--", flag.name));
  }
  return config;
}

std::string AgentUsage() {
  return R"(zhisuan-agent: node agent for AI compute (discovery, FLOPS, health, energy, metrics)

  --config FILE                     YAML or JSON settings (camelCase keys); flags override it
  --sysfs-root DIR                  (/sys) where sysfs is mounted; fixtures in tests
  --procfs-root DIR                 (/proc)
  --dev-root DIR                    (/dev)
  --nvml-library PATH               (libnvidia-ml.so.1)
  --dcmi-library PATH               (libdcmi.so)
  --libcuda-library PATH            (libcuda.so.1) for the GPU FLOPS probe
  --listen-address HOST:PORT        (:9400) /metrics /healthz /readyz, POST /flops/measure
  --metrics-tls-cert-file FILE      serve HTTPS with this PEM certificate chain (re-read when it
  --metrics-tls-key-file FILE       changes) and key; both or neither
  --metrics-client-ca-file FILE     require client certificates this CA signed (mutual TLS)
  --metrics-auth MODE               (none) who may GET /metrics: none, or kubernetes (bearer
                                    token: TokenReview, then SubjectAccessReview for get on the
                                    non-resource URL /metrics); /healthz and /readyz stay open
  --sample-interval DURATION        (5s) how often telemetry is read
  --energy-profile-file FILE        JSON or YAML energy profile, re-read when it changes: the
                                    native shape or Electricity Maps' carbon-intensity response
  --energy-feed-max-age DURATION    (2h) a profile with a timestamp but no validUntil expires
                                    this long after its timestamp; one with neither never does
  --energy-average-window DURATION  (1h) the accelerators' average power published in the
                                    ComputeNode (status.energy.averagePowerWatts) is over this
  --node-name NAME                  ($NODE_NAME, else the hostname)
  --ignored-xids LIST               (13,31,43,45,68,109) Xids that do not make a GPU unhealthy
  --health-quiet-period DURATION    (5m) fault-free time before an unhealthy device recovers
  --over-temperature-celsius C      (95; 0 turns it off)
  --temperature-hysteresis-celsius C (5) must cool below threshold minus this to clear
  --measure-flops-at-startup BOOL   (true) run the FLOPS probes once at start-up
  --flops-probe-duration DURATION   (500ms) per probe run
  --flops-probe-busy-utilization-ratio R (0.05) skip devices busier than this
  --flops-measure-endpoint MODE     (disabled) POST /flops/measure: disabled, or authenticated
                                    (bearer token: TokenReview, then SubjectAccessReview for
                                    create on computenodes/measure, group zhisuan.io, this node)
  --flops-measure-min-interval DURATION (1m) at most one requested run per interval
  --pod-resources-socket PATH       (/var/lib/kubelet/pod-resources/kubelet.sock) the kubelet's
                                    pod-resources API: devices allocated to pods are never probed
  --measure-flops-once              run the FLOPS probes, print JSON, exit
  --print-flops-table               print docs/flops-table.md and exit
  --version                         print the version and exit
  --v N                             log verbosity
SIGUSR1 (or an authorised POST /flops/measure) re-runs the FLOPS probes; SIGTERM/SIGINT stop the agent.
)";
}

}  // namespace zhisuan::agent
