#pragma once
// A real Kubernetes control plane on loopback for tests and the demo: etcd and kube-apiserver built
// from upstream sources (hack/toolchain.sh), TLS with an IP SAN for 127.0.0.1, RBAC on, an admin
// kubeconfig, and client-certificate credentials for any user on demand.
//
// Processes started by a test die with it (PR_SET_PDEATHSIG), so a crashed test leaves nothing
// behind; Stop() and the destructor stop them cleanly. A detached control plane (the demo) outlives
// its starter and is stopped by StopDetached(dir).
//
// Cluster mode (ControlPlaneOptions::cluster, `zhisuan-devcluster up --cluster DIR`) is for real
// kubelets (hack/node.sh): the Node authorizer and NodeRestriction, a serving certificate that
// also names 10.96.0.1 (the `kubernetes` Service, which is how kubelets and pods inside a node's
// network namespace reach the API server), a kubelet client certificate, an egress selector that
// reaches kubelets through an HTTP CONNECT proxy on the Unix socket egress_socket() (the node
// serves it from inside its namespace), and kube-controller-manager and kube-scheduler, both bound
// to 127.0.0.1 only.

#include <sys/types.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "common/status.h"

namespace zhisuan::harness {

struct ControlPlaneOptions {
  // Where certificates, kubeconfigs, etcd data and logs go. Empty: a fresh temp directory.
  std::string work_dir;
  // Directory holding etcd, kube-apiserver and kubectl. Empty: $ZHISUAN_TOOLCHAIN_BIN.
  std::string toolchain_bin;
  // Outlive this process (the demo). Tests leave this false.
  bool detach = false;
  // Appended to kube-apiserver's command line, e.g. {"--watch-cache=false"}.
  std::vector<std::string> extra_apiserver_flags;
  std::chrono::seconds ready_timeout{90};
  // Also run kube-controller-manager and kube-scheduler and accept real kubelets (see above).
  bool cluster = false;
  // --feature-gates for kube-apiserver and, in cluster mode, kube-controller-manager and
  // kube-scheduler alike (an alpha DRA gate must be on in all three), e.g.
  // "DRADeviceTaints=true". Empty: the release's defaults.
  std::string feature_gates;
};

struct CommandResult {
  int exit_code = -1;
  std::string output;  // stdout and stderr together
};

class ControlPlane {
 public:
  static StatusOr<std::unique_ptr<ControlPlane>> Start(ControlPlaneOptions options);
  ~ControlPlane();
  ControlPlane(const ControlPlane&) = delete;
  ControlPlane& operator=(const ControlPlane&) = delete;

  // Stops kube-apiserver, then etcd: SIGTERM, then SIGKILL after a grace period.
  void Stop();

  // Stops a detached control plane recorded in `work_dir` (see `zhisuan-devcluster down`).
  static Status StopDetached(const std::string& work_dir);

  const std::string& work_dir() const { return work_dir_; }
  const std::string& admin_kubeconfig() const { return admin_kubeconfig_; }
  const std::string& ca_file() const { return ca_file_; }
  std::string server_url() const;
  int apiserver_port() const { return apiserver_port_; }
  int etcd_port() const { return etcd_client_port_; }
  pid_t apiserver_pid() const { return apiserver_pid_; }
  pid_t etcd_pid() const { return etcd_pid_; }
  // Cluster mode only (-1 otherwise).
  pid_t controller_manager_pid() const { return controller_manager_pid_; }
  pid_t scheduler_pid() const { return scheduler_pid_; }
  // The Unix socket the API server's `cluster` egress (kubelet logs/exec) dials, cluster mode.
  std::string egress_socket() const { return work_dir_ + "/egress.sock"; }
  const std::string& kubectl_path() const { return kubectl_; }

  // Fault injection for resilience tests. Restarts keep ports, certificates and data. Call the
  // restarts from a thread that outlives the control plane (the test's main thread): the
  // processes' PR_SET_PDEATHSIG fires when the thread that started them ends, not the process.
  Status RestartApiServer();
  Status RestartEtcd();
  void FreezeApiServer();  // SIGSTOP: open connections hang, as they do on a stalled server
  void ThawApiServer();    // SIGCONT
  // Compacts etcd at its current revision, so any older resourceVersion is gone (HTTP 410).
  StatusOr<int64_t> CompactEtcd();

  // Writes a kubeconfig for a client-certificate user in `groups` (no RBAC is granted) and
  // returns its path.
  StatusOr<std::string> MintUserKubeconfig(const std::string& user,
                                           const std::vector<std::string>& groups);

  // Applies the chart's CRDs (charts/zhisuan/crds) and waits until the API server serves them
  // (Established).
  Status InstallCrds() const;

  // Runs kubectl with the admin kubeconfig (or `kubeconfig` when given).
  CommandResult Kubectl(const std::vector<std::string>& args, const std::string& stdin_text = "",
                        const std::string& kubeconfig = "") const;

 private:
  explicit ControlPlane(ControlPlaneOptions options);
  Status Init();
  Status StartEtcd();
  Status StartApiServer();
  Status WaitReady();
  Status StartControllers();  // cluster mode: kube-controller-manager and kube-scheduler
  Status WaitControllersHealthy();
  pid_t Spawn(const std::vector<std::string>& argv, const std::string& log_file);
  void WritePidFile() const;

  ControlPlaneOptions options_;
  std::string work_dir_;
  bool owns_work_dir_ = false;
  std::string etcd_, apiserver_, kubectl_, controller_manager_, scheduler_;
  std::string pki_dir_, ca_file_, admin_kubeconfig_;
  int etcd_client_port_ = 0, etcd_peer_port_ = 0, apiserver_port_ = 0;
  int controller_manager_port_ = 0, scheduler_port_ = 0;
  pid_t etcd_pid_ = -1, apiserver_pid_ = -1, controller_manager_pid_ = -1, scheduler_pid_ = -1;
};

// A program running in the background for a test, its output appended to `log_file`. It dies with
// the test process (PR_SET_PDEATHSIG), so a crashed test leaves nothing behind; the destructor
// kills what is still running.
class BackgroundProcess {
 public:
  // `env` entries ("NAME=value") are added to the inherited environment.
  BackgroundProcess(std::vector<std::string> argv, const std::string& log_file,
                    const std::vector<std::string>& env = {});
  ~BackgroundProcess() { Kill(); }
  BackgroundProcess(const BackgroundProcess&) = delete;
  BackgroundProcess& operator=(const BackgroundProcess&) = delete;

  // SIGTERM, then wait: the exit status (128 + signal when killed by one), -1 if not running.
  int Stop();
  void Kill();
  pid_t pid() const { return pid_; }

 private:
  pid_t pid_ = -1;
};

// Runs a command and captures its output. Used by the harness and by tests that drive kubectl.
CommandResult RunCommand(const std::vector<std::string>& argv, const std::string& stdin_text = "",
                         std::chrono::seconds timeout = std::chrono::seconds(120));

// A TCP port on 127.0.0.1 that was free a moment ago.
int PickFreePort();

// The repository's source directory, from $ZHISUAN_SOURCE_DIR (set by ctest).
std::string SourceDir();

}  // namespace zhisuan::harness
