// The sampler and the collectors end to end on a scripted node: two H100s behind a fake backend,
// a failing NVML backend, an energy profile, FLOPS measurements. Also checks docs/metrics.md
// against the families the collectors actually produce.

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>

#include "agent/metrics/collector.h"
#include "agent/metrics/metrics_exposition.h"
#include "agent/metrics/sampler.h"
#include "common/strings.h"
#include "tests/unit/agent/fake_backend.h"

namespace zhisuan::agent {
namespace {

using testing::FakeBackend;
using testing::MakeH100;

class FixedProbe final : public FlopsProbe {
 public:
  std::string_view Name() const override { return "fixed"; }
  StatusOr<std::vector<FlopsMeasurement>> Measure(const SkipDevicePredicate&) override {
    FlopsMeasurement cpu;
    cpu.target = "cpu";
    cpu.precision = Precision::kFp32;
    cpu.kernel = "avx2-fma";
    cpu.flops = 128e9;  // half of the fixture CPU's 256 GFLOP/s peak at the measured clock
    cpu.clock_mhz = 2000;
    FlopsMeasurement gpu;
    gpu.target = "0000:10:00.0";
    gpu.precision = Precision::kBf16;
    gpu.kernel = "mma-m16n8k16-bf16";
    gpu.flops = 494.7e12;  // half of H100 SXM5's bf16 peak
    return std::vector<FlopsMeasurement>{cpu, gpu};
  }
};

class MetricsTest : public ::testing::Test {
 protected:
  MetricsTest()
      : clock_(std::make_shared<FakeClock>()),
        health_(HealthPolicy{}, clock_),
        energy_(Profile(), "", MakeRootedFileReader("")) {
    backend_.accelerators = {MakeH100(0), MakeH100(1)};
    for (const auto& a : backend_.accelerators) {
      DeviceTelemetry t;
      t.utilization_ratio = 0.5;
      t.memory_used_bytes = 1e9;
      t.power_watts = 350;
      t.power_limit_watts = 700;
      t.energy_joules = 12345;
      t.temperature_celsius = 60;
      t.clock_mhz = 1755;
      backend_.telemetry[a.uuid] = t;
    }
    std::vector<FlopsProbePtr> probes;
    probes.push_back(std::make_unique<FixedProbe>());
    flops_ = std::make_unique<MeasuredFlopsScheduler>(std::move(probes), nullptr, clock_);
    flops_->RunOnce();
    SamplerSources sources;
    sources.discover = [this] {
      NodeInventory inventory;
      inventory.accelerators = *backend_.Discover();
      // Ice Lake-SP: 64 fp32 FLOPs per cycle. The peak is at the probe's measured 2000 MHz,
      // not at this nominal clock.
      inventory.cpu.model = "Intel(R) Xeon(R) Gold 6338 CPU @ 2.00GHz";
      inventory.cpu.vendor_id = "GenuineIntel";
      inventory.cpu.family = 6;
      inventory.cpu.model_number = 0x6a;
      inventory.cpu.physical_cores = 2;
      inventory.cpu.max_mhz = 3200;
      inventory.cpu.isa_flags = {"avx2", "fma", "avx512f"};
      inventory.backend_results = {{"fake", OkStatus()},
                                   {"nvml", UnavailableError("libnvidia-ml.so.1 not found")}};
      return inventory;
    };
    sources.backends = {&backend_};
    sources.health = &health_;
    sources.energy = &energy_;
    sources.peak_table = &PeakFlopsTable::BuiltIn();
    sources.flops = flops_.get();
    sampler_ = std::make_unique<Sampler>(SamplerOptions{"node-a", std::chrono::seconds(5)}, sources,
                                         store_, clock_);
  }

  static EnergyProfile Profile() {
    EnergyProfile profile;
    profile.source = "hydro";
    profile.zone = "cn-sichuan";
    profile.carbon_intensity_grams_per_kwh = 360;
    profile.carbon_free_ratio = 0.9;
    return profile;
  }

  std::string Scrape() { return MetricsExposition(store_, MakeDefaultCollectors()).Render(); }

