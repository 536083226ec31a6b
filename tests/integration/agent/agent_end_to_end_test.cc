// Runs the built zhisuan-agent against fixture node trees (tests/fixtures/sysfs) with the fake
// NVML, scrapes /metrics, checks it with `promtool check metrics`, and diffs it, with volatile
// values masked, against tests/fixtures/golden/<fixture>.metrics.
//
// Regenerate the golden files after an intended change:
//   ZHISUAN_UPDATE_GOLDEN=1 ctest -R agent_end_to_end_test
// and review the diff like any other change.

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <thread>

#include "common/strings.h"
#include "tests/harness/loopback_http.h"

namespace zhisuan {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;

std::string Env(const char* name) {
  const char* value = std::getenv(name);
  return value == nullptr ? "" : value;
}
std::string SourceDir() { return Env("ZHISUAN_SOURCE_DIR"); }
std::string BinaryDir() { return Env("ZHISUAN_BINARY_DIR"); }
std::string AgentBinary() { return BinaryDir() + "/agent/zhisuan-agent"; }
std::string FakeNvml() { return BinaryDir() + "/fixtures/lib/nvml/libnvidia-ml.so.1"; }
std::string Fixture(const std::string& name) {
  return SourceDir() + "/tests/fixtures/sysfs/" + name;
}

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

void WriteFile(const fs::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::trunc);
  out << text;
}

// One agent process, its stderr captured in a file, stopped with SIGTERM on destruction.
class AgentProcess {
 public:
  AgentProcess(std::vector<std::string> args, std::vector<std::string> env = {})
      : log_(fs::temp_directory_path() / ("zhisuan-agent-e2e-" + std::to_string(::getpid()) + "-" +
                                          std::to_string(counter_++) + ".log")) {
    args.insert(args.begin(), AgentBinary());
    pid_ = ::fork();
    if (pid_ == 0) {
      FILE* log = std::fopen(log_.c_str(), "w");
      ::dup2(::fileno(log), STDERR_FILENO);
      ::dup2(::fileno(log), STDOUT_FILENO);
      for (const auto& variable : env) ::putenv(const_cast<char*>(variable.c_str()));  // NOLINT
      std::vector<char*> argv;
      for (auto& arg : args) argv.push_back(arg.data());
      argv.push_back(nullptr);
      ::execv(argv[0], argv.data());
      std::_Exit(127);
    }
  }
  ~AgentProcess() {
    if (pid_ > 0 && !exited_) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    std::error_code ignored;
    fs::remove(log_, ignored);
  }

  // The port from the "serving on port N" log line; 0 if the agent did not get there in time.
  void Signal(int signal_number) { ::kill(pid_, signal_number); }
  int WaitForPort() {
    const std::regex serving("serving on port ([0-9]+)");
    for (int i = 0; i < 300; ++i) {
      std::smatch match;
      const std::string log = Log();
      if (std::regex_search(log, match, serving)) return std::stoi(match[1]);
      if (HasExited()) return 0;
      std::this_thread::sleep_for(milliseconds(50));
    }
    return 0;
  }
  bool WaitReady(int port) {
    for (int i = 0; i < 300; ++i) {
      if (harness::LoopbackRequest(port, "GET", "/readyz").status == 200) return true;
      std::this_thread::sleep_for(milliseconds(50));
    }
    return false;
  }
  bool HasExited() {
    if (exited_) return true;
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      exited_ = true;
      status_ = status;
    }
    return exited_;
  }
  // Exit code after SIGTERM (or after the process ended by itself); -1 on timeout or signal.
  int Stop() {
    if (!exited_) ::kill(pid_, SIGTERM);
    return Wait();
  }
  int Wait() {
    for (int i = 0; i < 200 && !HasExited(); ++i) std::this_thread::sleep_for(milliseconds(50));
    if (!exited_) return -1;
    return WIFEXITED(status_) ? WEXITSTATUS(status_) : -1;
  }
  std::string Log() const { return ReadFile(log_); }

 private:
  static inline int counter_ = 0;
  fs::path log_;
  pid_t pid_ = -1;
  bool exited_ = false;
  int status_ = 0;
};

