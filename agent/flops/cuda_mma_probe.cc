// The NVIDIA FLOPS probe. A hand-written PTX kernel runs bf16 tensor-core MMAs on operands held in
// registers, so it measures MMA throughput and not memory bandwidth. It is loaded through the CUDA
// driver API, opened with dlopen, so the agent needs neither the CUDA toolkit nor libcudart: the
// driver JIT-compiles the PTX for whatever GPU is present (sm_80 and later).
//
// mma.sync is the Ampere-style warp-level MMA. On Hopper the fastest path is wgmma, which
// mma.sync reaches only partly, so an H100's ratio reads lower than an A100's; the ratio is a
// health signal compared across identical nodes, not a benchmark score.

#include <algorithm>
#include <cstdint>
#include <functional>
#include <optional>

#include "agent/flops/cuda_driver_api.h"
#include "agent/flops/flops_probe.h"
#include "common/dynamic_library.h"
#include "common/log.h"
#include "common/strings.h"

namespace zhisuan::agent {
namespace {

// Independent accumulator chains per warp: enough to cover the MMA pipeline latency.
constexpr int kChains = 8;
constexpr int kThreadsPerBlock = 256;
constexpr int kBlocksPerSm = 4;
constexpr double kFlopsPerMma = 16.0 * 8 * 16 * 2;  // m16n8k16, multiply + add

constexpr std::string_view kPtx = R"ptx(
.version 7.0
.target sm_80
.address_size 64

// out[global thread id] = sum of accumulators after `iterations` x 8 chains of
// D = A x B + D (m16n8k16, bf16 inputs, fp32 accumulate). Writing the sum keeps ptxas from
// discarding the chains.
.visible .entry zhisuan_mma_bf16_loop(
    .param .u64 out_ptr,
    .param .u32 iterations)
{
    .reg .pred %p<2>;
    .reg .b32 %a<4>;
    .reg .b32 %b<2>;
    .reg .f32 %d<32>;
    .reg .b32 %r<8>;
    .reg .b64 %rd<4>;

    mov.u32 %r0, %tid.x;
    mov.u32 %r1, %ctaid.x;
    mov.u32 %r2, %ntid.x;
    mad.lo.u32 %r3, %r1, %r2, %r0;
    // Operands depend on the thread id so nothing folds at compile time; 0x3c00 is bf16 2^-7,
    // small enough that the accumulators stay finite.
    and.b32 %r4, %r3, 7;
    or.b32 %a0, %r4, 0x3c003c00;
    mov.b32 %a1, %a0;
    mov.b32 %a2, %a0;
    mov.b32 %a3, %a0;
    mov.b32 %b0, %a0;
    mov.b32 %b1, %a0;
    mov.f32 %d0, 0f00000000;   mov.f32 %d1, 0f00000000;   mov.f32 %d2, 0f00000000;
    mov.f32 %d3, 0f00000000;   mov.f32 %d4, 0f00000000;   mov.f32 %d5, 0f00000000;
    mov.f32 %d6, 0f00000000;   mov.f32 %d7, 0f00000000;   mov.f32 %d8, 0f00000000;
    mov.f32 %d9, 0f00000000;   mov.f32 %d10, 0f00000000;  mov.f32 %d11, 0f00000000;
    mov.f32 %d12, 0f00000000;  mov.f32 %d13, 0f00000000;  mov.f32 %d14, 0f00000000;
    mov.f32 %d15, 0f00000000;  mov.f32 %d16, 0f00000000;  mov.f32 %d17, 0f00000000;
    mov.f32 %d18, 0f00000000;  mov.f32 %d19, 0f00000000;  mov.f32 %d20, 0f00000000;
    mov.f32 %d21, 0f00000000;  mov.f32 %d22, 0f00000000;  mov.f32 %d23, 0f00000000;
    mov.f32 %d24, 0f00000000;  mov.f32 %d25, 0f00000000;  mov.f32 %d26, 0f00000000;
    mov.f32 %d27, 0f00000000;  mov.f32 %d28, 0f00000000;  mov.f32 %d29, 0f00000000;
    mov.f32 %d30, 0f00000000;  mov.f32 %d31, 0f00000000;
    ld.param.u32 %r5, [iterations];
    mov.u32 %r6, 0;

$L_loop:
    mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%d0, %d1, %d2, %d3}, {%a0, %a1, %a2, %a3}, {%b0, %b1}, {%d0, %d1, %d2, %d3};
    mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%d4, %d5, %d6, %d7}, {%a0, %a1, %a2, %a3}, {%b0, %b1}, {%d4, %d5, %d6, %d7};
    mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%d8, %d9, %d10, %d11}, {%a0, %a1, %a2, %a3}, {%b0, %b1}, {%d8, %d9, %d10, %d11};
    mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%d12, %d13, %d14, %d15}, {%a0, %a1, %a2, %a3}, {%b0, %b1}, {%d12, %d13, %d14, %d15};
    mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%d16, %d17, %d18, %d19}, {%a0, %a1, %a2, %a3}, {%b0, %b1}, {%d16, %d17, %d18, %d19};
    mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%d20, %d21, %d22, %d23}, {%a0, %a1, %a2, %a3}, {%b0, %b1}, {%d20, %d21, %d22, %d23};
    mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%d24, %d25, %d26, %d27}, {%a0, %a1, %a2, %a3}, {%b0, %b1}, {%d24, %d25, %d26, %d27};
    mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%d28, %d29, %d30, %d31}, {%a0, %a1, %a2, %a3}, {%b0, %b1}, {%d28, %d29, %d30, %d31};
    add.u32 %r6, %r6, 1;
    setp.lt.u32 %p0, %r6, %r5;
    @%p0 bra $L_loop;

    add.f32 %d0, %d0, %d1;     add.f32 %d2, %d2, %d3;     add.f32 %d4, %d4, %d5;
    add.f32 %d6, %d6, %d7;     add.f32 %d8, %d8, %d9;     add.f32 %d10, %d10, %d11;
    add.f32 %d12, %d12, %d13;  add.f32 %d14, %d14, %d15;  add.f32 %d16, %d16, %d17;
    add.f32 %d18, %d18, %d19;  add.f32 %d20, %d20, %d21;  add.f32 %d22, %d22, %d23;
    add.f32 %d24, %d24, %d25;  add.f32 %d26, %d26, %d27;  add.f32 %d28, %d28, %d29;
    add.f32 %d30, %d30, %d31;
    add.f32 %d0, %d0, %d2;     add.f32 %d4, %d4, %d6;     add.f32 %d8, %d8, %d10;
    add.f32 %d12, %d12, %d14;  add.f32 %d16, %d16, %d18;  add.f32 %d20, %d20, %d22;
    add.f32 %d24, %d24, %d26;  add.f32 %d28, %d28, %d30;
    add.f32 %d0, %d0, %d4;     add.f32 %d8, %d8, %d12;    add.f32 %d16, %d16, %d20;
    add.f32 %d24, %d24, %d28;
    add.f32 %d0, %d0, %d8;     add.f32 %d16, %d16, %d24;
    add.f32 %d0, %d0, %d16;

    ld.param.u64 %rd0, [out_ptr];
    cvta.to.global.u64 %rd1, %rd0;
    mul.wide.u32 %rd2, %r3, 4;
    add.u64 %rd3, %rd1, %rd2;
    st.global.f32 [%rd3], %d0;
    ret;
}
)ptx";

