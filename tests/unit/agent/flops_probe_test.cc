#include "agent/flops/flops_probe.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstdio>
#include <string>

#include "agent/flops/cuda_driver_api.h"

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

// The probe measures the clock its threads ran at, and the FLOPs it counted per measured cycle
// cannot beat two 512-bit FMA units (64 fp32 FLOPs per cycle), the most any x86 core has.
TEST(CpuFmaProbeTest, MeasuresTheClockItRanAt) {
  auto measured = MakeCpuFmaProbe(1, std::chrono::milliseconds(100))->Measure(nullptr);
  ASSERT_TRUE(measured.ok()) << measured.status();
  const FlopsMeasurement& m = measured->front();
  EXPECT_GT(m.clock_mhz, 200);
  EXPECT_LT(m.clock_mhz, 7000);
  EXPECT_LE(m.flops / (m.clock_mhz * 1e6), 64 * 1.05) << m.kernel << " at " << m.clock_mhz;
}

TEST(CpuFmaProbeTest, UsesTheRequestedThreadCount) {
  auto measured = MakeCpuFmaProbe(2, std::chrono::milliseconds(20))->Measure(nullptr);
  ASSERT_TRUE(measured.ok());
  EXPECT_EQ(measured->front().threads, 2);
}

// An in-process CUDA driver, injected as the probe's API table (no library is loaded; the dlopen
// path is covered by tests/integration/agent/vendor_libraries/cuda_probe_test.cc). Like the fake
// libcuda it runs no kernel: the event timer reports the time the launched work takes at
// `tflops`, so the probe's arithmetic (warps, iterations, FLOPs per MMA) must come back to exactly
// that rate. It answers for the eight H100 SXM5 GPUs of the sysfs fixture h100-8x.
struct FakeCuda {
  static inline double tflops = 600;
  static inline int device_count = 8;
  static inline double work_flops = 0;  // of the latest launch, which the next event pair times

  static constexpr CUresult kSuccess = 0;
  static constexpr CUresult kInvalidValue = 1;
  static constexpr CUresult kInvalidDevice = 101;
  static constexpr double kFlopsPerWarpIteration = 8 * 16.0 * 8 * 16 * 2;
  static constexpr const char* kBusIds[] = {
      "00000000:18:00.0", "00000000:2A:00.0", "00000000:3A:00.0", "00000000:5D:00.0",
      "00000000:9A:00.0", "00000000:AB:00.0", "00000000:BA:00.0", "00000000:DB:00.0"};

  static bool Valid(CUdevice device) { return device >= 0 && device < device_count; }
  // Opaque handles the probe only passes back.
  template <typename Handle>
  static Handle Opaque() {
    static char storage;
    return reinterpret_cast<Handle>(&storage);
  }

