// The REST client against a real kube-apiserver v1.34: both kubeconfig forms, every verb, paging,
// watches (events, bookmarks, 410), RBAC, token rotation, and what happens when the server (or
// something pretending to be it) misbehaves.
#include "kube/rest_client.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <fstream>
#include <future>
#include <set>
#include <thread>

#include "common/strings.h"
#include "kube/config.h"
#include "kube/errors.h"
#include "kube/retry.h"
#include "tests/harness/control_plane_environment.h"
#include "tests/integration/kube/fake_https_server.h"

namespace zhisuan::kube {
namespace {

using harness::SharedControlPlane;
using ::testing::HasSubstr;

// Option builders (GCC warns on designated initializers that leave fields out).
ListOptions FieldSelector(const std::string& selector) {
  ListOptions options;
  options.field_selector = selector;
  return options;
}
ListOptions Paged(const std::string& label_selector, int64_t limit) {
  ListOptions options;
  options.label_selector = label_selector;
  options.limit = limit;
  return options;
}
ListOptions WatchFrom(const std::string& resource_version, int64_t timeout_seconds) {
  ListOptions options;
  options.resource_version = resource_version;
  options.timeout_seconds = timeout_seconds;
  return options;
}
ListOptions ExactlyAt(const std::string& resource_version) {
  ListOptions options;
  options.resource_version = resource_version;
  options.resource_version_match = "Exact";
  return options;
}
DeleteOptions WithUid(const std::string& uid) {
  DeleteOptions options;
  options.precondition_uid = uid;
  return options;
}
PatchOptions Manager(const std::string& field_manager, bool force = false,
                     const std::string& subresource = "") {
  PatchOptions options;
  options.field_manager = field_manager;
  options.force = force;
  options.subresource = subresource;
  return options;
}

ClientConfig AdminConfig() {
  auto config = LoadKubeconfig(SharedControlPlane().admin_kubeconfig());
  EXPECT_TRUE(config.ok()) << config.status();
  config->qps = 2000;
  config->burst = 2000;
  return *config;
}

ApiClientPtr AdminClient() {
  auto client = NewRestClient(AdminConfig());
  EXPECT_TRUE(client.ok()) << client.status();
  return *client;
}

Json ConfigMap(const std::string& ns, const std::string& name, Json data = Json::object()) {
  return Json{{"apiVersion", "v1"},
              {"kind", "ConfigMap"},
              {"metadata", {{"name", name}, {"namespace", ns}}},
              {"data", std::move(data)}};
}

void CreateNamespace(ApiClient& client, const std::string& name) {
  static const ResourceType kNamespaces{"", "v1", "namespaces", "Namespace", false};
  auto created = client.Create(
      kNamespaces, "",
      Json{{"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", {{"name", name}}}});
  ASSERT_TRUE(created.ok() || IsAlreadyExists(created.status())) << created.status();
}

std::string WriteFile(const std::string& path, const std::string& contents) {
  std::ofstream(path, std::ios::trunc) << contents;
  return path;
}

std::string ReadFile(const std::string& path) {
  auto contents = MakeRootedFileReader("")->Read(path);
  EXPECT_TRUE(contents.ok()) << contents.status();
  return contents.value_or("");
}

TEST(RestClient, ConfigMapCrudWithFilePathKubeconfig) {
  auto client = AdminClient();
  const ResourceType& cms = kConfigMaps;
  auto created = client->Create(cms, "default", ConfigMap("default", "crud", {{"k", "v1"}}));
  ASSERT_TRUE(created.ok()) << created.status();
  EXPECT_EQ((*created)["data"]["k"], "v1");
  EXPECT_FALSE((*created)["metadata"]["uid"].get<std::string>().empty());

  auto again = client->Create(cms, "default", ConfigMap("default", "crud"));
  EXPECT_TRUE(IsAlreadyExists(again.status())) << again.status();

  auto got = client->Get(cms, "default", "crud");
  ASSERT_TRUE(got.ok()) << got.status();
  (*got)["data"]["k"] = "v2";
  auto updated = client->Update(cms, *got);
  ASSERT_TRUE(updated.ok()) << updated.status();
  EXPECT_EQ((*updated)["data"]["k"], "v2");

  auto listed = client->List(cms, "default", FieldSelector("metadata.name=crud"));
  ASSERT_TRUE(listed.ok()) << listed.status();
  ASSERT_EQ(listed->items.size(), 1u);
  EXPECT_EQ(listed->items[0]["kind"], "ConfigMap");
  EXPECT_FALSE(listed->resource_version.empty());

  // A delete whose precondition names another uid is refused as a conflict.
  Status wrong_uid = client->Delete(cms, "default", "crud", WithUid("not-the-uid"));
  EXPECT_TRUE(IsConflict(wrong_uid)) << wrong_uid;
  Status deleted = client->Delete(cms, "default", "crud",
                                  WithUid((*updated)["metadata"]["uid"].get<std::string>()));
  EXPECT_TRUE(deleted.ok()) << deleted;
  EXPECT_TRUE(IsNotFound(client->Get(cms, "default", "crud").status()));
  EXPECT_TRUE(IsNotFound(client->Delete(cms, "default", "crud")));
  // Names the API cannot address fail before any request.
  EXPECT_TRUE(IsInvalid(client->Get(cms, "default", "").status()));
}

TEST(RestClient, StaleUpdateIsAConflictAndRetryOnConflictResolvesIt) {
  auto client = AdminClient();
  ASSERT_TRUE(
      client->Create(kConfigMaps, "default", ConfigMap("default", "counter", {{"n", "0"}})).ok());
  auto first = client->Get(kConfigMaps, "default", "counter");
  auto stale = client->Get(kConfigMaps, "default", "counter");
  ASSERT_TRUE(first.ok() && stale.ok());
  (*first)["data"]["n"] = "1";
  ASSERT_TRUE(client->Update(kConfigMaps, *first).ok());
  (*stale)["data"]["n"] = "100";
  auto conflict = client->Update(kConfigMaps, *stale);
  ASSERT_TRUE(IsConflict(conflict.status())) << conflict.status();

  // Eight writers increment concurrently; every increment lands exactly once.
  constexpr int kWriters = 8;
  std::vector<std::future<Status>> writers;
  for (int i = 0; i < kWriters; ++i) {
    writers.push_back(std::async(std::launch::async, [&] {
      return RetryOnConflict(
          [&]() -> Status {
            ZHISUAN_ASSIGN_OR_RETURN(Json cm, client->Get(kConfigMaps, "default", "counter"));
            const int64_t n = *ParseInt64(cm["data"]["n"].get<std::string>());
            cm["data"]["n"] = StrCat(n + 1);
            return client->Update(kConfigMaps, cm).status();
          },
          50);
    }));
  }
  for (auto& writer : writers) EXPECT_TRUE(writer.get().ok());
  auto final_value = client->Get(kConfigMaps, "default", "counter");
  ASSERT_TRUE(final_value.ok());
  EXPECT_EQ((*final_value)["data"]["n"], StrCat(1 + kWriters));
}

TEST(RestClient, ServerSideApplyCreatesUpdatesAndReportsConflictsUntilForced) {
  auto client = AdminClient();
  PatchOptions alpha = Manager("alpha");
  auto created = client->Patch(kConfigMaps, "default", "applied", PatchType::kApply,
                               ConfigMap("default", "applied", {{"owner", "alpha"}}), alpha);
  ASSERT_TRUE(created.ok()) << created.status();
  EXPECT_EQ((*created)["data"]["owner"], "alpha");
  auto updated =
      client->Patch(kConfigMaps, "default", "applied", PatchType::kApply,
                    ConfigMap("default", "applied", {{"owner", "alpha"}, {"x", "1"}}), alpha);
  ASSERT_TRUE(updated.ok()) << updated.status();
  EXPECT_EQ((*updated)["data"]["x"], "1");

  PatchOptions beta = Manager("beta");
  auto conflict = client->Patch(kConfigMaps, "default", "applied", PatchType::kApply,
                                ConfigMap("default", "applied", {{"owner", "beta"}}), beta);
  ASSERT_TRUE(IsConflict(conflict.status())) << conflict.status();
  EXPECT_THAT(conflict.status().message(), HasSubstr("alpha"));  // names the other manager
  beta.force = true;
  auto forced = client->Patch(kConfigMaps, "default", "applied", PatchType::kApply,
                              ConfigMap("default", "applied", {{"owner", "beta"}}), beta);
  ASSERT_TRUE(forced.ok()) << forced.status();
  EXPECT_EQ((*forced)["data"]["owner"], "beta");

  auto no_manager = client->Patch(kConfigMaps, "default", "applied", PatchType::kApply,
                                  ConfigMap("default", "applied"), {});
  EXPECT_TRUE(IsInvalid(no_manager.status()));
}

TEST(RestClient, MergeJsonAndStrategicPatches) {
  auto client = AdminClient();
  ASSERT_TRUE(
      client->Create(kConfigMaps, "default", ConfigMap("default", "patched", {{"a", "1"}})).ok());
  auto merged = client->Patch(kConfigMaps, "default", "patched", PatchType::kMerge,
                              Json{{"data", {{"b", "2"}, {"a", nullptr}}}});
  ASSERT_TRUE(merged.ok()) << merged.status();
  EXPECT_EQ((*merged)["data"], (Json{{"b", "2"}}));
  auto json_patched =
      client->Patch(kConfigMaps, "default", "patched", PatchType::kJson,
                    Json::array({Json{{"op", "add"}, {"path", "/data/c"}, {"value", "3"}},
                                 Json{{"op", "replace"}, {"path", "/data/b"}, {"value", "two"}}}));
  ASSERT_TRUE(json_patched.ok()) << json_patched.status();
  EXPECT_EQ((*json_patched)["data"], (Json{{"b", "two"}, {"c", "3"}}));
  auto strategic = client->Patch(kConfigMaps, "default", "patched", PatchType::kStrategicMerge,
                                 Json{{"metadata", {{"labels", {{"tier", "gpu"}}}}}});
  ASSERT_TRUE(strategic.ok()) << strategic.status();
  EXPECT_EQ((*strategic)["metadata"]["labels"]["tier"], "gpu");
  auto bad = client->Patch(kConfigMaps, "default", "patched", PatchType::kJson,
                           Json::array({Json{{"op", "remove"}, {"path", "/data/missing"}}}));
  EXPECT_FALSE(bad.ok());
}

constexpr char kGadgetCrd[] = R"(apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: gadgets.rest.zhisuan.io
spec:
  group: rest.zhisuan.io
  scope: Namespaced
  names: {plural: gadgets, singular: gadget, kind: Gadget}
  versions:
  - name: v1
    served: true
    storage: true
    subresources: {status: {}}
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            properties:
              size: {type: integer, minimum: 1}
          status:
            type: object
            properties:
              phase: {type: string}
              ready: {type: integer}
)";

const ResourceType kGadgets{"rest.zhisuan.io", "v1", "gadgets", "Gadget", true};

Json Gadget(const std::string& name, int size) {
  return Json{{"apiVersion", "rest.zhisuan.io/v1"},
              {"kind", "Gadget"},
              {"metadata", {{"name", name}, {"namespace", "default"}}},
              {"spec", {{"size", size}}}};
}

TEST(RestClient, StatusSubresourceOnACustomResource) {
  auto& plane = SharedControlPlane();
  auto applied = plane.Kubectl({"apply", "-f", "-"}, kGadgetCrd);
  ASSERT_EQ(applied.exit_code, 0) << applied.output;
  auto established = plane.Kubectl(
      {"wait", "--for=condition=Established", "--timeout=60s", "crd/gadgets.rest.zhisuan.io"});
  ASSERT_EQ(established.exit_code, 0) << established.output;
  auto client = AdminClient();

  // Validation failures carry the server's field-level message.
  auto invalid = client->Create(kGadgets, "default", Gadget("tiny", 0));
  ASSERT_TRUE(IsInvalid(invalid.status())) << invalid.status();
  EXPECT_THAT(invalid.status().message(), HasSubstr("spec.size"));
  EXPECT_THAT(invalid.status().message(), HasSubstr("greater than or equal to 1"));

  auto created = client->Create(kGadgets, "default", Gadget("g1", 2));
  ASSERT_TRUE(created.ok()) << created.status();
  // Status written through the main resource is ignored...
  Json with_status = *created;
  with_status["status"] = {{"phase", "Ignored"}};
  auto main_update = client->Update(kGadgets, with_status);
  ASSERT_TRUE(main_update.ok()) << main_update.status();
  EXPECT_FALSE(main_update->contains("status"));
  // ...and lands through /status.
  Json status_object = *main_update;
  status_object["status"] = {{"phase", "Ready"}};
  auto status_update = client->UpdateStatus(kGadgets, status_object);
  ASSERT_TRUE(status_update.ok()) << status_update.status();
  EXPECT_EQ((*status_update)["status"]["phase"], "Ready");
  EXPECT_EQ((*status_update)["spec"]["size"], 2);

  auto merge_status = client->Patch(kGadgets, "default", "g1", PatchType::kMerge,
                                    Json{{"status", {{"ready", 2}}}}, Manager("", false, "status"));
  ASSERT_TRUE(merge_status.ok()) << merge_status.status();
  EXPECT_EQ((*merge_status)["status"]["ready"], 2);
  auto apply_status = client->Patch(kGadgets, "default", "g1", PatchType::kApply,
                                    Json{{"apiVersion", "rest.zhisuan.io/v1"},
                                         {"kind", "Gadget"},
                                         {"metadata", {{"name", "g1"}, {"namespace", "default"}}},
                                         {"status", {{"phase", "Degraded"}}}},
                                    Manager("zhisuan-controller", true, "status"));
  ASSERT_TRUE(apply_status.ok()) << apply_status.status();
  EXPECT_EQ((*apply_status)["status"]["phase"], "Degraded");
  EXPECT_EQ((*apply_status)["spec"]["size"], 2);
}

TEST(RestClient, ListAllPagesThroughTwoThousandObjects) {
  auto client = AdminClient();
  const std::string ns = "paging";
  CreateNamespace(*client, ns);
  constexpr int kObjects = 2000;
  constexpr int kWorkers = 16;
  std::atomic<int> next{0};
  std::atomic<int> failures{0};
  std::vector<std::thread> workers;
  for (int w = 0; w < kWorkers; ++w) {
    workers.emplace_back([&] {
      for (int i = next++; i < kObjects; i = next++) {
        Json cm = ConfigMap(ns, StrCat("page-", i), {{"i", StrCat(i)}});
        cm["metadata"]["labels"] = {{"set", "paging"}};
        if (!client->Create(kConfigMaps, ns, cm).ok()) ++failures;
      }
    });
  }
  for (auto& worker : workers) worker.join();
  ASSERT_EQ(failures.load(), 0);

  ListOptions options = Paged("set=paging", 500);
  auto first_page = client->List(kConfigMaps, ns, options);
  ASSERT_TRUE(first_page.ok()) << first_page.status();
  EXPECT_EQ(first_page->items.size(), 500u);
  EXPECT_FALSE(first_page->continue_token.empty());

  auto all = ListAll(*client, kConfigMaps, ns, options);
  ASSERT_TRUE(all.ok()) << all.status();
  std::set<std::string> names;
  for (const Json& item : all->items) names.insert(item["metadata"]["name"].get<std::string>());
  EXPECT_EQ(all->items.size(), static_cast<size_t>(kObjects));
  EXPECT_EQ(names.size(), static_cast<size_t>(kObjects));
  EXPECT_TRUE(names.count("page-0") && names.count("page-1999"));
}

std::vector<WatchEvent> NextEvents(WatchStream& watch, size_t count) {
  std::vector<WatchEvent> events;
  while (events.size() < count) {
    auto event = watch.Next();
    EXPECT_TRUE(event.ok()) << event.status();
    if (!event.ok() || !event->has_value()) break;
    if ((*event)->type == WatchEvent::Type::kBookmark) continue;
    events.push_back(std::move(**event));
  }
  return events;
}

TEST(RestClient, WatchSeesAddedModifiedDeletedAndBookmarks) {
  auto client = AdminClient();
  const std::string ns = "watching";
  CreateNamespace(*client, ns);
  auto listed = client->List(kConfigMaps, ns, {});
  ASSERT_TRUE(listed.ok()) << listed.status();
  auto watch = client->Watch(kConfigMaps, ns, WatchFrom(listed->resource_version, 60));
  ASSERT_TRUE(watch.ok()) << watch.status();

  ASSERT_TRUE(client->Create(kConfigMaps, ns, ConfigMap(ns, "w", {{"v", "1"}})).ok());
  ASSERT_TRUE(
      client->Patch(kConfigMaps, ns, "w", PatchType::kMerge, Json{{"data", {{"v", "2"}}}}).ok());
  ASSERT_TRUE(client->Delete(kConfigMaps, ns, "w").ok());
  auto events = NextEvents(**watch, 3);
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[0].type, WatchEvent::Type::kAdded);
  EXPECT_EQ(events[1].type, WatchEvent::Type::kModified);
  EXPECT_EQ(events[1].object["data"]["v"], "2");
  EXPECT_EQ(events[2].type, WatchEvent::Type::kDeleted);
  for (const WatchEvent& event : events) EXPECT_EQ(event.object["metadata"]["name"], "w");
  (*watch)->Cancel();
  auto after_cancel = (*watch)->Next();
  EXPECT_TRUE(!after_cancel.ok() ? after_cancel.status().code() == StatusCode::kCancelled
                                 : !after_cancel->has_value());