// The driver the probe runs on: the API table, plus the library it was resolved from when it came
// from dlopen (absent for an injected table), which stays open while the table is in use.
struct CudaDriver : CudaDriverApi {
  // A constructor, not aggregate initialisation with parentheses, which clang 14 (the fuzz and
  // lint builds) does not implement.
  CudaDriver(const CudaDriverApi& api, std::optional<DynamicLibrary> from)
      : CudaDriverApi(api), library(std::move(from)) {}

  std::optional<DynamicLibrary> library;

  std::string Error(CUresult result) const {
    const char* text = nullptr;
    if (cuGetErrorString != nullptr && cuGetErrorString(result, &text) == 0 && text != nullptr) {
      return StrCat(text, " (", result, ")");
    }
    return StrCat("CUDA error ", result);
  }
};
using CudaDriverLoader = std::function<StatusOr<std::unique_ptr<CudaDriver>>()>;

template <typename Function>
Status Resolve(const DynamicLibrary& library, const char* name, Function*& function) {
  function = library.Find<Function>(name);
  if (function == nullptr) return UnavailableError(StrCat("libcuda lacks ", name));
  return OkStatus();
}

StatusOr<std::unique_ptr<CudaDriver>> LoadDriver(const std::string& path) {
  ZHISUAN_ASSIGN_OR_RETURN(DynamicLibrary library, DynamicLibrary::Open(path));
  ZHISUAN_ASSIGN_OR_RETURN(CudaDriverApi api, ResolveCudaDriverApi(library));
  return std::make_unique<CudaDriver>(api, std::move(library));
}