// The fake NVML answers for h100-8x's GPUs; other fixtures run without NVML, as such nodes would.
std::vector<std::string> FixtureArgs(const std::string& fixture,
                                     const std::string& extra_nvml = "") {
  const std::string nvml = !extra_nvml.empty()    ? extra_nvml
                           : fixture == "h100-8x" ? FakeNvml()
                                                  : "/nonexistent/libnvidia-ml.so.1";
  return {"--sysfs-root=" + Fixture(fixture) + "/sys",
          "--procfs-root=" + Fixture(fixture) + "/proc",
          "--dev-root=" + Fixture(fixture) + "/dev",
          "--nvml-library=" + nvml,
          "--dcmi-library=/nonexistent/libdcmi.so",
          "--libcuda-library=/nonexistent/libcuda.so.1",
          "--listen-address=127.0.0.1:0",
          "--sample-interval=1h",
          "--measure-flops-at-startup=false",
          "--node-name=fixture-node",
          "--kubernetes=false"};
}

// Values that change from run to run (timings, timestamps) become <volatile>.
std::string Normalize(const std::string& metrics) {
  static const std::regex volatile_series(
      R"(^((zhisuan_agent_collector_duration_seconds|zhisuan_agent_sample_duration_seconds|)"
      R"(zhisuan_agent_last_sample_timestamp_seconds|)"
      R"(zhisuan_device_health_state_since_timestamp_seconds)(\{[^}]*\})?) .*$)");
  std::stringstream in(metrics);
  std::string out;
  std::string line;
  while (std::getline(in, line)) {
    out += std::regex_replace(line, volatile_series, "$1 <volatile>");
    out += "\n";
  }
  return out;
}

// `promtool check metrics` reads the exposition on stdin and lints names, units and types.
std::pair<int, std::string> Promtool(const std::string& metrics) {
  const fs::path input =
      fs::temp_directory_path() / ("zhisuan-promtool-" + std::to_string(::getpid()));
  WriteFile(input, metrics);
  const std::string output_path = input.string() + ".out";
  const std::string command =
      "promtool check metrics < " + input.string() + " > " + output_path + " 2>&1";
  const int status = std::system(command.c_str());
  std::string output = ReadFile(output_path);
  fs::remove(input);
  fs::remove(output_path);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, output};
}

void ExpectMatchesGolden(const std::string& fixture, const std::string& metrics) {
  const fs::path golden = fs::path(SourceDir()) / "tests/fixtures/golden" / (fixture + ".metrics");
  const std::string normalized = Normalize(metrics);
  // Regenerating writes the file and then compares as usual, so a run never passes vacuously
  // without having produced the golden file it compared against.
  if (Env("ZHISUAN_UPDATE_GOLDEN") == "1") WriteFile(golden, normalized);
  ASSERT_TRUE(fs::exists(golden)) << golden << " missing; run with ZHISUAN_UPDATE_GOLDEN=1";
  EXPECT_EQ(ReadFile(golden), normalized)
      << "scrape differs from " << golden
      << "; if intended, regenerate with ZHISUAN_UPDATE_GOLDEN=1";
}

class AgentGoldenTest : public ::testing::TestWithParam<std::string> {};

TEST_P(AgentGoldenTest, ScrapeMatchesGoldenAndPassesPromtool) {
  const std::string fixture = GetParam();
  const fs::path energy = fs::temp_directory_path() / ("zhisuan-energy-" + fixture + ".json");
  WriteFile(energy, R"({"source": "hydro", "zone": "cn-sichuan", "carbonIntensityGramsPerKwh": 24,
                        "carbonFreeRatio": 0.97})");
  std::vector<std::string> args = FixtureArgs(fixture);
  args.push_back("--energy-profile-file=" + energy.string());
  AgentProcess agent(args);
  const int port = agent.WaitForPort();
  ASSERT_GT(port, 0) << agent.Log();
  ASSERT_TRUE(agent.WaitReady(port)) << agent.Log();
  EXPECT_EQ(harness::LoopbackRequest(port, "GET", "/healthz").status, 200);
  const harness::HttpReply scrape = harness::LoopbackRequest(port, "GET", "/metrics");
  ASSERT_EQ(scrape.status, 200);
  auto [promtool_status, promtool_output] = Promtool(scrape.body);
  EXPECT_EQ(promtool_status, 0) << promtool_output;
  EXPECT_EQ(agent.Stop(), 0) << agent.Log();
  fs::remove(energy);
  ExpectMatchesGolden(fixture, scrape.body);
}

