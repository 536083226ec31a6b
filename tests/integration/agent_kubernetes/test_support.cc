#include "tests/integration/agent_kubernetes/test_support.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>

#include "kube/config.h"
#include "kube/rest_client.h"
#include "tests/harness/control_plane_environment.h"

namespace zhisuan::agent::testing {

kube::ApiClientPtr AdminClient() {
  auto config = kube::LoadKubeconfig(harness::SharedControlPlane().admin_kubeconfig());
  EXPECT_TRUE(config.ok()) << config.status();
  if (!config.ok()) return nullptr;
  auto client = kube::NewRestClient(*config);
  EXPECT_TRUE(client.ok()) << client.status();
  return client.ok() ? *client : nullptr;
}

void InstallCrds() {
  auto& plane = harness::SharedControlPlane();
  const Status installed = plane.InstallCrds();
  ASSERT_TRUE(installed.ok()) << installed;
}

std::string CreateNode(const std::string& name) {
  auto& plane = harness::SharedControlPlane();
  const std::string manifest = "apiVersion: v1\nkind: Node\nmetadata:\n  name: " + name +
                               "\n  labels:\n    kubernetes.io/hostname: " + name + "\n";
  auto created = plane.Kubectl({"create", "-f", "-"}, manifest);
  EXPECT_EQ(created.exit_code, 0) << created.output;
  auto uid = plane.Kubectl({"get", "node", name, "-o", "jsonpath={.metadata.uid}"});
  EXPECT_EQ(uid.exit_code, 0) << uid.output;
  return uid.output;
}

bool WaitFor(const std::function<bool()>& condition, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return condition();
}

KubeletStandIn::KubeletStandIn(std::string dir) : dir_(std::move(dir)) {
  const std::string socket = dir_ + "/kubelet.sock";
  ::unlink(socket.c_str());
  grpc::ServerBuilder builder;
  builder.AddListeningPort("unix://" + socket, grpc::InsecureServerCredentials());
  builder.RegisterService(this);
  server_ = builder.BuildAndStart();
  EXPECT_NE(server_, nullptr) << "cannot serve " << socket;
}

KubeletStandIn::~KubeletStandIn() { Stop(); }

void KubeletStandIn::Stop() {
  if (server_ == nullptr) return;
  server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(1));
  server_->Wait();
  server_.reset();
}

grpc::Status KubeletStandIn::Register(grpc::ServerContext*, const v1beta1::RegisterRequest* request,
                                      v1beta1::Empty*) {
  std::lock_guard lock(mu_);
  requests_.push_back(*request);
  arrived_.notify_all();
  return grpc::Status::OK;
}

std::vector<v1beta1::RegisterRequest> KubeletStandIn::requests() const {
  std::lock_guard lock(mu_);
  return requests_;
}

bool KubeletStandIn::WaitForRequests(size_t count, std::chrono::milliseconds timeout) const {
  std::unique_lock lock(mu_);
  return arrived_.wait_for(lock, timeout, [&] { return requests_.size() >= count; });
}

TempDir::TempDir() {
  std::string pattern = (std::filesystem::temp_directory_path() / "zhisuan-dp-XXXXXX").string();
  char* made = ::mkdtemp(pattern.data());
  EXPECT_NE(made, nullptr);
  path_ = pattern;
}

TempDir::~TempDir() {
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

}  // namespace zhisuan::agent::testing
