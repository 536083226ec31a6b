// HTTPS on the one HTTP server (common/tls_server.h): real sockets on 127.0.0.1, certificates made
// in the test's own temporary directory, and a client that verifies the server as a scraper does.
#include "common/tls_server.h"

#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <thread>

#include "common/http_server.h"
#include "common/scoped_fd.h"
#include "tests/harness/loopback_http.h"
#include "tests/harness/tls_test_support.h"

namespace zhisuan {
namespace {

using harness::TlsClientOptions;
using harness::TlsGet;
using harness::WriteSelfSignedCertificate;
using ::testing::HasSubstr;

class TempDir {
 public:
  TempDir() {
    char pattern[] = "/tmp/zhisuan-tls-XXXXXX";
    path_ = ::mkdtemp(pattern);
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

std::unique_ptr<HttpServer> StartServer(std::shared_ptr<TlsServerContext> tls) {
  HttpServerOptions options;
  options.tls = std::move(tls);
  options.request_deadline = std::chrono::milliseconds(2000);
  auto server = HttpServer::Create("127.0.0.1:0", options);
  EXPECT_TRUE(server.ok()) << server.status();
  (*server)->Handle("GET", "/metrics", [](const HttpRequest&) {
    return HttpResponse{200, {}, "metrics\n"};
  });
  (*server)->Handle("GET", "/healthz", [](const HttpRequest&) {
    return HttpResponse{200, {}, "ok\n"};
  });
  (*server)->Start();
  return std::move(server).value();
}

std::shared_ptr<TlsServerContext> Context(TlsServerFiles files) {
  auto context = TlsServerContext::Create(std::move(files));
  EXPECT_TRUE(context.ok()) << context.status();
  return context.ok() ? *context : nullptr;
}

// A client that trusts `ca`, offering at most `max_version` (0: any).
TlsClientOptions Trusting(const std::string& ca, int max_version = 0) {
  TlsClientOptions options;
  options.ca_file = ca;
  options.max_version = max_version;
  return options;
}

// Likewise, presenting `client` as its certificate.
TlsClientOptions Presenting(const std::string& ca, const harness::TestCertificate& client) {
  TlsClientOptions options = Trusting(ca);
  options.cert_file = client.cert_file;
  options.key_file = client.key_file;
  return options;
}

void Copy(const std::string& from, const std::string& to) {
  std::filesystem::copy_file(from, to, std::filesystem::copy_options::overwrite_existing);
}

TEST(TlsServerTest, ServesHttpsThatAVerifyingClientAccepts) {
  TempDir dir;
  const auto server_cert = WriteSelfSignedCertificate(dir.path(), "server");
  auto server = StartServer(Context({server_cert.cert_file, server_cert.key_file, ""}));
  std::string reply;
  EXPECT_EQ(TlsGet(server->port(), "/metrics", Trusting(server_cert.cert_file), "", &reply), 200)
      << reply;
  EXPECT_THAT(reply, HasSubstr("\r\n\r\nmetrics\n"));
  // A client that trusts another CA refuses the server: verification is real.
  const auto stranger = WriteSelfSignedCertificate(dir.path(), "stranger");
  EXPECT_EQ(TlsGet(server->port(), "/metrics", Trusting(stranger.cert_file)), 0);
}

TEST(TlsServerTest, PlainHttpAndOldProtocolsGetNoReply) {
  TempDir dir;
  const auto cert = WriteSelfSignedCertificate(dir.path(), "server");
  auto server = StartServer(Context({cert.cert_file, cert.key_file, ""}));
  const std::string plain = harness::LoopbackExchange(
      server->port(), "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  EXPECT_THAT(plain, ::testing::Not(HasSubstr("metrics\n")));
  EXPECT_EQ(TlsGet(server->port(), "/metrics", Trusting(cert.cert_file, TLS1_1_VERSION)), 0);
  EXPECT_EQ(TlsGet(server->port(), "/metrics", Trusting(cert.cert_file, TLS1_2_VERSION)), 200);
  EXPECT_GE(server->errors(), 2u);
}

TEST(TlsServerTest, AClientCaRefusesForeignCertificatesAndGuardsTheRoutesThatAskForOne) {
  TempDir dir;
  const auto cert = WriteSelfSignedCertificate(dir.path(), "server");
  const auto scraper = WriteSelfSignedCertificate(dir.path(), "scraper");
  const auto intruder = WriteSelfSignedCertificate(dir.path(), "intruder");
  HttpServerOptions options;
  options.tls = Context({cert.cert_file, cert.key_file, scraper.cert_file});
  auto created = HttpServer::Create("127.0.0.1:0", options);
  ASSERT_TRUE(created.ok()) << created.status();
  auto& server = *created;
  server->Handle("GET", "/metrics", RequireClientCertificate([](const HttpRequest&) {
                   return HttpResponse{200, {}, "metrics\n"};
                 }));
  server->Handle("GET", "/healthz", [](const HttpRequest&) {
    return HttpResponse{200, {}, "ok\n"};
  });
  server->Start();
  // No certificate, as the kubelet's probes: health answers, metrics do not.
  EXPECT_EQ(TlsGet(server->port(), "/healthz", Trusting(cert.cert_file)), 200);
  EXPECT_EQ(TlsGet(server->port(), "/metrics", Trusting(cert.cert_file)), 403);
  EXPECT_EQ(TlsGet(server->port(), "/metrics", Presenting(cert.cert_file, intruder)), 0);
  std::string reply;
  EXPECT_EQ(TlsGet(server->port(), "/metrics", Presenting(cert.cert_file, scraper), "", &reply),
            200)
      << reply;
}

TEST(TlsServerTest, AStalledHandshakeDoesNotDelayOthers) {
  TempDir dir;
  const auto cert = WriteSelfSignedCertificate(dir.path(), "server");
  auto server = StartServer(Context({cert.cert_file, cert.key_file, ""}));
  // Connected, silent: the handshake never starts.
  std::vector<ScopedFd> idle;
  for (int i = 0; i < 4; ++i) {
    ScopedFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(static_cast<uint16_t>(server->port()));
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(::connect(fd.get(), reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
    idle.push_back(std::move(fd));
  }
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(TlsGet(server->port(), "/healthz", Trusting(cert.cert_file)), 200);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(1500));
}

TEST(TlsServerTest, ARotatedCertificateIsServedWithoutARestart) {
  TempDir dir;
  const auto first = WriteSelfSignedCertificate(dir.path(), "first");
  const auto second = WriteSelfSignedCertificate(dir.path(), "second");
  const TlsServerFiles files{dir.path() + "/tls.crt", dir.path() + "/tls.key", ""};
  Copy(first.cert_file, files.cert_file);
  Copy(first.key_file, files.key_file);
  auto context = Context(files);
  auto server = StartServer(context);
  ASSERT_EQ(TlsGet(server->port(), "/metrics", Trusting(first.cert_file)), 200);

  // A broken rotation (the certificate written, the key not yet): the old pair keeps serving.
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  Copy(second.cert_file, files.cert_file);
  EXPECT_EQ(TlsGet(server->port(), "/metrics", Trusting(first.cert_file)), 200);
  EXPECT_EQ(context->reloads(), 0u);

  // The key follows: the new pair is served on a new connection within a second or so.
  Copy(second.key_file, files.key_file);
  int status = 0;
  for (int attempt = 0; attempt < 30 && status != 200; ++attempt) {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    status = TlsGet(server->port(), "/metrics", Trusting(second.cert_file));
  }
  EXPECT_EQ(status, 200);
  EXPECT_EQ(context->reloads(), 1u);
  EXPECT_EQ(TlsGet(server->port(), "/metrics", Trusting(first.cert_file)), 0);
}

TEST(TlsServerTest, UnusableFilesAreClearErrors) {
  TempDir dir;
  const auto cert = WriteSelfSignedCertificate(dir.path(), "server");
  const auto other = WriteSelfSignedCertificate(dir.path(), "other");
  auto error = [](TlsServerFiles files) {
    auto context = TlsServerContext::Create(std::move(files));
    return context.ok() ? std::string("ok") : context.status().ToString();
  };
  EXPECT_THAT(error({cert.cert_file, "", ""}), HasSubstr("certificate file needs a key file"));
  EXPECT_THAT(error({"", cert.key_file, ""}), HasSubstr("key file needs a certificate file"));
  EXPECT_THAT(error({"", "", cert.cert_file}), HasSubstr("client CA file needs a TLS certificate"));
  EXPECT_THAT(error({dir.path() + "/missing.crt", cert.key_file, ""}),
              HasSubstr("missing.crt\": No such file"));
  EXPECT_THAT(error({cert.cert_file, other.key_file, ""}), HasSubstr("does not match"));
  EXPECT_THAT(error({cert.key_file, cert.key_file, ""}), HasSubstr("TLS certificate file"));
  const std::string empty_ca = dir.path() + "/empty-ca.crt";
  std::ofstream(empty_ca) << "not a certificate\n";
  EXPECT_THAT(error({cert.cert_file, cert.key_file, empty_ca}), HasSubstr("client CA file"));
  EXPECT_EQ(error({cert.cert_file, cert.key_file, ""}), "ok");
}

}  // namespace
}  // namespace zhisuan
