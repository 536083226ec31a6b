#include "kube/config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <map>

#include "common/strings.h"
#include "tests/unit/kube/memory_file_reader.h"

namespace zhisuan::kube {
namespace {

using ::testing::HasSubstr;
using testing::MemoryFileReader;

constexpr char kCaPem[] = "-----BEGIN CERTIFICATE-----\nQ0E=\n-----END CERTIFICATE-----\n";
constexpr char kCertPem[] = "-----BEGIN CERTIFICATE-----\nQ0VSVA==\n-----END CERTIFICATE-----\n";
constexpr char kKeyPem[] = "-----BEGIN PRIVATE KEY-----\nS0VZ\n-----END PRIVATE KEY-----\n";

// Two clusters, two users, two contexts: one with file paths (relative and absolute), one with
// embedded data and a token.
std::string TwoContextKubeconfig() {
  return StrCat(R"(apiVersion: v1
kind: Config
current-context: files
clusters:
- name: paths
  cluster:
    server: https://127.0.0.1:6443
    certificate-authority: pki/ca.crt
- name: inline
  cluster:
    server: https://[fd00::1]:443
    certificate-authority-data: )",
                Base64Encode(kCaPem), R"(
users:
- name: cert-user
  user:
    client-certificate: /abs/admin.crt
    client-key: pki/admin.key
- name: token-user
  user:
    client-certificate-data: )",
                Base64Encode(kCertPem), R"(
    client-key-data: )",
                Base64Encode(kKeyPem), R"(
    token: secret-token
contexts:
- name: files
  context: {cluster: paths, user: cert-user}
- name: embedded
  context: {cluster: inline, user: token-user, namespace: tenants}
)");
}

void AddPathFiles(MemoryFileReader& files) {
  files.Set("/home/op/.kube/pki/ca.crt", kCaPem);
  files.Set("/abs/admin.crt", kCertPem);
  files.Set("/home/op/.kube/pki/admin.key", kKeyPem);
}

TEST(ParseKubeconfig, CurrentContextWithFilePathsResolvedAgainstTheKubeconfigDirectory) {
  MemoryFileReader files;
  AddPathFiles(files);
  auto config = ParseKubeconfig(TwoContextKubeconfig(), "/home/op/.kube", "", files);
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->server, "https://127.0.0.1:6443");
  EXPECT_EQ(config->ca_pem, kCaPem);
  EXPECT_EQ(config->client_cert_pem, kCertPem);
  EXPECT_EQ(config->client_key_pem, kKeyPem);
  EXPECT_EQ(config->bearer_token, "");
  EXPECT_FALSE(config->insecure_skip_tls_verify);
  EXPECT_THAT(config->source, HasSubstr("files"));
}

TEST(ParseKubeconfig, NamedContextWithEmbeddedDataAndToken) {
  MemoryFileReader files;  // nothing on disk: all data is inline
  auto config = ParseKubeconfig(TwoContextKubeconfig(), "/nowhere", "embedded", files);
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->server, "https://[fd00::1]:443");
  EXPECT_EQ(config->ca_pem, kCaPem);
  EXPECT_EQ(config->client_cert_pem, kCertPem);
  EXPECT_EQ(config->client_key_pem, kKeyPem);
  EXPECT_EQ(config->bearer_token, "secret-token");
  EXPECT_EQ(config->default_namespace, "tenants");
}

TEST(ParseKubeconfig, TokenFileIsReadAndRememberedForRotation) {
  MemoryFileReader files;
  files.Set("/etc/zhisuan/token", "  rotated-token\n");
  auto config = ParseKubeconfig(R"(
current-context: c
clusters: [{name: k, cluster: {server: "https://10.0.0.1"}}]
users: [{name: u, user: {tokenFile: token}}]
contexts: [{name: c, context: {cluster: k, user: u}}]
)",
                                "/etc/zhisuan", "", files);
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->token_file, "/etc/zhisuan/token");
  EXPECT_EQ(config->bearer_token, "rotated-token");
}

