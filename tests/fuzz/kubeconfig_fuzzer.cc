// Any kubeconfig text -- broken YAML, wrong node kinds, anchors, huge scalars -- parses to a
// config or a Status with a message; yaml-cpp exceptions never escape. A parsed config keeps the
// promises the REST client relies on: an https:// server, and never both a CA and skip-verify.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "common/file_reader.h"
#include "kube/config.h"

namespace {

// Files named by the kubeconfig exist only when their path says so, so both the read and the
// missing-file paths are reached without touching the disk.
class FuzzFileReader : public zhisuan::FileReader {
 public:
  zhisuan::StatusOr<std::string> Read(std::string_view path) const override {
    if (path.find("missing") != std::string_view::npos) {
      return zhisuan::NotFoundError(std::string(path));
    }
    return std::string("contents of ") + std::string(path);
  }
  zhisuan::StatusOr<std::vector<std::string>> List(std::string_view path) const override {
    return zhisuan::NotFoundError(std::string(path));
  }
  zhisuan::StatusOr<std::string> ReadLink(std::string_view path) const override {
    return zhisuan::NotFoundError(std::string(path));
  }
  bool Exists(std::string_view path) const override {
    return path.find("missing") == std::string_view::npos;
  }
};

void Check(const zhisuan::StatusOr<zhisuan::kube::ClientConfig>& config) {
  if (!config.ok()) {
    if (config.status().message().empty()) std::abort();
    return;
  }
  if (config->server.rfind("https://", 0) != 0) std::abort();
  if (config->insecure_skip_tls_verify && !config->ca_pem.empty()) std::abort();
  if (config->client_cert_pem.empty() != config->client_key_pem.empty()) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view yaml(reinterpret_cast<const char*>(data), size);
  const FuzzFileReader files;
  // current-context, and a context named explicitly (the --context flag path).
  Check(zhisuan::kube::ParseKubeconfig(yaml, "/etc/kube", "", files));
  Check(zhisuan::kube::ParseKubeconfig(yaml, "", "kind-zhisuan", files));
  return 0;
}
