#include "controller/controller_config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace zhisuan::controller {
namespace {

using std::chrono::seconds;
using ::testing::HasSubstr;
using ::testing::StartsWith;

TEST(ControllerConfigTest, DefaultsMatchTheUsage) {
  auto config = ParseControllerFlags({});
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->kubeconfig, "");
  EXPECT_EQ(config->context, "");
  EXPECT_EQ(config->workers, 2);
  EXPECT_TRUE(config->leader_elect);
  EXPECT_EQ(config->lease_namespace, "zhisuan-system");
  EXPECT_EQ(config->lease_name, "zhisuan-controller");
  EXPECT_EQ(config->metrics_address, ":8080");
  EXPECT_EQ(config->planner.carbon_grace, seconds(600));
  EXPECT_EQ(config->planner.health_grace, seconds(60));
  EXPECT_EQ(config->planner.carbon_free_ratio_margin, 0.1);
  EXPECT_EQ(config->planner.carbon_intensity_margin, 50);
  EXPECT_EQ(config->verbosity, 0);
  EXPECT_FALSE(config->print_help);
  EXPECT_FALSE(config->print_version);
}

// Issue 17: how long a drain may take, and whose pods it leaves alone.
TEST(ControllerConfigTest, DrainFlags) {
  auto config = ParseControllerFlags({});
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->planner.drain_timeout, seconds(300));
  EXPECT_EQ(config->planner.drain_exempt_namespaces, std::set<std::string>{"kube-system"});
  config = ParseControllerFlags(
      {"--drain-timeout=90s", "--drain-exempt-namespaces=kube-system,zhisuan-system,,cni"});
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->planner.drain_timeout, seconds(90));
  EXPECT_EQ(config->planner.drain_exempt_namespaces,
            (std::set<std::string>{"cni", "kube-system", "zhisuan-system"}));
  EXPECT_FALSE(ParseControllerFlags({"--drain-timeout=soon"}).ok());
}

// Issue 17: the orphan sweep's interval, and which pods are agents (off unless set).
TEST(ControllerConfigTest, OrphanSweepAndAgentPodFlags) {
  auto config = ParseControllerFlags({}, "zhisuan");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->orphan_sweep_interval, std::chrono::milliseconds(60000));
  EXPECT_FALSE(config->agent_pod_selector.has_value());
  EXPECT_FALSE(config->planner.require_ready_agent);
  EXPECT_EQ(config->agent_pod_namespace, "zhisuan");

  config = ParseControllerFlags({"--orphan-sweep-interval=0", "--agent-pod-namespace=ops",
                                 "--agent-pod-selector=app.kubernetes.io/component=agent,tier=a"});
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->orphan_sweep_interval, std::chrono::milliseconds(0));
  EXPECT_EQ(config->agent_pod_namespace, "ops");
  ASSERT_TRUE(config->agent_pod_selector.has_value());
  EXPECT_EQ(config->agent_pod_selector->match_labels,
            (std::map<std::string, std::string>{{"app.kubernetes.io/component", "agent"},
                                                {"tier", "a"}}));
  EXPECT_TRUE(config->planner.require_ready_agent);

  // Set-based terms are refused, naming the flag and the term, rather than misread.
  for (const char* bad :
       {"--agent-pod-selector=app!=agent", "--agent-pod-selector=app in (a)",
        "--agent-pod-selector=app", "--agent-pod-selector=", "--orphan-sweep-interval=often"}) {
    auto parsed = ParseControllerFlags({bad});
    ASSERT_FALSE(parsed.ok()) << bad;
    EXPECT_THAT(parsed.status().message(), HasSubstr(std::string(bad).substr(0, 20))) << bad;
  }
}

TEST(ControllerConfigTest, PodNamespaceIsTheLeaseNamespaceUnlessAFlagSaysOtherwise) {
  EXPECT_EQ(ParseControllerFlags({}, "tenant-a")->lease_namespace, "tenant-a");
  EXPECT_EQ(ParseControllerFlags({"--leader-election-namespace=ops"}, "tenant-a")->lease_namespace,
            "ops");
}

TEST(ControllerConfigTest, EveryFlagInBothForms) {
  auto config = ParseControllerFlags(
      {"--kubeconfig=/etc/kube.conf", "--context", "kind-dev", "--workers=8",
       "--leader-elect=false", "--leader-election-namespace", "ops", "--leader-election-id=pools",
       "--metrics-address=127.0.0.1:9090", "--carbon-grace=15m", "--health-grace", "90s",
       "--carbon-free-ratio-margin=0.25", "--carbon-intensity-margin", "12.5", "--v=3"});
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->kubeconfig, "/etc/kube.conf");
  EXPECT_EQ(config->context, "kind-dev");
  EXPECT_EQ(config->workers, 8);
  EXPECT_FALSE(config->leader_elect);
  EXPECT_EQ(config->lease_namespace, "ops");
  EXPECT_EQ(config->lease_name, "pools");
  EXPECT_EQ(config->metrics_address, "127.0.0.1:9090");
  EXPECT_EQ(config->planner.carbon_grace, seconds(900));
  EXPECT_EQ(config->planner.health_grace, seconds(90));
  EXPECT_EQ(config->planner.carbon_free_ratio_margin, 0.25);
  EXPECT_EQ(config->planner.carbon_intensity_margin, 12.5);
  EXPECT_EQ(config->verbosity, 3);
}

