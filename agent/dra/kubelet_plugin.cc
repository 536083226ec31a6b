#include "agent/dra/kubelet_plugin.h"

#include <grpcpp/grpcpp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>

#include "agent/dra/device_name.h"
#include "agent/dra/proto/dra_v1.grpc.pb.h"
#include "agent/dra/proto/dra_v1beta1.grpc.pb.h"
#include "agent/dra/proto/pluginregistration.grpc.pb.h"
#include "common/log.h"
#include "common/strings.h"

namespace zhisuan::agent::dra {
namespace {

namespace drav1 = k8s::io::kubelet::pkg::apis::dra::v1;
namespace drav1beta1 = k8s::io::kubelet::pkg::apis::dra::v1beta1;

std::string JoinPath(const std::string& dir, std::string_view name) {
  return !dir.empty() && dir.back() == '/' ? StrCat(dir, name) : StrCat(dir, "/", name);
}

// Both API versions have the same messages in different packages: one body serves both.
template <typename Request, typename Response>
void PrepareAll(ClaimPreparer& preparer, const Request& request, Response& response) {
  for (const auto& claim : request.claims()) {
    auto& out = (*response.mutable_claims())[claim.uid()];
    auto prepared =
        preparer.Prepare({.ns = claim.namespace_(), .uid = claim.uid(), .name = claim.name()});
    if (!prepared.ok()) {
      ZLOG(Warning) << "DRA: NodePrepareResources: " << prepared.status();
      out.set_error(prepared.status().ToString());
      continue;
    }
    for (const auto& device : prepared->devices) {
      auto* entry = out.add_devices();
      for (const auto& request_name : device.request_names) entry->add_request_names(request_name);
      entry->set_pool_name(device.pool_name);
      entry->set_device_name(device.device_name);
      for (const auto& id : device.cdi_device_ids) entry->add_cdi_device_ids(id);
    }
  }
}

template <typename Request, typename Response>
void UnprepareAll(ClaimPreparer& preparer, const Request& request, Response& response) {
  for (const auto& claim : request.claims()) {
    auto& out = (*response.mutable_claims())[claim.uid()];
    Status done =
        preparer.Unprepare({.ns = claim.namespace_(), .uid = claim.uid(), .name = claim.name()});
    if (!done.ok()) {
      ZLOG(Warning) << "DRA: NodeUnprepareResources: " << done;
      out.set_error(done.ToString());
    }
  }
}

template <typename Base, typename PrepareRequest, typename PrepareResponse,
          typename UnprepareRequest, typename UnprepareResponse>
class DraService final : public Base {
 public:
  explicit DraService(ClaimPreparer& preparer) : preparer_(preparer) {}
  grpc::Status NodePrepareResources(grpc::ServerContext*, const PrepareRequest* request,
                                    PrepareResponse* response) override {
    PrepareAll(preparer_, *request, *response);
    return grpc::Status::OK;
  }
  grpc::Status NodeUnprepareResources(grpc::ServerContext*, const UnprepareRequest* request,
                                      UnprepareResponse* response) override {
    UnprepareAll(preparer_, *request, *response);
    return grpc::Status::OK;
  }

 private:
  ClaimPreparer& preparer_;
};

using DraServiceV1 =
    DraService<drav1::DRAPlugin::Service, drav1::NodePrepareResourcesRequest,
               drav1::NodePrepareResourcesResponse, drav1::NodeUnprepareResourcesRequest,
               drav1::NodeUnprepareResourcesResponse>;
using DraServiceV1beta1 =
    DraService<drav1beta1::DRAPlugin::Service, drav1beta1::NodePrepareResourcesRequest,
               drav1beta1::NodePrepareResourcesResponse, drav1beta1::NodeUnprepareResourcesRequest,
               drav1beta1::NodeUnprepareResourcesResponse>;

class RegistrationService final : public pluginregistration::Registration::Service {
 public:
  explicit RegistrationService(std::string dra_socket) : dra_socket_(std::move(dra_socket)) {}