  // A watch without a resourceVersion starts with the current objects and, with bookmarks
  // allowed, a BOOKMARK marking the end of them; at timeoutSeconds the server ends it cleanly.
  ASSERT_TRUE(client->Create(kConfigMaps, ns, ConfigMap(ns, "kept")).ok());
  auto short_watch = client->Watch(kConfigMaps, ns, WatchFrom("", 3));
  ASSERT_TRUE(short_watch.ok()) << short_watch.status();
  bool bookmark = false;
  std::vector<std::string> added;
  while (true) {
    auto event = (*short_watch)->Next();
    ASSERT_TRUE(event.ok()) << event.status();
    if (!event->has_value()) break;  // clean end at timeoutSeconds
    if ((*event)->type == WatchEvent::Type::kAdded) {
      added.push_back((*event)->object["metadata"]["name"]);
    } else if ((*event)->type == WatchEvent::Type::kBookmark) {
      bookmark = true;
      const Json& metadata = (*event)->object["metadata"];
      EXPECT_FALSE(metadata["resourceVersion"].get<std::string>().empty());
      EXPECT_EQ(metadata["annotations"]["k8s.io/initial-events-end"], "true");
    }
  }
  EXPECT_EQ(added, std::vector<std::string>{"kept"});
  EXPECT_TRUE(bookmark);
}

