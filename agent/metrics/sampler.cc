#include "agent/metrics/sampler.h"

#include <algorithm>

#include "common/log.h"
#include "common/thread_guard.h"

namespace zhisuan::agent {

Sampler::Sampler(SamplerOptions options, SamplerSources sources, AgentStateStore& store,
                 ClockPtr clock)
    : options_(std::move(options)),
      sources_(std::move(sources)),
      store_(store),
      clock_(std::move(clock)),
      flops_(sources_.flops) {
  for (std::string_view component : kErrorComponents) errors_.emplace(component, 0);
}

Sampler::~Sampler() { Stop(); }

void Sampler::Discover() {
  NodeInventory inventory = sources_.discover();
  {
    std::lock_guard lock(mu_);
    for (const auto& result : inventory.backend_results) {
      if (result.status.ok()) continue;
      ++errors_["discovery"];
      ZLOG(Warning) << "discovery backend " << result.backend << ": " << result.status;
    }
    peaks_.clear();
    std::vector<std::string> uuids;
    for (const auto& accelerator : inventory.accelerators) {
      peaks_.push_back(sources_.peak_table->ForAccelerator(accelerator));
      uuids.push_back(accelerator.uuid);
    }
    ZLOG(Info) << "discovered " << inventory.accelerators.size() << " accelerators and "
               << inventory.cpu.physical_cores << " physical CPU cores";
    // A device that left takes its emissions counter with it; those that stay keep counting.
    const auto left = [&uuids](const auto& entry) {
      return std::find(uuids.begin(), uuids.end(), entry.first) == uuids.end();
    };
    std::erase_if(emissions_, left);
    std::erase_if(power_windows_, left);
    inventory_ = std::move(inventory);
    discovered_ = true;
    if (sources_.health != nullptr) sources_.health->SetInventory(uuids);
  }
  SampleOnce();
}

void Sampler::SampleOnce() {
  const auto wall_started = std::chrono::steady_clock::now();
  std::lock_guard lock(mu_);
  auto state = std::make_shared<AgentState>();
  state->node_name = options_.node_name;
  state->cpu = inventory_.cpu;
  state->backend_results = inventory_.backend_results;
  state->stand_ins = inventory_.stand_ins;

  // Before the devices: their emissions use the intensity valid now.
  if (sources_.energy != nullptr) {
    (void)sources_.energy->Poll();  // logs and counts its own errors
    EnergyProfileReading reading = sources_.energy->Reading();
    state->energy_profile = std::move(reading.profile);
    state->energy_feed_valid_until = reading.valid_until;
    state->energy_feed_expired = reading.expired;
    state->energy_profile_ok = sources_.energy->last_poll_ok();
    const uint64_t energy_errors = sources_.energy->errors();
    errors_["energy_profile"] += energy_errors - energy_errors_seen_;
    energy_errors_seen_ = energy_errors;
  }
  const std::optional<double> intensity = state->energy_profile.carbon_intensity_grams_per_kwh;
  const SteadyTime sampled = clock_->Now();

  state->devices.reserve(inventory_.accelerators.size());
  std::vector<AveragePowerReading> average_power;
  for (size_t i = 0; i < inventory_.accelerators.size(); ++i) {
    const Accelerator& accelerator = inventory_.accelerators[i];
    DeviceState device;
    device.accelerator = accelerator;
    device.peak = peaks_[i];
    DiscoveryBackend* backend = nullptr;
    for (DiscoveryBackend* candidate : sources_.backends) {
      if (candidate->Name() == accelerator.backend) backend = candidate;
    }
    if (backend == nullptr) {
      device.telemetry_status = UnimplementedError("no telemetry backend");
    } else {
      StatusOr<DeviceTelemetry> telemetry = backend->Sample(accelerator);
      if (telemetry.ok()) {
        device.telemetry = *telemetry;
      } else {
        device.telemetry_status = telemetry.status();
        // A backend that cannot report telemetry at all (the PCI scan) is not an error.
        if (telemetry.status().code() != StatusCode::kUnimplemented) {
          ++errors_["telemetry"];
          ZLOG_V(1) << "telemetry for " << accelerator.uuid << ": " << telemetry.status();
        }
      }
    }
    if (sources_.health != nullptr) {
      sources_.health->OnTelemetry(accelerator.uuid, device.telemetry);
    }
    DeviceEmissions& emissions = emissions_[accelerator.uuid];
    const std::optional<EnergyInterval> interval =
        emissions.Observe(device.telemetry, sampled, intensity);
    auto window = power_windows_.try_emplace(accelerator.uuid, options_.average_power_window).first;
    window->second.Observe(sampled, interval);
    average_power.push_back(window->second.Reading());
    for (EnergySource source : kEnergySources) {
      device.emissions_grams[static_cast<size_t>(source)] = emissions.grams(source);
    }
    state->devices.push_back(std::move(device));
  }
  state->accelerator_average_power = NodeAveragePower(average_power);

  if (sources_.health != nullptr) {
    for (DiscoveryBackend* backend : sources_.backends) {
      for (const HealthEvent& event : backend->DrainHealthEvents()) {
        sources_.health->OnEvent(event);
      }
    }
    sources_.health->Reevaluate();
    const auto health = sources_.health->Snapshot();
    for (auto& device : state->devices) {
      auto it = health.find(device.accelerator.uuid);
      if (it != health.end()) device.health = it->second;
    }
  }

  if (flops_ != nullptr) {
    MeasuredFlopsResults flops = flops_->Results();
    state->measured_flops = std::move(flops.measurements);
    state->flops_probe_status = std::move(flops.probe_status);
    state->flops_probe_runs = flops.runs;
  }
  // At the clock the CPU probe measured once it has run, so that measured/peak compares like
  // with like; at the nominal clock before.
  state->cpu_peak_clock = ChooseCpuPeakClock(state->cpu, state->measured_flops);
  state->cpu_peak = CpuPeakFlops(state->cpu, state->cpu_peak_clock);

  if (sources_.http_errors) errors_["http"] = sources_.http_errors();
  ++samples_;
  state->errors_total = errors_;
  state->samples_total = samples_;
  state->sampled_at = clock_->WallNow();
  state->ready = discovered_;
  // Sampling time is real work, so it is timed on the real clock even under a fake one.
  state->sample_duration_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_started).count();
  store_.Store(std::move(state));
}

void Sampler::SetFlopsScheduler(MeasuredFlopsScheduler* flops) {
  std::lock_guard lock(mu_);
  flops_ = flops;
}

void Sampler::CountError(std::string_view component) {
  std::lock_guard lock(mu_);
  ++errors_[std::string(component)];
}

void Sampler::Start() {
  {
    std::lock_guard lock(loop_mu_);
    stopping_ = false;
  }
  thread_ = std::thread([this] { RunGuarded("sampler", [this] { Loop(); }); });
}

void Sampler::Stop() {
  {
    std::lock_guard lock(loop_mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void Sampler::Loop() {
  std::unique_lock lock(loop_mu_);
  while (!stopping_) {
    // Real time on purpose: the loop's cadence is not what tests simulate; SampleOnce is.
    if (wake_.wait_for(lock, options_.sample_interval, [this] { return stopping_; })) return;
    lock.unlock();
    SampleOnce();
    lock.lock();
  }
}

}  // namespace zhisuan::agent