  grpc::Status GetInfo(grpc::ServerContext*, const pluginregistration::InfoRequest*,
                       pluginregistration::PluginInfo* info) override {
    info->set_type("DRAPlugin");
    info->set_name(std::string(kDriverName));
    info->set_endpoint(dra_socket_);
    info->add_supported_versions(std::string(kDraServiceV1));
    info->add_supported_versions(std::string(kDraServiceV1beta1));
    return grpc::Status::OK;
  }

  grpc::Status NotifyRegistrationStatus(grpc::ServerContext*,
                                        const pluginregistration::RegistrationStatus* status,
                                        pluginregistration::RegistrationStatusResponse*) override {
    registered_ = status->plugin_registered() ? 1 : 0;
    if (status->plugin_registered()) {
      ZLOG(Info) << "DRA: the kubelet registered driver " << kDriverName;
    } else {
      ZLOG(Error) << "DRA: the kubelet refused driver " << kDriverName << ": " << status->error();
    }
    return grpc::Status::OK;
  }

  std::optional<bool> Registered() const {
    const int value = registered_.load();
    return value < 0 ? std::nullopt : std::optional<bool>(value == 1);
  }

 private:
  const std::string dra_socket_;
  std::atomic<int> registered_{-1};
};

// Binds `socket` (replacing a stale file left by an earlier run) with `services`.
StatusOr<std::unique_ptr<grpc::Server>> Serve(const std::string& socket,
                                              const std::vector<grpc::Service*>& services) {
  ::unlink(socket.c_str());
  grpc::ServerBuilder builder;
  int bound = 0;
  builder.AddListeningPort("unix://" + socket, grpc::InsecureServerCredentials(), &bound);
  for (grpc::Service* service : services) builder.RegisterService(service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || bound == 0) return UnavailableError(StrCat("cannot serve on ", socket));
  return server;
}

void StopServer(std::unique_ptr<grpc::Server>& server, const std::string& socket) {
  if (server == nullptr) return;
  server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
  server->Wait();
  server.reset();
  ::unlink(socket.c_str());
}

}  // namespace

struct KubeletPlugin::Services {
  explicit Services(ClaimPreparer& preparer, std::string dra_socket)
      : v1(preparer), v1beta1(preparer), registration(std::move(dra_socket)) {}
  DraServiceV1 v1;
  DraServiceV1beta1 v1beta1;
  RegistrationService registration;
};

std::string KubeletPluginPaths::RegistrationSocket() const {
  return JoinPath(registry_dir, StrCat(kDriverName, "-reg.sock"));
}

std::string KubeletPluginPaths::DraSocket() const { return JoinPath(plugin_dir, "dra.sock"); }

KubeletPlugin::KubeletPlugin(KubeletPluginPaths paths, std::unique_ptr<ClaimPreparer> preparer)
    : paths_(std::move(paths)),
      preparer_(std::move(preparer)),
      services_(std::make_unique<Services>(*preparer_, paths_.DraSocket())) {}

KubeletPlugin::~KubeletPlugin() {
  // Registration first: the kubelet must stop dialling before the DRA socket goes.
  StopServer(registration_server_, paths_.RegistrationSocket());
  StopServer(dra_server_, paths_.DraSocket());
}

StatusOr<std::unique_ptr<KubeletPlugin>> KubeletPlugin::Start(
    KubeletPluginPaths paths, std::unique_ptr<ClaimPreparer> preparer) {
  std::unique_ptr<KubeletPlugin> plugin(new KubeletPlugin(std::move(paths), std::move(preparer)));
  ZHISUAN_ASSIGN_OR_RETURN(
      plugin->dra_server_,
      Serve(plugin->paths_.DraSocket(), {&plugin->services_->v1, &plugin->services_->v1beta1}));
  ZHISUAN_ASSIGN_OR_RETURN(plugin->registration_server_, Serve(plugin->paths_.RegistrationSocket(),
                                                               {&plugin->services_->registration}));
  ZLOG(Info) << "DRA kubelet plugin " << kDriverName << " serving on " << plugin->paths_.DraSocket()
             << ", registration on " << plugin->paths_.RegistrationSocket();
  return plugin;
}

std::optional<bool> KubeletPlugin::Registered() const {
  return services_->registration.Registered();
}

}  // namespace zhisuan::agent::dra
