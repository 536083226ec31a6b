#include "kube/config.h"

#include <yaml-cpp/yaml.h>

#include <cstdlib>
#include <exception>
#include <optional>
#include <vector>

#include "common/log.h"
#include "common/strings.h"

namespace zhisuan::kube {
namespace {

// A scalar field of a kubeconfig map; "" when absent. Errors name the field with its path.
StatusOr<std::string> ScalarField(const YAML::Node& map, const std::string& where,
                                  const std::string& key) {
  const YAML::Node node = map[key];
  if (!node || node.IsNull()) return std::string();
  if (!node.IsScalar()) return InvalidArgumentError(StrCat(where, ".", key, " must be a string"));
  return node.as<std::string>();
}

// Finds `name` in a kubeconfig list of {name: ..., <field>: {...}} and returns its <field> map.
StatusOr<YAML::Node> NamedEntry(const YAML::Node& root, const std::string& list,
                                const std::string& field, const std::string& name) {
  const YAML::Node entries = root[list];
  if (entries && !entries.IsNull() && !entries.IsSequence()) {
    return InvalidArgumentError(StrCat("kubeconfig field ", list, " must be a list"));
  }
  if (entries) {
    for (const YAML::Node& entry : entries) {
      if (!entry.IsMap() || !entry["name"] || !entry["name"].IsScalar()) continue;
      if (entry["name"].as<std::string>() != name) continue;
      const YAML::Node body = entry[field];
      if (!body || !body.IsMap()) {
        return InvalidArgumentError(
            StrCat("kubeconfig ", list, "[", name, "] has no ", field, " map"));
      }
      return body;
    }
  }
  return NotFoundError(StrCat("kubeconfig has no ", list, " entry named \"", name, "\""));
}

std::string ResolvePath(const std::string& base_dir, const std::string& path) {
  if (path.empty() || path.front() == '/' || base_dir.empty()) return path;
  return StrCat(base_dir, "/", path);
}

// A credential given either inline as base64 (`<key>-data`) or as a file path (`<key>`); the
// inline form wins, as in kubectl.
StatusOr<std::string> FileOrData(const YAML::Node& map, const std::string& where,
                                 const std::string& key, const std::string& base_dir,
                                 const FileReader& files) {
  ZHISUAN_ASSIGN_OR_RETURN(std::string data, ScalarField(map, where, key + "-data"));
  if (!data.empty()) {
    std::optional<std::string> decoded = Base64Decode(data);
    if (!decoded) return InvalidArgumentError(StrCat(where, ".", key, "-data is not valid base64"));
    return *std::move(decoded);
  }
  ZHISUAN_ASSIGN_OR_RETURN(std::string path, ScalarField(map, where, key));
  if (path.empty()) return std::string();
  const std::string resolved = ResolvePath(base_dir, path);
  StatusOr<std::string> contents = files.Read(resolved);
  if (!contents.ok()) {
    return contents.status().Annotate(StrCat(where, ".", key, " (", resolved, ")"));
  }
  return contents;
}

StatusOr<ClientConfig> ParseKubeconfigNode(const YAML::Node& root, const std::string& base_dir,
                                           const std::string& context_flag,
                                           const FileReader& files) {
  if (!root.IsMap()) return InvalidArgumentError("kubeconfig is not a YAML map");
  std::string context_name = context_flag;
  if (context_name.empty()) {
    ZHISUAN_ASSIGN_OR_RETURN(context_name, ScalarField(root, "kubeconfig", "current-context"));
    if (context_name.empty()) {
      return InvalidArgumentError(
          "kubeconfig has no current-context and no context was given (--context)");
    }
  }
  ZHISUAN_ASSIGN_OR_RETURN(YAML::Node context,
                           NamedEntry(root, "contexts", "context", context_name));
  const std::string context_where = StrCat("contexts[", context_name, "].context");
  ZHISUAN_ASSIGN_OR_RETURN(std::string cluster_name,
                           ScalarField(context, context_where, "cluster"));
  ZHISUAN_ASSIGN_OR_RETURN(std::string user_name, ScalarField(context, context_where, "user"));
  if (cluster_name.empty()) return InvalidArgumentError(StrCat(context_where, ".cluster is empty"));

  ClientConfig config;
  config.source = StrCat("context ", context_name);
  ZHISUAN_ASSIGN_OR_RETURN(config.default_namespace,
                           ScalarField(context, context_where, "namespace"));

  ZHISUAN_ASSIGN_OR_RETURN(YAML::Node cluster,
                           NamedEntry(root, "clusters", "cluster", cluster_name));
  const std::string cluster_where = StrCat("clusters[", cluster_name, "].cluster");
  ZHISUAN_ASSIGN_OR_RETURN(config.server, ScalarField(cluster, cluster_where, "server"));
  if (config.server.empty()) return InvalidArgumentError(StrCat(cluster_where, ".server is empty"));
  if (!StartsWith(config.server, "https://")) {
    return InvalidArgumentError(StrCat(cluster_where, ".server \"", config.server,
                                       "\" is not https://; Zhisuan only talks TLS"));
  }
  ZHISUAN_ASSIGN_OR_RETURN(
      config.ca_pem, FileOrData(cluster, cluster_where, "certificate-authority", base_dir, files));
  ZHISUAN_ASSIGN_OR_RETURN(std::string insecure,
                           ScalarField(cluster, cluster_where, "insecure-skip-tls-verify"));
  if (!insecure.empty() && insecure != "true" && insecure != "false") {
    return InvalidArgumentError(
        StrCat(cluster_where, ".insecure-skip-tls-verify must be true or false, not ", insecure));
  }
  config.insecure_skip_tls_verify = insecure == "true";
  if (config.insecure_skip_tls_verify && !config.ca_pem.empty()) {
    return InvalidArgumentError(StrCat(cluster_where,
                                       " sets both certificate-authority and "
                                       "insecure-skip-tls-verify; pick one"));
  }

  if (!user_name.empty()) {
    ZHISUAN_ASSIGN_OR_RETURN(YAML::Node user, NamedEntry(root, "users", "user", user_name));
    const std::string user_where = StrCat("users[", user_name, "].user");
    ZHISUAN_ASSIGN_OR_RETURN(config.client_cert_pem,
                             FileOrData(user, user_where, "client-certificate", base_dir, files));
    ZHISUAN_ASSIGN_OR_RETURN(config.client_key_pem,
                             FileOrData(user, user_where, "client-key", base_dir, files));
    if (config.client_cert_pem.empty() != config.client_key_pem.empty()) {
      return InvalidArgumentError(StrCat(
          user_where, " has ", config.client_cert_pem.empty() ? "client-key" : "client-certificate",
          " without ", config.client_cert_pem.empty() ? "client-certificate" : "client-key"));
    }
    ZHISUAN_ASSIGN_OR_RETURN(config.bearer_token, ScalarField(user, user_where, "token"));
    ZHISUAN_ASSIGN_OR_RETURN(std::string token_file, ScalarField(user, user_where, "tokenFile"));
    config.token_file = ResolvePath(base_dir, token_file);
    if (!config.token_file.empty() && config.bearer_token.empty()) {
      // Read now so a missing file fails at startup rather than on the first request.
      StatusOr<std::string> token = files.Read(config.token_file);
      if (!token.ok()) {
        return token.status().Annotate(StrCat(user_where, ".tokenFile (", config.token_file, ")"));
      }
      config.bearer_token = std::string(StripWhitespace(*token));
    }
    const bool has_credentials = !config.client_cert_pem.empty() || !config.bearer_token.empty();
    for (const char* unsupported : {"exec", "auth-provider", "username"}) {
      if (user[unsupported] && !has_credentials) {
        return UnimplementedError(StrCat(user_where, ".", unsupported,
                                         " is not supported; use a client certificate or token"));
      }
    }
  }
  if (config.insecure_skip_tls_verify) {
    ZLOG(Warning) << "kubeconfig " << cluster_where
                  << " sets insecure-skip-tls-verify: true; the API server's certificate will NOT "
                     "be verified (INSECURE, anyone on the path can impersonate it)";
  }
  return config;
}

}  // namespace

StatusOr<ClientConfig> ParseKubeconfig(std::string_view yaml, const std::string& base_dir,
                                       const std::string& context, const FileReader& files) {
  YAML::Node root;
  try {
    root = YAML::Load(std::string(yaml));
  } catch (const std::exception& e) {
    return InvalidArgumentError(StrCat("kubeconfig is not valid YAML: ", e.what()));
  }
  try {
    return ParseKubeconfigNode(root, base_dir, context, files);
  } catch (const std::exception& e) {
    // yaml-cpp throws on type mismatches deep in a document (a map where a scalar was expected).
    return InvalidArgumentError(StrCat("kubeconfig has an unexpected shape: ", e.what()));
  }
}

StatusOr<ClientConfig> ParseKubeconfig(std::string_view yaml, const std::string& base_dir,
                                       const std::string& context) {
  return ParseKubeconfig(yaml, base_dir, context, *MakeRootedFileReader(""));
}

namespace {

StatusOr<ClientConfig> LoadKubeconfigWith(const std::string& path, const std::string& context,
                                          const FileReader& files) {
  StatusOr<std::string> yaml = files.Read(path);
  if (!yaml.ok()) return yaml.status().Annotate(StrCat("reading kubeconfig ", path));
  const size_t slash = path.rfind('/');
  const std::string base_dir = slash == std::string::npos ? "." : path.substr(0, slash);
  StatusOr<ClientConfig> config =
      ParseKubeconfig(*yaml, base_dir.empty() ? "/" : base_dir, context, files);
  if (!config.ok()) return config.status().Annotate(StrCat("kubeconfig ", path));
  config->source = StrCat("kubeconfig ", path, " (", config->source, ")");
  return config;
}

}  // namespace

StatusOr<ClientConfig> LoadKubeconfig(const std::string& path, const std::string& context) {
  return LoadKubeconfigWith(path, context, *MakeRootedFileReader(""));
}

EnvLookup ProcessEnv() {
  return [](std::string_view name) -> std::string {
    // The process never changes its environment, so concurrent reads are safe.
    const char* value = std::getenv(std::string(name).c_str());  // NOLINT(concurrency-mt-unsafe)
    return value != nullptr ? value : "";
  };
}

StatusOr<ClientConfig> LoadInClusterConfig(const FileReader& files, const EnvLookup& env) {
  const std::string host = env("KUBERNETES_SERVICE_HOST");
  const std::string port = env("KUBERNETES_SERVICE_PORT");
  if (host.empty() || port.empty()) {
    return NotFoundError(
        "not running in a cluster: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are unset");
  }
  if (!ParseInt64(port).has_value()) {
    return InvalidArgumentError(StrCat("KUBERNETES_SERVICE_PORT is not a number: ", port));
  }
  ClientConfig config;
  // An IPv6 service address needs brackets in a URL.
  const bool ipv6 = host.find(':') != std::string::npos && host.front() != '[';
  config.server = StrCat("https://", ipv6 ? "[" : "", host, ipv6 ? "]" : "", ":", port);
  const std::string token_file = StrCat(kServiceAccountDir, "/token");
  StatusOr<std::string> token = files.Read(token_file);
  if (!token.ok()) return token.status().Annotate("in-cluster service account token");
  config.bearer_token = std::string(StripWhitespace(*token));
  if (config.bearer_token.empty()) return InvalidArgumentError(StrCat(token_file, " is empty"));
  config.token_file = token_file;
  StatusOr<std::string> ca = files.Read(StrCat(kServiceAccountDir, "/ca.crt"));
  if (!ca.ok()) return ca.status().Annotate("in-cluster service account CA");
  config.ca_pem = *std::move(ca);
  StatusOr<std::string> ns = files.Read(StrCat(kServiceAccountDir, "/namespace"));
  if (ns.ok()) config.default_namespace = std::string(StripWhitespace(*ns));
  config.source = StrCat("in-cluster service account (", config.server, ")");
  return config;
}

StatusOr<ClientConfig> LoadInClusterConfig() {
  return LoadInClusterConfig(*MakeRootedFileReader(""), ProcessEnv());
}

StatusOr<ClientConfig> ResolveClientConfig(const std::string& kubeconfig_flag,
                                           const std::string& context_flag, const FileReader& files,
                                           const EnvLookup& env) {
  // An explicitly named file that is broken is an error, never a reason to fall through to
  // another identity.
  if (!kubeconfig_flag.empty()) return LoadKubeconfigWith(kubeconfig_flag, context_flag, files);
  const std::string kubeconfig_env = env("KUBECONFIG");
  if (!kubeconfig_env.empty()) {
    for (std::string_view path : StrSplit(kubeconfig_env, ':')) {
      if (!path.empty()) return LoadKubeconfigWith(std::string(path), context_flag, files);
    }
  }
  std::vector<std::string> tried = {"--kubeconfig (not set)", "$KUBECONFIG (not set)"};
  StatusOr<ClientConfig> in_cluster = LoadInClusterConfig(files, env);
  if (in_cluster.ok()) return in_cluster;
  if (in_cluster.status().code() != StatusCode::kNotFound) return in_cluster.status();
  tried.push_back(StrCat("in-cluster: ", in_cluster.status().message()));
  const std::string home = env("HOME");
  if (!home.empty()) {
    const std::string path = StrCat(home, "/.kube/config");
    if (files.Exists(path)) return LoadKubeconfigWith(path, context_flag, files);
    tried.push_back(StrCat(path, " (no such file)"));
  } else {
    tried.push_back("~/.kube/config ($HOME not set)");
  }
  return NotFoundError(
      StrCat("no Kubernetes client configuration found; tried ", StrJoin(tried, "; ")));
}

StatusOr<ClientConfig> ResolveClientConfig(const std::string& kubeconfig_flag,
                                           const std::string& context_flag) {
  return ResolveClientConfig(kubeconfig_flag, context_flag, *MakeRootedFileReader(""),
                             ProcessEnv());
}

}  // namespace zhisuan::kube