INSTANTIATE_TEST_SUITE_P(Fixtures, AgentGoldenTest,
                         ::testing::Values("h100-8x", "cpu-only", "mixed-pci", "mi300x-8x"),
                         [](const auto& param_info) {
                           std::string name = param_info.param;
                           for (char& c : name) {
                             if (c == '-') c = '_';
                           }
                           return name;
                         });

// Issue 18: Electricity Maps' response is accepted as a feed, and one long past its validity (the
// API's example from 2019, no validUntil, older than --energy-feed-max-age) leaves the carbon
// unknown rather than trusted.
TEST(AgentEndToEndTest, ExpiredElectricityMapsFeedLeavesTheCarbonUnknown) {
  const fs::path energy =
      fs::temp_directory_path() / ("zhisuan-energy-em-" + std::to_string(::getpid()) + ".json");
  WriteFile(energy, R"({"zone":"DE","carbonIntensity":302,"datetime":"2019-05-21T00:00:00.000Z",)"
                    R"("updatedAt":"2019-05-21T00:00:00.000Z","emissionFactorType":"lifecycle",)"
                    R"("isEstimated":false,"estimationMethod":null})");
  std::vector<std::string> args = FixtureArgs("cpu-only");
  args.push_back("--energy-profile-file=" + energy.string());
  args.push_back("--energy-feed-max-age=2h");
  AgentProcess agent(args);
  const int port = agent.WaitForPort();
  ASSERT_GT(port, 0) << agent.Log();
  ASSERT_TRUE(agent.WaitReady(port)) << agent.Log();
  const std::string metrics = harness::LoopbackRequest(port, "GET", "/metrics").body;
  for (const std::string line : {
           R"(zhisuan_energy_profile_info{source="grid",zone="de",basis="location",)"
           R"(emission_factor_type="lifecycle"} 1)",
           "zhisuan_energy_feed_expired 1",
           "zhisuan_energy_carbon_known 0",
           "zhisuan_energy_feed_valid_until_timestamp_seconds 1558404000",
           R"(zhisuan_agent_collector_success{collector="energy_profile"} 1)",
       }) {
    EXPECT_NE(metrics.find(line + "\n"), std::string::npos) << line << "\n" << metrics;
  }
  EXPECT_EQ(metrics.find("\nzhisuan_energy_carbon_intensity_grams_per_joule "), std::string::npos);
  EXPECT_NE(agent.Log().find("expired"), std::string::npos) << agent.Log();
  EXPECT_EQ(agent.Stop(), 0) << agent.Log();
  fs::remove(energy);
}

TEST(AgentEndToEndTest, BadConfigFileExitsNonZeroNamingTheField) {
  const fs::path config = fs::temp_directory_path() / "zhisuan-bad-agent-config.yaml";
  WriteFile(config, "listenAddress: 127.0.0.1:0\nhealthQuietPeriod: whenever\n");
  AgentProcess agent({"--config=" + config.string()});
  EXPECT_EQ(agent.Wait(), 2);
  EXPECT_NE(agent.Log().find("healthQuietPeriod"), std::string::npos) << agent.Log();
  EXPECT_NE(agent.Log().find(config.string()), std::string::npos) << agent.Log();
  fs::remove(config);
}

TEST(AgentEndToEndTest, BadFlagExitsNonZeroNamingTheFlag) {
  AgentProcess agent({"--sample-interval=often"});
  EXPECT_EQ(agent.Wait(), 2);
  EXPECT_NE(agent.Log().find("--sample-interval"), std::string::npos) << agent.Log();
}

