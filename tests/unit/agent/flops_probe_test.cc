#include "agent/flops/flops_probe.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

namespace zhisuan::agent {
namespace {

TEST(CpuFmaProbeTest, MeasuresPositiveFp32ThroughputWithTheSelectedKernel) {
  FlopsProbePtr probe = MakeCpuFmaProbe(1, std::chrono::milliseconds(50));
  auto measured = probe->Measure(nullptr);
  ASSERT_TRUE(measured.ok()) << measured.status();
  ASSERT_EQ(measured->size(), 1u);
  const FlopsMeasurement& m = measured->front();
  EXPECT_TRUE(m.status.ok());
  EXPECT_EQ(m.target, "cpu");
  EXPECT_EQ(m.precision, Precision::kFp32);
  EXPECT_EQ(m.kernel, SelectedCpuFmaKernel());
  EXPECT_EQ(m.threads, 1);
  EXPECT_GE(m.seconds, 0.05);
  // Any CPU this runs on does well over 100 MFLOP/s on one core, and none reaches 1 TFLOP/s.
  EXPECT_GT(m.flops, 1e8);
  EXPECT_LT(m.flops, 1e12);
}

TEST(CpuFmaProbeTest, UsesTheRequestedThreadCount) {
  auto measured = MakeCpuFmaProbe(2, std::chrono::milliseconds(20))->Measure(nullptr);
  ASSERT_TRUE(measured.ok());
  EXPECT_EQ(measured->front().threads, 2);
}

TEST(CudaMmaProbeTest, MissingLibcudaIsUnavailable) {
  auto measured = MakeCudaMmaProbe("/nonexistent/libcuda.so.1", std::chrono::milliseconds(10))
                      ->Measure(nullptr);
  ASSERT_FALSE(measured.ok());
  EXPECT_EQ(measured.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(measured.status().message().find("/nonexistent/libcuda.so.1"), std::string::npos);
}

// The fake CUDA driver (tests/fixtures/fake_cuda) runs no kernel: its event timer reports the
// time the launched work takes at FAKE_CUDA_TFLOPS, so the probe's arithmetic (warps, iterations,
// FLOPs per MMA) must come back to exactly that rate.
std::string FakeLibcuda() {
  const char* dir = std::getenv("ZHISUAN_BINARY_DIR");
  return std::string(dir != nullptr ? dir : ".") + "/fixtures/lib/cuda/libcuda.so.1";
}

TEST(CudaMmaProbeTest, MeasuresEveryDeviceThroughTheDriverApi) {
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
}

TEST(CudaMmaProbeTest, LeavesBusyDevicesAlone) {
  auto measured = MakeCudaMmaProbe(FakeLibcuda(), std::chrono::milliseconds(10))
                      ->Measure([](std::string_view bus_id) { return bus_id == "0000:2a:00.0"; });
  ASSERT_TRUE(measured.ok()) << measured.status();
  ASSERT_EQ(measured->size(), 8u);
  EXPECT_EQ((*measured)[1].target, "0000:2a:00.0");
  EXPECT_EQ((*measured)[1].status.code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ((*measured)[1].flops, 0);
  EXPECT_TRUE((*measured)[0].status.ok());
}

TEST(CudaMmaProbeTest, NoDevicesIsUnavailable) {
  setenv("FAKE_CUDA_DEVICE_COUNT", "0", 1);
  auto measured = MakeCudaMmaProbe(FakeLibcuda(), std::chrono::milliseconds(10))->Measure(nullptr);
  unsetenv("FAKE_CUDA_DEVICE_COUNT");
  ASSERT_FALSE(measured.ok());
  EXPECT_EQ(measured.status().code(), StatusCode::kUnavailable);
}

TEST(CudaMmaProbeTest, PtxTargetsAmpereTensorCoresAndKeepsEightChains) {
  const std::string_view ptx = CudaMmaProbePtx();
  EXPECT_NE(ptx.find(".target sm_80"), std::string_view::npos);
  EXPECT_NE(ptx.find(".visible .entry zhisuan_mma_bf16_loop"), std::string_view::npos);
  size_t count = 0;
  for (size_t at = ptx.find("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32");
       at != std::string_view::npos;
       at = ptx.find("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32", at + 1)) {
    ++count;
  }
  EXPECT_EQ(count, 8u);
}

}  // namespace
}  // namespace zhisuan::agent
