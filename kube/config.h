#pragma once
// Where the client finds the API server and who it is there: a kubeconfig file, or the service
// account Kubernetes mounts into every pod. Credentials are held as PEM text (not paths) so the
// REST client never touches the filesystem for them, except a token file, which is re-read because
// bound service-account tokens expire and the kubelet rotates them in place.

#include <chrono>
#include <functional>
#include <string>
#include <string_view>

#include "common/file_reader.h"
#include "common/status.h"

namespace zhisuan::kube {

struct ClientConfig {
  std::string server;  // "https://10.0.0.1:6443"
  std::string ca_pem;  // empty: the system trust store
  std::string client_cert_pem;
  std::string client_key_pem;
  std::string bearer_token;
  // When set, the token is read from this file and re-read when it changes (rotation).
  std::string token_file;
  double qps = 50;  // <= 0: no client-side rate limit
  int burst = 100;
  std::string user_agent = "zhisuan";
  std::chrono::seconds request_timeout{30};
  // Only ever true when a kubeconfig explicitly says `insecure-skip-tls-verify: true`.
  bool insecure_skip_tls_verify = false;
  // Attempts per request, the first included, for failures worth retrying (see
  // docs/kube-client.md).
  int max_attempts = 5;
  // Response bodies larger than this are refused rather than buffered.
  size_t max_response_bytes = size_t{256} << 20;
  // The context's namespace (kubeconfig) or the pod's own (in-cluster); "" when unknown.
  std::string default_namespace;
  // Where the config came from, for error messages and logs ("kubeconfig /x (context c)").
  std::string source;
};

// Parses kubeconfig YAML. Relative file paths resolve against `base_dir`; an empty `context` means
// current-context. Files named by the kubeconfig are read through `files`.
StatusOr<ClientConfig> ParseKubeconfig(std::string_view yaml, const std::string& base_dir,
                                       const std::string& context, const FileReader& files);
// Same, reading referenced files from the real filesystem.
StatusOr<ClientConfig> ParseKubeconfig(std::string_view yaml, const std::string& base_dir,
                                       const std::string& context);

StatusOr<ClientConfig> LoadKubeconfig(const std::string& path, const std::string& context = "");

// Environment lookup, injectable for tests; returns "" when unset.
using EnvLookup = std::function<std::string(std::string_view name)>;
EnvLookup ProcessEnv();

inline constexpr char kServiceAccountDir[] = "/var/run/secrets/kubernetes.io/serviceaccount";

// The pod's service account: token and CA under kServiceAccountDir (read through `files`, so a test
// roots it at a fixture directory) and KUBERNETES_SERVICE_HOST/PORT from `env`.
StatusOr<ClientConfig> LoadInClusterConfig(const FileReader& files, const EnvLookup& env);
StatusOr<ClientConfig> LoadInClusterConfig();

// The order kubectl and client-go use: --kubeconfig, then $KUBECONFIG (its first file), then the
// in-cluster service account, then ~/.kube/config. The error lists everything that was tried.
StatusOr<ClientConfig> ResolveClientConfig(const std::string& kubeconfig_flag,
                                           const std::string& context_flag);
StatusOr<ClientConfig> ResolveClientConfig(const std::string& kubeconfig_flag,
                                           const std::string& context_flag, const FileReader& files,
                                           const EnvLookup& env);

}  // namespace zhisuan::kube
