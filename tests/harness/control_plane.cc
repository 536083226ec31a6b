#include "tests/harness/control_plane.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "common/log.h"
#include "common/strings.h"

namespace zhisuan::harness {
namespace fs = std::filesystem;
using std::chrono::milliseconds;
using std::chrono::steady_clock;

namespace {

std::string ReadFileOrEmpty(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

std::string Tail(const std::string& text, size_t max_chars) {
  return text.size() <= max_chars ? text : text.substr(text.size() - max_chars);
}

Status WriteFile(const std::string& path, const std::string& contents) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << contents;
  out.close();
  if (!out) return InternalError(StrCat("cannot write ", path));
  return OkStatus();
}

// exec argv in the current (child) process; never returns.
[[noreturn]] void ExecOrDie(const std::vector<std::string>& argv) {
  std::vector<char*> raw;
  raw.reserve(argv.size() + 1);
  for (const auto& arg : argv) raw.push_back(const_cast<char*>(arg.c_str()));
  raw.push_back(nullptr);
  execv(raw[0], raw.data());
  std::fprintf(stderr, "exec %s failed: %s\n", raw[0], std::strerror(errno));
  _exit(127);
}

bool ProcessAlive(pid_t pid) { return pid > 0 && kill(pid, 0) == 0; }

// SIGTERM the process group, wait up to `grace`, then SIGKILL. Reaps our own children.
void TerminateGroup(pid_t pid, std::chrono::milliseconds grace) {
  if (pid <= 0) return;
  kill(-pid, SIGCONT);  // a frozen process cannot handle SIGTERM
  kill(-pid, SIGTERM);
  const auto deadline = steady_clock::now() + grace;
  while (steady_clock::now() < deadline) {
    int status = 0;
    pid_t reaped = waitpid(pid, &status, WNOHANG);
    if (reaped == pid || (reaped < 0 && !ProcessAlive(pid))) return;
    std::this_thread::sleep_for(milliseconds(50));
  }
  kill(-pid, SIGKILL);
  waitpid(pid, nullptr, 0);
}

// Plain-HTTP POST to etcd's JSON gateway on loopback; enough for compaction.
StatusOr<std::string> PostLoopbackHttp(int port, const std::string& path, const std::string& body) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return InternalError("socket failed");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    close(fd);
    return UnavailableError(StrCat("connect to etcd port ", port, " failed"));
  }
  std::string request = StrCat("POST ", path, " HTTP/1.1\r\nHost: 127.0.0.1\r\n",
                               "Content-Type: application/json\r\nConnection: close\r\n",
                               "Content-Length: ", body.size(), "\r\n\r\n", body);
  if (write(fd, request.data(), request.size()) != static_cast<ssize_t>(request.size())) {
    close(fd);
    return UnavailableError("short write to etcd");
  }
  std::string response;
  char buffer[4096];
  ssize_t n;
  while ((n = read(fd, buffer, sizeof buffer)) > 0) response.append(buffer, static_cast<size_t>(n));
  close(fd);
  auto header_end = response.find("\r\n\r\n");
  if (response.rfind("HTTP/1.1 200", 0) != 0 || header_end == std::string::npos) {
    return InternalError(StrCat("etcd ", path, " answered: ", Tail(response, 300)));
  }
  return response.substr(header_end + 4);
}

std::string KubeconfigYaml(const std::string& server, const std::string& user,
                           const std::string& cluster_fields, const std::string& user_fields) {
  return StrCat("apiVersion: v1\nkind: Config\nclusters:\n- name: zhisuan-local\n  cluster:\n",
                "    server: ", server, "\n", cluster_fields, "users:\n- name: ", user,
                "\n  user:\n", user_fields,
                "contexts:\n- name: zhisuan-local\n  context:\n    cluster: zhisuan-local\n",
                "    user: ", user, "\ncurrent-context: zhisuan-local\n");
}

}  // namespace

std::string SourceDir() {
  const char* dir = std::getenv("ZHISUAN_SOURCE_DIR");
  return dir != nullptr ? dir : ".";
}

int PickFreePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

