#include "agent/podresources/pod_resources_client.h"

#include <grpcpp/grpcpp.h>
#include <sys/stat.h>

#include "agent/podresources/proto/api.grpc.pb.h"
#include "common/strings.h"

namespace zhisuan::agent {
namespace {

class PodResourcesClient final : public PodResourcesSource {
 public:
  PodResourcesClient(std::string socket_path, std::chrono::milliseconds timeout)
      : socket_path_(std::move(socket_path)), timeout_(timeout) {}

  StatusOr<std::vector<AllocatedDevice>> ListAllocatedDevices() override {
    struct stat info {};
    if (::stat(socket_path_.c_str(), &info) != 0 || !S_ISSOCK(info.st_mode)) {
      return NotFoundError(StrCat("no pod-resources socket at ", socket_path_));
    }
    auto channel =
        grpc::CreateChannel("unix://" + socket_path_, grpc::InsecureChannelCredentials());
    auto stub = v1::PodResourcesLister::NewStub(channel);
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + timeout_);
    v1::ListPodResourcesResponse response;
    const grpc::Status status = stub->List(&context, v1::ListPodResourcesRequest(), &response);
    if (!status.ok()) {
      return UnavailableError(
          StrCat("pod-resources List at ", socket_path_, ": ", status.error_message()));
    }
    std::vector<AllocatedDevice> devices;
    for (const auto& pod : response.pod_resources()) {
      for (const auto& container : pod.containers()) {
        for (const auto& group : container.devices()) {
          for (const auto& id : group.device_ids()) {
            devices.push_back(
                {pod.namespace_(), pod.name(), container.name(), group.resource_name(), id});
          }
        }
      }
    }
    return devices;
  }

 private:
  const std::string socket_path_;
  const std::chrono::milliseconds timeout_;
};

}  // namespace

PodResourcesSourcePtr MakePodResourcesClient(std::string socket_path,
                                             std::chrono::milliseconds timeout) {
  return std::make_unique<PodResourcesClient>(std::move(socket_path), timeout);
}

}  // namespace zhisuan::agent