TEST(ParseKubeconfig, ErrorsNameTheMissingOrBadField) {
  MemoryFileReader files;
  struct Case {
    std::string yaml;
    std::string context;
    std::string expected;
  };
  const std::vector<Case> cases = {
      {"{{{", "", "not valid YAML"},
      {"- a\n- b\n", "", "not a YAML map"},
      {"clusters: []\n", "", "no current-context"},
      {TwoContextKubeconfig(), "staging", "no contexts entry named \"staging\""},
      {"current-context: c\ncontexts: [{name: c, context: {cluster: k, user: u}}]\n", "",
       "no clusters entry named \"k\""},
      {"current-context: c\ncontexts: [{name: c, context: {cluster: k}}]\n"
       "clusters: [{name: k, cluster: {certificate-authority-data: QQ==}}]\n",
       "", "clusters[k].cluster.server is empty"},
      {"current-context: c\ncontexts: [{name: c, context: {cluster: k}}]\n"
       "clusters: [{name: k, cluster: {server: 'http://x'}}]\n",
       "", "is not https://"},
      {"current-context: c\ncontexts: [{name: c, context: {cluster: k}}]\n"
       "clusters: [{name: k, cluster: {server: 'https://x', certificate-authority-data: '!!'}}]\n",
       "", "clusters[k].cluster.certificate-authority-data is not valid base64"},
      {"current-context: c\ncontexts: [{name: c, context: {cluster: k}}]\n"
       "clusters: [{name: k, cluster: {server: 'https://x', certificate-authority: /no/ca.crt}}]\n",
       "", "clusters[k].cluster.certificate-authority (/no/ca.crt)"},
      {"current-context: c\ncontexts: [{name: c, context: {cluster: k, user: u}}]\n"
       "clusters: [{name: k, cluster: {server: 'https://x'}}]\n"
       "users: [{name: u, user: {client-certificate-data: QQ==}}]\n",
       "", "users[u].user has client-certificate without client-key"},
      {"current-context: c\ncontexts: [{name: c, context: {cluster: k, user: u}}]\n"
       "clusters: [{name: k, cluster: {server: 'https://x'}}]\n"
       "users: [{name: u, user: {exec: {command: aws}}}]\n",
       "", "users[u].user.exec is not supported"},
      {"current-context: c\ncontexts: [{name: c, context: {cluster: k}}]\n"
       "clusters: [{name: k, cluster: {server: 'https://x', insecure-skip-tls-verify: maybe}}]\n",
       "", "insecure-skip-tls-verify must be true or false"},
      {"current-context: c\ncontexts: [{name: c, context: {cluster: k}}]\n"
       "clusters: [{name: k, cluster: {server: {nested: map}}}]\n",
       "", "clusters[k].cluster.server must be a string"},
  };
  for (const Case& c : cases) {
    auto config = ParseKubeconfig(c.yaml, "/base", c.context, files);
    ASSERT_FALSE(config.ok()) << c.yaml;
    EXPECT_THAT(config.status().message(), HasSubstr(c.expected)) << c.yaml;
  }
}

TEST(ParseKubeconfig, InsecureSkipVerifyOnlyWhenExplicitlyTrue) {
  MemoryFileReader files;
  const std::string base =
      "current-context: c\ncontexts: [{name: c, context: {cluster: k}}]\nclusters: [{name: k, "
      "cluster: {server: 'https://x'";
  auto off = ParseKubeconfig(base + "}}]\n", "/", "", files);
  ASSERT_TRUE(off.ok()) << off.status();
  EXPECT_FALSE(off->insecure_skip_tls_verify);
  auto explicit_false =
      ParseKubeconfig(base + ", insecure-skip-tls-verify: false}}]\n", "/", "", files);
  ASSERT_TRUE(explicit_false.ok());
  EXPECT_FALSE(explicit_false->insecure_skip_tls_verify);
  auto on = ParseKubeconfig(base + ", insecure-skip-tls-verify: true}}]\n", "/", "", files);
  ASSERT_TRUE(on.ok()) << on.status();
  EXPECT_TRUE(on->insecure_skip_tls_verify);
  auto both = ParseKubeconfig(
      base + ", insecure-skip-tls-verify: true, certificate-authority-data: QQ==}}]\n", "/", "",
      files);
  EXPECT_FALSE(both.ok());
}

EnvLookup FakeEnv(std::map<std::string, std::string> values) {
  return [values = std::move(values)](std::string_view name) {
    auto it = values.find(std::string(name));
    return it == values.end() ? std::string() : it->second;
  };
}

std::string FixtureRoot() {
  const char* source = std::getenv("ZHISUAN_SOURCE_DIR");
  return StrCat(source != nullptr ? source : ".", "/tests/fixtures/kube/incluster");
}

TEST(LoadInClusterConfig, ReadsTheServiceAccountFixture) {
  auto files = MakeRootedFileReader(FixtureRoot());
  auto config = LoadInClusterConfig(*files, FakeEnv({{"KUBERNETES_SERVICE_HOST", "10.96.0.1"},
                                                     {"KUBERNETES_SERVICE_PORT", "443"}}));
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->server, "https://10.96.0.1:443");
  EXPECT_EQ(config->bearer_token, "eyJhbGciOiJSUzI1NiJ9.fixture-token");
  EXPECT_EQ(config->token_file, "/var/run/secrets/kubernetes.io/serviceaccount/token");
  EXPECT_THAT(config->ca_pem, HasSubstr("BEGIN CERTIFICATE"));
  EXPECT_EQ(config->default_namespace, "zhisuan-system");
}