TEST(ControllerConfigTest, LeaderElectAloneMeansTrueAndNeverTakesTheNextArgument) {
  auto config = ParseControllerFlags({"--leader-elect=0", "--leader-elect", "--workers=3"});
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_TRUE(config->leader_elect);
  EXPECT_EQ(config->workers, 3);
  EXPECT_FALSE(ParseControllerFlags({"--leader-elect=1", "--leader-elect=false"})->leader_elect);
  EXPECT_TRUE(ParseControllerFlags({"--leader-elect=1"})->leader_elect);
}

// Durations use the agent's grammar (common/flags.h). Before, the controller had its own parser
// that took only whole numbers with s, m or h, so "500ms", "1.5m" and a bare "90" were refused.
TEST(ControllerConfigTest, GracePeriodsTakeTheSharedDurationGrammar) {
  struct Case {
    std::string value;
    seconds expected;
  };
  for (const Case& c : std::vector<Case>{{"0", seconds(0)},
                                         {"90s", seconds(90)},
                                         {"10m", seconds(600)},
                                         {"1h", seconds(3600)},
                                         {"1.5m", seconds(90)},
                                         {"90", seconds(90)},
                                         {"2000ms", seconds(2)},
                                         {"500ms", seconds(1)},  // rounded up, never shortened
                                         {"1.2", seconds(2)}}) {
    auto config = ParseControllerFlags({"--carbon-grace=" + c.value, "--health-grace=" + c.value});
    ASSERT_TRUE(config.ok()) << c.value << ": " << config.status();
    EXPECT_EQ(config->planner.carbon_grace, c.expected) << c.value;
    EXPECT_EQ(config->planner.health_grace, c.expected) << c.value;
  }
}

TEST(ControllerConfigTest, BadValuesNameTheFlagAndTheValue) {
  for (const std::string arg :
       {"--workers=zero", "--workers=0", "--workers=65", "--leader-elect=maybe",
        "--leader-election-namespace=", "--leader-election-id=", "--carbon-grace=soon",
        "--health-grace=-1s", "--health-grace=1d", "--carbon-free-ratio-margin=1.5",
        "--carbon-free-ratio-margin=-0.1", "--carbon-intensity-margin=-1",
        "--carbon-intensity-margin=lots", "--v=-1", "--v=loud"}) {
    auto config = ParseControllerFlags({arg});
    ASSERT_FALSE(config.ok()) << arg;
    EXPECT_EQ(config.status().code(), StatusCode::kInvalidArgument) << arg;
    EXPECT_THAT(config.status().message(), StartsWith(arg + ": ")) << arg;
  }
  EXPECT_THAT(ParseControllerFlags({"--carbon-grace=soon"}).status().message(),
              HasSubstr("not a duration"));
  EXPECT_THAT(ParseControllerFlags({"--workers=65"}).status().message(),
              HasSubstr("between 1 and 64"));
}

TEST(ControllerConfigTest, UnknownFlagsStrayArgumentsAndMissingValues) {
  auto unknown = ParseControllerFlags({"--no-such-flag=1"});
  ASSERT_FALSE(unknown.ok());
  EXPECT_THAT(unknown.status().message(), StartsWith("unknown flag --no-such-flag\n"));
  EXPECT_THAT(unknown.status().message(), HasSubstr("Usage: zhisuan-controller"));
  EXPECT_THAT(ParseControllerFlags({"--no-such-flag"}).status().message(),
              StartsWith("unknown flag --no-such-flag"));
  // Unknown flags are refused before their value is looked at.
  EXPECT_THAT(ParseControllerFlags({"--help=x"}).status().message(),
              StartsWith("unknown flag --help"));
  EXPECT_EQ(ParseControllerFlags({"stray"}).status().message(), "unexpected argument stray");
  EXPECT_EQ(ParseControllerFlags({"--workers"}).status().message(), "--workers needs a value");
  EXPECT_EQ(ParseControllerFlags({"--context"}).status().message(), "--context needs a value");
}

TEST(ControllerConfigTest, HelpAndVersionStopParsingWhereTheyStand) {
  for (const char* help : {"--help", "-h"}) {
    auto config = ParseControllerFlags({"--workers=3", help, "--workers=zero"});
    ASSERT_TRUE(config.ok()) << help;
    EXPECT_TRUE(config->print_help);
  }
  auto version = ParseControllerFlags({"--version", "--no-such-flag"});
  ASSERT_TRUE(version.ok());
  EXPECT_TRUE(version->print_version);
  EXPECT_FALSE(version->print_help);
  // A bad flag before --help is still an error.
  EXPECT_FALSE(ParseControllerFlags({"--workers=zero", "--help"}).ok());
}

TEST(ControllerConfigTest, UsageMentionsEveryFlagAndEveryFlagItMentionsParses) {
  const std::string usage = ControllerUsage();
  for (const char* flag :
       {"--kubeconfig", "--context", "--workers", "--leader-elect", "--leader-election-namespace",
        "--leader-election-id", "--metrics-address", "--carbon-grace", "--carbon-free-ratio-margin",
        "--carbon-intensity-margin", "--health-grace", "--v"}) {
    EXPECT_THAT(usage, HasSubstr(std::string(flag) + "=")) << flag;
    auto parsed = ParseControllerFlags({std::string(flag) + "=1"});
    if (!parsed.ok()) {
      EXPECT_THAT(parsed.status().message(), ::testing::Not(HasSubstr("unknown flag"))) << flag;
    }
  }
}

}  // namespace
}  // namespace zhisuan::controller
