#include "agent/dra/claim_preparer.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "agent/dra/device_name.h"
#include "tests/unit/agent/dra_kubelet/dra_test_support.h"
#include "tests/unit/agent/kubernetes/inventories.h"
#include "tests/unit/kube/fake_api_client.h"

namespace zhisuan::agent::dra {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing::MakeAccelerators;

class ClaimPreparerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    accelerators_ = MakeAccelerators(Vendor::kNvidia);
    options_ = {.node_name = "node-a",
                .cdi_dir = dir_.path() + "/cdi",
                .dev_root = "",
                .checkpoint_path = dir_.path() + "/prepared-claims.json"};
    std::filesystem::create_directories(options_.cdi_dir);
  }

  std::unique_ptr<ClaimPreparer> NewPreparer() {
    auto preparer = ClaimPreparer::Create(options_, client_, [this] { return accelerators_; });
    EXPECT_TRUE(preparer.ok()) << preparer.status();
    return preparer.ok() ? std::move(*preparer) : nullptr;
  }

  // A claim allocated `results` ({driver, pool, device}) through request "gpus"; returns its ref.
  ClaimRef CreateClaim(const std::string& name, const std::vector<AllocationResult>& results) {
    auto created = client_->Create(kResourceClaims, "team", AllocatedClaim(name, results));
    EXPECT_TRUE(created.ok()) << created.status();
    return {.ns = "team", .uid = (*created)["metadata"]["uid"], .name = name};
  }

  std::string Device(int index) const { return DraDeviceName(accelerators_[index]); }
  std::string SpecPath(const ClaimRef& claim) const {
    return ClaimCdiSpecPath(options_.cdi_dir, claim.uid);
  }

  TempDir dir_;
  std::shared_ptr<kube::FakeApiClient> client_ = std::make_shared<kube::FakeApiClient>();
  std::vector<Accelerator> accelerators_;
  ClaimPreparerOptions options_;
};

TEST_F(ClaimPreparerTest, PrepareWritesTheSpecAndAnswersWithCdiIds) {
  auto preparer = NewPreparer();
  const ClaimRef claim = CreateClaim(
      "train", {{kDriverName, "node-a", Device(1)}, {kDriverName, "node-a", Device(2)}});
  auto prepared = preparer->Prepare(claim);
  ASSERT_TRUE(prepared.ok()) << prepared.status();
  ASSERT_EQ(prepared->devices.size(), 2U);
  const PreparedDevice& first = prepared->devices[0];
  EXPECT_EQ(first.device_name, Device(1));
  EXPECT_EQ(first.pool_name, "node-a");
  EXPECT_THAT(first.request_names, ElementsAre("gpus"));
  EXPECT_THAT(first.cdi_device_ids,
              ElementsAre("zhisuan.io/accelerator=" + claim.uid + "-" + Device(1),
                          "nvidia.com/gpu=" + accelerators_[1].uuid));
  const nlohmann::json spec = nlohmann::json::parse(ReadFile(SpecPath(claim)));
  EXPECT_EQ(spec["kind"], "zhisuan.io/accelerator");
  EXPECT_EQ(spec["containerEdits"]["env"][0],
            "NVIDIA_VISIBLE_DEVICES=" + accelerators_[1].uuid + "," + accelerators_[2].uuid);
  EXPECT_EQ(spec["devices"][1]["name"], claim.uid + "-" + Device(2));
}

TEST_F(ClaimPreparerTest, PrepareTwiceGivesTheSameAnswerWithoutAskingTheServerAgain) {
  auto preparer = NewPreparer();
  const ClaimRef claim = CreateClaim("train", {{kDriverName, "node-a", Device(0)}});
  auto first = preparer->Prepare(claim);
  ASSERT_TRUE(first.ok()) << first.status();
  const int gets = client_->CallCount(kube::FakeApiClient::Verb::kGet);
  auto second = preparer->Prepare(claim);
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(*first, *second);
  EXPECT_EQ(client_->CallCount(kube::FakeApiClient::Verb::kGet), gets);
}

