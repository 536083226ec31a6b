#include "kube/counting_api_client.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <string>
#include <utility>

#include "tests/unit/kube/fake_api_client.h"

namespace zhisuan::kube {
namespace {

using Tally = std::map<std::pair<std::string, std::string>, int>;

Json Named(const std::string& name) { return Json{{"metadata", {{"name", name}}}}; }

class CountingApiClientTest : public ::testing::Test {
 protected:
  CountingApiClientTest()
      : server_(std::make_shared<FakeApiClient>()),
        client_(server_, [this](std::string_view verb, const ResourceType& type) {
          ++tally_[{std::string(verb), type.resource}];
        }) {}

  std::shared_ptr<FakeApiClient> server_;
  Tally tally_;
  CountingApiClient client_;
};

TEST_F(CountingApiClientTest, CountsEveryVerbByResourceAndPassesCallsThrough) {
  ASSERT_TRUE(client_.Create(kConfigMaps, "ns", Named("a")).ok());
  auto got = client_.Get(kConfigMaps, "ns", "a");
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ((*got)["metadata"]["name"], "a");
  ASSERT_TRUE(client_.List(kConfigMaps, "ns", {}).ok());
  ASSERT_TRUE(client_.Update(kConfigMaps, *got).ok());
  ASSERT_TRUE(
      client_.Patch(kConfigMaps, "ns", "a", PatchType::kMerge, Json{{"data", {{"k", "v"}}}}, {})
          .ok());
  ASSERT_TRUE(client_.Watch(kConfigMaps, "ns", {}).ok());
  ASSERT_TRUE(client_.Delete(kConfigMaps, "ns", "a", {}).ok());
  ASSERT_TRUE(client_.Create(kNodes, "", Named("n1")).ok());
  auto node = client_.Get(kNodes, "", "n1");
  ASSERT_TRUE(node.ok());
  ASSERT_TRUE(client_.UpdateStatus(kNodes, *node).ok());

  EXPECT_EQ(tally_, (Tally{{{"create", "configmaps"}, 1},
                           {{"get", "configmaps"}, 1},
                           {{"list", "configmaps"}, 1},
                           {{"update", "configmaps"}, 1},
                           {{"patch", "configmaps"}, 1},
                           {{"watch", "configmaps"}, 1},
                           {{"delete", "configmaps"}, 1},
                           {{"create", "nodes"}, 1},
                           {{"get", "nodes"}, 1},
                           {{"update", "nodes"}, 1}}));
  EXPECT_EQ(server_->CallCount(FakeApiClient::Verb::kUpdateStatus), 1);
}

TEST_F(CountingApiClientTest, CountsFailedRequestsToo) {
  EXPECT_TRUE(IsNotFound(client_.Get(kConfigMaps, "ns", "missing").status()));
  EXPECT_EQ(tally_, (Tally{{{"get", "configmaps"}, 1}}));
}

}  // namespace
}  // namespace zhisuan::kube