  static CudaDriverApi Api() {
    CudaDriverApi api;
    api.cuInit = [](unsigned int) { return kSuccess; };
    api.cuGetErrorString = [](CUresult, const char** text) {
      *text = "fake error";
      return kSuccess;
    };
    api.cuDeviceGetCount = [](int* count) {
      *count = device_count;
      return kSuccess;
    };
    api.cuDeviceGet = [](CUdevice* device, int ordinal) {
      *device = ordinal;
      return Valid(ordinal) ? kSuccess : kInvalidDevice;
    };
    api.cuDeviceGetName = [](char* name, int length, CUdevice) {
      std::snprintf(name, static_cast<size_t>(length), "%s", "NVIDIA H100 80GB HBM3");
      return kSuccess;
    };
    api.cuDeviceGetAttribute = [](int* value, int attribute, CUdevice) {
      if (attribute == kCuAttributeMultiprocessorCount) *value = 132;
      if (attribute == kCuAttributeComputeCapabilityMajor) *value = 9;
      return kSuccess;
    };
    api.cuDeviceGetPCIBusId = [](char* bus_id, int length, CUdevice device) {
      if (!Valid(device)) return kInvalidDevice;
      std::snprintf(bus_id, static_cast<size_t>(length), "%s", kBusIds[device]);
      return kSuccess;
    };
    api.cuCtxCreate_v2 = [](CUcontext* context, unsigned int, CUdevice) {
      *context = Opaque<CUcontext>();
      return kSuccess;
    };
    api.cuCtxDestroy_v2 = [](CUcontext) { return kSuccess; };
    api.cuCtxSynchronize = [] { return kSuccess; };
    api.cuModuleLoadData = [](CUmodule* module, const void*) {
      *module = Opaque<CUmodule>();
      return kSuccess;
    };
    api.cuModuleUnload = [](CUmodule) { return kSuccess; };
    api.cuModuleGetFunction = [](CUfunction* function, CUmodule, const char*) {
      *function = Opaque<CUfunction>();
      return kSuccess;
    };
    api.cuMemAlloc_v2 = [](CUdeviceptr* pointer, size_t) {
      *pointer = 0x7f0000000000ULL;  // never dereferenced: no kernel runs
      return kSuccess;
    };
    api.cuMemFree_v2 = [](CUdeviceptr) { return kSuccess; };
    api.cuLaunchKernel = [](CUfunction, unsigned int grid_x, unsigned int grid_y,
                            unsigned int grid_z, unsigned int block_x, unsigned int block_y,
                            unsigned int block_z, unsigned int, CUstream, void** params, void**) {
      if (params == nullptr || params[1] == nullptr) return kInvalidValue;
      const double threads = 1.0 * grid_x * grid_y * grid_z * block_x * block_y * block_z;
      const uint32_t iterations = *static_cast<const uint32_t*>(params[1]);
      work_flops = threads / 32 * iterations * kFlopsPerWarpIteration;
      return kSuccess;
    };
    api.cuEventCreate = [](CUevent* event, unsigned int) {
      *event = Opaque<CUevent>();
      return kSuccess;
    };
    api.cuEventRecord = [](CUevent, CUstream) { return kSuccess; };
    api.cuEventSynchronize = [](CUevent) { return kSuccess; };
    api.cuEventElapsedTime = [](float* milliseconds, CUevent, CUevent) {
      *milliseconds = static_cast<float>(work_flops / (tflops * 1e12) * 1e3);
      return kSuccess;
    };
    api.cuEventDestroy_v2 = [](CUevent) { return kSuccess; };
    return api;
  }
};

class CudaMmaProbeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    FakeCuda::tflops = 600;
    FakeCuda::device_count = 8;
  }
};

TEST_F(CudaMmaProbeTest, MissingLibcudaIsUnavailable) {
  auto measured = MakeCudaMmaProbe("/nonexistent/libcuda.so.1", std::chrono::milliseconds(10))
                      ->Measure(nullptr);
  ASSERT_FALSE(measured.ok());
  EXPECT_EQ(measured.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(measured.status().message().find("/nonexistent/libcuda.so.1"), std::string::npos);
}

TEST_F(CudaMmaProbeTest, MeasuresEveryDeviceThroughTheDriverApi) {
  auto measured =
      MakeCudaMmaProbe(FakeCuda::Api(), std::chrono::milliseconds(50))->Measure(nullptr);
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

TEST_F(CudaMmaProbeTest, LeavesBusyDevicesAlone) {
  auto measured = MakeCudaMmaProbe(FakeCuda::Api(), std::chrono::milliseconds(10))
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

TEST_F(CudaMmaProbeTest, NoDevicesIsUnavailable) {
  FakeCuda::device_count = 0;
  auto measured =
      MakeCudaMmaProbe(FakeCuda::Api(), std::chrono::milliseconds(10))->Measure(nullptr);
  ASSERT_FALSE(measured.ok());
  EXPECT_EQ(measured.status().code(), StatusCode::kUnavailable);
}

TEST_F(CudaMmaProbeTest, PtxTargetsAmpereTensorCoresAndKeepsEightChains) {
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
