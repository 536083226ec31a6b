#include "controller/controller_config.h"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <functional>
#include <limits>
#include <optional>

#include "common/flags.h"
#include "common/strings.h"

namespace zhisuan::controller {
namespace {

constexpr char kUsage[] = R"(Usage: zhisuan-controller [flags]
  --kubeconfig=PATH                  kubeconfig (default: $KUBECONFIG, in-cluster, ~/.kube/config)
  --context=NAME                     kubeconfig context
  --workers=N                        concurrent reconciles (default 2)
  --leader-elect=true|false          elect a leader on a Lease (default true)
  --leader-election-namespace=NS     Lease namespace (default $POD_NAMESPACE or zhisuan-system)
  --leader-election-id=NAME          Lease name (default zhisuan-controller)
  --metrics-address=HOST:PORT        /metrics, /healthz, /readyz (default :8080; "0" disables)
  --metrics-tls-cert-file=FILE       serve HTTPS with this PEM certificate chain and key (both or
  --metrics-tls-key-file=FILE        neither; re-read when they change)
  --metrics-client-ca-file=FILE      require client certificates this CA signed (mutual TLS)
  --metrics-auth=none|kubernetes     who may GET /metrics: anyone, or a bearer token the API
                                     server authenticates (TokenReview) and authorises for get on
                                     the non-resource URL /metrics (SubjectAccessReview); /healthz
                                     and /readyz stay open for the kubelet's probes (default none)
  --carbon-grace=DURATION            how long a member may be out of carbon policy (default 10m)
  --carbon-free-ratio-margin=X       ratio below the policy that evicts at once (default 0.1)
  --carbon-intensity-margin=X        gCO2e/kWh above the policy that evicts at once (default 50)
  --health-grace=DURATION            how long a member may be NotReady (default 60s)
  --drain-timeout=DURATION           how long pods of other namespaces are evicted from a node
                                     changing hands before the NoExecute taint deletes them
                                     (default 5m)
  --drain-exempt-namespaces=NS,...   namespaces whose pods are never drained (default kube-system)
  --dra=true|false                   keep a DRA ResourceClaimTemplate "<pool>-accelerator" in each
                                     pool's namespace and name it in the pool's status
                                     (resource.k8s.io/v1, Kubernetes 1.34+; default false)
  --orphan-sweep-interval=DURATION   how often nodes bound to a ComputePool that no longer exists
                                     (deleted without its finalizer) are released; 0 never
                                     (default 1m)
  --agent-pod-selector=K=V,...       the agent pods (labels, equality terms only): a node with
                                     an agent pod counts for a pool only while it is Ready, and a member
                                     whose agent is not Ready for --health-grace is replaced
                                     (default: none, every node with a ComputeNode counts)
  --agent-pod-namespace=NS           their namespace (default $POD_NAMESPACE or zhisuan-system)
  --uninstall-cleanup=true|false     instead of running, remove what Zhisuan left in the cluster
                                     after `helm uninstall` and exit: the agent's Node labels, pool
                                     labels and taints, ComputeNodes, the pools' finalizer (the
                                     pools stay), the Lease; alone means true (default false)
  --uninstall-pod-selector=SELECTOR  pods that must be gone before that cleanup starts: the
                                     release's agents and controllers (default: none)
  --uninstall-pod-namespace=NS       their namespace (default $POD_NAMESPACE or zhisuan-system)
  --uninstall-pod-wait=DURATION      how long to wait for them, then clean up and fail (default 60s)
  --v=N                              log verbosity
DURATION: 500ms, 90s, 10m, 1h, or a bare number of seconds; grace periods count whole seconds,
so a fraction rounds up. BOOL: true, false, 1 or 0.
)";

// Applies one flag's value to the config; errors say what is wrong with the value, and the caller
// names the flag.
using ApplyFn = std::function<Status(ControllerConfig&, std::string_view value)>;

Status NotEmpty(std::string& field, std::string_view value) {
  if (value.empty()) return InvalidArgumentError("must not be empty");
  field = std::string(value);
  return OkStatus();
}

// The planner counts whole seconds; rounding up never makes a grace period shorter than asked.
Status GracePeriod(std::chrono::seconds& field, std::string_view value) {
  ZHISUAN_ASSIGN_OR_RETURN(std::chrono::milliseconds duration, ParseDurationValue(value));
  field = std::chrono::ceil<std::chrono::seconds>(duration);
  return OkStatus();
}

