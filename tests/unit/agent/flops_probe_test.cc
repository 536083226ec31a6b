#include "agent/flops/flops_probe.h"

#include <gtest/gtest.h>

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