TEST(RestClient, RbacDenialIsForbiddenForAMintedUserWithEmbeddedCredentials) {
  auto& plane = SharedControlPlane();
  auto kubeconfig = plane.MintUserKubeconfig("tenant-rest", {"zhisuan:tenants"});
  ASSERT_TRUE(kubeconfig.ok()) << kubeconfig.status();
  EXPECT_THAT(ReadFile(*kubeconfig), HasSubstr("client-certificate-data"));
  auto config = LoadKubeconfig(*kubeconfig);
  ASSERT_TRUE(config.ok()) << config.status();
  auto client = NewRestClient(*config);
  ASSERT_TRUE(client.ok()) << client.status();
  auto nodes = (*client)->List(kNodes, "", {});
  ASSERT_TRUE(IsForbidden(nodes.status())) << nodes.status();
  EXPECT_THAT(nodes.status().message(),
              HasSubstr("User \"tenant-rest\" cannot list resource \"nodes\""));
  EXPECT_TRUE(IsForbidden((*client)->Get(kConfigMaps, "default", "counter").status()));
}

std::string MintToken(const std::string& secret) {
  auto token = SharedControlPlane().Kubectl({"create", "token", "rotator", "-n", "default",
                                             "--bound-object-kind=Secret",
                                             StrCat("--bound-object-name=", secret)});
  EXPECT_EQ(token.exit_code, 0) << token.output;
  return std::string(StripWhitespace(token.output));
}

