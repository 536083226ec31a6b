#include "agent/dra/kubelet_plugin.h"

#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <filesystem>

#include "agent/dra/device_name.h"
#include "agent/dra/kubelet_plugin_options.h"
#include "agent/dra/proto/dra_v1.grpc.pb.h"
#include "agent/dra/proto/dra_v1beta1.grpc.pb.h"
#include "agent/dra/proto/pluginregistration.grpc.pb.h"
#include "tests/unit/agent/dra_kubelet/dra_test_support.h"
#include "tests/unit/agent/kubernetes/inventories.h"
#include "tests/unit/kube/fake_api_client.h"

namespace zhisuan::agent::dra {
namespace {

namespace drav1 = k8s::io::kubelet::pkg::apis::dra::v1;
namespace drav1beta1 = k8s::io::kubelet::pkg::apis::dra::v1beta1;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing::MakeAccelerators;

class KubeletPluginTest : public ::testing::Test {
 protected:
  void SetUp() override {
    accelerators_ = MakeAccelerators(Vendor::kHuawei);
    options_.enabled = true;
    options_.registry_dir = dir_.path() + "/plugins_registry";
    options_.plugin_dir = dir_.path() + "/plugins/" + std::string(kDriverName);
    options_.cdi_dir = dir_.path() + "/cdi";
    Start();
  }

  void Start() {
    auto plugin = StartKubeletPlugin(options_, "node-a", client_, [this] { return accelerators_; });
    ASSERT_TRUE(plugin.ok()) << plugin.status();
    plugin_ = std::move(*plugin);
  }

  std::shared_ptr<grpc::Channel> Dial(const std::string& socket) {
    return grpc::CreateChannel("unix://" + socket, grpc::InsecureChannelCredentials());
  }

  std::string CreateClaim(const std::string& name, int index) {
    auto created = client_->Create(
        kResourceClaims, "team",
        AllocatedClaim(name, {{kDriverName, "node-a", DraDeviceName(accelerators_[index])}}));
    EXPECT_TRUE(created.ok()) << created.status();
    return (*created)["metadata"]["uid"];
  }

  template <typename Request>
  static Request ClaimsRequest(const std::vector<std::pair<std::string, std::string>>& claims) {
    Request request;
    for (const auto& [name, uid] : claims) {
      auto* claim = request.add_claims();
      claim->set_namespace_("team");
      claim->set_name(name);
      claim->set_uid(uid);
    }
    return request;
  }