// Letters, digits and `extra`: what label keys ("/" and "." for the prefix) and values are made
// of. The API server checks the finer rules; this keeps set-based syntax ("!=", "in (...)") out.
bool LabelCharacters(std::string_view text, std::string_view extra) {
  return std::all_of(text.begin(), text.end(), [extra](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0 || extra.find(c) != extra.npos;
  });
}

// "k=v,k2=v2": the selectors the chart passes. Set-based terms are refused rather than misread.
Status EqualitySelector(std::optional<api::LabelSelector>& field, std::string_view value) {
  api::LabelSelector selector;
  for (std::string_view term : StrSplit(value, ',')) {
    const size_t equals = term.find('=');
    const std::string_view key = term.substr(0, equals);
    const std::string_view label = equals == std::string_view::npos ? "" : term.substr(equals + 1);
    if (equals == std::string_view::npos || key.empty() || !LabelCharacters(key, "-_./") ||
        !LabelCharacters(label, "-_.")) {
      return InvalidArgumentError(
          StrCat("term \"", term, "\" is not key=value (only equality terms are supported)"));
    }
    selector.match_labels[std::string(key)] = std::string(label);
  }
  if (selector.match_labels.empty()) return InvalidArgumentError("must not be empty");
  field = std::move(selector);
  return OkStatus();
}

Status Margin(double& field, std::string_view value, std::optional<double> max) {
  auto margin = ParseDouble(value);
  if (!margin || *margin < 0 || (max && *margin > *max)) {
    return InvalidArgumentError(max ? "must be between 0 and 1" : "must be a non-negative number");
  }
  field = *margin;
  return OkStatus();
}

struct Flag {
  std::string_view name;
  ApplyFn apply;
};

const std::vector<Flag>& Flags() {
  static const std::vector<Flag> flags = {
      {"kubeconfig",
       [](ControllerConfig& c, std::string_view v) {
         c.kubeconfig = std::string(v);
         return OkStatus();
       }},
      {"context",
       [](ControllerConfig& c, std::string_view v) {
         c.context = std::string(v);
         return OkStatus();
       }},
      {"workers",
       [](ControllerConfig& c, std::string_view v) {
         auto workers = ParseInt64(v);
         if (!workers || *workers < 1 || *workers > 64) {
           return InvalidArgumentError("must be between 1 and 64");
         }
         c.workers = static_cast<int>(*workers);
         return OkStatus();
       }},
      {"leader-elect",
       [](ControllerConfig& c, std::string_view v) -> Status {
         ZHISUAN_ASSIGN_OR_RETURN(c.leader_elect, ParseBoolValue(v));
         return OkStatus();
       }},
      {"leader-election-namespace",
       [](ControllerConfig& c, std::string_view v) { return NotEmpty(c.lease_namespace, v); }},
      {"leader-election-id",
       [](ControllerConfig& c, std::string_view v) { return NotEmpty(c.lease_name, v); }},
      {"metrics-address",
       [](ControllerConfig& c, std::string_view v) {
         c.metrics_address = std::string(v);
         return OkStatus();
       }},
      {"metrics-tls-cert-file",
       [](ControllerConfig& c, std::string_view v) {
         return NotEmpty(c.metrics_tls.cert_file, v);
       }},
      {"metrics-tls-key-file",
       [](ControllerConfig& c, std::string_view v) { return NotEmpty(c.metrics_tls.key_file, v); }},
      {"metrics-client-ca-file",
       [](ControllerConfig& c, std::string_view v) {
         return NotEmpty(c.metrics_tls.client_ca_file, v);
       }},
      {"metrics-auth",
       [](ControllerConfig& c, std::string_view v) -> Status {
         ZHISUAN_ASSIGN_OR_RETURN(c.metrics_auth, kube::ParseMetricsAuth(v));
         return OkStatus();
       }},
      {"carbon-grace", [](ControllerConfig& c,
                          std::string_view v) { return GracePeriod(c.planner.carbon_grace, v); }},
      {"health-grace", [](ControllerConfig& c,
                          std::string_view v) { return GracePeriod(c.planner.health_grace, v); }},
      {"drain-timeout", [](ControllerConfig& c,
                           std::string_view v) { return GracePeriod(c.planner.drain_timeout, v); }},
      {"drain-exempt-namespaces",
       [](ControllerConfig& c, std::string_view v) {
         c.planner.drain_exempt_namespaces.clear();
         for (const auto& ns : StrSplit(v, ',')) {
           if (!ns.empty()) c.planner.drain_exempt_namespaces.insert(std::string(ns));
         }
         return OkStatus();
       }},
      {"dra",
       [](ControllerConfig& c, std::string_view v) -> Status {
         ZHISUAN_ASSIGN_OR_RETURN(c.planner.dra_claim_templates, ParseBoolValue(v));
         return OkStatus();
       }},
      {"orphan-sweep-interval",
       [](ControllerConfig& c, std::string_view v) -> Status {
         ZHISUAN_ASSIGN_OR_RETURN(c.orphan_sweep_interval, ParseDurationValue(v));
         return OkStatus();
       }},
      {"agent-pod-selector",
       [](ControllerConfig& c, std::string_view v) {
         Status parsed = EqualitySelector(c.agent_pod_selector, v);
         c.planner.require_ready_agent = c.agent_pod_selector.has_value();
         return parsed;
       }},
      {"agent-pod-namespace",
       [](ControllerConfig& c, std::string_view v) { return NotEmpty(c.agent_pod_namespace, v); }},
      {"carbon-free-ratio-margin",
       [](ControllerConfig& c, std::string_view v) {
         return Margin(c.planner.carbon_free_ratio_margin, v, 1.0);
       }},
      {"carbon-intensity-margin",
       [](ControllerConfig& c, std::string_view v) {
         return Margin(c.planner.carbon_intensity_margin, v, std::nullopt);
       }},
      {"uninstall-cleanup",
       [](ControllerConfig& c, std::string_view v) -> Status {
         ZHISUAN_ASSIGN_OR_RETURN(c.uninstall.enabled, ParseBoolValue(v));
         return OkStatus();
       }},
      {"uninstall-pod-selector",
       [](ControllerConfig& c, std::string_view v) {
         c.uninstall.pod_selector = std::string(v);
         return OkStatus();
       }},
      {"uninstall-pod-namespace",
       [](ControllerConfig& c, std::string_view v) {
         return NotEmpty(c.uninstall.pod_namespace, v);
       }},
      {"uninstall-pod-wait",
       [](ControllerConfig& c, std::string_view v) -> Status {
         ZHISUAN_ASSIGN_OR_RETURN(c.uninstall.pod_wait, ParseDurationValue(v));
         return OkStatus();
       }},
      {"v",
       [](ControllerConfig& c, std::string_view v) {
         auto verbosity = ParseInt64(v);
         if (!verbosity || *verbosity < 0 || *verbosity > std::numeric_limits<int>::max()) {
           return InvalidArgumentError("must be a non-negative integer");
         }
         c.verbosity = static_cast<int>(*verbosity);
         return OkStatus();
       }},
  };
  return flags;
}