TEST(RestClient, RotatedTokenFileIsPickedUpWithoutARestart) {
  auto& plane = SharedControlPlane();
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"create", "serviceaccount", "rotator", "-n", "default"},
        // Not the built-in "view": it is aggregated by kube-controller-manager, which the harness
        // does not run, so it grants nothing here.
        {"create", "role", "configmap-reader", "-n", "default", "--verb=get,list,watch",
         "--resource=configmaps"},
        {"create", "rolebinding", "rotator-read", "-n", "default", "--role=configmap-reader",
         "--serviceaccount=default:rotator"},
        {"create", "secret", "generic", "token-a", "-n", "default"},
        {"create", "secret", "generic", "token-b", "-n", "default"}}) {
    auto result = plane.Kubectl(args);
    ASSERT_EQ(result.exit_code, 0) << result.output;
  }
  const std::string token_a = MintToken("token-a");
  const std::string token_b = MintToken("token-b");
  ASSERT_NE(token_a, token_b);

  const std::string token_file = WriteFile(StrCat(plane.work_dir(), "/rotating-token"), token_a);
  ClientConfig config;
  config.server = plane.server_url();
  config.ca_pem = ReadFile(plane.ca_file());
  config.token_file = token_file;
  auto rotating = NewRestClient(config);
  ASSERT_TRUE(rotating.ok()) << rotating.status();
  // RBAC reaches the authorizer's cache a moment after the binding is created.
  Status before;
  for (int i = 0; i < 60; ++i) {
    before = (*rotating)->List(kConfigMaps, "default", {}).status();
    if (before.ok()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
  ASSERT_TRUE(before.ok()) << before;

  // Rotate: the file now holds B, and A dies with the secret it is bound to.
  WriteFile(token_file, token_b);
  ASSERT_EQ(plane.Kubectl({"delete", "secret", "token-a", "-n", "default"}).exit_code, 0);
  ClientConfig only_a = config;
  only_a.token_file.clear();
  only_a.bearer_token = token_a;
  auto static_a = NewRestClient(only_a);
  ASSERT_TRUE(static_a.ok());
  Status a_status;
  for (int i = 0; i < 60; ++i) {
    a_status = (*static_a)->List(kConfigMaps, "default", {}).status();
    if (IsUnauthorized(a_status)) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
  ASSERT_TRUE(IsUnauthorized(a_status)) << "token A still accepted: " << a_status;

  auto after = (*rotating)->List(kConfigMaps, "default", {});
  EXPECT_TRUE(after.ok()) << after.status();
  // And the SA's own limits still apply: it may read, not write.
  EXPECT_TRUE(IsForbidden(
      (*rotating)->Create(kConfigMaps, "default", ConfigMap("default", "sa-write")).status()));
}

// A fresh CA and a serving certificate for 127.0.0.1, made by the harness's own PKI script.
struct FreshPki {
  std::string dir;
  std::string ca_pem;
};

FreshPki MakeFreshPki(const std::string& name) {
  FreshPki pki{StrCat(SharedControlPlane().work_dir(), "/", name), ""};
  auto made =
      harness::RunCommand({StrCat(harness::SourceDir(), "/tests/harness/pki.sh"), "init", pki.dir});
  EXPECT_EQ(made.exit_code, 0) << made.output;
  pki.ca_pem = ReadFile(StrCat(pki.dir, "/ca.crt"));
  return pki;
}

TEST(RestClient, WrongCertificateAuthorityFailsVerificationClearly) {
  FreshPki other = MakeFreshPki("other-pki");
  ClientConfig config = AdminConfig();
  config.ca_pem = other.ca_pem;
  auto client = NewRestClient(config);
  ASSERT_TRUE(client.ok()) << client.status();
  auto got = (*client)->List(kConfigMaps, "default", {});
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.status().code(), StatusCode::kUnavailable);
  EXPECT_THAT(got.status().message(), HasSubstr("certificate verification"));
  EXPECT_THAT(got.status().message(), HasSubstr("local issuer"));

  // The right CA works through the same path (so the failure above is about the CA alone).
  config.ca_pem = ReadFile(SharedControlPlane().ca_file());
  auto good = NewRestClient(config);
  ASSERT_TRUE(good.ok());
  EXPECT_TRUE((*good)->List(kConfigMaps, "default", {}).ok());

  // Garbage credentials are refused when the client is made, not on first use.
  config.client_key_pem = "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n";
  auto bad_key = NewRestClient(config);
  ASSERT_FALSE(bad_key.ok());
  EXPECT_THAT(bad_key.status().message(), HasSubstr("client key"));
}

TEST(RestClient, ExpiredResourceVersionIsGoneAfterCompaction) {
  auto& plane = SharedControlPlane();
  auto client = AdminClient();
  auto created = client->Create(kConfigMaps, "default", ConfigMap("default", "old", {{"k", "1"}}));
  ASSERT_TRUE(created.ok()) << created.status();
  const std::string old_version = (*created)["metadata"]["resourceVersion"];
  ASSERT_TRUE(
      client->Patch(kConfigMaps, "default", "old", PatchType::kMerge, Json{{"data", {{"k", "2"}}}})
          .ok());
  auto revision = plane.CompactEtcd();
  ASSERT_TRUE(revision.ok()) << revision.status();
  ASSERT_TRUE(plane.RestartApiServer().ok());

  // The same client keeps working across the restart (stale pooled connections are retried).
  auto watch = client->Watch(kConfigMaps, "default", WatchFrom(old_version, 10));
  ASSERT_TRUE(watch.ok()) << watch.status();
  auto event = (*watch)->Next();
  ASSERT_TRUE(event.ok()) << event.status();
  ASSERT_TRUE(event->has_value());
  ASSERT_EQ((*event)->type, WatchEvent::Type::kError) << (*event)->object.dump();
  EXPECT_EQ((*event)->object["code"], 410);
  Status gone = StatusFromApiStatus((*event)->object);
  EXPECT_TRUE(IsGone(gone)) << gone;

  auto exact = client->List(kConfigMaps, "default", ExactlyAt(old_version));
  EXPECT_TRUE(IsGone(exact.status())) << exact.status();
}

// --- A fake server for what a real one does not send on demand ---

class FakeServerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { pki_ = new FreshPki(MakeFreshPki("fake-server-pki")); }
  static void TearDownTestSuite() { delete pki_; }

  void Serve(testing::FakeHttpsServer::Handler handler, const std::string& address = "127.0.0.1") {
    auto server = testing::FakeHttpsServer::Start(StrCat(pki_->dir, "/apiserver.crt"),
                                                  StrCat(pki_->dir, "/apiserver.key"),
                                                  std::move(handler), address);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
    ClientConfig config;
    config.server = server_->url();
    config.ca_pem = pki_->ca_pem;
    config.bearer_token = "fake-token";
    config.max_attempts = 3;
    auto client = NewRestClient(config);
    ASSERT_TRUE(client.ok()) << client.status();
    client_ = *client;
  }

  static FreshPki* pki_;
  std::unique_ptr<testing::FakeHttpsServer> server_;
  ApiClientPtr client_;
};
FreshPki* FakeServerTest::pki_ = nullptr;