  TempDir dir_;
  std::shared_ptr<kube::FakeApiClient> client_ = std::make_shared<kube::FakeApiClient>();
  std::vector<Accelerator> accelerators_;
  KubeletPluginOptions options_;
  std::unique_ptr<KubeletPlugin> plugin_;
};

TEST_F(KubeletPluginTest, RegistrationAnswersWhatTheKubeletLooksFor) {
  const std::string socket = options_.registry_dir + "/accelerators.zhisuan.io-reg.sock";
  auto stub = pluginregistration::Registration::NewStub(Dial(socket));
  grpc::ClientContext context;
  pluginregistration::PluginInfo info;
  ASSERT_TRUE(stub->GetInfo(&context, {}, &info).ok());
  EXPECT_EQ(info.type(), "DRAPlugin");
  EXPECT_EQ(info.name(), "accelerators.zhisuan.io");
  EXPECT_EQ(info.endpoint(), options_.plugin_dir + "/dra.sock");
  EXPECT_THAT(info.supported_versions(), ElementsAre("v1.DRAPlugin", "v1beta1.DRAPlugin"));

  EXPECT_FALSE(plugin_->Registered().has_value());
  grpc::ClientContext notify;
  pluginregistration::RegistrationStatus status;
  status.set_plugin_registered(true);
  pluginregistration::RegistrationStatusResponse ignored;
  ASSERT_TRUE(stub->NotifyRegistrationStatus(&notify, status, &ignored).ok());
  EXPECT_EQ(plugin_->Registered(), true);
}

TEST_F(KubeletPluginTest, V1PrepareAndUnprepareOverGrpc) {
  const std::string good = CreateClaim("good", 5);
  auto stub = drav1::DRAPlugin::NewStub(Dial(options_.plugin_dir + "/dra.sock"));
  drav1::NodePrepareResourcesResponse prepared;
  {
    grpc::ClientContext context;
    ASSERT_TRUE(stub->NodePrepareResources(&context,
                                           ClaimsRequest<drav1::NodePrepareResourcesRequest>(
                                               {{"good", good}, {"missing", "uid-of-nothing"}}),
                                           &prepared)
                    .ok());
  }
  ASSERT_EQ(prepared.claims().size(), 2U);
  const auto& answer = prepared.claims().at(good);
  EXPECT_EQ(answer.error(), "");
  ASSERT_EQ(answer.devices_size(), 1);
  EXPECT_EQ(answer.devices(0).device_name(), DraDeviceName(accelerators_[5]));
  EXPECT_EQ(answer.devices(0).pool_name(), "node-a");
  EXPECT_THAT(answer.devices(0).request_names(), ElementsAre("gpus"));
  EXPECT_THAT(
      answer.devices(0).cdi_device_ids(),
      ElementsAre("zhisuan.io/accelerator=" + good + "-" + DraDeviceName(accelerators_[5])));
  // One claim's failure is that claim's error, not the call's.
  EXPECT_THAT(prepared.claims().at("uid-of-nothing").error(), HasSubstr("missing"));
  const std::string spec = ClaimCdiSpecPath(options_.cdi_dir, good);
  EXPECT_TRUE(std::filesystem::exists(spec));

  drav1::NodeUnprepareResourcesResponse unprepared;
  grpc::ClientContext context;
  ASSERT_TRUE(stub->NodeUnprepareResources(&context,
                                           ClaimsRequest<drav1::NodeUnprepareResourcesRequest>(
                                               {{"good", good}, {"never", "never-prepared"}}),
                                           &unprepared)
                  .ok());
  EXPECT_EQ(unprepared.claims().at(good).error(), "");
  EXPECT_EQ(unprepared.claims().at("never-prepared").error(), "");
  EXPECT_FALSE(std::filesystem::exists(spec));
}

TEST_F(KubeletPluginTest, V1beta1ServesTheSameLogicAndARestartKeepsTheAnswer) {
  const std::string uid = CreateClaim("beta", 0);
  const std::string socket = options_.plugin_dir + "/dra.sock";
  drav1beta1::NodePrepareResourcesResponse first;
  {
    auto stub = drav1beta1::DRAPlugin::NewStub(Dial(socket));
    grpc::ClientContext context;
    ASSERT_TRUE(stub->NodePrepareResources(
                        &context,
                        ClaimsRequest<drav1beta1::NodePrepareResourcesRequest>({{"beta", uid}}),
                        &first)
                    .ok());
  }
  ASSERT_EQ(first.claims().at(uid).devices_size(), 1);
  plugin_.reset();
  EXPECT_FALSE(std::filesystem::exists(socket));
  ASSERT_TRUE(client_->Delete(kResourceClaims, "team", "beta").ok());
  Start();
  auto stub = drav1beta1::DRAPlugin::NewStub(Dial(socket));
  grpc::ClientContext context;
  drav1beta1::NodePrepareResourcesResponse second;
  ASSERT_TRUE(stub->NodePrepareResources(
                      &context,
                      ClaimsRequest<drav1beta1::NodePrepareResourcesRequest>({{"beta", uid}}),
                      &second)
                  .ok());
  EXPECT_EQ(second.claims().at(uid).SerializeAsString(),
            first.claims().at(uid).SerializeAsString());
}

TEST(KubeletPluginFlagsTest, ExtractsItsFlagsAndLeavesTheRest) {
  std::vector<std::string> args = {"--dra-kubelet-plugin",    "--cdi-dir",    "/etc/cdi", "--v=2",
                                   "--dra-dev-root=/fixture", "--node-name=n"};
  auto options = ExtractKubeletPluginFlags(args);
  ASSERT_TRUE(options.ok()) << options.status();
  EXPECT_TRUE(options->enabled);
  EXPECT_EQ(options->cdi_dir, "/etc/cdi");
  EXPECT_EQ(options->dev_root, "/fixture");
  EXPECT_EQ(options->plugin_dir, "/var/lib/kubelet/plugins/accelerators.zhisuan.io");
  EXPECT_EQ(options->registry_dir, "/var/lib/kubelet/plugins_registry");
  EXPECT_THAT(args, ElementsAre("--v=2", "--node-name=n"));

  std::vector<std::string> off = {"--dra-kubelet-plugin=false"};
  EXPECT_FALSE(ExtractKubeletPluginFlags(off)->enabled);
  std::vector<std::string> defaults;
  EXPECT_FALSE(ExtractKubeletPluginFlags(defaults)->enabled);
  std::vector<std::string> bad = {"--dra-kubelet-plugin=maybe"};
  EXPECT_FALSE(ExtractKubeletPluginFlags(bad).ok());
  std::vector<std::string> empty = {"--cdi-dir="};
  EXPECT_THAT(ExtractKubeletPluginFlags(empty).status().message(), HasSubstr("--cdi-dir"));
}

}  // namespace
}  // namespace zhisuan::agent::dra
