// The CUDA FLOPS probe's real dlopen path: it loads the fake driver (tests/fixtures/fake_cuda),
// resolves every entry point by name and measures through it. The probe's arithmetic on an
// in-process driver table is unit-tested in tests/unit/agent/flops_probe_test.cc.
#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

#include "agent/flops/flops_probe.h"

namespace zhisuan::agent {
namespace {

// The fake CUDA driver (tests/fixtures/fake_cuda) runs no kernel: its event timer reports the
// time the launched work takes at FAKE_CUDA_TFLOPS, so the probe's arithmetic (warps, iterations,
// FLOPs per MMA) must come back to exactly that rate.
std::string FakeLibcuda() {
  const char* dir = std::getenv("ZHISUAN_BINARY_DIR");
  return std::string(dir != nullptr ? dir : ".") + "/fixtures/lib/cuda/libcuda.so.1";
}

TEST(CudaMmaProbeLibraryTest, MeasuresEveryDeviceThroughTheDriverApi) {
  setenv("FAKE_CUDA_TFLOPS", "600", 1);
  auto measured = MakeCudaMmaProbe(FakeLibcuda(), std::chrono::milliseconds(50))->Measure(nullptr);
  ASSERT_TRUE(measured.ok()) << measured.status();
  ASSERT_EQ(measured->size(), 8u);
  const FlopsMeasurement& first = measured->front();
  EXPECT_TRUE(first.status.ok()) << first.status;
  EXPECT_EQ(first.target, "0000:18:00.0");  // the driver's "00000000:18:00.0", as sysfs writes it
  EXPECT_EQ(first.name, "NVIDIA H100 80GB HBM3");
  EXPECT_EQ(first.precision, Precision::kBf16);
  EXPECT_EQ(first.kernel, "mma-m16n8k16-bf16");
  EXPECT_NEAR(first.flops, 600e12, 600e12 * 1e-3);
  // The timed run is sized to the requested duration.
  EXPECT_NEAR(first.seconds, 0.05, 0.005);
  EXPECT_EQ(measured->back().target, "0000:db:00.0");
  // Issue 18: the fake driver says it is one, so its figures are simulated, never hardware.
  EXPECT_EQ(first.stand_in, "fake_cuda");
  EXPECT_EQ(first.Source(), "simulated");
}

TEST(CudaMmaProbeLibraryTest, LeavesBusyDevicesAlone) {
  auto measured = MakeCudaMmaProbe(FakeLibcuda(), std::chrono::milliseconds(10))
                      ->Measure([](std::string_view bus_id) -> std::optional<std::string> {
                        if (bus_id == "0000:2a:00.0") return "device busy";
                        return std::nullopt;
                      });
  ASSERT_TRUE(measured.ok()) << measured.status();
  ASSERT_EQ(measured->size(), 8u);
  EXPECT_EQ((*measured)[1].target, "0000:2a:00.0");
  EXPECT_EQ((*measured)[1].status.code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ((*measured)[1].flops, 0);
  EXPECT_TRUE((*measured)[0].status.ok());
}

TEST(CudaMmaProbeLibraryTest, NoDevicesIsUnavailable) {
  setenv("FAKE_CUDA_DEVICE_COUNT", "0", 1);
  auto measured = MakeCudaMmaProbe(FakeLibcuda(), std::chrono::milliseconds(10))->Measure(nullptr);
  unsetenv("FAKE_CUDA_DEVICE_COUNT");
  ASSERT_FALSE(measured.ok());
  EXPECT_EQ(measured.status().code(), StatusCode::kUnavailable);
}

}  // namespace
}  // namespace zhisuan::agent