using testing::FakeHttpsServer;
using testing::FakeReply;
using testing::FakeRequest;

const std::string kAddedFrame =
    R"({"type":"ADDED","object":{"kind":"ConfigMap","metadata":{"name":"a","resourceVersion":"5"}}})"
    "\n";

TEST_F(FakeServerTest, MalformedJsonIsAClearErrorNotACrash) {
  Serve([](const FakeRequest&) {
    return FakeReply{{FakeHttpsServer::Response(200, R"({"kind":"ConfigMap","metadata":{"na)")}};
  });
  auto got = client_->Get(kConfigMaps, "default", "x");
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.status().code(), StatusCode::kDataLoss);
  EXPECT_THAT(got.status().message(), HasSubstr("not a JSON object"));
  // Sent with the token and to the right place.
  ASSERT_EQ(server_->requests().size(), 1u);
  EXPECT_EQ(server_->requests()[0].target, "/api/v1/namespaces/default/configmaps/x");
  EXPECT_THAT(server_->requests()[0].headers,
              ::testing::ContainsRegex("Authorization: ?Bearer fake-token"));
}

// A body nested far deeper than any real object would overflow the stack of the first copy of the
// parsed value; the client refuses it instead (kube/bounded_json.h).
TEST_F(FakeServerTest, ResponseNestedTooDeepIsRefusedNotACrash) {
  const int depth = 200000;
  const std::string deep =
      R"({"kind":"ConfigMap","data":)" + std::string(depth, '[') + std::string(depth, ']') + "}";
  Serve([&deep](const FakeRequest&) { return FakeReply{{FakeHttpsServer::Response(200, deep)}}; });
  auto got = client_->Get(kConfigMaps, "default", "x");
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.status().code(), StatusCode::kDataLoss);
  EXPECT_THAT(got.status().message(), HasSubstr("nests deeper than 512 levels"));
}