#define ZHISUAN_CU(call)                                                      \
  do {                                                                        \
    const CUresult zhisuan_cu_result_ = (call);                               \
    if (zhisuan_cu_result_ != 0)                                              \
      return InternalError(StrCat(#call, ": ", d.Error(zhisuan_cu_result_))); \
  } while (false)

// Everything one device's run allocates, released in reverse order whatever happens.
struct DeviceRun {
  const CudaDriver& d;
  CUcontext context = nullptr;
  CUmodule module = nullptr;
  CUdeviceptr out = 0;
  CUevent begin = nullptr;
  CUevent end = nullptr;
  explicit DeviceRun(const CudaDriver& driver) : d(driver) {}
  DeviceRun(const DeviceRun&) = delete;
  DeviceRun& operator=(const DeviceRun&) = delete;
  ~DeviceRun() {
    if (begin != nullptr) d.cuEventDestroy_v2(begin);
    if (end != nullptr) d.cuEventDestroy_v2(end);
    if (out != 0) d.cuMemFree_v2(out);
    if (module != nullptr) d.cuModuleUnload(module);
    if (context != nullptr) d.cuCtxDestroy_v2(context);
  }
};

class CudaMmaProbe final : public FlopsProbe {
 public:
  CudaMmaProbe(CudaDriverLoader load_driver, std::chrono::milliseconds duration)
      : load_driver_(std::move(load_driver)), duration_(duration) {}

  std::string_view Name() const override { return "cuda"; }

  StatusOr<std::vector<FlopsMeasurement>> Measure(const SkipDevicePredicate& skip) override {
    ZHISUAN_ASSIGN_OR_RETURN(std::unique_ptr<CudaDriver> driver, load_driver_());
    const CudaDriver& d = *driver;
    ZHISUAN_CU(d.cuInit(0));
    int count = 0;
    ZHISUAN_CU(d.cuDeviceGetCount(&count));
    if (count == 0) return UnavailableError("no CUDA devices");
    std::vector<FlopsMeasurement> results;
    for (int ordinal = 0; ordinal < count; ++ordinal) {
      FlopsMeasurement measurement;
      measurement.precision = Precision::kBf16;
      measurement.kernel = "mma-m16n8k16-bf16";
      if (d.stand_in != nullptr) measurement.stand_in = d.stand_in;
      measurement.status = MeasureDevice(d, ordinal, skip, measurement);
      if (!measurement.status.ok()) {
        measurement.flops = 0;
        ZLOG(Warning) << "CUDA FLOPS probe on device " << ordinal << " (" << measurement.target
                      << "): " << measurement.status;
      }
      results.push_back(std::move(measurement));
    }
    return results;
  }

 private:
  Status MeasureDevice(const CudaDriver& d, int ordinal, const SkipDevicePredicate& skip,
                       FlopsMeasurement& measurement) {
    CUdevice device = 0;
    ZHISUAN_CU(d.cuDeviceGet(&device, ordinal));
    char bus_id[32] = {};
    ZHISUAN_CU(d.cuDeviceGetPCIBusId(bus_id, sizeof bus_id, device));
    measurement.target = NormalizeBusId(bus_id);
    char name[256] = {};
    ZHISUAN_CU(d.cuDeviceGetName(name, sizeof name, device));
    measurement.name = name;
    if (std::optional<std::string> reason = skip ? skip(measurement.target) : std::nullopt) {
      return FailedPreconditionError(StrCat("skipped: ", *reason));
    }
    int major = 0;
    int sms = 0;
    ZHISUAN_CU(d.cuDeviceGetAttribute(&major, kCuAttributeComputeCapabilityMajor, device));
    ZHISUAN_CU(d.cuDeviceGetAttribute(&sms, kCuAttributeMultiprocessorCount, device));
    if (major < 8) return UnimplementedError(StrCat("compute capability ", major, ".x < 8.0"));

    DeviceRun run(d);
    ZHISUAN_CU(d.cuCtxCreate_v2(&run.context, 0, device));
    ZHISUAN_CU(d.cuModuleLoadData(&run.module, std::string(kPtx).c_str()));
    CUfunction function = nullptr;
    ZHISUAN_CU(d.cuModuleGetFunction(&function, run.module, "zhisuan_mma_bf16_loop"));
    const unsigned int blocks = static_cast<unsigned int>(sms * kBlocksPerSm);
    ZHISUAN_CU(d.cuMemAlloc_v2(&run.out, size_t{blocks} * kThreadsPerBlock * sizeof(float)));
    ZHISUAN_CU(d.cuEventCreate(&run.begin, 0));
    ZHISUAN_CU(d.cuEventCreate(&run.end, 0));

    // Time one launch of `iterations`, in milliseconds.
    auto timed_launch = [&](uint32_t iterations, float& milliseconds) -> Status {
      void* params[] = {&run.out, &iterations};
      ZHISUAN_CU(d.cuEventRecord(run.begin, nullptr));
      ZHISUAN_CU(d.cuLaunchKernel(function, blocks, 1, 1, kThreadsPerBlock, 1, 1, 0, nullptr,
                                  params, nullptr));
      ZHISUAN_CU(d.cuEventRecord(run.end, nullptr));
      ZHISUAN_CU(d.cuEventSynchronize(run.end));
      ZHISUAN_CU(d.cuEventElapsedTime(&milliseconds, run.begin, run.end));
      return OkStatus();
    };
    // A short run pays for the JIT and clocks ramping up and sizes the timed run.
    float milliseconds = 0;
    uint32_t iterations = 2048;
    ZHISUAN_RETURN_IF_ERROR(timed_launch(iterations, milliseconds));
    ZHISUAN_RETURN_IF_ERROR(timed_launch(iterations, milliseconds));
    const double target_ms = static_cast<double>(duration_.count());
    const double scaled = iterations * target_ms / std::max(milliseconds, 0.01f);
    iterations = static_cast<uint32_t>(std::clamp(scaled, 1024.0, 2e9));
    ZHISUAN_RETURN_IF_ERROR(timed_launch(iterations, milliseconds));
    ZHISUAN_CU(d.cuCtxSynchronize());

    const double warps = static_cast<double>(blocks) * kThreadsPerBlock / 32;
    const double flops = warps * iterations * kChains * kFlopsPerMma;
    measurement.seconds = milliseconds / 1e3;
    measurement.flops = flops / measurement.seconds;
    return OkStatus();
  }

  // The driver writes "00000000:17:00.0" (8-digit domain, upper case); sysfs and NVML's v3 bus id
  // agree on "0000:17:00.0".
  static std::string NormalizeBusId(std::string_view bus_id) {
    std::string lower = AsciiLower(bus_id);
    const size_t colon = lower.find(':');
    if (colon != std::string::npos && colon > 4) lower.erase(0, colon - 4);
    return lower;
  }

  const CudaDriverLoader load_driver_;
  const std::chrono::milliseconds duration_;
};

}  // namespace

StatusOr<CudaDriverApi> ResolveCudaDriverApi(const DynamicLibrary& library) {
  CudaDriverApi api;
  ZHISUAN_RETURN_IF_ERROR(Resolve(library, "cuInit", api.cuInit));
  ZHISUAN_RETURN_IF_ERROR(Resolve(library, "cuGetErrorString", api.cuGetErrorString));
  ZHISUAN_RETURN_IF_ERROR(Resolve(library, "cuDeviceGetCount", api.cuDeviceGetCount));
  ZHISUAN_RETURN_IF_ERROR(Resolve(library, "cuDeviceGet", api.cuDeviceGet));
  ZHISUAN_RETURN_IF_ERROR(Resolve(library, "cuDeviceGetName", api.cuDeviceGetName));
  ZHISUAN_RETURN_IF_ERROR(Resolve(library, "cuDeviceGetAttribute", api.cuDeviceGetAttribute));
  ZHISUAN_RETURN_IF_ERROR(Resolve(library, "cuDeviceGetPCIBusId", api.cuDeviceGetPCIBusId));
  ZHISUAN_RETURN_IF_ERROR(Resolve(library, "cuCtxCreate_v2", api.cuCtxCreate_v2));
  ZHISUAN_RETURN_IF_ERROR(Resolve(library, "cuCtxDestroy_v2", api.cuCtxDestroy_v2));
  ZHISUAN_RETURN_IF_ERROR(Resolve(library, "cuCtxSynchronize", api.cuCtxSynchronize));
  ZHISUAN_RETURN_IF_ERROR(Resolve(library, "cuModuleLoadData", api.cuModuleLoadData));
  ZHISUAN_RETURN_IF_ERROR(Resolve(library, "cuModuleUnload", api.cuModuleUnload));
  ZHISUAN_RETURN_IF_ERROR(Resolve(library, "cuModuleGetFunction", api.cuModuleGetFunction));
  ZHISUAN_RETURN_IF_ERROR(Resolve(library, "cuMemAlloc_v2", api.cuMemAlloc_v2));
  ZHISUAN_RETURN_IF_ERROR(Resolve(library, "cuMemFree_v2", api.cuMemFree_v2));
  ZHISUAN_RETURN_IF_ERROR(Resolve(library, "cuLaunchKernel", api.cuLaunchKernel));
  ZHISUAN_RETURN_IF_ERROR(Resolve(library, "cuEventCreate", api.cuEventCreate));
  ZHISUAN_RETURN_IF_ERROR(Resolve(library, "cuEventRecord", api.cuEventRecord));
  ZHISUAN_RETURN_IF_ERROR(Resolve(library, "cuEventSynchronize", api.cuEventSynchronize));
  ZHISUAN_RETURN_IF_ERROR(Resolve(library, "cuEventElapsedTime", api.cuEventElapsedTime));
  ZHISUAN_RETURN_IF_ERROR(Resolve(library, "cuEventDestroy_v2", api.cuEventDestroy_v2));
  api.stand_in = library.StandIn();
  return api;
}

FlopsProbePtr MakeCudaMmaProbe(std::string libcuda_path, std::chrono::milliseconds duration) {
  // The library is opened per measurement, not held: the agent keeps no CUDA context (or
  // driver memory) alive between the rare probe runs.
  return std::make_unique<CudaMmaProbe>(
      [path = std::move(libcuda_path)] { return LoadDriver(path); }, duration);
}

FlopsProbePtr MakeCudaMmaProbe(const CudaDriverApi& api, std::chrono::milliseconds duration) {
  return std::make_unique<CudaMmaProbe>(
      [api]() -> StatusOr<std::unique_ptr<CudaDriver>> {
        return std::make_unique<CudaDriver>(api, std::nullopt);
      },
      duration);
}

std::string_view CudaMmaProbePtx() { return kPtx; }

}  // namespace zhisuan::agent