const Flag* FindFlag(std::string_view name) {
  for (const Flag& flag : Flags()) {
    if (flag.name == name) return &flag;
  }
  return nullptr;
}

}  // namespace

StatusOr<ControllerConfig> ParseControllerFlags(const std::vector<std::string>& args,
                                                std::string_view pod_namespace) {
  ControllerConfig config;
  if (!pod_namespace.empty()) config.lease_namespace = std::string(pod_namespace);
  if (!pod_namespace.empty()) config.uninstall.pod_namespace = std::string(pod_namespace);
  if (!pod_namespace.empty()) config.agent_pod_namespace = std::string(pod_namespace);
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string_view arg = args[i];
    if (arg == "--help" || arg == "-h") {
      config.print_help = true;
      return config;
    }
    // --version, like --help, answers and exits (the image test and support bundles ask it).
    if (arg == "--version") {
      config.print_version = true;
      return config;
    }
    const std::optional<FlagArgument> argument = SplitFlagArgument(arg);
    if (!argument) return InvalidArgumentError(StrCat("unexpected argument ", arg));
    const Flag* flag = FindFlag(argument->name);
    if (flag == nullptr) {
      return InvalidArgumentError(StrCat("unknown flag --", argument->name, "\n", kUsage));
    }
    std::optional<std::string_view> value = argument->value;
    // --leader-elect is boolean: alone it means true and never takes the next argument.
    if (!value && flag->name == "leader-elect") value = "true";
    if (!value && flag->name == "uninstall-cleanup") value = "true";
    if (!value && i + 1 < args.size()) value = args[++i];
    if (!value) return InvalidArgumentError(StrCat("--", flag->name, " needs a value"));
    Status applied = flag->apply(config, *value);
    if (!applied.ok()) return applied.Annotate(StrCat("--", flag->name, "=", *value));
  }
  return config;
}

std::string ControllerUsage() { return kUsage; }

}  // namespace zhisuan::controller