TEST_F(FakeServerTest, TooManyRequestsHonoursRetryAfterThenSucceeds) {
  std::atomic<int> calls{0};
  Serve([&](const FakeRequest&) {
    if (calls++ == 0) {
      return FakeReply{{FakeHttpsServer::Response(
          429, R"({"kind":"Status","code":429,"reason":"TooManyRequests","message":"slow down"})",
          "Retry-After: 1\r\n")}};
    }
    return FakeReply{{FakeHttpsServer::Response(200, R"({"kind":"ConfigMap"})")}};
  });
  const auto start = std::chrono::steady_clock::now();
  auto got = client_->Get(kConfigMaps, "default", "x");
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(calls.load(), 2);
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(950));
}

TEST_F(FakeServerTest, NonStatusServerErrorsAreRetriedThenReported) {
  Serve([](const FakeRequest&) {
    return FakeReply{{FakeHttpsServer::Response(502, "<html>Bad Gateway</html>")}};
  });
  auto got = client_->Get(kConfigMaps, "default", "x");
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.status().code(), StatusCode::kUnavailable);
  EXPECT_THAT(got.status().message(), HasSubstr("HTTP 502"));
  EXPECT_EQ(server_->requests().size(), 3u);  // max_attempts
  // A create is not repeated: the server may have acted on it.
  auto created = client_->Create(kConfigMaps, "default", ConfigMap("default", "x"));
  EXPECT_FALSE(created.ok());
  EXPECT_EQ(server_->requests().size(), 4u);
}

