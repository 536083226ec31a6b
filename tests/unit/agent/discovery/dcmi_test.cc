// The DCMI backend on an in-test DCMI table: no library is loaded. The same backend on the fake
// libdcmi (dlopen, symbol lookup, the fake's knobs) is tested in
// tests/integration/agent/vendor_libraries/dcmi_test.cc.
#include "agent/discovery/ascend/dcmi_api.h"
#include "agent/discovery/ascend/dcmi_backend.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace zhisuan::agent::ascend {
namespace {

using ::testing::HasSubstr;
using ::testing::SizeIs;

// One card with two chips and no optional entry points. Static state keeps the table's entries
// plain, capture-less functions.
struct FakeDcmi {
  static inline int init_result = 0;

  static DcmiApi Api() {
    DcmiApi api;
    api.init = [] { return init_result; };
    api.card_num_list = [](int* card_num, int* card_list, int list_len) {
      if (list_len < 1) return -1;
      *card_num = 1;
      card_list[0] = 3;
      return 0;
    };
    api.device_num_in_card = [](int, int* device_num) {
      *device_num = 2;
      return 0;
    };
    api.logic_id = [](int* logic_id, int, int device_id) {
      *logic_id = device_id;
      return 0;
    };
    return api;
  }
};

class DcmiBackendTableTest : public ::testing::Test {
 protected:
  void SetUp() override { FakeDcmi::init_result = 0; }
};

TEST_F(DcmiBackendTableTest, EnumeratesChipsWithOnlyTheRequiredEntries) {
  auto backend = MakeDcmiBackend(FakeDcmi::Api());
  EXPECT_EQ(backend->Name(), "dcmi");
  auto chips = backend->Discover();
  ASSERT_TRUE(chips.ok()) << chips.status();
  ASSERT_THAT(*chips, SizeIs(2));
  EXPECT_EQ((*chips)[1].vendor, Vendor::kHuawei);
  // Without PCIe info the chip is named by its logic id.
  EXPECT_EQ((*chips)[1].uuid, "ascend-1");
  auto sample = backend->Sample((*chips)[0]);
  ASSERT_TRUE(sample.ok()) << sample.status();
  EXPECT_FALSE(sample->power_watts.has_value());
  EXPECT_FALSE(sample->temperature_celsius.has_value());
}

TEST_F(DcmiBackendTableTest, TableWithoutAnEnumerationEntryIsUnavailable) {
  DcmiApi api = FakeDcmi::Api();
  api.logic_id = nullptr;
  auto found = MakeDcmiBackend(api)->Discover();
  EXPECT_EQ(found.status().code(), StatusCode::kUnavailable);
  EXPECT_THAT(found.status().message(), HasSubstr("dcmi_get_device_logic_id"));
}

TEST_F(DcmiBackendTableTest, InitFailureIsAnError) {
  FakeDcmi::init_result = -8005;
  auto found = MakeDcmiBackend(FakeDcmi::Api())->Discover();
  EXPECT_FALSE(found.ok());
  EXPECT_THAT(found.status().message(), HasSubstr("dcmi_init"));
}

}  // namespace
}  // namespace zhisuan::agent::ascend
