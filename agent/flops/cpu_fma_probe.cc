// The CPU FLOPS probe: independent FMA chains held in SIMD registers, enough of them to cover the
// FMA latency on two pipes (latency 4 x 2 units = 8 in flight), so the loop is bound by FMA
// throughput rather than by dependencies or memory. acc = acc * a + b converges to b / (1 - a)
// and never reaches infinities or denormals, which would slow some cores down.

#include <immintrin.h>

#include <atomic>
#include <latch>
#include <thread>

#include "agent/flops/flops_probe.h"
#include "common/strings.h"

namespace zhisuan::agent {
namespace {

// Iterations per call; small enough to check the deadline every ~millisecond.
constexpr uint64_t kIterationsPerCall = 1 << 18;

struct Kernel {
  std::string_view name;
  double flops_per_iteration;
  float (*run)(uint64_t iterations, float seed);
};

__attribute__((target("avx512f"))) float Avx512Kernel(uint64_t iterations, float seed) {
  const __m512 a = _mm512_set1_ps(0.999999f);
  const __m512 b = _mm512_set1_ps(1e-7f);
  __m512 acc[16];
  for (int i = 0; i < 16; ++i) acc[i] = _mm512_set1_ps(seed + static_cast<float>(i));
  for (uint64_t n = 0; n < iterations; ++n) {
#pragma GCC unroll 16
    for (int i = 0; i < 16; ++i) acc[i] = _mm512_fmadd_ps(acc[i], a, b);
  }
  __m512 sum = acc[0];
  for (int i = 1; i < 16; ++i) sum = _mm512_add_ps(sum, acc[i]);
  // Not _mm512_reduce_add_ps: GCC 12's version trips -Wuninitialized inside its own header.
  alignas(64) float lanes[16];
  _mm512_store_ps(lanes, sum);
  float total = 0;
  for (float lane : lanes) total += lane;
  return total;
}

__attribute__((target("avx2,fma"))) float Avx2Kernel(uint64_t iterations, float seed) {
  const __m256 a = _mm256_set1_ps(0.999999f);
  const __m256 b = _mm256_set1_ps(1e-7f);
  // 12 of the 16 ymm registers: the other four hold a, b and loop temporaries.
  __m256 acc[12];
  for (int i = 0; i < 12; ++i) acc[i] = _mm256_set1_ps(seed + static_cast<float>(i));
  for (uint64_t n = 0; n < iterations; ++n) {
#pragma GCC unroll 12
    for (int i = 0; i < 12; ++i) acc[i] = _mm256_fmadd_ps(acc[i], a, b);
  }
  __m256 sum = acc[0];
  for (int i = 1; i < 12; ++i) sum = _mm256_add_ps(sum, acc[i]);
  alignas(32) float lanes[8];
  _mm256_store_ps(lanes, sum);
  float total = 0;
  for (float lane : lanes) total += lane;
  return total;
}

float ScalarKernel(uint64_t iterations, float seed) {
  float acc[8];
  for (int i = 0; i < 8; ++i) acc[i] = seed + static_cast<float>(i);
  for (uint64_t n = 0; n < iterations; ++n) {
    for (float& value : acc) value = value * 0.999999f + 1e-7f;
  }
  float total = 0;
  for (float value : acc) total += value;
  return total;
}

const Kernel& SelectKernel() {
  static const Kernel kernel = [] {
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f")) return Kernel{"avx512-fma", 16 * 16 * 2, Avx512Kernel};
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
      return Kernel{"avx2-fma", 12 * 8 * 2, Avx2Kernel};
    }
    return Kernel{"scalar-fma", 8 * 2, ScalarKernel};
  }();
  return kernel;
}

class CpuFmaProbe final : public FlopsProbe {
 public:
  CpuFmaProbe(int threads, std::chrono::milliseconds duration)
      : threads_(threads > 0 ? threads : 1), duration_(duration) {}

  std::string_view Name() const override { return "cpu"; }

  StatusOr<std::vector<FlopsMeasurement>> Measure(const SkipDevicePredicate&) override {
    const Kernel& kernel = SelectKernel();
    std::vector<uint64_t> iterations(static_cast<size_t>(threads_), 0);
    std::atomic<float> sink{0};
    std::latch start(threads_ + 1);
    std::atomic<bool> stop{false};
    std::vector<std::thread> workers;
    workers.reserve(static_cast<size_t>(threads_));
    for (int t = 0; t < threads_; ++t) {
      workers.emplace_back([&, t] {
        start.arrive_and_wait();
        uint64_t done = 0;
        float checksum = 0;
        while (!stop.load(std::memory_order_relaxed)) {
          checksum += kernel.run(kIterationsPerCall, static_cast<float>(t) * 0.01f);
          done += kIterationsPerCall;
        }
        iterations[static_cast<size_t>(t)] = done;
        sink.store(checksum, std::memory_order_relaxed);  // keeps the kernel's result alive
      });
    }
    start.arrive_and_wait();
    const auto begin = std::chrono::steady_clock::now();
    std::this_thread::sleep_for(duration_);
    stop.store(true);
    for (auto& worker : workers) worker.join();
    const std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - begin;

    uint64_t total = 0;
    for (uint64_t n : iterations) total += n;
    FlopsMeasurement measurement;
    measurement.target = "cpu";
    measurement.precision = Precision::kFp32;
    measurement.kernel = std::string(kernel.name);
    measurement.seconds = elapsed.count();
    measurement.threads = threads_;
    measurement.flops = static_cast<double>(total) * kernel.flops_per_iteration / elapsed.count();
    return std::vector<FlopsMeasurement>{measurement};
  }

 private:
  const int threads_;
  const std::chrono::milliseconds duration_;
};

}  // namespace

FlopsProbePtr MakeCpuFmaProbe(int threads, std::chrono::milliseconds duration) {
  return std::make_unique<CpuFmaProbe>(threads, duration);
}

std::string_view SelectedCpuFmaKernel() { return SelectKernel().name; }

}  // namespace zhisuan::agent