TEST_F(FakeServerTest, WatchCutMidStreamIsUnavailable) {
  Serve([](const FakeRequest&) {
    return FakeReply{{FakeHttpsServer::ChunkedHead(200), FakeHttpsServer::Chunk(kAddedFrame),
                      FakeHttpsServer::Chunk(kAddedFrame.substr(0, 30))},
                     /*abort=*/true};
  });
  auto watch = client_->Watch(kConfigMaps, "default", WatchFrom("", 30));
  ASSERT_TRUE(watch.ok()) << watch.status();
  auto first = (*watch)->Next();
  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_TRUE(first->has_value());
  EXPECT_EQ((*first)->type, WatchEvent::Type::kAdded);
  auto broken = (*watch)->Next();
  ASSERT_FALSE(broken.ok());
  EXPECT_EQ(broken.status().code(), StatusCode::kUnavailable) << broken.status();
  EXPECT_THAT(broken.status().message(), HasSubstr("watch stream broke"));
  EXPECT_THAT(server_->requests()[0].target,
              HasSubstr("watch=1&allowWatchBookmarks=true&timeoutSeconds=30"));
}

TEST_F(FakeServerTest, WatchEndingInsideAFrameIsATruncationError) {
  Serve([](const FakeRequest&) {
    return FakeReply{{FakeHttpsServer::ChunkedHead(200), FakeHttpsServer::Chunk(kAddedFrame),
                      FakeHttpsServer::Chunk(kAddedFrame.substr(0, 30)),
                      FakeHttpsServer::LastChunk()}};
  });
  auto watch = client_->Watch(kConfigMaps, "default", {});
  ASSERT_TRUE(watch.ok()) << watch.status();
  auto first = (*watch)->Next();
  ASSERT_TRUE(first.ok() && first->has_value()) << first.status();
  auto truncated = (*watch)->Next();
  ASSERT_FALSE(truncated.ok());
  EXPECT_EQ(truncated.status().code(), StatusCode::kDataLoss);
  EXPECT_THAT(truncated.status().message(), HasSubstr("truncated"));
}

