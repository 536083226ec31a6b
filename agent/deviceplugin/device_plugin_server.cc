#include "agent/deviceplugin/device_plugin_server.h"

#include <grpcpp/grpcpp.h>
#include <unistd.h>

#include <chrono>

#include "agent/deviceplugin/proto/api.grpc.pb.h"
#include "common/log.h"
#include "common/strings.h"

namespace zhisuan::agent {
namespace {

grpc::Status ToGrpc(const Status& status) {
  switch (status.code()) {
    case StatusCode::kInvalidArgument:
      return {grpc::StatusCode::INVALID_ARGUMENT, status.message()};
    case StatusCode::kFailedPrecondition:
      return {grpc::StatusCode::FAILED_PRECONDITION, status.message()};
    default:
      return {grpc::StatusCode::INTERNAL, status.message()};
  }
}

v1beta1::ListAndWatchResponse ToProto(const std::vector<PluginDevice>& devices) {
  v1beta1::ListAndWatchResponse response;
  for (const auto& device : devices) {
    v1beta1::Device* entry = response.add_devices();
    entry->set_id(device.id);
    entry->set_health(device.healthy ? "Healthy" : "Unhealthy");
    if (device.numa_node >= 0) entry->mutable_topology()->add_nodes()->set_id(device.numa_node);
  }
  return response;
}

void ToProto(const ContainerAllocation& allocation, v1beta1::ContainerAllocateResponse& response) {
  for (const auto& [key, value] : allocation.envs) (*response.mutable_envs())[key] = value;
  for (const auto& [key, value] : allocation.annotations) {
    (*response.mutable_annotations())[key] = value;
  }
  for (const auto& mount : allocation.mounts) {
    v1beta1::Mount* entry = response.add_mounts();
    entry->set_container_path(mount.container_path);
    entry->set_host_path(mount.host_path);
    entry->set_read_only(mount.read_only);
  }
  for (const auto& device : allocation.devices) {
    v1beta1::DeviceSpec* entry = response.add_devices();
    entry->set_container_path(device.container_path);
    entry->set_host_path(device.host_path);
    entry->set_permissions(device.permissions);
  }
  for (const auto& name : allocation.cdi_devices) response.add_cdi_devices()->set_name(name);
}

}  // namespace

// The gRPC service. Streams wait on `changed_` and leave when the client goes or Stop() is called.
class DevicePluginService final : public v1beta1::DevicePlugin::Service {
 public:
  DevicePluginService(ResourceDevices devices, DeviceHealthSource& health)
      : devices_(std::move(devices)), health_(health) {
    subscription_ = health_.Subscribe([this] { Wake(); });
  }
  ~DevicePluginService() override { health_.Unsubscribe(subscription_); }

  const ResourceDevices& Devices() const { return devices_; }

  void Wake() {
    std::lock_guard lock(mu_);
    ++generation_;
    changed_.notify_all();
  }
  void Stop() {
    std::lock_guard lock(mu_);
    stopping_ = true;
    changed_.notify_all();
  }

  grpc::Status GetDevicePluginOptions(grpc::ServerContext*, const v1beta1::Empty*,
                                      v1beta1::DevicePluginOptions* options) override {
    options->set_pre_start_required(false);
    options->set_get_preferred_allocation_available(true);
    return grpc::Status::OK;
  }

  grpc::Status ListAndWatch(grpc::ServerContext* context, const v1beta1::Empty*,
                            grpc::ServerWriter<v1beta1::ListAndWatchResponse>* writer) override {
    std::optional<std::vector<PluginDevice>> sent;
    uint64_t seen_generation = 0;
    while (true) {
      {
        std::unique_lock lock(mu_);
        // Woken by a health change or Stop(); the timeout only notices a client that went away.
        changed_.wait_for(lock, std::chrono::milliseconds(500),
                          [&] { return stopping_ || generation_ != seen_generation || !sent; });
        if (stopping_) return grpc::Status::OK;
        seen_generation = generation_;
      }
      if (context->IsCancelled()) return grpc::Status::CANCELLED;
      std::vector<PluginDevice> devices = devices_.List(health_.Unhealthy());
      if (sent && *sent == devices) continue;
      if (!writer->Write(ToProto(devices))) return grpc::Status::CANCELLED;
      ZLOG_V(1) << "ListAndWatch " << devices_.resource_name() << ": sent " << devices.size()
                << " devices";
      sent = std::move(devices);
    }
  }

