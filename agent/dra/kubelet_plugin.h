#pragma once
// The kubelet DRA plugin of driver accelerators.zhisuan.io: two gRPC servers on unix sockets.
//   - <registry dir>/accelerators.zhisuan.io-reg.sock serves pluginregistration.Registration. The
//     kubelet's plugin watcher finds the socket, asks GetInfo (type DRAPlugin, the driver name, the
//     DRA socket, supported_versions v1.DRAPlugin and v1beta1.DRAPlugin) and reports back through
//     NotifyRegistrationStatus.
//   - <plugin dir>/dra.sock serves the DRA plugin API, v1 and v1beta1 with the same logic
//     (ClaimPreparer): the kubelet 1.34 picks v1, an older one v1beta1.
// The DRA socket is bound before the registration socket, so the kubelet never dials a plugin
// that is not there yet. RAII: destroying the plugin stops both and removes the sockets (the
// kubelet then deregisters the driver); the checkpoint and CDI specs stay for the next start.

#include <memory>
#include <string>

#include "agent/dra/claim_preparer.h"
#include "common/status.h"

namespace grpc {
class Server;
}

namespace zhisuan::agent::dra {

// The names the kubelet looks for in supported_versions (k8s.io/kubelet/pkg/apis/dra/*/types.go).
inline constexpr std::string_view kDraServiceV1 = "v1.DRAPlugin";
inline constexpr std::string_view kDraServiceV1beta1 = "v1beta1.DRAPlugin";

struct KubeletPluginPaths {
  std::string registry_dir;  // the kubelet's plugins_registry/
  std::string plugin_dir;    // this driver's own directory: dra.sock, the checkpoint
  std::string RegistrationSocket() const;
  std::string DraSocket() const;
};

class KubeletPlugin {
 public:
  static StatusOr<std::unique_ptr<KubeletPlugin>> Start(KubeletPluginPaths paths,
                                                        std::unique_ptr<ClaimPreparer> preparer);
  ~KubeletPlugin();
  KubeletPlugin(const KubeletPlugin&) = delete;
  KubeletPlugin& operator=(const KubeletPlugin&) = delete;

  // What the kubelet said in its last NotifyRegistrationStatus: unset until it called.
  std::optional<bool> Registered() const;
  ClaimPreparer& preparer() { return *preparer_; }

 private:
  struct Services;
  KubeletPlugin(KubeletPluginPaths paths, std::unique_ptr<ClaimPreparer> preparer);

  const KubeletPluginPaths paths_;
  std::unique_ptr<ClaimPreparer> preparer_;
  std::unique_ptr<Services> services_;
  std::unique_ptr<grpc::Server> dra_server_;
  std::unique_ptr<grpc::Server> registration_server_;
};

}  // namespace zhisuan::agent::dra
