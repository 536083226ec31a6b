// zhisuan-devcluster: starts or stops the local control plane that `make demo` leaves running.
//   zhisuan-devcluster up [--cluster] DIR   start etcd + kube-apiserver, detached; write
//                                           DIR/admin.kubeconfig. --cluster: also
//                                           kube-controller-manager and kube-scheduler, and accept
//                                           real kubelets (hack/node.sh)
//   zhisuan-devcluster down DIR             stop what `up` started
#include <cstdio>
#include <filesystem>
#include <string>

#include "tests/harness/control_plane.h"

namespace {

int Usage() {
  std::fprintf(stderr, "usage: zhisuan-devcluster up [--cluster] DIR | down DIR\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) return Usage();
  const std::string verb = argv[1];
  const bool cluster = argc == 4 && std::string(argv[2]) == "--cluster";
  if (!((verb == "up" && (argc == 3 || cluster)) || (verb == "down" && argc == 3))) {
    return Usage();
  }
  const std::string dir = argv[argc - 1];
  if (verb == "down") {
    auto status = zhisuan::harness::ControlPlane::StopDetached(dir);
    if (!status.ok()) {
      std::fprintf(stderr, "%s\n", std::string(status.message()).c_str());
      return 1;
    }
    std::printf("control plane in %s stopped\n", dir.c_str());
    return 0;
  }
  if (std::filesystem::exists(dir + "/pids")) {
    std::fprintf(stderr, "a control plane is already recorded in %s; run `make demo-down` first\n",
                 dir.c_str());
    return 1;
  }
  zhisuan::harness::ControlPlaneOptions options;
  options.work_dir = dir;
  options.detach = true;
  options.cluster = cluster;
  auto plane = zhisuan::harness::ControlPlane::Start(options);
  if (!plane.ok()) {
    std::fprintf(stderr, "cannot start the control plane: %s\n",
                 std::string(plane.status().message()).c_str());
    return 1;
  }
  std::printf("control plane ready at %s\n", (*plane)->server_url().c_str());
  return 0;
}
