#include "agent/config/agent_config.h"

#include <gtest/gtest.h>

#include <map>

#include "agent/kubernetes_integration.h"

namespace zhisuan::agent {
namespace {

using std::chrono::milliseconds;

StatusOr<AgentConfig> Parse(std::vector<std::string> args,
                            std::map<std::string, std::string> files = {}) {
  return ParseAgentConfig(args, [files](const std::string& path) -> StatusOr<std::string> {
    auto it = files.find(path);
    if (it == files.end()) return NotFoundError(path + ": no such file");
    return it->second;
  });
}

TEST(AgentConfigTest, DefaultsMatchTheDocumentedOnes) {
  auto config = Parse({});
  ASSERT_TRUE(config.ok());
  EXPECT_EQ(config->listen_address, ":9400");
  EXPECT_EQ(config->sample_interval, milliseconds(5000));
  EXPECT_EQ(config->discovery.sysfs_root, "/sys");
  EXPECT_EQ(config->discovery.nvml_library, "libnvidia-ml.so.1");
  EXPECT_EQ(config->health.ignored_xids, (std::set<uint64_t>{13, 31, 43, 45, 68, 109}));
  EXPECT_TRUE(config->measure_flops_at_startup);
  EXPECT_FALSE(config->measure_flops_once);
}

TEST(AgentConfigTest, FlagsInBothFormsAndBareBooleans) {
  auto config =
      Parse({"--sysfs-root=/fx/sys", "--procfs-root", "/fx/proc", "--sample-interval=250ms",
             "--ignored-xids", "13, 79", "--health-quiet-period=2m",
             "--over-temperature-celsius=88", "--measure-flops-once", "--v=2",
             "--measure-flops-at-startup=false", "--node-name", "gpu-node-7"});
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->discovery.sysfs_root, "/fx/sys");
  EXPECT_EQ(config->discovery.procfs_root, "/fx/proc");
  EXPECT_EQ(config->sample_interval, milliseconds(250));
  EXPECT_EQ(config->health.ignored_xids, (std::set<uint64_t>{13, 79}));
  EXPECT_EQ(config->health.quiet_period, std::chrono::seconds(120));
  EXPECT_EQ(config->health.over_temperature_celsius, 88);
  EXPECT_TRUE(config->measure_flops_once);
  EXPECT_FALSE(config->measure_flops_at_startup);
  EXPECT_EQ(config->verbosity, 2);
  EXPECT_EQ(config->node_name, "gpu-node-7");
}

TEST(AgentConfigTest, EnergyAverageWindowDefaultsToAnHour) {
  EXPECT_EQ(Parse({}).value().energy_average_window, std::chrono::hours(1));
  EXPECT_EQ(Parse({"--energy-average-window=15m"}).value().energy_average_window,
            std::chrono::minutes(15));
}

TEST(AgentConfigTest, BadFlagsAreRejectedNamingTheFlag) {
  struct Case {
    std::vector<std::string> args;
    std::string mentions;
  };
  for (const Case& c : std::vector<Case>{
           {{"--no-such-flag=1"}, "--no-such-flag"},
           {{"--sample-interval=fast"}, "--sample-interval"},
           {{"--sample-interval=10ms"}, "--sample-interval"},
           {{"--ignored-xids=13,abc"}, "--ignored-xids"},
           {{"--over-temperature-celsius=500"}, "--over-temperature-celsius"},
           {{"--measure-flops-once=maybe"}, "--measure-flops-once"},
           {{"--listen-address"}, "--listen-address"},
           {{"--energy-average-window=1s"}, "--energy-average-window"},
           {{"stray"}, "stray"},
       }) {
    auto config = Parse(c.args);
    ASSERT_FALSE(config.ok()) << c.args[0];
    EXPECT_NE(config.status().message().find(c.mentions), std::string::npos)
        << config.status().message();
  }
}

TEST(AgentConfigTest, ConfigFileAppliesAndFlagsWin) {
  const std::string yaml = R"(
sysfsRoot: /cfg/sys
sampleInterval: 2s
ignoredXids: [13, 31]
healthQuietPeriod: 10m
listenAddress: 127.0.0.1:9500
energyProfile:
  source: hydro
  zone: cn-sichuan
  carbonIntensityGramsPerKwh: 24
  carbonFreeRatio: 0.97
)";
  auto config = Parse({"--config", "/etc/zhisuan/agent.yaml", "--sample-interval=1s"},
                      {{"/etc/zhisuan/agent.yaml", yaml}});
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->discovery.sysfs_root, "/cfg/sys");
  EXPECT_EQ(config->sample_interval, milliseconds(1000));  // the flag wins
  EXPECT_EQ(config->health.ignored_xids, (std::set<uint64_t>{13, 31}));
  EXPECT_EQ(config->health.quiet_period, std::chrono::minutes(10));
  EXPECT_EQ(config->listen_address, "127.0.0.1:9500");
  EXPECT_EQ(config->energy_profile.source, "hydro");
  EXPECT_EQ(config->energy_profile.carbon_free_ratio, 0.97);
}

TEST(AgentConfigTest, JsonConfigFileWorksToo) {
  auto config = Parse({"--config=/c.json"},
                      {{"/c.json", R"({"nodeName": "n1", "measureFlopsAtStartup": false})"}});
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->node_name, "n1");
  EXPECT_FALSE(config->measure_flops_at_startup);
}