// With no kubeconfig, no service account and no ~/.kube/config the agent cannot publish; it says so
// and exits rather than running as a silent metrics-only agent (a DaemonSet whose token mount
// failed must be noticed).
TEST(AgentEndToEndTest, NoKubernetesConfigurationExitsWithWhatToDo) {
  std::vector<std::string> args = FixtureArgs("cpu-only");
  std::erase(args, std::string("--kubernetes=false"));
  AgentProcess agent(args, {"KUBECONFIG=", "HOME=/nonexistent", "KUBERNETES_SERVICE_HOST="});
  EXPECT_EQ(agent.Wait(), 2);
  EXPECT_NE(agent.Log().find("cannot start the Kubernetes integration"), std::string::npos)
      << agent.Log();
  EXPECT_NE(agent.Log().find("--kubernetes=false"), std::string::npos) << agent.Log();
}

TEST(AgentEndToEndTest, MissingVendorLibraryStillServesMetricsWithAnErrorMetric) {
  AgentProcess agent(FixtureArgs("h100-8x", "/nonexistent/libnvidia-ml.so.1"));
  const int port = agent.WaitForPort();
  ASSERT_GT(port, 0) << agent.Log();
  ASSERT_TRUE(agent.WaitReady(port)) << agent.Log();
  const std::string metrics = harness::LoopbackRequest(port, "GET", "/metrics").body;
  EXPECT_NE(metrics.find(R"(zhisuan_agent_discovery_backend_success{backend="nvml"} 0)"),
            std::string::npos)
      << metrics;
  EXPECT_EQ(metrics.find(R"(zhisuan_agent_errors_total{component="discovery"} 0)"),
            std::string::npos);
  // The PCI scan still finds the eight H100s, with their table peak.
  EXPECT_NE(metrics.find(
                R"(zhisuan_node_peak_flops{kind="accelerator",precision="bf16"} 7915200000000000)"),
            std::string::npos)
      << metrics;
  EXPECT_EQ(agent.Stop(), 0);
}

// POST /flops/measure is off by default (issue 17: it needed no credentials); SIGUSR1 still runs
// the probes. The authenticated endpoint is tested in tests/unit/agent/flops_measure_endpoint_test.
TEST(AgentEndToEndTest, FlopsMeasureSignalRunsTheProbesOffTheScrapePath) {
  std::vector<std::string> args = FixtureArgs("cpu-only");
  args.push_back("--flops-probe-duration=50ms");
  AgentProcess agent(args);
  const int port = agent.WaitForPort();
  ASSERT_GT(port, 0) << agent.Log();
  ASSERT_TRUE(agent.WaitReady(port));
  EXPECT_EQ(harness::LoopbackRequest(port, "POST", "/flops/measure").status, 404);
  agent.Signal(SIGUSR1);
  // The result reaches /metrics on the next sampler tick; SIGUSR1 does not force one, so poll the
  // log for the probe's line instead.
  bool measured = false;
  for (int i = 0; i < 100 && !measured; ++i) {
    measured = agent.Log().find("FLOPS probe cpu cpu") != std::string::npos;
    std::this_thread::sleep_for(milliseconds(50));
  }
  EXPECT_TRUE(measured) << agent.Log();
  EXPECT_NE(agent.Log().find("FLOPS probe cuda did not run"), std::string::npos) << agent.Log();
  EXPECT_EQ(agent.Stop(), 0);
}

