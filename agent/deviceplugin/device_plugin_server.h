#pragma once
// One kubelet device plugin (API v1beta1) for one resource name, served over gRPC on a unix socket
// in the device-plugin directory. Translates the pure ResourceDevices answers to protobuf; the
// ListAndWatch streams resend the full list whenever a device's health changes. RAII: destroying
// the server ends its streams, stops it and removes its socket.

#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>

#include "agent/deviceplugin/allocation.h"
#include "agent/deviceplugin/device_health_source.h"
#include "common/status.h"

namespace grpc {
class Server;
}

namespace zhisuan::agent {

class DevicePluginService;

class DevicePluginServer {
 public:
  // Binds `socket_path` (replacing a stale file) and starts serving. `health` must outlive the
  // server.
  static StatusOr<std::unique_ptr<DevicePluginServer>> Start(ResourceDevices devices,
                                                             std::string socket_path,
                                                             DeviceHealthSource& health);
  ~DevicePluginServer();
  DevicePluginServer(const DevicePluginServer&) = delete;
  DevicePluginServer& operator=(const DevicePluginServer&) = delete;

  const std::string& socket_path() const { return socket_path_; }
  const std::string& resource_name() const;
  // Wakes the ListAndWatch streams to compare and, if changed, resend the device list.
  void HealthChanged();

 private:
  DevicePluginServer(std::string socket_path, std::unique_ptr<DevicePluginService> service);
  void Stop();

  const std::string socket_path_;
  std::unique_ptr<DevicePluginService> service_;
  std::unique_ptr<grpc::Server> server_;
};

}  // namespace zhisuan::agent