TEST(AgentConfigTest, BadConfigFilesAreRejectedNamingTheFileAndField) {
  struct Case {
    std::string text;
    std::string mentions;
  };
  for (const Case& c : std::vector<Case>{
           {"sampleInterval: soon\n", "sampleInterval"},
           {"sampelInterval: 5s\n", "sampelInterval"},
           {"energyProfile:\n  carbonFreeRatio: 2\n", "energyProfile: carbonFreeRatio"},
           {"overTemperatureCelsius: [1, 2]\n", "overTemperatureCelsius"},
           {"{ unterminated: ", "not valid YAML"},
       }) {
    auto config = Parse({"--config=/c.yaml"}, {{"/c.yaml", c.text}});
    ASSERT_FALSE(config.ok()) << c.text;
    EXPECT_NE(config.status().message().find(c.mentions), std::string::npos)
        << config.status().message();
    EXPECT_NE(config.status().message().find("/c.yaml"), std::string::npos);
  }
  auto missing = Parse({"--config=/absent.yaml"});
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("/absent.yaml"), std::string::npos);
}

TEST(AgentConfigTest, DurationsAcceptUnitsAndBareSeconds) {
  EXPECT_EQ(*ParseDuration("500ms"), milliseconds(500));
  EXPECT_EQ(*ParseDuration("5s"), milliseconds(5000));
  EXPECT_EQ(*ParseDuration("2m"), milliseconds(120000));
  EXPECT_EQ(*ParseDuration("1h"), milliseconds(3600000));
  EXPECT_EQ(*ParseDuration("1.5"), milliseconds(1500));
  EXPECT_FALSE(ParseDuration("-1s").ok());
  EXPECT_FALSE(ParseDuration("5 parsecs").ok());
}

// One grammar for every duration flag (common/flags.h): before it, --publish-interval had its own
// parser, which rejected "1h" and whitespace that --sample-interval accepted.
TEST(AgentConfigTest, EveryDurationFlagTakesTheSameSpellings) {
  for (const std::string spelling : {"1h", "0.5h", "2m", "1s", "1.5", "250ms", " 3s "}) {
    const auto expected = ParseDuration(spelling);
    ASSERT_TRUE(expected.ok()) << spelling;
    std::vector<std::string> args = {"--publish-interval=" + spelling};
    auto kubernetes = ExtractKubernetesFlags(args);
    ASSERT_TRUE(kubernetes.ok()) << spelling << ": " << kubernetes.status();
    EXPECT_EQ(kubernetes->publish_interval, *expected) << spelling;
    auto config = Parse({"--health-quiet-period=" + spelling});
    ASSERT_TRUE(config.ok()) << spelling << ": " << config.status();
  }
  std::vector<std::string> hour = {"--publish-interval", "1h"};
  ASSERT_TRUE(ExtractKubernetesFlags(hour).ok());
  auto config = Parse({"--sample-interval=1h"});
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->sample_interval, std::chrono::hours(1));
}

TEST(AgentConfigTest, DurationErrorsNameTheFlagAndTheValue) {
  for (const std::string bad : {"soon", "-1s", "0", "0ms"}) {
    std::vector<std::string> args = {"--publish-interval=" + bad};
    auto kubernetes = ExtractKubernetesFlags(args);
    ASSERT_FALSE(kubernetes.ok()) << bad;
    EXPECT_NE(kubernetes.status().message().find("--publish-interval=" + bad), std::string::npos)
        << kubernetes.status().message();
  }
  auto config = Parse({"--flops-probe-duration=5 parsecs"});
  ASSERT_FALSE(config.ok());
  EXPECT_NE(config.status().message().find("--flops-probe-duration"), std::string::npos);
  EXPECT_NE(config.status().message().find("5 parsecs"), std::string::npos);
}

TEST(AgentConfigTest, BooleansTakeTheSameSpellingsInBothParsers) {
  for (const auto& [spelling, expected] : std::vector<std::pair<std::string, bool>>{
           {"true", true}, {"1", true}, {"false", false}, {"0", false}}) {
    std::vector<std::string> args = {"--publish=" + spelling, "--kubernetes=" + spelling};
    auto kubernetes = ExtractKubernetesFlags(args);
    ASSERT_TRUE(kubernetes.ok()) << spelling;
    EXPECT_EQ(kubernetes->publish, expected);
    EXPECT_EQ(kubernetes->enabled, expected);
    auto config = Parse({"--measure-flops-at-startup=" + spelling});
    ASSERT_TRUE(config.ok()) << spelling;
    EXPECT_EQ(config->measure_flops_at_startup, expected);
  }
  std::vector<std::string> bare = {"--publish"};
  ASSERT_TRUE(ExtractKubernetesFlags(bare).ok());
  std::vector<std::string> maybe = {"--kubernetes=maybe"};
  EXPECT_FALSE(ExtractKubernetesFlags(maybe).ok());
}

TEST(AgentConfigTest, UsageMentionsEveryFlagTheBriefRequires) {
  const std::string usage = AgentUsage();
  for (const char* flag :
       {"--sysfs-root", "--procfs-root", "--dev-root", "--nvml-library", "--dcmi-library",
        "--listen-address", "--sample-interval", "--config", "--energy-profile-file", "--node-name",
        "--ignored-xids", "--health-quiet-period", "--over-temperature-celsius",
        "--measure-flops-once", "--print-flops-table", "--version", "--v "}) {
    EXPECT_NE(usage.find(flag), std::string::npos) << flag;
    auto parsed = Parse({std::string(flag).substr(0, std::string(flag).find(' ')) + "=1"});
    // Every documented flag is one the parser knows (values may be invalid, names never are).
    if (!parsed.ok()) {
      EXPECT_EQ(parsed.status().message().find("unknown flag"), std::string::npos) << flag;
    }
  }
}

}  // namespace
}  // namespace zhisuan::agent
