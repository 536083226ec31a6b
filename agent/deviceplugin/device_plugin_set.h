#pragma once
// Every device plugin the node needs (one per resource name), registered with kubelet and kept
// registered: kubelet forgets its plugins when it restarts and deletes every socket in the
// directory, so a watcher notices kubelet.sock being created again (a new inode) or the plugin's
// own socket vanishing, serves again and registers again. The watcher polls with stat() rather
// than inotify: one stat per second per node is negligible, and polling also covers a directory
// that is itself recreated or a kubelet.sock that appears after the agent started.

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "agent/deviceplugin/device_health_source.h"
#include "agent/deviceplugin/device_plugin_server.h"

namespace zhisuan::agent {

struct DevicePluginSetOptions {
  std::string plugin_dir = "/var/lib/kubelet/device-plugins/";
  std::string resource_prefix;  // "" for the vendor names (resource_naming.h)
  std::chrono::milliseconds watch_interval{1000};
  std::chrono::seconds register_timeout{5};
};

// The kubelet registration socket inside `plugin_dir`.
std::string KubeletSocketPath(const std::string& plugin_dir);

// Calls kubelet's Registration.Register on `kubelet_socket` for a plugin serving `endpoint` (a
// socket file name inside the same directory).
Status RegisterWithKubelet(const std::string& kubelet_socket, const std::string& endpoint,
                           const std::string& resource_name, std::chrono::seconds timeout);

class DevicePluginSet {
 public:
  // Serves one plugin per resource the accelerators map to, registers each with kubelet if its
  // socket is there, and starts the watcher. `health` must outlive the set.
  static StatusOr<std::unique_ptr<DevicePluginSet>> Start(
      const DevicePluginSetOptions& options, const std::vector<Accelerator>& accelerators,
      DeviceHealthSource& health);
  ~DevicePluginSet();
  DevicePluginSet(const DevicePluginSet&) = delete;
  DevicePluginSet& operator=(const DevicePluginSet&) = delete;

  std::vector<std::string> resource_names() const;
  // Socket path of the plugin for `resource_name`; "" if none.
  std::string SocketPathFor(const std::string& resource_name) const;
  // Successful Register calls so far (re-registrations included), for metrics and tests.
  uint64_t registrations() const;

 private:
  struct Plugin {
    ResourceDevices devices;
    std::string socket_path;
    std::unique_ptr<DevicePluginServer> server;
    // Inode of the kubelet.sock this plugin registered through; 0: not registered. A new kubelet
    // has a new socket, and deletes the plugin's socket too, which resets this.
    uint64_t registered_with = 0;
  };

  DevicePluginSet(DevicePluginSetOptions options, DeviceHealthSource& health);
  // One watcher pass: re-serve plugins whose socket vanished, (re-)register after kubelet
  // (re)started. Caller holds mu_.
  void Reconcile();
  void WatchLoop();

  const DevicePluginSetOptions options_;
  DeviceHealthSource& health_;
  mutable std::mutex mu_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::vector<Plugin> plugins_;
  uint64_t registrations_ = 0;
  std::thread watcher_;
};

}  // namespace zhisuan::agent