TEST_F(ClaimPreparerTest, APreparedClaimSurvivesARestartFromTheCheckpoint) {
  const ClaimRef claim = CreateClaim("train", {{kDriverName, "node-a", Device(4)}});
  PreparedClaim before;
  {
    auto preparer = NewPreparer();
    before = *preparer->Prepare(claim);
  }
  // The claim is gone from the server: only the checkpoint can answer now.
  ASSERT_TRUE(client_->Delete(kResourceClaims, "team", "train").ok());
  auto restarted = NewPreparer();
  ASSERT_EQ(restarted->Prepared().size(), 1U);
  auto again = restarted->Prepare(claim);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(*again, before);
  ASSERT_TRUE(restarted->Unprepare(claim).ok());
  EXPECT_FALSE(std::filesystem::exists(SpecPath(claim)));
  EXPECT_TRUE(NewPreparer()->Prepared().empty());
}

TEST_F(ClaimPreparerTest, AMissingSpecFileIsWrittenAgainOnPrepare) {
  auto preparer = NewPreparer();
  const ClaimRef claim = CreateClaim("train", {{kDriverName, "node-a", Device(0)}});
  ASSERT_TRUE(preparer->Prepare(claim).ok());
  std::filesystem::remove(SpecPath(claim));
  ASSERT_TRUE(preparer->Prepare(claim).ok());
  EXPECT_TRUE(std::filesystem::exists(SpecPath(claim)));
}

TEST_F(ClaimPreparerTest, UnprepareRemovesSpecAndEntryAndIsIdempotent) {
  auto preparer = NewPreparer();
  const ClaimRef claim = CreateClaim("train", {{kDriverName, "node-a", Device(0)}});
  ASSERT_TRUE(preparer->Prepare(claim).ok());
  ASSERT_TRUE(std::filesystem::exists(SpecPath(claim)));
  ASSERT_TRUE(preparer->Unprepare(claim).ok());
  EXPECT_FALSE(std::filesystem::exists(SpecPath(claim)));
  EXPECT_TRUE(preparer->Prepared().empty());
  EXPECT_TRUE(ParsePreparedClaims(ReadFile(options_.checkpoint_path))->empty());
  EXPECT_TRUE(preparer->Unprepare(claim).ok());
  EXPECT_TRUE(preparer->Unprepare({.ns = "x", .uid = "never-seen", .name = "y"}).ok());
}

TEST_F(ClaimPreparerTest, OtherDriversAndOtherPoolsAreIgnored) {
  auto preparer = NewPreparer();
  const ClaimRef claim = CreateClaim("mixed", {{"gpu.nvidia.com", "node-a", "gpu-0"},
                                               {kDriverName, "node-b", Device(1)},
                                               {kDriverName, "node-a", Device(2)}});
  auto prepared = preparer->Prepare(claim);
  ASSERT_TRUE(prepared.ok()) << prepared.status();
  ASSERT_EQ(prepared->devices.size(), 1U);
  EXPECT_EQ(prepared->devices[0].device_name, Device(2));
}

TEST_F(ClaimPreparerTest, AClaimWithNothingForThisNodeIsAnError) {
  auto preparer = NewPreparer();
  const ClaimRef claim = CreateClaim("elsewhere", {{kDriverName, "node-b", Device(1)}});
  auto prepared = preparer->Prepare(claim);
  ASSERT_FALSE(prepared.ok());
  EXPECT_THAT(prepared.status().message(),
              HasSubstr("no device of driver accelerators.zhisuan.io"));
  EXPECT_FALSE(std::filesystem::exists(SpecPath(claim)));
}

