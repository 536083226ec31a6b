#pragma once
// The sampler: the only code that touches hardware on a schedule. Every --sample-interval it reads
// telemetry and health events from the backends, polls the energy profile file, advances the
// health tracker, and publishes a fresh AgentState, so a scrape only formats a cached snapshot.

#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "agent/agent_state.h"
#include "agent/flops/measured_flops_scheduler.h"

namespace zhisuan::agent {

struct SamplerOptions {
  std::string node_name;
  std::chrono::milliseconds sample_interval{5000};
  // The trailing window of the accelerators' average power (--energy-average-window).
  std::chrono::seconds average_power_window = kDefaultAveragePowerWindow;
};

// What the sampler reads from; main wires the real ones, tests fakes.
struct SamplerSources {
  // Runs discovery (DiscoverNode over the backends in production).
  std::function<NodeInventory()> discover;
  // Backends by name, for telemetry and health events of the devices they found.
  std::vector<DiscoveryBackend*> backends;
  DeviceHealthTracker* health = nullptr;
  EnergyProfileSource* energy = nullptr;
  const PeakFlopsTable* peak_table = nullptr;
  MeasuredFlopsScheduler* flops = nullptr;  // optional; see SetFlopsScheduler
  // Errors counted elsewhere (the HTTP server), reported under `component` "http". Optional.
  std::function<uint64_t()> http_errors;
};

class Sampler {
 public:
  Sampler(SamplerOptions options, SamplerSources sources, AgentStateStore& store, ClockPtr clock);
  ~Sampler();
  Sampler(const Sampler&) = delete;
  Sampler& operator=(const Sampler&) = delete;

  // Discovery, then one sample; the snapshot is ready afterwards. Synchronous.
  void Discover();
  void SampleOnce();
  // Runs SampleOnce every interval on a thread until Stop().
  void Start();
  void Stop();
  // The FLOPS scheduler whose results each snapshot carries (created after discovery).
  void SetFlopsScheduler(MeasuredFlopsScheduler* flops);
  // Counts an error against a component ("http", ...) from outside the sampler.
  void CountError(std::string_view component);

 private:
  void Loop();

  const SamplerOptions options_;
  const SamplerSources sources_;
  AgentStateStore& store_;
  const ClockPtr clock_;

  std::mutex mu_;  // guards everything below
  NodeInventory inventory_;
  std::vector<PeakFlops> peaks_;
  bool discovered_ = false;
  uint64_t samples_ = 0;
  std::map<std::string, uint64_t, std::less<>> errors_;
  uint64_t energy_errors_seen_ = 0;
  std::map<std::string, DeviceEmissions, std::less<>> emissions_;         // by device uuid
  std::map<std::string, AveragePowerWindow, std::less<>> power_windows_;  // by device uuid
  MeasuredFlopsScheduler* flops_ = nullptr;

  std::mutex loop_mu_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace zhisuan::agent
