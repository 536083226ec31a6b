#include "agent/resource_naming.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/unit/agent/kubernetes/inventories.h"

namespace zhisuan::agent {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing::MakeAccelerator;

Accelerator Of(Vendor vendor, std::string product = "") {
  Accelerator accelerator = MakeAccelerator(vendor, 0);
  if (!product.empty()) accelerator.product = product;
  return accelerator;
}

TEST(ResourceNamingTest, DefaultsFollowEachVendorsOwnPlugin) {
  EXPECT_EQ(ResourceNameFor(Of(Vendor::kNvidia), ""), "nvidia.com/gpu");
  EXPECT_EQ(ResourceNameFor(Of(Vendor::kAmd), ""), "amd.com/gpu");
  EXPECT_EQ(ResourceNameFor(Of(Vendor::kCambricon), ""), "cambricon.com/mlu");
  EXPECT_EQ(ResourceNameFor(Of(Vendor::kHygon), ""), "hygon.com/dcu");
  EXPECT_EQ(ResourceNameFor(Of(Vendor::kKunlunxin), ""), "kunlunxin.com/xpu");
  EXPECT_EQ(ResourceNameFor(Of(Vendor::kEnflame), ""), "enflame.com/gcu");
  EXPECT_EQ(ResourceNameFor(Of(Vendor::kIluvatar), ""), "iluvatar.ai/gpu");
  EXPECT_EQ(ResourceNameFor(Of(Vendor::kMooreThreads), ""), "mthreads.com/gpu");
  EXPECT_EQ(ResourceNameFor(Of(Vendor::kMetaX), ""), "metax-tech.com/gpu");
  EXPECT_EQ(ResourceNameFor(Of(Vendor::kUnknown), ""), "zhisuan.io/accelerator");
}

TEST(ResourceNamingTest, AscendUsesTheProductFamilyAsHuaweisPluginDoes) {
  EXPECT_EQ(ResourceNameFor(Of(Vendor::kHuawei, "Ascend910B"), ""), "huawei.com/Ascend910");
  EXPECT_EQ(ResourceNameFor(Of(Vendor::kHuawei, "Ascend910"), ""), "huawei.com/Ascend910");
  EXPECT_EQ(ResourceNameFor(Of(Vendor::kHuawei, "Ascend310P"), ""), "huawei.com/Ascend310P");
  EXPECT_EQ(ResourceNameFor(Of(Vendor::kHuawei, "Ascend310"), ""), "huawei.com/Ascend310");
}

TEST(ResourceNamingTest, PrefixMovesEveryNameUnderOneDomain) {
  EXPECT_EQ(ResourceNameFor(Of(Vendor::kNvidia), "zhisuan.io"), "zhisuan.io/nvidia-gpu");
  EXPECT_EQ(ResourceNameFor(Of(Vendor::kAmd), "zhisuan.io"), "zhisuan.io/amd-gpu");
  EXPECT_EQ(ResourceNameFor(Of(Vendor::kHuawei, "Ascend910B"), "zhisuan.io"),
            "zhisuan.io/huawei-ascend910");
  EXPECT_EQ(ResourceNameFor(Of(Vendor::kMooreThreads), "compute.example.com"),
            "compute.example.com/moorethreads-gpu");
}

TEST(ResourceNamingTest, PrefixMustBeADomainOutsideKubernetesIo) {
  EXPECT_TRUE(ValidateResourcePrefix("zhisuan.io").ok());
  EXPECT_TRUE(ValidateResourcePrefix("gpu.example-dc.cn").ok());
  EXPECT_THAT(ValidateResourcePrefix("zhisuan").message(), HasSubstr("domain name"));
  EXPECT_THAT(ValidateResourcePrefix("Zhisuan.IO").message(), HasSubstr("DNS subdomain"));
  EXPECT_THAT(ValidateResourcePrefix("zhisuan..io").message(), HasSubstr("DNS subdomain"));
  EXPECT_FALSE(ValidateResourcePrefix("node.kubernetes.io").ok());
}

TEST(ResourceNamingTest, MixedNodeGroupsByResourceInIndexOrder) {
  std::vector<Accelerator> accelerators = {MakeAccelerator(Vendor::kNvidia, 1),
                                           MakeAccelerator(Vendor::kAmd, 0),
                                           MakeAccelerator(Vendor::kNvidia, 0)};
  auto groups = GroupByResourceName(accelerators, "");
  ASSERT_EQ(groups.size(), 2u);
  ASSERT_EQ(groups["nvidia.com/gpu"].size(), 2u);
  EXPECT_EQ(groups["nvidia.com/gpu"][0].index, 0);
  EXPECT_EQ(groups["nvidia.com/gpu"][1].index, 1);
  EXPECT_EQ(groups["amd.com/gpu"].size(), 1u);
  EXPECT_EQ(SocketSafeName("nvidia.com/gpu"), "nvidia.com_gpu");
}

}  // namespace
}  // namespace zhisuan::agent