TEST(AgentEndToEndTest, MeasureFlopsOncePrintsJsonWithTheRatio) {
  std::vector<std::string> args = {"--measure-flops-once", "--flops-probe-duration=100ms",
                                   "--libcuda-library=/nonexistent/libcuda.so.1"};
  AgentProcess agent(args);
  EXPECT_EQ(agent.Wait(), 0) << agent.Log();
  const std::string out = agent.Log();
  EXPECT_NE(out.find(R"("target": "cpu")"), std::string::npos) << out;
  EXPECT_NE(out.find(R"("measured_flops")"), std::string::npos) << out;
  EXPECT_NE(out.find(R"("cuda": "UNAVAILABLE)"), std::string::npos) << out;
}

// --measure-flops-once goes through the running agent's probe gate (issue 17): on the h100-8x
// fixture with the fake libcuda, GPU 0 is idle and GPUs 1..7 are 10..70% busy (fake NVML). In
// device-plugin mode (the default) an absent pod-resources socket leaves the idle GPU's allocation
// unknown, so no GPU is probed; with --advertise=node-status only the busy ones are skipped.
std::string MeasureOnce(const std::vector<std::string>& extra) {
  std::vector<std::string> args = FixtureArgs("h100-8x");
  std::erase(args, "--kubernetes=false");
  std::erase(args, "--libcuda-library=/nonexistent/libcuda.so.1");
  args.insert(args.end(), {"--measure-flops-once", "--flops-probe-duration=20ms",
                           "--libcuda-library=" + BinaryDir() + "/fixtures/lib/cuda/libcuda.so.1",
                           "--pod-resources-socket=/nonexistent/pod-resources/kubelet.sock"});
  args.insert(args.end(), extra.begin(), extra.end());
  AgentProcess agent(args);
  EXPECT_EQ(agent.Wait(), 0) << agent.Log();
  return agent.Log();
}

size_t Count(const std::string& text, const std::string& what) {
  size_t count = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++count;
  return count;
}

TEST(AgentEndToEndTest, MeasureFlopsOnceSkipsGpusWhoseAllocationIsUnknown) {
  const std::string out = MeasureOnce({});
  // The idle GPU 0 for want of the socket; the busy ones are skipped as busy first.
  EXPECT_EQ(Count(out, R"("status": "FAILED_PRECONDITION: skipped: allocation unknown)"), 1u)
      << out;
  EXPECT_EQ(Count(out, R"("status": "FAILED_PRECONDITION: skipped: device busy)"), 7u) << out;
  // Only the CPU is measured.
  EXPECT_EQ(Count(out, R"("status": "OK")"), 1u) << out;
  EXPECT_NE(out.find(R"("target": "cpu")"), std::string::npos) << out;
}

TEST(AgentEndToEndTest, MeasureFlopsOnceSkipsBusyGpusWithoutADevicePlugin) {
  const std::string out = MeasureOnce({"--advertise=node-status"});
  EXPECT_EQ(Count(out, R"("status": "FAILED_PRECONDITION: skipped: device busy)"), 7u) << out;
  EXPECT_EQ(Count(out, "allocation unknown"), 0u) << out;
  // The CPU and GPU 0 (0000:18:00.0, idle) are measured.
  EXPECT_EQ(Count(out, R"("status": "OK")"), 2u) << out;
}

TEST(AgentEndToEndTest, XidFromTheFakeNvmlMakesTheGpuUnhealthy) {
  const fs::path events = fs::temp_directory_path() / ("zhisuan-xid-" + std::to_string(::getpid()));
  WriteFile(events, "");
  std::vector<std::string> args = FixtureArgs("h100-8x");
  args.push_back("--sample-interval=200ms");
  AgentProcess agent(args, {"FAKE_NVML_EVENTS_FILE=" + events.string()});
  const int port = agent.WaitForPort();
  ASSERT_GT(port, 0) << agent.Log();
  ASSERT_TRUE(agent.WaitReady(port));
  {
    std::ofstream append(events, std::ios::app);
    append << "xid 0 79\nxid 1 13\n";
  }
  const std::regex gpu0_unhealthy(R"(zhisuan_device_healthy\{[^}]*index="0"[^}]*\} 0)");
  bool unhealthy = false;
  std::string metrics;
  for (int i = 0; i < 100 && !unhealthy; ++i) {
    metrics = harness::LoopbackRequest(port, "GET", "/metrics").body;
    unhealthy = std::regex_search(metrics, gpu0_unhealthy);
    std::this_thread::sleep_for(milliseconds(50));
  }
  EXPECT_TRUE(unhealthy) << metrics << agent.Log();
  // Xid 13 is an application fault: GPU 1 stays healthy and the event is counted as ignored.
  EXPECT_TRUE(
      std::regex_search(metrics, std::regex(R"(zhisuan_device_healthy\{[^}]*index="1"[^}]*\} 1)")));
  EXPECT_EQ(agent.Stop(), 0);
  fs::remove(events);
}

}  // namespace
}  // namespace zhisuan
