// The NVML backend on an in-test NVML table: no library is loaded. The same backend on the fake
// libnvidia-ml (dlopen, symbol lookup, the fake's knobs) is tested in
// tests/integration/agent/vendor_libraries/nvml_test.cc.
#include "agent/discovery/nvml/nvml_api.h"
#include "agent/discovery/nvml/nvml_backend.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/unit/agent/discovery/fake_nvml_table.h"

namespace zhisuan::agent::nvml {
namespace {

using testing::FakeNvml;
using ::testing::HasSubstr;
using ::testing::SizeIs;

class NvmlBackendTableTest : public ::testing::Test {
 protected:
  void SetUp() override { FakeNvml::init_result = NVML_SUCCESS; }
};

TEST_F(NvmlBackendTableTest, IdentityComesFromTheTable) {
  auto backend = MakeNvmlBackend(FakeNvml::Api());
  EXPECT_EQ(backend->Name(), "nvml");
  auto gpus = backend->Discover();
  ASSERT_TRUE(gpus.ok()) << gpus.status();
  ASSERT_THAT(*gpus, SizeIs(8));
  const Accelerator& gpu = (*gpus)[1];
  EXPECT_EQ(gpu.index, 1);
  EXPECT_EQ(gpu.vendor, Vendor::kNvidia);
  EXPECT_EQ(gpu.uuid, "GPU-fake-1");
  EXPECT_EQ(gpu.vendor_product_name, "NVIDIA H100 80GB HBM3");
  EXPECT_EQ(gpu.product, "H100-SXM5");
  EXPECT_EQ(gpu.pci_bus_id, "0000:2a:00.0");  // NVML's "00000000:2A:00.0", normalised
  EXPECT_EQ(gpu.pci_vendor_id, 0x10de);
  EXPECT_EQ(gpu.pci_device_id, 0x2330);
  EXPECT_EQ(gpu.architecture, "hopper");
  EXPECT_EQ(gpu.memory_bytes, 85520809984u);
  EXPECT_EQ(gpu.backend, "nvml");
}

TEST_F(NvmlBackendTableTest, TableWithoutAnEnumerationEntryIsUnavailable) {
  NvmlApi api = FakeNvml::Api();
  api.pci_info = nullptr;
  auto found = MakeNvmlBackend(api)->Discover();
  EXPECT_EQ(found.status().code(), StatusCode::kUnavailable);
  EXPECT_THAT(found.status().message(), HasSubstr("nvmlDeviceGetPciInfo_v3"));
}

TEST_F(NvmlBackendTableTest, InitFailureIsReportedWithNvmlsText) {
  FakeNvml::init_result = NVML_ERROR_DRIVER_NOT_LOADED;
  auto found = MakeNvmlBackend(FakeNvml::Api())->Discover();
  EXPECT_EQ(found.status().code(), StatusCode::kUnavailable);
  EXPECT_THAT(found.status().message(), HasSubstr("nvmlInit_v2"));
  EXPECT_THAT(found.status().message(), HasSubstr("fake NVML error"));
}

TEST_F(NvmlBackendTableTest, MissingOptionalEntriesLeaveReadingsAbsent) {
  auto backend = MakeNvmlBackend(FakeNvml::Api());
  auto gpus = backend->Discover();
  ASSERT_TRUE(gpus.ok()) << gpus.status();
  auto sample = backend->Sample((*gpus)[0]);
  ASSERT_TRUE(sample.ok()) << sample.status();
  EXPECT_FALSE(sample->power_watts.has_value());
  EXPECT_FALSE(sample->temperature_celsius.has_value());
  EXPECT_FALSE(sample->energy_joules.has_value());
}

}  // namespace
}  // namespace zhisuan::agent::nvml
