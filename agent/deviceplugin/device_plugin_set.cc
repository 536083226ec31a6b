#include "agent/deviceplugin/device_plugin_set.h"

#include <grpcpp/grpcpp.h>
#include <sys/stat.h>

#include "agent/deviceplugin/proto/api.grpc.pb.h"
#include "agent/resource_naming.h"
#include "common/log.h"
#include "common/strings.h"
#include "common/thread_guard.h"

namespace zhisuan::agent {
namespace {

// The inode of a socket file, 0 when it is absent or not a socket.
uint64_t SocketInode(const std::string& path) {
  struct stat info {};
  if (::stat(path.c_str(), &info) != 0 || !S_ISSOCK(info.st_mode)) return 0;
  return static_cast<uint64_t>(info.st_ino);
}

std::string JoinPath(const std::string& dir, const std::string& name) {
  if (!dir.empty() && dir.back() == '/') return dir + name;
  return dir + "/" + name;
}

std::string FileName(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

}  // namespace

std::string KubeletSocketPath(const std::string& plugin_dir) {
  return JoinPath(plugin_dir, "kubelet.sock");
}

Status RegisterWithKubelet(const std::string& kubelet_socket, const std::string& endpoint,
                           const std::string& resource_name, std::chrono::seconds timeout) {
  auto channel =
      grpc::CreateChannel("unix://" + kubelet_socket, grpc::InsecureChannelCredentials());
  auto stub = v1beta1::Registration::NewStub(channel);
  v1beta1::RegisterRequest request;
  request.set_version("v1beta1");
  request.set_endpoint(endpoint);
  request.set_resource_name(resource_name);
  request.mutable_options()->set_pre_start_required(false);
  request.mutable_options()->set_get_preferred_allocation_available(true);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + timeout);
  context.set_wait_for_ready(true);
  v1beta1::Empty reply;
  grpc::Status status = stub->Register(&context, request, &reply);
  if (!status.ok()) {
    return UnavailableError(StrCat("registering ", resource_name, " with kubelet at ",
                                   kubelet_socket, ": ", status.error_message()));
  }
  return OkStatus();
}

DevicePluginSet::DevicePluginSet(DevicePluginSetOptions options, DeviceHealthSource& health)
    : options_(std::move(options)), health_(health) {}

StatusOr<std::unique_ptr<DevicePluginSet>> DevicePluginSet::Start(
    const DevicePluginSetOptions& options, const std::vector<Accelerator>& accelerators,
    DeviceHealthSource& health) {
  if (!options.resource_prefix.empty()) {
    ZHISUAN_RETURN_IF_ERROR(ValidateResourcePrefix(options.resource_prefix));
  }
  std::unique_ptr<DevicePluginSet> set(new DevicePluginSet(options, health));
  for (auto& [name, group] : GroupByResourceName(accelerators, options.resource_prefix)) {
    std::string socket =
        JoinPath(options.plugin_dir, StrCat("zhisuan-", SocketSafeName(name), ".sock"));
    set->plugins_.push_back(
        {ResourceDevices(name, std::move(group)), std::move(socket), nullptr, 0});
  }
  {
    std::lock_guard lock(set->mu_);
    // Serve before registering: kubelet dials the endpoint as soon as Register returns.
    for (auto& plugin : set->plugins_) {
      auto server = DevicePluginServer::Start(plugin.devices, plugin.socket_path, health);
      if (!server.ok()) return server.status();
      plugin.server = std::move(*server);
    }
    set->Reconcile();
  }
  set->watcher_ = std::thread(
      [raw = set.get()] { RunGuarded("device-plugin-watch", [raw] { raw->WatchLoop(); }); });
  return set;
}

DevicePluginSet::~DevicePluginSet() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
    wake_.notify_all();
  }
  if (watcher_.joinable()) watcher_.join();
  std::lock_guard lock(mu_);
  for (auto& plugin : plugins_) plugin.server.reset();
}

std::vector<std::string> DevicePluginSet::resource_names() const {
  std::lock_guard lock(mu_);
  std::vector<std::string> names;
  for (const auto& plugin : plugins_) names.push_back(plugin.devices.resource_name());
  return names;
}

std::string DevicePluginSet::SocketPathFor(const std::string& resource_name) const {
  std::lock_guard lock(mu_);
  for (const auto& plugin : plugins_) {
    if (plugin.devices.resource_name() == resource_name) return plugin.socket_path;
  }
  return "";
}

uint64_t DevicePluginSet::registrations() const {
  std::lock_guard lock(mu_);
  return registrations_;
}

void DevicePluginSet::Reconcile() {
  const std::string kubelet_socket = KubeletSocketPath(options_.plugin_dir);
  const uint64_t kubelet_inode = SocketInode(kubelet_socket);
  for (auto& plugin : plugins_) {
    // kubelet deletes every socket in the directory when it starts: serve again.
    if (SocketInode(plugin.socket_path) == 0) {
      plugin.server.reset();
      plugin.registered_with = 0;
      auto server = DevicePluginServer::Start(plugin.devices, plugin.socket_path, health_);
      if (!server.ok()) {
        ZLOG(Error) << server.status();
        continue;
      }
      plugin.server = std::move(*server);
    }
    if (kubelet_inode == 0 || plugin.registered_with == kubelet_inode) continue;
    Status status = RegisterWithKubelet(kubelet_socket, FileName(plugin.socket_path),
                                        plugin.devices.resource_name(), options_.register_timeout);
    if (!status.ok()) {
      ZLOG(Warning) << status << "; retrying";
      continue;
    }
    plugin.registered_with = kubelet_inode;
    ++registrations_;
    ZLOG(Info) << "registered " << plugin.devices.resource_name() << " with kubelet";
  }
}

void DevicePluginSet::WatchLoop() {
  std::unique_lock lock(mu_);
  while (!stopping_) {
    wake_.wait_for(lock, options_.watch_interval, [this] { return stopping_; });
    if (stopping_) break;
    Reconcile();
  }
}

}  // namespace zhisuan::agent
