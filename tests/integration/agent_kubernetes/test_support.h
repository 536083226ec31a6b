#pragma once
// Shared pieces of the agent's Kubernetes integration tests: API clients for the shared control
// plane, a write-counting ApiClient decorator, Node fixtures, and a stand-in kubelet that serves
// the device-plugin Registration service on kubelet.sock.

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "agent/deviceplugin/proto/api.grpc.pb.h"
#include "kube/client.h"
#include "tests/harness/control_plane.h"

namespace zhisuan::agent::testing {

// Counts the calls that change something on the server (create, update, patch, delete).
class CountingApiClient final : public kube::ApiClient {
 public:
  explicit CountingApiClient(kube::ApiClientPtr inner) : inner_(std::move(inner)) {}
  int writes() const { return writes_.load(); }
  int reads() const { return reads_.load(); }

  StatusOr<kube::Json> Get(const kube::ResourceType& type, std::string_view ns,
                           std::string_view name) override {
    ++reads_;
    return inner_->Get(type, ns, name);
  }
  StatusOr<kube::ObjectList> List(const kube::ResourceType& type, std::string_view ns,
                                  const kube::ListOptions& options) override {
    ++reads_;
    return inner_->List(type, ns, options);
  }
  StatusOr<kube::Json> Create(const kube::ResourceType& type, std::string_view ns,
                              const kube::Json& object) override {
    ++writes_;
    return inner_->Create(type, ns, object);
  }
  StatusOr<kube::Json> Update(const kube::ResourceType& type, const kube::Json& object) override {
    ++writes_;
    return inner_->Update(type, object);
  }
  StatusOr<kube::Json> UpdateStatus(const kube::ResourceType& type,
                                    const kube::Json& object) override {
    ++writes_;
    return inner_->UpdateStatus(type, object);
  }
  Status Delete(const kube::ResourceType& type, std::string_view ns, std::string_view name,
                const kube::DeleteOptions& options) override {
    ++writes_;
    return inner_->Delete(type, ns, name, options);
  }
  StatusOr<kube::Json> Patch(const kube::ResourceType& type, std::string_view ns,
                             std::string_view name, kube::PatchType patch_type,
                             const kube::Json& patch, const kube::PatchOptions& options) override {
    ++writes_;
    return inner_->Patch(type, ns, name, patch_type, patch, options);
  }
  StatusOr<kube::WatchStreamPtr> Watch(const kube::ResourceType& type, std::string_view ns,
                                       const kube::ListOptions& options) override {
    ++reads_;
    return inner_->Watch(type, ns, options);
  }

 private:
  const kube::ApiClientPtr inner_;
  std::atomic<int> writes_{0};
  std::atomic<int> reads_{0};
};

// A REST client for the shared control plane as admin.
kube::ApiClientPtr AdminClient();
// Applies the CRDs and waits until they are served.
void InstallCrds();
// Creates a Node (as a kubelet or kwok would) and returns its uid.
std::string CreateNode(const std::string& name);

// Polls `condition` every 50 ms until it holds or `timeout` passes; returns whether it held.
bool WaitFor(const std::function<bool()>& condition, std::chrono::milliseconds timeout);

// kubelet's side of registration: serves v1beta1.Registration on <dir>/kubelet.sock and records
// every RegisterRequest.
class KubeletStandIn final : public v1beta1::Registration::Service {
 public:
  explicit KubeletStandIn(std::string dir);
  ~KubeletStandIn() override;
  void Stop();

  grpc::Status Register(grpc::ServerContext*, const v1beta1::RegisterRequest* request,
                        v1beta1::Empty*) override;
  // The requests received so far.
  std::vector<v1beta1::RegisterRequest> requests() const;
  // Waits until at least `count` requests arrived.
  bool WaitForRequests(size_t count, std::chrono::milliseconds timeout) const;

 private:
  const std::string dir_;
  std::unique_ptr<grpc::Server> server_;
  mutable std::mutex mu_;
  mutable std::condition_variable arrived_;
  std::vector<v1beta1::RegisterRequest> requests_;
};

// A fresh temporary directory, removed with its contents on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace zhisuan::agent::testing