TEST_F(FakeServerTest, CancelUnblocksAWatchWaitingForEvents) {
  Serve([](const FakeRequest&) {
    FakeReply reply{{FakeHttpsServer::ChunkedHead(200), FakeHttpsServer::Chunk(kAddedFrame)}};
    reply.hang = true;
    return reply;
  });
  auto watch = client_->Watch(kConfigMaps, "default", WatchFrom("", 300));
  ASSERT_TRUE(watch.ok()) << watch.status();
  auto first = (*watch)->Next();
  ASSERT_TRUE(first.ok() && first->has_value()) << first.status();
  auto blocked = std::async(std::launch::async, [&] { return (*watch)->Next(); });
  EXPECT_EQ(blocked.wait_for(std::chrono::milliseconds(300)), std::future_status::timeout);
  (*watch)->Cancel();
  ASSERT_EQ(blocked.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  auto result = blocked.get();
  EXPECT_TRUE(!result.ok() ? result.status().code() == StatusCode::kCancelled
                           : !result->has_value());
}

TEST_F(FakeServerTest, CertificateForAnotherAddressIsRejected) {
  // The certificate's IP SAN is 127.0.0.1; the same server reached as 127.0.0.2 must not pass.
  Serve([](const FakeRequest&) { return FakeReply{{FakeHttpsServer::Response(200, "{}")}}; },
        "127.0.0.2");
  auto got = client_->Get(kConfigMaps, "default", "x");
  ASSERT_FALSE(got.ok());
  EXPECT_THAT(got.status().message(), HasSubstr("certificate verification"));
  EXPECT_THAT(got.status().message(), HasSubstr("mismatch"));
  EXPECT_TRUE(server_->requests().empty());  // nothing was sent, token included
}

TEST_F(FakeServerTest, VerificationIsSkippedOnlyWhenAKubeconfigSaysInsecure) {
  Serve([](const FakeRequest&) {
    return FakeReply{{FakeHttpsServer::Response(200, R"({"kind":"ConfigMap"})")}};
  });
  const std::string kubeconfig = StrCat(
      "current-context: c\ncontexts: [{name: c, context: {cluster: k, user: u}}]\n"
      "users: [{name: u, user: {token: t}}]\nclusters: [{name: k, cluster: {server: '",
      server_->url(), "'");
  // No CA configured: the system trust store does not know this server's CA.
  auto verified = ParseKubeconfig(kubeconfig + "}}]\n", "/", "");
  ASSERT_TRUE(verified.ok()) << verified.status();
  auto strict = NewRestClient(*verified);
  ASSERT_TRUE(strict.ok());
  auto refused = (*strict)->Get(kConfigMaps, "default", "x");
  EXPECT_THAT(refused.status().message(), HasSubstr("certificate verification"));

  auto insecure = ParseKubeconfig(kubeconfig + ", insecure-skip-tls-verify: true}}]\n", "/", "");
  ASSERT_TRUE(insecure.ok()) << insecure.status();
  ASSERT_TRUE(insecure->insecure_skip_tls_verify);
  auto lax = NewRestClient(*insecure);
  ASSERT_TRUE(lax.ok());
  auto got = (*lax)->Get(kConfigMaps, "default", "x");
  EXPECT_TRUE(got.ok()) << got.status();
}

TEST_F(FakeServerTest, OversizedResponseIsRefused) {
  Serve([](const FakeRequest&) {
    return FakeReply{{FakeHttpsServer::Response(200, std::string(4096, ' ') + "{}")}};
  });
  ClientConfig config;
  config.server = server_->url();
  config.ca_pem = pki_->ca_pem;
  config.max_response_bytes = 1024;
  auto small = NewRestClient(config);
  ASSERT_TRUE(small.ok());
  auto got = (*small)->Get(kConfigMaps, "default", "x");
  ASSERT_FALSE(got.ok());
  EXPECT_THAT(got.status().message(), HasSubstr("exceeds the 1024-byte limit"));
}

}  // namespace
}  // namespace zhisuan::kube