TEST(LoadInClusterConfig, BracketsAnIpv6ServiceHost) {
  auto files = MakeRootedFileReader(FixtureRoot());
  auto config = LoadInClusterConfig(*files, FakeEnv({{"KUBERNETES_SERVICE_HOST", "fd00:10:96::1"},
                                                     {"KUBERNETES_SERVICE_PORT", "6443"}}));
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->server, "https://[fd00:10:96::1]:6443");
}

TEST(LoadInClusterConfig, OutsideAClusterIsNotFound) {
  auto files = MakeRootedFileReader(FixtureRoot());
  auto config = LoadInClusterConfig(*files, FakeEnv({}));
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.status().code(), StatusCode::kNotFound);
  EXPECT_THAT(config.status().message(), HasSubstr("KUBERNETES_SERVICE_HOST"));
}

TEST(LoadInClusterConfig, MissingTokenNamesTheFile) {
  MemoryFileReader files;
  auto config = LoadInClusterConfig(files, FakeEnv({{"KUBERNETES_SERVICE_HOST", "10.96.0.1"},
                                                    {"KUBERNETES_SERVICE_PORT", "443"}}));
  ASSERT_FALSE(config.ok());
  EXPECT_THAT(config.status().message(), HasSubstr("serviceaccount/token"));
}

constexpr char kMinimalKubeconfig[] =
    "current-context: c\ncontexts: [{name: c, context: {cluster: k}}]\n"
    "clusters: [{name: k, cluster: {server: 'https://from-file'}}]\n";

TEST(ResolveClientConfig, FlagThenEnvThenInClusterThenHome) {
  MemoryFileReader files;
  files.Set("/flag/config", kMinimalKubeconfig);
  files.Set("/env/first", std::string(kMinimalKubeconfig) + "# first\n");
  files.Set("/home/op/.kube/config", kMinimalKubeconfig);
  files.Set("/var/run/secrets/kubernetes.io/serviceaccount/token", "t");
  files.Set("/var/run/secrets/kubernetes.io/serviceaccount/ca.crt", kCaPem);
  const std::map<std::string, std::string> in_cluster = {{"KUBERNETES_SERVICE_HOST", "10.0.0.1"},
                                                         {"KUBERNETES_SERVICE_PORT", "443"},
                                                         {"HOME", "/home/op"}};

  auto flag = ResolveClientConfig("/flag/config", "", files, FakeEnv(in_cluster));
  ASSERT_TRUE(flag.ok()) << flag.status();
  EXPECT_THAT(flag->source, HasSubstr("/flag/config"));

  auto env_map = in_cluster;
  env_map["KUBECONFIG"] = "/env/first:/env/second";
  auto env = ResolveClientConfig("", "", files, FakeEnv(env_map));
  ASSERT_TRUE(env.ok()) << env.status();
  EXPECT_THAT(env->source, HasSubstr("/env/first"));

  auto cluster = ResolveClientConfig("", "", files, FakeEnv(in_cluster));
  ASSERT_TRUE(cluster.ok()) << cluster.status();
  EXPECT_EQ(cluster->server, "https://10.0.0.1:443");

  auto home = ResolveClientConfig("", "", files, FakeEnv({{"HOME", "/home/op"}}));
  ASSERT_TRUE(home.ok()) << home.status();
  EXPECT_THAT(home->source, HasSubstr("/home/op/.kube/config"));
}

TEST(ResolveClientConfig, ErrorListsEverythingTried) {
  MemoryFileReader files;
  auto none = ResolveClientConfig("", "", files, FakeEnv({{"HOME", "/home/op"}}));
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.status().code(), StatusCode::kNotFound);
  EXPECT_THAT(none.status().message(), HasSubstr("--kubeconfig"));
  EXPECT_THAT(none.status().message(), HasSubstr("$KUBECONFIG"));
  EXPECT_THAT(none.status().message(), HasSubstr("in-cluster"));
  EXPECT_THAT(none.status().message(), HasSubstr("/home/op/.kube/config"));
}

TEST(ResolveClientConfig, ABrokenExplicitKubeconfigIsAnErrorNotAFallThrough) {
  MemoryFileReader files;
  files.Set("/home/op/.kube/config", kMinimalKubeconfig);
  auto broken = ResolveClientConfig("/missing", "", files, FakeEnv({{"HOME", "/home/op"}}));
  ASSERT_FALSE(broken.ok());
  EXPECT_THAT(broken.status().message(), HasSubstr("/missing"));
}

}  // namespace
}  // namespace zhisuan::kube
