// The CPU FLOPS probe: independent FMA chains held in SIMD registers, enough of them to cover the
// FMA latency on two pipes (latency 4 x 2 units = 8 in flight), so the loop is bound by FMA
// throughput rather than by dependencies or memory. acc = acc * a + b converges to b / (1 - a)
// and never reaches infinities or denormals, which would slow some cores down.
//
// The probe also measures the clock the cores ran at, for the peak to be computed at that clock
// (cpu_peak_flops.h). Neither cpufreq (absent in most VMs, and a request rather than a
// measurement) nor the TSC (constant, blind to turbo and AVX down-clocking) nor APERF/MPERF
// (needs msr or perf access) will do. A chain of dependent register adds retires exactly one add
// per cycle on every x86 core since the P6, so timing a known number of them gives the cycles per
// second. Each thread times one short chain after every few FMA batches: the core is still at
// the clock the FMA load set (Intel holds a wide-vector frequency licence for milliseconds after
// the last wide instruction, far longer than a chain), and the other threads keep the package
// under all-core load. A thread preempted mid-chain reads low, so the median of all samples is
// the clock.

#include <immintrin.h>

#include <algorithm>
#include <atomic>
#include <latch>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

#include "agent/flops/flops_probe.h"
#include "common/strings.h"

namespace zhisuan::agent {
namespace {

// Iterations per call; small enough to check the deadline every ~millisecond.
constexpr uint64_t kIterationsPerCall = 1 << 18;

// Clock samples: one chain of kAddsPerBlock x kClockBlocks dependent adds (65536 cycles, about
// 20 us at 3 GHz, so the clock read's own ~50 ns costs under 0.3%) after every kBatchesPerSample
// FMA batches (a few ms), which keeps the chains' share of the run under 1%.
constexpr uint64_t kAddsPerBlock = 64;
constexpr uint64_t kClockBlocks = 1024;
constexpr int kBatchesPerSample = 4;

// kAddsPerBlock (the .rept count) dependent adds per block. Register operands: some cores
// eliminate adds of small immediates at rename, which would retire more than one per cycle.
__attribute__((noinline)) uint64_t DependentAdds(uint64_t blocks, uint64_t step) {
  uint64_t acc = 0;
  for (uint64_t n = 0; n < blocks; ++n) {
    asm volatile(".rept 64\n\tadd %1, %0\n\t.endr" : "+r"(acc) : "r"(step));
  }
  return acc;
}

// One sample of this core's clock in MHz, and the seconds it took.
std::pair<double, double> SampleClockMhz() {
  const auto begin = std::chrono::steady_clock::now();
  const uint64_t sum = DependentAdds(kClockBlocks, 1);
  const std::chrono::duration<double> took = std::chrono::steady_clock::now() - begin;
  if (sum != kClockBlocks * kAddsPerBlock || took.count() <= 0) return {0, took.count()};
  return {static_cast<double>(sum) / took.count() / 1e6, took.count()};
}

double Median(std::vector<double> values) {
  if (values.empty()) return 0;
  const size_t middle = values.size() / 2;
  std::nth_element(values.begin(), values.begin() + static_cast<std::ptrdiff_t>(middle),
                   values.end());
  return values[middle];
}

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
    std::vector<double> clock_seconds(static_cast<size_t>(threads_), 0);
    std::mutex clock_mu;
    std::vector<double> clock_samples;
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
        std::vector<double> samples;
        double sampling = 0;
        for (int batch = 1; !stop.load(std::memory_order_relaxed); ++batch) {
          checksum += kernel.run(kIterationsPerCall, static_cast<float>(t) * 0.01f);
          done += kIterationsPerCall;
          // After the first batch (the FMA load has set the clock by then), then every
          // kBatchesPerSample: a run too short or too slow for kBatchesPerSample batches (an
          // unoptimised sanitizer build) still has one sample.
          if (batch % kBatchesPerSample != 1) continue;
          const auto [mhz, seconds] = SampleClockMhz();
          if (mhz > 0) samples.push_back(mhz);
          sampling += seconds;
        }
        iterations[static_cast<size_t>(t)] = done;
        clock_seconds[static_cast<size_t>(t)] = sampling;
        sink.store(checksum, std::memory_order_relaxed);  // keeps the kernel's result alive
        std::lock_guard lock(clock_mu);
        clock_samples.insert(clock_samples.end(), samples.begin(), samples.end());
      });
    }
    start.arrive_and_wait();
    const auto begin = std::chrono::steady_clock::now();
    std::this_thread::sleep_for(duration_);
    stop.store(true);
    for (auto& worker : workers) worker.join();
    const std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - begin;

    // Each thread's FMA rate over the time it spent on FMAs, not on clock samples.
    double flops = 0;
    for (size_t t = 0; t < iterations.size(); ++t) {
      const double fma_seconds = elapsed.count() - clock_seconds[t];
      if (fma_seconds > 0) {
        flops += static_cast<double>(iterations[t]) * kernel.flops_per_iteration / fma_seconds;
      }
    }
    FlopsMeasurement measurement;
    measurement.target = "cpu";
    measurement.precision = Precision::kFp32;
    measurement.kernel = std::string(kernel.name);
    measurement.seconds = elapsed.count();
    measurement.threads = threads_;
    measurement.flops = flops;
    measurement.clock_mhz = Median(std::move(clock_samples));
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