TEST_F(ClaimPreparerTest, ADeviceTheNodeLacksIsAnErrorNamingIt) {
  auto preparer = NewPreparer();
  const ClaimRef claim = CreateClaim("ghost", {{kDriverName, "node-a", "pci-0000-ff-00-0"}});
  auto prepared = preparer->Prepare(claim);
  ASSERT_FALSE(prepared.ok());
  EXPECT_THAT(prepared.status().message(), HasSubstr("pci-0000-ff-00-0 is not on this node"));
  EXPECT_THAT(prepared.status().message(), HasSubstr(Device(0)));
  EXPECT_TRUE(preparer->Prepared().empty());
  EXPECT_FALSE(std::filesystem::exists(SpecPath(claim)));
}

TEST_F(ClaimPreparerTest, AClaimReplacedUnderTheSameNameIsRefused) {
  auto preparer = NewPreparer();
  ClaimRef claim = CreateClaim("train", {{kDriverName, "node-a", Device(0)}});
  claim.uid = "an-older-uid";
  auto prepared = preparer->Prepare(claim);
  ASSERT_FALSE(prepared.ok());
  EXPECT_THAT(prepared.status().message(), HasSubstr("uid"));
}

TEST_F(ClaimPreparerTest, AUidThatIsNoUidNeverReachesAPath) {
  auto preparer = NewPreparer();
  const std::string outside = dir_.path() + "/outside.json";
  std::ofstream(outside) << "{}";
  const ClaimRef bad{.ns = "team", .uid = "../outside", .name = "x"};
  EXPECT_THAT(preparer->Unprepare(bad).message(), HasSubstr("is not a claim uid"));
  EXPECT_THAT(preparer->Prepare(bad).status().message(), HasSubstr("is not a claim uid"));
  EXPECT_TRUE(std::filesystem::exists(outside));
}

TEST_F(ClaimPreparerTest, AnUnallocatedClaimIsAnError) {
  auto preparer = NewPreparer();
  nlohmann::json object = AllocatedClaim("pending", {});
  object.erase("status");
  auto created = client_->Create(kResourceClaims, "team", object);
  ASSERT_TRUE(created.ok());
  auto prepared =
      preparer->Prepare({.ns = "team", .uid = (*created)["metadata"]["uid"], .name = "pending"});
  ASSERT_FALSE(prepared.ok());
  EXPECT_THAT(prepared.status().message(), HasSubstr("not allocated"));
}

TEST(PreparedClaimsCheckpointTest, RoundTripsAndRejectsWhatItDidNotWrite) {
  PreparedClaims claims;
  claims["u1"] = {.uid = "u1",
                  .ns = "team",
                  .name = "train",
                  .devices = {{.request_names = {"gpus"},
                               .pool_name = "node-a",
                               .device_name = "pci-0000-17-00-0",
                               .cdi_device_ids = {"zhisuan.io/accelerator=u1-pci-0000-17-00-0"}}}};
  auto parsed = ParsePreparedClaims(SerializePreparedClaims(claims));
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(*parsed, claims);
  EXPECT_FALSE(ParsePreparedClaims("not json").ok());
  EXPECT_THAT(ParsePreparedClaims(R"({"version": 7, "claims": {}})").status().message(),
              HasSubstr("version 7"));
  EXPECT_THAT(ParsePreparedClaims(R"({"version": 1, "claims": {"u": {"namespace": 3}}})")
                  .status()
                  .message(),
              HasSubstr("malformed"));
}

TEST(PreparedClaimsCheckpointTest, AMissingFileIsAFirstStartAndACorruptOneAnError) {
  TempDir dir;
  PreparedClaimsCheckpoint checkpoint(dir.path() + "/prepared-claims.json");
  auto loaded = checkpoint.Load();
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_TRUE(loaded->empty());
  std::ofstream(checkpoint.path()) << "{\"version\": 1, \"claims\": ";
  auto corrupt = checkpoint.Load();
  ASSERT_FALSE(corrupt.ok());
  EXPECT_THAT(corrupt.status().message(), HasSubstr(checkpoint.path()));
}

}  // namespace
}  // namespace zhisuan::agent::dra