  std::shared_ptr<FakeClock> clock_;
  FakeBackend backend_;
  DeviceHealthTracker health_;
  EnergyProfileSource energy_;
  std::unique_ptr<MeasuredFlopsScheduler> flops_;
  AgentStateStore store_;
  std::unique_ptr<Sampler> sampler_;
};

constexpr char kGpu0[] = R"(uuid="GPU-00000000",index="0",vendor="nvidia",product="H100-SXM5")";

TEST_F(MetricsTest, NotReadyBeforeDiscoveryThenReadyWithPeaksHealthAndProfile) {
  EXPECT_FALSE(store_.Load()->ready);
  sampler_->Discover();
  auto state = store_.Load();
  EXPECT_TRUE(state->ready);
  EXPECT_EQ(state->node_name, "node-a");
  ASSERT_EQ(state->devices.size(), 2u);
  EXPECT_EQ(state->devices[0].peak.method, PeakFlopsMethod::kTable);
  EXPECT_TRUE(state->devices[0].health.healthy);
  EXPECT_EQ(state->energy_profile.source, "hydro");
  EXPECT_EQ(state->errors_total.at("discovery"), 1u);  // the NVML backend failed
  EXPECT_DOUBLE_EQ(state->AcceleratorPowerWatts().value_or(-1), 700);
  EXPECT_DOUBLE_EQ(state->AcceleratorPeakTotal()[static_cast<size_t>(Precision::kBf16)],
                   2 * 989.4e12);
}

TEST_F(MetricsTest, ScrapeExportsTelemetryFlopsHealthEnergyAndSelfMetrics) {
  sampler_->Discover();
  const std::string text = Scrape();
  for (const std::string& line : {
           StrCat("zhisuan_device_power_watts{", kGpu0, "} 350"),
           StrCat("zhisuan_device_utilization_ratio{", kGpu0, "} 0.5"),
           StrCat("zhisuan_device_energy_joules_total{", kGpu0, "} 12345"),
           StrCat("zhisuan_device_temperature_celsius{", kGpu0, "} 60"),
           StrCat("zhisuan_device_clock_hertz{", kGpu0, "} 1755000000"),
           StrCat("zhisuan_device_healthy{", kGpu0, "} 1"),
           StrCat("zhisuan_device_health_faults_total{", kGpu0, ",reason=\"xid\"} 0"),
           StrCat("zhisuan_device_peak_flops{", kGpu0,
                  R"(,method="table",precision="bf16"} 989400000000000)"),
           StrCat("zhisuan_device_measured_to_peak_ratio{", kGpu0,
                  R"(,precision="bf16",kernel="mma-m16n8k16-bf16",source="hardware"} 0.5)"),
           std::string(R"(zhisuan_cpu_measured_to_peak_ratio{precision="fp32",kernel="avx2-fma",)"
                       R"(source="hardware"} 0.5)"),
           std::string(R"(zhisuan_agent_simulated_hardware{backend="nvml"} 0)"),
           std::string(R"(zhisuan_agent_simulated_hardware{backend="cuda"} 0)"),
           std::string(R"(zhisuan_agent_simulated_hardware{backend="sysfs"} 0)"),
           std::string(
               R"(zhisuan_node_peak_flops{kind="accelerator",precision="bf16"} 1978800000000000)"),
           std::string(R"(zhisuan_node_peak_flops{kind="cpu",precision="fp32"} 256000000000)"),
           std::string(R"(zhisuan_cpu_peak_clock_hertz{source="measured"} 2000000000)"),
           std::string("zhisuan_cpu_max_clock_hertz 3200000000"),
           std::string(R"(zhisuan_node_accelerators{health="healthy"} 2)"),
           std::string(R"(zhisuan_energy_profile_info{source="hydro",zone="cn-sichuan",basis="",)"
                       R"(emission_factor_type=""} 1)"),
           std::string("zhisuan_energy_feed_expired 0"),
           std::string("zhisuan_energy_carbon_intensity_grams_per_joule 0.0001"),
           std::string("zhisuan_energy_carbon_free_ratio 0.9"),
           std::string("zhisuan_energy_carbon_known 1"),
           std::string(R"(zhisuan_agent_discovery_backend_success{backend="nvml"} 0)"),
           std::string(R"(zhisuan_agent_errors_total{component="discovery"} 1)"),
           std::string(R"(zhisuan_agent_errors_total{component="telemetry"} 0)"),
           std::string(R"(zhisuan_agent_collector_success{collector="power"} 1)"),
           std::string("zhisuan_agent_ready 1"),
       }) {
    EXPECT_NE(text.find(line + "\n"), std::string::npos) << "missing: " << line << "\n" << text;
  }
  // 2 x 350 W at 360 g/kWh = 0.07 g/s (printed with all 17 digits, so compared numerically).
  const std::string emissions = "\nzhisuan_node_accelerator_carbon_emissions_grams_per_second ";
  const size_t at = text.find(emissions);
  ASSERT_NE(at, std::string::npos);
  const size_t value_at = at + emissions.size();
  const auto value = ParseDouble(text.substr(value_at, text.find('\n', value_at) - value_at));
  ASSERT_TRUE(value.has_value());
  EXPECT_NEAR(*value, 0.07, 1e-12);
}

TEST_F(MetricsTest, FailingTelemetryCountsAnErrorAndMarksTelemetryCollectorsUnsuccessful) {
  backend_.sample_errors["GPU-00000001"] = UnavailableError("NVML_ERROR_GPU_IS_LOST");
  sampler_->Discover();
  const std::string text = Scrape();
  EXPECT_NE(text.find(R"(zhisuan_agent_errors_total{component="telemetry"} 1)"), std::string::npos);
  EXPECT_NE(text.find(R"(zhisuan_agent_collector_success{collector="power"} 0)"),
            std::string::npos);
  EXPECT_NE(text.find(R"(zhisuan_agent_collector_success{collector="health"} 1)"),
            std::string::npos);
  // The healthy device still reports.
  EXPECT_NE(text.find(StrCat("zhisuan_device_power_watts{", kGpu0, "} 350")), std::string::npos);
}

TEST_F(MetricsTest, HealthEventsFromBackendsReachTheSnapshotOnTheNextTick) {
  sampler_->Discover();
  backend_.Push({"GPU-00000000", HealthEvent::Kind::kXid, 79, "fallen off the bus"});
  sampler_->SampleOnce();
  const std::string text = Scrape();
  EXPECT_NE(text.find(StrCat("zhisuan_device_healthy{", kGpu0, "} 0")), std::string::npos);
  EXPECT_NE(text.find(StrCat("zhisuan_device_unhealthy_reason{", kGpu0, ",reason=\"xid\"} 1")),
            std::string::npos);
  EXPECT_NE(text.find(StrCat("zhisuan_device_health_faults_total{", kGpu0, ",reason=\"xid\"} 1")),
            std::string::npos);
  EXPECT_NE(text.find(R"(zhisuan_node_accelerators{health="unhealthy"} 1)"), std::string::npos);
}

TEST_F(MetricsTest, NamesArePrefixedCountersEndInTotalAndLabelsAreBounded) {
  sampler_->Discover();
  const std::set<std::string> allowed_labels = {
      "uuid",         "index",  "vendor",     "product",      "precision", "method",
      "kernel",       "reason", "collector",  "component",    "backend",   "probe",
      "kind",         "health", "pci_bus_id", "architecture", "numa_node", "source",
      "zone",         "model",  "vendor_id",  "version",      "basis",     "emission_factor_type",
      "energy_source"};
  for (const auto& family : MetricsExposition(store_, MakeDefaultCollectors()).Collect()) {
    EXPECT_TRUE(StartsWith(family.name, "zhisuan_")) << family.name;
    EXPECT_EQ(family.type == prometheus::MetricType::Counter, EndsWith(family.name, "_total"))
        << family.name;
    EXPECT_FALSE(family.help.empty()) << family.name;
    for (const auto& metric : family.metric) {
      for (const auto& label : metric.label) {
        EXPECT_TRUE(allowed_labels.contains(label.name)) << family.name << " " << label.name;
      }
    }
  }
}

// docs/metrics.md is the one metric catalogue: every family the collectors produce is listed with
// its type and unit, and nothing else is.
TEST_F(MetricsTest, CatalogueMatchesTheCode) {
  sampler_->Discover();
  const char* source_dir = std::getenv("ZHISUAN_SOURCE_DIR");
  ASSERT_NE(source_dir, nullptr);
  std::ifstream in(std::string(source_dir) + "/docs/metrics.md");
  ASSERT_TRUE(in) << "docs/metrics.md missing";
  // | `zhisuan_name` | gauge | unit | labels | description |
  const std::regex row(R"(^\| `(zhisuan_[a-z0-9_]+)` \| (gauge|counter) \| ([^|]+) \|)");
  std::map<std::string, std::string> documented;
  std::string line;
  while (std::getline(in, line)) {
    std::smatch match;
    if (!std::regex_search(line, match, row)) continue;
    EXPECT_FALSE(std::string(StripWhitespace(match[3].str())).empty()) << match[1];
    EXPECT_TRUE(documented.emplace(match[1], match[2]).second) << "listed twice: " << match[1];
  }
  std::map<std::string, std::string> exported;
  for (const auto& family : MetricsExposition(store_, MakeDefaultCollectors()).Collect()) {
    exported.emplace(family.name,
                     family.type == prometheus::MetricType::Counter ? "counter" : "gauge");
  }
  for (const auto& [name, type] : exported) {
    auto it = documented.find(name);
    if (it == documented.end()) {
      ADD_FAILURE() << name << " is exported but not in docs/metrics.md";
    } else {
      EXPECT_EQ(it->second, type) << name;
    }
  }
  for (const auto& [name, type] : documented) {
    EXPECT_TRUE(exported.contains(name)) << name << " is documented but not exported";
  }
}

// Collector-level tests on a hand-built snapshot (issue 18): unknown is not zero, and a
// measurement beyond the peak marks the peak as suspect.

const prometheus::MetricFamily* FamilyNamed(const MetricFamilies& families, std::string_view name) {
  for (const auto& family : families) {
    if (family.name == name) return &family;
  }
  return nullptr;
}

std::string LabelValue(const prometheus::ClientMetric& metric, std::string_view name) {
  for (const auto& label : metric.label) {
    if (label.name == name) return label.value;
  }
  return "";
}

DeviceState DeviceWithPeak(Accelerator accelerator) {
  DeviceState device;
  device.accelerator = std::move(accelerator);
  device.peak = PeakFlopsTable::BuiltIn().ForAccelerator(device.accelerator);
  return device;
}

// Issue 18: grams are counted per interval from the device counter, at the intensity of each
// interval, on the sampler's simulated clock.
TEST_F(MetricsTest, EmissionsCounterAddsEachIntervalsEnergyAtItsIntensity) {
  sampler_->Discover();  // first reading: nothing to count yet
  EXPECT_EQ(Scrape().find("zhisuan_device_emissions_grams_total{"), std::string::npos);
  for (auto& [uuid, telemetry] : backend_.telemetry) *telemetry.energy_joules += 3.6e6;  // 1 kWh
  clock_->Advance(std::chrono::hours(1));
  sampler_->SampleOnce();
  const std::string text = Scrape();
  // 1 kWh at the profile's 360 g/kWh.
  EXPECT_NE(text.find(StrCat("zhisuan_device_emissions_grams_total{", kGpu0,
                             ",energy_source=\"counter\"} 360\n")),
            std::string::npos)
      << text;
  EXPECT_EQ(text.find("energy_source=\"integrated_power\""), std::string::npos) << text;
}

TEST_F(MetricsTest, NodePowerIsAbsentNotZeroWhenADeviceReportsNone) {
  backend_.telemetry["GPU-00000001"].power_watts.reset();
  sampler_->Discover();
  EXPECT_FALSE(store_.Load()->AcceleratorPowerWatts().has_value());
  const std::string text = Scrape();
  EXPECT_EQ(text.find("\nzhisuan_node_accelerator_power_watts "), std::string::npos) << text;
  EXPECT_EQ(text.find("\nzhisuan_node_accelerator_carbon_emissions_grams_per_second "),
            std::string::npos)
      << text;
  EXPECT_EQ(
      text.find(StrCat("zhisuan_device_power_watts{",
                       R"(uuid="GPU-00000001",index="1",vendor="nvidia",product="H100-SXM5"})")),
      std::string::npos);
}

// Issue 18: past its validity a fed profile's carbon is unknown, exactly as without a profile.
TEST(EnergyFeedMetricsTest, ExpiredFeedDropsTheFiguresAndSaysSo) {
  AgentState state;
  state.energy_profile.source = "grid";
  state.energy_profile.basis = "location";
  state.energy_profile.emission_factor_type = "lifecycle";
  state.energy_profile.timestamp = WallTime(std::chrono::seconds(1'800'000'000));
  state.energy_feed_valid_until = WallTime(std::chrono::seconds(1'800'007'200));
  state.energy_feed_expired = true;  // ReadingAt dropped the figures
  DeviceState gpu;
  gpu.accelerator = MakeH100(0);
  gpu.telemetry.power_watts = 350;
  gpu.emissions_grams[static_cast<size_t>(EnergySource::kCounter)] = 12;
  state.devices = {gpu};
  MetricFamilies out;
  ASSERT_TRUE(MakeEnergyProfileCollector()->Collect(state, out).ok());
  ASSERT_TRUE(MakeEmissionsCollector()->Collect(state, out).ok());
  auto value = [&out](std::string_view name) -> std::optional<double> {
    const prometheus::MetricFamily* family = FamilyNamed(out, name);
    if (family == nullptr || family->metric.empty()) return std::nullopt;
    return family->metric[0].gauge.value + family->metric[0].counter.value;
  };
  EXPECT_EQ(value("zhisuan_energy_feed_expired"), 1);
  EXPECT_EQ(value("zhisuan_energy_carbon_known"), 0);
  EXPECT_EQ(value("zhisuan_energy_feed_valid_until_timestamp_seconds"), 1'800'007'200);
  EXPECT_EQ(value("zhisuan_energy_feed_timestamp_seconds"), 1'800'000'000);
  EXPECT_FALSE(value("zhisuan_energy_carbon_intensity_grams_per_joule").has_value());
  EXPECT_FALSE(value("zhisuan_energy_carbon_free_ratio").has_value());
  EXPECT_FALSE(value("zhisuan_node_accelerator_carbon_emissions_grams_per_second").has_value());
  EXPECT_FALSE(value("zhisuan_device_emissions_grams_total").has_value());  // absent while unknown
  const prometheus::MetricFamily* info = FamilyNamed(out, "zhisuan_energy_profile_info");
  ASSERT_NE(info, nullptr);
  ASSERT_EQ(info->metric.size(), 1u);
  EXPECT_EQ(info->metric[0].label[2].value, "location");
  EXPECT_EQ(info->metric[0].label[3].value, "lifecycle");
}

TEST(PeakFlopsCollectorTest, PrecisionsWithoutAFigureHaveNoSeriesAndAreNeverZero) {
  AgentState state;
  Accelerator a100 = MakeH100(0);
  a100.pci_device_id = 0x20b2;  // A100: no FP8
  a100.architecture = "ampere";
  Accelerator unknown = MakeH100(1);
  unknown.pci_device_id = 0x2339;  // an unknown Hopper SKU: method none
  state.devices = {DeviceWithPeak(a100), DeviceWithPeak(unknown)};
  ASSERT_EQ(state.devices[1].peak.method, PeakFlopsMethod::kNone);
  MetricFamilies out;
  ASSERT_TRUE(MakePeakFlopsCollector()->Collect(state, out).ok());
  const prometheus::MetricFamily* peak = FamilyNamed(out, "zhisuan_device_peak_flops");
  ASSERT_NE(peak, nullptr);
  std::map<std::string, int> series;
  for (const auto& metric : peak->metric) {
    ++series[LabelValue(metric, "uuid")];
    EXPECT_GT(metric.gauge.value, 0)
        << LabelValue(metric, "uuid") << " " << LabelValue(metric, "precision");
    EXPECT_NE(LabelValue(metric, "precision"), "fp8");
    EXPECT_NE(LabelValue(metric, "method"), "none");
  }
  EXPECT_EQ(series["GPU-00000000"], 6);  // seven precisions less fp8
  EXPECT_EQ(series.count("GPU-00000001"), 0u);
}

TEST(MeasuredFlopsCollectorTest, AMeasurementBeyondThePeakMarksItSuspect) {
  AgentState state;
  Accelerator unknown = MakeH100(2);
  unknown.pci_device_id = 0x2339;  // no peak: nothing to suspect
  state.devices = {DeviceWithPeak(MakeH100(0)), DeviceWithPeak(MakeH100(1)),
                   DeviceWithPeak(unknown)};
  auto measured = [](std::string target, std::string kernel, double flops) {
    FlopsMeasurement m;
    m.target = std::move(target);
    m.precision = Precision::kBf16;
    m.kernel = std::move(kernel);
    m.flops = flops;
    return m;
  };
  state.measured_flops = {
      measured("0000:10:00.0", "mma-a", 1100e12),  // 1.11 x H100 SXM5's 989.4 TFLOPS bf16
      measured("0000:10:00.0", "mma-b", 500e12),
      measured("0000:11:00.0", "mma-a", 1030e12),  // 1.04 x: within clock noise
      measured("0000:12:00.0", "mma-a", 400e12),
  };
  MetricFamilies out;
  ASSERT_TRUE(MakeMeasuredFlopsCollector()->Collect(state, out).ok());
  const prometheus::MetricFamily* suspect = FamilyNamed(out, "zhisuan_device_peak_flops_suspect");
  ASSERT_NE(suspect, nullptr);
  std::map<std::string, double> by_uuid;
  for (const auto& metric : suspect->metric) {
    EXPECT_EQ(LabelValue(metric, "precision"), "bf16");
    EXPECT_EQ(LabelValue(metric, "kernel"), "");  // per device and precision
    EXPECT_TRUE(by_uuid.emplace(LabelValue(metric, "uuid"), metric.gauge.value).second);
  }
  EXPECT_EQ(by_uuid["GPU-00000000"], 1);
  EXPECT_EQ(by_uuid["GPU-00000001"], 0);
  EXPECT_EQ(by_uuid.count("GPU-00000002"), 0u);
}

// Issue 18: a figure from a stand-in says so. The CPU probe on the real CPU is hardware; the CUDA
// probe through a stand-in driver is simulated, and so is discovery through a fake NVML and a
// fixture tree. The simulated-hardware series exist on every node, so cardinality is fixed.
TEST(MeasuredFlopsCollectorTest, EveryMeasurementCarriesItsSource) {
  AgentState state;
  state.devices = {DeviceWithPeak(MakeH100(0))};
  state.cpu_peak.flops[static_cast<size_t>(Precision::kFp32)] = 256e9;
  FlopsMeasurement cpu;
  cpu.target = "cpu";
  cpu.precision = Precision::kFp32;
  cpu.kernel = "avx2-fma";
  cpu.flops = 128e9;
  FlopsMeasurement gpu;
  gpu.target = "0000:10:00.0";
  gpu.precision = Precision::kBf16;
  gpu.kernel = "mma-m16n8k16-bf16";
  gpu.flops = 600e12;
  gpu.stand_in = "fake_cuda";
  state.measured_flops = {cpu, gpu};
  state.stand_ins = {{"nvml", "fake_nvml"}, {"sysfs", "fixture tree h100-8x"}};

  MetricFamilies out;
  ASSERT_TRUE(MakeMeasuredFlopsCollector()->Collect(state, out).ok());
  for (std::string_view name :
       {"zhisuan_device_measured_flops", "zhisuan_device_measured_to_peak_ratio"}) {
    const prometheus::MetricFamily* family = FamilyNamed(out, name);
    ASSERT_NE(family, nullptr) << name;
    ASSERT_EQ(family->metric.size(), 1u) << name;
    EXPECT_EQ(LabelValue(family->metric[0], "source"), "simulated") << name;
  }
  for (std::string_view name :
       {"zhisuan_cpu_measured_flops", "zhisuan_cpu_measured_to_peak_ratio"}) {
    const prometheus::MetricFamily* family = FamilyNamed(out, name);
    ASSERT_NE(family, nullptr) << name;
    ASSERT_EQ(family->metric.size(), 1u) << name;
    EXPECT_EQ(LabelValue(family->metric[0], "source"), "hardware") << name;
  }

  MetricFamilies agent;
  ASSERT_TRUE(MakeAgentCollector()->Collect(state, agent).ok());
  const prometheus::MetricFamily* simulated =
      FamilyNamed(agent, "zhisuan_agent_simulated_hardware");
  ASSERT_NE(simulated, nullptr);
  std::map<std::string, double> by_backend;
  for (const auto& metric : simulated->metric) {
    by_backend[LabelValue(metric, "backend")] = metric.gauge.value;
  }
  EXPECT_EQ(by_backend, (std::map<std::string, double>{
                            {"nvml", 1}, {"dcmi", 0}, {"cuda", 1}, {"sysfs", 1}, {"procfs", 0}}));
}

// Issue 18: `zhisuan-agent --kubernetes=false` with no energy profile exported an intensity of 0,
// which passes every maxIntensity policy. An unknown figure has no series; carbon_known says so.
TEST(EnergyProfileCollectorTest, UnknownCarbonHasNoSeriesAndSaysSo) {
  AgentState state;
  DeviceState gpu = DeviceWithPeak(MakeH100(0));
  gpu.telemetry.power_watts = 350;
  state.devices = {gpu};
  auto collect = [&state] {
    MetricFamilies out;
    EXPECT_TRUE(MakeEnergyProfileCollector()->Collect(state, out).ok());
    return out;
  };
  auto samples = [](const MetricFamilies& out, std::string_view name) {
    const prometheus::MetricFamily* family = FamilyNamed(out, name);
    EXPECT_NE(family, nullptr) << name << " should keep its HELP and TYPE";
    return family == nullptr ? size_t{0} : family->metric.size();
  };
  const std::string_view intensity = "zhisuan_energy_carbon_intensity_grams_per_joule";
  const std::string_view ratio = "zhisuan_energy_carbon_free_ratio";
  const std::string_view emissions = "zhisuan_node_accelerator_carbon_emissions_grams_per_second";

  MetricFamilies unknown = collect();  // nothing configured or fed
  EXPECT_EQ(samples(unknown, intensity), 0u);
  EXPECT_EQ(samples(unknown, ratio), 0u);
  EXPECT_EQ(samples(unknown, emissions), 0u);
  ASSERT_EQ(samples(unknown, "zhisuan_energy_carbon_known"), 1u);
  EXPECT_EQ(FamilyNamed(unknown, "zhisuan_energy_carbon_known")->metric[0].gauge.value, 0);
  ASSERT_EQ(samples(unknown, "zhisuan_node_accelerator_power_watts"), 1u);  // power is still known
  EXPECT_EQ(FamilyNamed(unknown, "zhisuan_node_accelerator_power_watts")->metric[0].gauge.value,
            350);

  state.energy_profile.carbon_intensity_grams_per_kwh = 0;  // known, and zero: a real zero
  MetricFamilies half = collect();
  ASSERT_EQ(samples(half, intensity), 1u);
  EXPECT_EQ(FamilyNamed(half, intensity)->metric[0].gauge.value, 0);
  EXPECT_EQ(samples(half, emissions), 1u);
  EXPECT_EQ(samples(half, ratio), 0u);
  EXPECT_EQ(FamilyNamed(half, "zhisuan_energy_carbon_known")->metric[0].gauge.value, 0);

  state.energy_profile.carbon_free_ratio = 1;
  MetricFamilies known = collect();
  EXPECT_EQ(samples(known, ratio), 1u);
  EXPECT_EQ(FamilyNamed(known, "zhisuan_energy_carbon_known")->metric[0].gauge.value, 1);
}

}  // namespace
}  // namespace zhisuan::agent
