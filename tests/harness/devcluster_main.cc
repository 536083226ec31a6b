// zhisuan-devcluster: starts or stops the local control plane that `make demo` leaves running.
//   zhisuan-devcluster up [--cluster] [--feature-gates=GATES] [--runtime-config=APIS] DIR
//                                           start etcd + kube-apiserver, detached; write
//                                           DIR/admin.kubeconfig. --cluster: also
//                                           kube-controller-manager and kube-scheduler, and accept
//                                           real kubelets (hack/node.sh). --feature-gates: the
//                                           same gates for all of them ("DRADeviceTaints=true");
//                                           --runtime-config: kube-apiserver's, for the alpha
//                                           APIs that go with a gate
//                                           ("resource.k8s.io/v1alpha3=true")
//   zhisuan-devcluster down DIR             stop what `up` started
#include <cstdio>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "tests/harness/control_plane.h"

namespace {

int Usage() {
  std::fprintf(stderr,
               "usage: zhisuan-devcluster up [--cluster] [--feature-gates=GATES] "
               "[--runtime-config=APIS] DIR | down DIR\n");
  return 2;
}

constexpr std::string_view kFeatureGatesFlag = "--feature-gates=";
constexpr std::string_view kRuntimeConfigFlag = "--runtime-config=";

// Whether `flag` is `prefix` followed by a value.
bool HasValue(std::string_view flag, std::string_view prefix) {
  return flag.starts_with(prefix) && flag.size() > prefix.size();
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) return Usage();
  const std::string verb = argv[1];
  bool cluster = false;
  std::string feature_gates;
  std::vector<std::string> apiserver_flags;
  for (int i = 2; i + 1 < argc; ++i) {
    const std::string_view flag = argv[i];
    if (verb == "up" && flag == "--cluster") {
      cluster = true;
    } else if (verb == "up" && HasValue(flag, kFeatureGatesFlag)) {
      feature_gates = flag.substr(kFeatureGatesFlag.size());
    } else if (verb == "up" && HasValue(flag, kRuntimeConfigFlag)) {
      apiserver_flags.emplace_back(flag);
    } else {
      return Usage();
    }
  }
  if (verb != "up" && verb != "down") return Usage();
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
  options.feature_gates = feature_gates;
  options.extra_apiserver_flags = apiserver_flags;
  auto plane = zhisuan::harness::ControlPlane::Start(options);
  if (!plane.ok()) {
    std::fprintf(stderr, "cannot start the control plane: %s\n",
                 std::string(plane.status().message()).c_str());
    return 1;
  }
  std::printf("control plane ready at %s\n", (*plane)->server_url().c_str());
  return 0;
}