BackgroundProcess::BackgroundProcess(std::vector<std::string> argv, const std::string& log_file,
                                     const std::vector<std::string>& env) {
  const pid_t parent = getpid();
  pid_ = fork();
  if (pid_ == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(1);  // the test died before prctl took effect
    for (const auto& variable : env) putenv(const_cast<char*>(variable.c_str()));
    int log_fd = open(log_file.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
    dup2(log_fd, STDOUT_FILENO);
    dup2(log_fd, STDERR_FILENO);
    ExecOrDie(argv);
  }
}

int BackgroundProcess::Stop() {
  if (pid_ <= 0) return -1;
  kill(pid_, SIGTERM);
  int status = 0;
  waitpid(pid_, &status, 0);
  pid_ = -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

void BackgroundProcess::Kill() {
  if (pid_ <= 0) return;
  kill(pid_, SIGKILL);
  waitpid(pid_, nullptr, 0);
  pid_ = -1;
}

CommandResult RunCommand(const std::vector<std::string>& argv, const std::string& stdin_text,
                         std::chrono::seconds timeout) {
  CommandResult result;
  int in_pipe[2], out_pipe[2];
  if (pipe2(in_pipe, O_CLOEXEC) != 0 || pipe2(out_pipe, O_CLOEXEC) != 0) {
    result.output = "pipe failed";
    return result;
  }
  pid_t pid = fork();
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    dup2(in_pipe[0], STDIN_FILENO);
    dup2(out_pipe[1], STDOUT_FILENO);
    dup2(out_pipe[1], STDERR_FILENO);
    ExecOrDie(argv);
  }
  close(in_pipe[0]);
  close(out_pipe[1]);
  // Small inputs only (manifests); write before reading is fine below the pipe buffer size, and
  // for larger ones the child reads while we block here.
  signal(SIGPIPE, SIG_IGN);
  size_t written = 0;
  while (written < stdin_text.size()) {
    ssize_t n = write(in_pipe[1], stdin_text.data() + written, stdin_text.size() - written);
    if (n <= 0) break;
    written += static_cast<size_t>(n);
  }
  close(in_pipe[1]);
  const auto deadline = steady_clock::now() + timeout;
  char buffer[8192];
  while (true) {
    auto left = std::chrono::duration_cast<milliseconds>(deadline - steady_clock::now()).count();
    if (left <= 0) {
      kill(pid, SIGKILL);
      result.output += "\n[harness] command timed out: " + StrJoin(argv, " ");
      break;
    }
    pollfd pfd{out_pipe[0], POLLIN, 0};
    if (poll(&pfd, 1, static_cast<int>(std::min<long long>(left, 1000))) <= 0) continue;
    ssize_t n = read(out_pipe[0], buffer, sizeof buffer);
    if (n <= 0) break;
    result.output.append(buffer, static_cast<size_t>(n));
  }
  close(out_pipe[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return result;
}

ControlPlane::ControlPlane(ControlPlaneOptions options) : options_(std::move(options)) {}

ControlPlane::~ControlPlane() {
  if (!options_.detach) Stop();
  if (owns_work_dir_ && std::getenv("ZHISUAN_KEEP_CONTROL_PLANE_DIR") == nullptr) {
    std::error_code ec;
    fs::remove_all(work_dir_, ec);
  }
}

StatusOr<std::unique_ptr<ControlPlane>> ControlPlane::Start(ControlPlaneOptions options) {
  std::unique_ptr<ControlPlane> plane(new ControlPlane(std::move(options)));
  if (auto status = plane->Init(); !status.ok()) return status;
  if (auto status = plane->StartEtcd(); !status.ok()) return status;
  if (auto status = plane->StartApiServer(); !status.ok()) return status;
  if (auto status = plane->WaitReady(); !status.ok()) {
    plane->Stop();
    return status;
  }
  if (plane->options_.cluster) {
    auto status = plane->StartControllers();
    if (status.ok()) status = plane->WaitControllersHealthy();
    if (!status.ok()) {
      plane->Stop();
      return status;
    }
  }
  plane->WritePidFile();
  return plane;
}

Status ControlPlane::Init() {
  std::string bin = options_.toolchain_bin;
  if (bin.empty()) {
    const char* env = std::getenv("ZHISUAN_TOOLCHAIN_BIN");
    if (env == nullptr) {
      return FailedPreconditionError(
          "ZHISUAN_TOOLCHAIN_BIN is not set; run the tests through ctest or `make test`, which "
          "build the toolchain with hack/toolchain.sh");
    }
    bin = env;
  }
  etcd_ = bin + "/etcd";
  apiserver_ = bin + "/kube-apiserver";
  kubectl_ = bin + "/kubectl";
  controller_manager_ = bin + "/kube-controller-manager";
  scheduler_ = bin + "/kube-scheduler";
  std::vector<std::string> tools = {etcd_, apiserver_, kubectl_};
  if (options_.cluster) tools.insert(tools.end(), {controller_manager_, scheduler_});
  for (const auto& tool : tools) {
    if (access(tool.c_str(), X_OK) != 0) {
      return FailedPreconditionError(
          StrCat(tool, " is missing; build the toolchain with `make toolchain`"));
    }
  }
  if (options_.work_dir.empty()) {
    std::string pattern = (fs::temp_directory_path() / "zhisuan-cp.XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr) return InternalError("mkdtemp failed");
    work_dir_ = pattern;
    owns_work_dir_ = true;
  } else {
    work_dir_ = fs::absolute(options_.work_dir).string();
    fs::create_directories(work_dir_);
  }
  pki_dir_ = work_dir_ + "/pki";
  ca_file_ = pki_dir_ + "/ca.crt";
  admin_kubeconfig_ = work_dir_ + "/admin.kubeconfig";
  const std::string pki_script = SourceDir() + "/tests/harness/pki.sh";
  auto pki = RunCommand({"/bin/bash", pki_script, "init", pki_dir_});
  if (pki.exit_code != 0) {
    return InternalError(StrCat("creating the PKI failed: ", pki.output));
  }
  if (options_.cluster) {
    auto cluster_pki = RunCommand({"/bin/bash", pki_script, "cluster", pki_dir_});
    if (cluster_pki.exit_code != 0) {
      return InternalError(StrCat("creating the cluster PKI failed: ", cluster_pki.output));
    }
    // The only egress the API server makes in cluster mode: kubelets (logs, exec, port-forward),
    // through the node's CONNECT proxy. The socket appears when a node comes up.
    auto status = WriteFile(work_dir_ + "/egress-selector.yaml",
                            StrCat(R"(apiVersion: apiserver.k8s.io/v1beta1
kind: EgressSelectorConfiguration
egressSelections:
- name: cluster
  connection:
    proxyProtocol: HTTPConnect
    transport:
      uds:
        udsName: )",
                                   egress_socket(), "\n"));
    if (!status.ok()) return status;
    controller_manager_port_ = PickFreePort();
    scheduler_port_ = PickFreePort();
  }
  etcd_client_port_ = PickFreePort();
  etcd_peer_port_ = PickFreePort();
  apiserver_port_ = PickFreePort();
  return WriteFile(admin_kubeconfig_,
                   KubeconfigYaml(server_url(), "zhisuan-admin",
                                  StrCat("    certificate-authority: ", ca_file_, "\n"),
                                  StrCat("    client-certificate: ", pki_dir_, "/admin.crt\n",
                                         "    client-key: ", pki_dir_, "/admin.key\n")));
}

std::string ControlPlane::server_url() const {
  return StrCat("https://127.0.0.1:", apiserver_port_);
}

pid_t ControlPlane::Spawn(const std::vector<std::string>& argv, const std::string& log_file) {
  const pid_t parent = getpid();
  pid_t pid = fork();
  if (pid == 0) {
    if (options_.detach) {
      setsid();
    } else {
      setpgid(0, 0);
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (getppid() != parent) _exit(1);  // the parent died before prctl took effect
    }
    int log_fd = open(log_file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    int null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    dup2(null_fd, STDIN_FILENO);
    dup2(log_fd, STDOUT_FILENO);
    dup2(log_fd, STDERR_FILENO);
    ExecOrDie(argv);
  }
  if (pid > 0) setpgid(pid, pid);
  return pid;
}

Status ControlPlane::StartEtcd() {
  const std::string client = StrCat("http://127.0.0.1:", etcd_client_port_);
  const std::string peer = StrCat("http://127.0.0.1:", etcd_peer_port_);
  etcd_pid_ = Spawn({etcd_, "--name=zhisuan", "--data-dir=" + work_dir_ + "/etcd",
                     "--listen-client-urls=" + client, "--advertise-client-urls=" + client,
                     "--listen-peer-urls=" + peer, "--initial-advertise-peer-urls=" + peer,
                     "--initial-cluster=zhisuan=" + peer, "--log-level=warn",
                     // Tests restart etcd on purpose; fsync only slows the 2-core CI machine.
                     "--unsafe-no-fsync=true", "--quota-backend-bytes=4294967296"},
                    work_dir_ + "/etcd.log");
  if (etcd_pid_ <= 0) return InternalError("fork for etcd failed");
  return OkStatus();
}

Status ControlPlane::StartApiServer() {
  std::vector<std::string> argv = {
      apiserver_,
      StrCat("--etcd-servers=http://127.0.0.1:", etcd_client_port_),
      "--bind-address=127.0.0.1",
      "--advertise-address=127.0.0.1",
      StrCat("--secure-port=", apiserver_port_),
      "--tls-cert-file=" + pki_dir_ + "/apiserver.crt",
      "--tls-private-key-file=" + pki_dir_ + "/apiserver.key",
      "--client-ca-file=" + ca_file_,
      "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
      "--service-account-key-file=" + pki_dir_ + "/sa.pub",
      "--service-account-signing-key-file=" + pki_dir_ + "/sa.key",
      "--api-audiences=https://kubernetes.default.svc.cluster.local",
      "--authorization-mode=RBAC",
      "--service-cluster-ip-range=10.96.0.0/16",
      "--cert-dir=" + work_dir_ + "/apiserver-certs",
      "--allow-privileged=true",
      // Compaction happens only when a test asks for it, so 410s are deterministic.
      "--etcd-compaction-interval=0",
      "--profiling=false",
      "--v=1",
  };
  if (options_.cluster) {
    for (auto& arg : argv) {
      if (arg == "--authorization-mode=RBAC") arg = "--authorization-mode=Node,RBAC";
    }
    argv.insert(argv.end(),
                {"--enable-admission-plugins=NodeRestriction",
                 // Node names are not in any DNS: dial the InternalIP the kubelet reports.
                 "--kubelet-preferred-address-types=InternalIP",
                 "--kubelet-client-certificate=" + pki_dir_ + "/kubelet-client.crt",
                 "--kubelet-client-key=" + pki_dir_ + "/kubelet-client.key",
                 "--egress-selector-config-file=" + work_dir_ + "/egress-selector.yaml"});
  }
  if (!options_.feature_gates.empty()) argv.push_back("--feature-gates=" + options_.feature_gates);
  argv.insert(argv.end(), options_.extra_apiserver_flags.begin(),
              options_.extra_apiserver_flags.end());
  apiserver_pid_ = Spawn(argv, work_dir_ + "/kube-apiserver.log");
  if (apiserver_pid_ <= 0) return InternalError("fork for kube-apiserver failed");
  return OkStatus();
}

Status ControlPlane::WaitReady() {
  const auto deadline = steady_clock::now() + options_.ready_timeout;
  std::string last;
  while (steady_clock::now() < deadline) {
    for (auto [pid, name, log] :
         {std::tuple{etcd_pid_, "etcd", "/etcd.log"},
          std::tuple{apiserver_pid_, "kube-apiserver", "/kube-apiserver.log"}}) {
      int status = 0;
      if (!options_.detach && waitpid(pid, &status, WNOHANG) == pid) {
        return InternalError(StrCat(name, " exited during start-up; last log lines:\n",
                                    Tail(ReadFileOrEmpty(work_dir_ + log), 3000)));
      }
    }
    auto ready = Kubectl({"get", "--raw=/readyz"});
    if (ready.exit_code == 0 && ready.output.find("ok") != std::string::npos) {
      return OkStatus();
    }
    last = ready.output;
    std::this_thread::sleep_for(milliseconds(250));
  }
  return DeadlineExceededError(
      StrCat("kube-apiserver was not ready within ", options_.ready_timeout.count(),
             "s: ", Tail(last, 500), "\napiserver log:\n",
             Tail(ReadFileOrEmpty(work_dir_ + "/kube-apiserver.log"), 2000)));
}

Status ControlPlane::StartControllers() {
  auto kcm_kubeconfig = MintUserKubeconfig("system:kube-controller-manager", {});
  if (!kcm_kubeconfig.ok()) return kcm_kubeconfig.status();
  auto scheduler_kubeconfig = MintUserKubeconfig("system:kube-scheduler", {});
  if (!scheduler_kubeconfig.ok()) return scheduler_kubeconfig.status();
  // Both serve HTTPS for health and metrics: loopback only, on ports picked here, with
  // self-signed certificates in the work dir (the default --cert-dir is global).
  auto common_flags = [this](const std::string& kubeconfig, int port, const std::string& name) {
    std::vector<std::string> flags{
        "--kubeconfig=" + kubeconfig,
        "--authentication-kubeconfig=" + kubeconfig,
        "--authorization-kubeconfig=" + kubeconfig,
        "--bind-address=127.0.0.1",
        StrCat("--secure-port=", port),
        StrCat("--cert-dir=", work_dir_, "/", name, "-certs"),
        "--leader-elect=false",
        "--profiling=false",
        "--v=1",
    };
    if (!options_.feature_gates.empty())
      flags.push_back("--feature-gates=" + options_.feature_gates);
    return flags;
  };
  std::vector<std::string> kcm = {controller_manager_};
  auto flags = common_flags(*kcm_kubeconfig, controller_manager_port_, "kube-controller-manager");
  kcm.insert(kcm.end(), flags.begin(), flags.end());
  kcm.insert(kcm.end(), {"--use-service-account-credentials=true",
                         "--service-account-private-key-file=" + pki_dir_ + "/sa.key",
                         "--root-ca-file=" + ca_file_, "--cluster-name=zhisuan-local",
                         "--service-cluster-ip-range=10.96.0.0/16",
                         // Nodes bring their own pod CIDR (hack/node.sh's bridge CNI config).
                         "--allocate-node-cidrs=false", "--controllers=*,-nodeipam"});
  controller_manager_pid_ = Spawn(kcm, work_dir_ + "/kube-controller-manager.log");
  if (controller_manager_pid_ <= 0) return InternalError("fork for kube-controller-manager failed");
  std::vector<std::string> scheduler = {scheduler_};
  flags = common_flags(*scheduler_kubeconfig, scheduler_port_, "kube-scheduler");
  scheduler.insert(scheduler.end(), flags.begin(), flags.end());
  scheduler_pid_ = Spawn(scheduler, work_dir_ + "/kube-scheduler.log");
  if (scheduler_pid_ <= 0) return InternalError("fork for kube-scheduler failed");
  return OkStatus();
}

// Both are healthy once their /healthz answers ok. Their serving certificates are self-signed into
// --cert-dir (the file holds the certificate and its CA), which is what kubectl verifies against.
Status ControlPlane::WaitControllersHealthy() {
  const auto deadline = steady_clock::now() + options_.ready_timeout;
  for (auto [pid, port, name] :
       {std::tuple{controller_manager_pid_, controller_manager_port_, "kube-controller-manager"},
        std::tuple{scheduler_pid_, scheduler_port_, "kube-scheduler"}}) {
    const std::string log = StrCat(work_dir_, "/", name, ".log");
    while (true) {
      int status = 0;
      if (!options_.detach && waitpid(pid, &status, WNOHANG) == pid) {
        return InternalError(StrCat(name, " exited during start-up; last log lines:\n",
                                    Tail(ReadFileOrEmpty(log), 3000)));
      }
      auto healthy = Kubectl(
          {StrCat("--server=https://127.0.0.1:", port),
           StrCat("--certificate-authority=", work_dir_, "/", name, "-certs/", name, ".crt"), "get",
           "--raw=/healthz"});
      if (healthy.exit_code == 0 && healthy.output.find("ok") != std::string::npos) break;
      if (steady_clock::now() > deadline) {
        return DeadlineExceededError(StrCat(name,
                                            " was not healthy in time: ", Tail(healthy.output, 500),
                                            "\nlog:\n", Tail(ReadFileOrEmpty(log), 2000)));
      }
      std::this_thread::sleep_for(milliseconds(250));
    }
  }
  return OkStatus();
}

void ControlPlane::WritePidFile() const {
  // StopDetached stops them in this order: the controllers before the API server they talk to.
  std::ofstream out(work_dir_ + "/pids");
  for (pid_t pid : {scheduler_pid_, controller_manager_pid_, apiserver_pid_, etcd_pid_}) {
    if (pid > 0) out << pid << "\n";
  }
}

void ControlPlane::Stop() {
  TerminateGroup(scheduler_pid_, std::chrono::seconds(10));
  scheduler_pid_ = -1;
  TerminateGroup(controller_manager_pid_, std::chrono::seconds(10));
  controller_manager_pid_ = -1;
  TerminateGroup(apiserver_pid_, std::chrono::seconds(10));
  apiserver_pid_ = -1;
  TerminateGroup(etcd_pid_, std::chrono::seconds(10));
  etcd_pid_ = -1;
}

Status ControlPlane::StopDetached(const std::string& work_dir) {
  std::ifstream in(work_dir + "/pids");
  if (!in) return NotFoundError(StrCat("no control plane recorded in ", work_dir));
  pid_t pid;
  std::vector<pid_t> pids;
  while (in >> pid) pids.push_back(pid);
  for (pid_t p : pids) {
    if (!ProcessAlive(p)) continue;
    kill(-p, SIGCONT);
    kill(-p, SIGTERM);
    const auto deadline = steady_clock::now() + std::chrono::seconds(10);
    while (ProcessAlive(p) && steady_clock::now() < deadline) {
      waitpid(p, nullptr, WNOHANG);
      std::this_thread::sleep_for(milliseconds(50));
    }
    if (ProcessAlive(p)) kill(-p, SIGKILL);
  }
  fs::remove(work_dir + "/pids");
  return OkStatus();
}

Status ControlPlane::RestartApiServer() {
  TerminateGroup(apiserver_pid_, std::chrono::seconds(10));
  if (auto status = StartApiServer(); !status.ok()) return status;
  auto status = WaitReady();
  WritePidFile();
  return status;
}

Status ControlPlane::RestartEtcd() {
  TerminateGroup(etcd_pid_, std::chrono::seconds(10));
  if (auto status = StartEtcd(); !status.ok()) return status;
  auto status = WaitReady();
  WritePidFile();
  return status;
}

void ControlPlane::FreezeApiServer() { kill(apiserver_pid_, SIGSTOP); }
void ControlPlane::ThawApiServer() { kill(apiserver_pid_, SIGCONT); }

StatusOr<int64_t> ControlPlane::CompactEtcd() {
  // Any key will do: the response header carries the store's current revision.
  auto range = PostLoopbackHttp(etcd_client_port_, "/v3/kv/range", R"({"key":"Lw=="})");
  if (!range.ok()) return range.status();
  const std::string marker = "\"revision\":\"";
  auto pos = range->find(marker);
  if (pos == std::string::npos) {
    return InternalError(StrCat("no revision in etcd response: ", *range));
  }
  pos += marker.size();
  auto revision = ParseInt64(std::string_view(*range).substr(pos, range->find('"', pos) - pos));
  if (!revision) {
    return InternalError(StrCat("bad revision in etcd response: ", *range));
  }
  auto compact = PostLoopbackHttp(etcd_client_port_, "/v3/kv/compaction",
                                  StrCat(R"({"revision":")", *revision, R"(","physical":true})"));
  if (!compact.ok()) return compact.status();
  return *revision;
}

StatusOr<std::string> ControlPlane::MintUserKubeconfig(const std::string& user,
                                                       const std::vector<std::string>& groups) {
  std::vector<std::string> argv = {"/bin/bash", SourceDir() + "/tests/harness/pki.sh", "user",
                                   pki_dir_, user};
  argv.insert(argv.end(), groups.begin(), groups.end());
  auto minted = RunCommand(argv);
  if (minted.exit_code != 0) {
    return InternalError(StrCat("minting credentials failed: ", minted.output));
  }
  // Embedded data rather than paths, so both kubeconfig forms are exercised by the tests.
  const std::string path = StrCat(work_dir_, "/", user, ".kubeconfig");
  auto status = WriteFile(
      path,
      KubeconfigYaml(
          server_url(), user,
          StrCat("    certificate-authority-data: ", Base64Encode(ReadFileOrEmpty(ca_file_)), "\n"),
          StrCat("    client-certificate-data: ",
                 Base64Encode(ReadFileOrEmpty(pki_dir_ + "/users/" + user + ".crt")),
                 "\n    client-key-data: ",
                 Base64Encode(ReadFileOrEmpty(pki_dir_ + "/users/" + user + ".key")), "\n")));
  if (!status.ok()) return status;
  return path;
}

Status ControlPlane::InstallCrds() const {
  auto applied = Kubectl({"apply", "-f", SourceDir() + "/charts/zhisuan/crds/"});
  if (applied.exit_code != 0) return InternalError("applying the CRDs: " + applied.output);
  auto established = Kubectl({"wait", "--for=condition=Established", "--timeout=60s",
                              "crd/computepools.zhisuan.io", "crd/computenodes.zhisuan.io"});
  if (established.exit_code != 0) {
    return InternalError("CRDs not established: " + established.output);
  }
  return OkStatus();
}

CommandResult ControlPlane::Kubectl(const std::vector<std::string>& args,
                                    const std::string& stdin_text,
                                    const std::string& kubeconfig) const {
  std::vector<std::string> argv = {kubectl_, "--kubeconfig",
                                   kubeconfig.empty() ? admin_kubeconfig_ : kubeconfig};
  argv.insert(argv.end(), args.begin(), args.end());
  return RunCommand(argv, stdin_text);
}

}  // namespace zhisuan::harness