  grpc::Status GetPreferredAllocation(grpc::ServerContext*,
                                      const v1beta1::PreferredAllocationRequest* request,
                                      v1beta1::PreferredAllocationResponse* response) override {
    for (const auto& container : request->container_requests()) {
      const std::vector<std::string> available(container.available_deviceids().begin(),
                                               container.available_deviceids().end());
      const std::vector<std::string> must(container.must_include_deviceids().begin(),
                                          container.must_include_deviceids().end());
      auto* out = response->add_container_responses();
      for (auto& id : devices_.Prefer(available, must, container.allocation_size())) {
        out->add_deviceids(std::move(id));
      }
    }
    return grpc::Status::OK;
  }

  grpc::Status Allocate(grpc::ServerContext*, const v1beta1::AllocateRequest* request,
                        v1beta1::AllocateResponse* response) override {
    const auto unhealthy = health_.Unhealthy();
    for (const auto& container : request->container_requests()) {
      const std::vector<std::string> ids(container.devicesids().begin(),
                                         container.devicesids().end());
      auto allocation = devices_.Allocate(ids, unhealthy);
      if (!allocation.ok()) {
        ZLOG(Warning) << "Allocate " << devices_.resource_name()
                      << " refused: " << allocation.status();
        return ToGrpc(allocation.status());
      }
      ToProto(*allocation, *response->add_container_responses());
    }
    return grpc::Status::OK;
  }

  grpc::Status PreStartContainer(grpc::ServerContext*, const v1beta1::PreStartContainerRequest*,
                                 v1beta1::PreStartContainerResponse*) override {
    return grpc::Status::OK;
  }

 private:
  const ResourceDevices devices_;
  DeviceHealthSource& health_;
  int subscription_ = 0;
  std::mutex mu_;
  std::condition_variable changed_;
  uint64_t generation_ = 0;
  bool stopping_ = false;
};

DevicePluginServer::DevicePluginServer(std::string socket_path,
                                       std::unique_ptr<DevicePluginService> service)
    : socket_path_(std::move(socket_path)), service_(std::move(service)) {}

DevicePluginServer::~DevicePluginServer() { Stop(); }

const std::string& DevicePluginServer::resource_name() const {
  return service_->Devices().resource_name();
}

void DevicePluginServer::HealthChanged() { service_->Wake(); }

StatusOr<std::unique_ptr<DevicePluginServer>> DevicePluginServer::Start(
    ResourceDevices devices, std::string socket_path, DeviceHealthSource& health) {
  // A socket left by an earlier run (or a crashed one) would make bind fail.
  ::unlink(socket_path.c_str());
  auto service = std::make_unique<DevicePluginService>(std::move(devices), health);
  std::unique_ptr<DevicePluginServer> server(
      new DevicePluginServer(std::move(socket_path), std::move(service)));
  grpc::ServerBuilder builder;
  int bound = 0;
  builder.AddListeningPort("unix://" + server->socket_path_, grpc::InsecureServerCredentials(),
                           &bound);
  builder.RegisterService(server->service_.get());
  server->server_ = builder.BuildAndStart();
  if (server->server_ == nullptr || bound == 0) {
    server->server_.reset();
    return UnavailableError(StrCat("cannot serve the device plugin for ", server->resource_name(),
                                   " on ", server->socket_path_));
  }
  ZLOG(Info) << "device plugin " << server->resource_name() << " serving on "
             << server->socket_path_;
  return server;
}

void DevicePluginServer::Stop() {
  if (server_ == nullptr) return;
  service_->Stop();
  server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
  server_->Wait();
  server_.reset();
  ::unlink(socket_path_.c_str());
}

}  // namespace zhisuan::agent
