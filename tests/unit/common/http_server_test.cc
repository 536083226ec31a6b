#include "common/http_server.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <thread>
#include <vector>

#include "common/scoped_fd.h"
#include "common/strings.h"
#include "tests/harness/loopback_http.h"

namespace zhisuan {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using std::chrono::steady_clock;

// Timing bounds are generous (two shared cores): they separate "answers" from "waits for a slow
// client", not fast from slow.
constexpr auto kPromptly = seconds(3);

ScopedFd Connect(int port) {
  ScopedFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) return {};
  return fd;
}

bool Send(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n <= 0) return false;
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

// Reads until the server closes, an error (a reset), or `limit`.
std::string ReadUntilClosed(int fd, std::chrono::milliseconds limit) {
  std::string out;
  const auto deadline = steady_clock::now() + limit;
  char buffer[4096];
  while (steady_clock::now() < deadline) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 50) <= 0) continue;
    const ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
    if (n <= 0) break;
    out.append(buffer, static_cast<size_t>(n));
  }
  return out;
}

bool ClosedBy(int fd, std::chrono::milliseconds limit) {
  const auto deadline = steady_clock::now() + limit;
  char buffer[4096];
  while (steady_clock::now() < deadline) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 50) <= 0) continue;
    if (::recv(fd, buffer, sizeof buffer, 0) <= 0) return true;
  }
  return false;
}

std::unique_ptr<HttpServer> StartServer(HttpServerOptions options = {}) {
  auto server = HttpServer::Create("127.0.0.1:0", std::move(options));
  EXPECT_TRUE(server.ok()) << server.status();
  if (!server.ok()) return nullptr;
  (*server)->Handle("GET", "/healthz", [](const HttpRequest&) {
    return HttpResponse{200, {}, "ok\n"};
  });
  (*server)->Handle("POST", "/echo", [](const HttpRequest& request) {
    HttpResponse response{200, {}, request.body};
    response.headers.emplace_back("X-Auth",
                                  std::string(request.Header("authorization").value_or("")));
    return response;
  });
  (*server)->Start();
  return std::move(server).value();
}

TEST(HttpServerTest, RoutesByMethodAndPath) {
  auto server = HttpServer::Create("127.0.0.1:0");
  ASSERT_TRUE(server.ok()) << server.status();
  int posts = 0;
  (*server)->Handle("GET", "/healthz", [](const HttpRequest&) {
    return HttpResponse{200, {}, "ok\n"};
  });
  (*server)->Handle("POST", "/flops/measure", [&](const HttpRequest&) {
    ++posts;
    return HttpResponse{202, "application/json", "{}\n"};
  });
  (*server)->Start();
  const int port = (*server)->port();
  ASSERT_GT(port, 0);

  std::string ok = harness::LoopbackExchange(port, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_TRUE(StartsWith(ok, "HTTP/1.1 200 OK\r\n")) << ok;
  EXPECT_NE(ok.find("Content-Length: 3\r\n"), std::string::npos);
  EXPECT_TRUE(EndsWith(ok, "\r\n\r\nok\n"));
  EXPECT_TRUE(StartsWith(harness::LoopbackExchange(port, "GET /healthz?verbose=1 HTTP/1.1\r\n\r\n"),
                         "HTTP/1.1 200"));

  EXPECT_TRUE(StartsWith(
      harness::LoopbackExchange(port, "POST /flops/measure HTTP/1.1\r\nContent-Length: 0\r\n\r\n"),
      "HTTP/1.1 202"));
  EXPECT_EQ(posts, 1);
  EXPECT_TRUE(StartsWith(harness::LoopbackExchange(port, "GET /flops/measure HTTP/1.1\r\n\r\n"),
                         "HTTP/1.1 405"));
  EXPECT_TRUE(
      StartsWith(harness::LoopbackExchange(port, "GET /nope HTTP/1.1\r\n\r\n"), "HTTP/1.1 404"));
  EXPECT_TRUE(StartsWith(harness::LoopbackExchange(port, "garbage\r\n\r\n"), "HTTP/1.1 400"));
  EXPECT_EQ((*server)->errors(), 1u);
  (*server)->Stop();
}

TEST(HttpServerTest, HandlersSeeTheBodyAndHeaders) {
  auto server = StartServer();
  const std::string reply = harness::LoopbackExchange(
      server->port(),
      "POST /echo HTTP/1.1\r\nAuthorization: Bearer abc\r\nContent-Length: 5\r\n\r\nhello");
  EXPECT_TRUE(StartsWith(reply, "HTTP/1.1 200")) << reply;
  EXPECT_NE(reply.find("X-Auth: Bearer abc\r\n"), std::string::npos) << reply;
  EXPECT_TRUE(EndsWith(reply, "\r\n\r\nhello")) << reply;
}

// The body may arrive after the headers, in pieces.
TEST(HttpServerTest, ReadsABodyThatArrivesLater) {
  auto server = StartServer();
  ScopedFd fd = Connect(server->port());
  ASSERT_TRUE(fd.valid());
  ASSERT_TRUE(Send(fd.get(), "POST /echo HTTP/1.1\r\nContent-Length: 4\r\n\r\nab"));
  std::this_thread::sleep_for(milliseconds(100));
  ASSERT_TRUE(Send(fd.get(), "cd"));
  EXPECT_TRUE(EndsWith(ReadUntilClosed(fd.get(), seconds(5)), "\r\n\r\nabcd"));
}

TEST(HttpServerTest, OversizedHeadersGet431) {
  HttpServerOptions options;
  options.max_header_bytes = 1024;
  auto server = StartServer(options);
  const std::string huge = "GET /healthz HTTP/1.1\r\nX-Pad: " + std::string(4000, 'a');
  EXPECT_TRUE(StartsWith(harness::LoopbackExchange(server->port(), huge), "HTTP/1.1 431"));
  // Complete headers over the limit too.
  EXPECT_TRUE(
      StartsWith(harness::LoopbackExchange(server->port(), huge + "\r\n\r\n"), "HTTP/1.1 431"));
  // Just under the limit passes.
  const std::string fits = "GET /healthz HTTP/1.1\r\nX-Pad: " + std::string(900, 'a') + "\r\n\r\n";
  EXPECT_TRUE(StartsWith(harness::LoopbackExchange(server->port(), fits), "HTTP/1.1 200"));
}

TEST(HttpServerTest, OversizedBodiesGet413WithoutBeingRead) {
  HttpServerOptions options;
  options.max_body_bytes = 100;
  auto server = StartServer(options);
  // Announced and never sent: the answer comes from the headers alone, at once.
  ScopedFd fd = Connect(server->port());
  ASSERT_TRUE(fd.valid());
  const auto start = steady_clock::now();
  ASSERT_TRUE(Send(fd.get(), "POST /echo HTTP/1.1\r\nContent-Length: 100000000\r\n\r\n"));
  EXPECT_TRUE(StartsWith(ReadUntilClosed(fd.get(), seconds(5)), "HTTP/1.1 413"));
  EXPECT_LT(steady_clock::now() - start, kPromptly);
  EXPECT_TRUE(
      StartsWith(harness::LoopbackExchange(
                     server->port(), "POST /echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"),
                 "HTTP/1.1 411"));
  EXPECT_TRUE(StartsWith(
      harness::LoopbackExchange(server->port(), "POST /echo HTTP/1.1\r\nContent-Length: x\r\n\r\n"),
      "HTTP/1.1 400"));
}

// Slowloris: clients that open connections and send part of a request. /healthz must not wait for
// them (the old server served one connection at a time, so each slow client held it for its
// read timeout).
TEST(HttpServerTest, SlowClientsDoNotDelayHealthz) {
  auto server = StartServer();
  std::vector<ScopedFd> slow;
  for (int i = 0; i < 8; ++i) {
    slow.push_back(Connect(server->port()));
    ASSERT_TRUE(slow.back().valid());
    ASSERT_TRUE(Send(slow.back().get(), "GET /healthz HTTP/1.1\r\nX-Slow: "));
  }
  for (int i = 0; i < 5; ++i) {
    const auto start = steady_clock::now();
    const harness::HttpReply reply = harness::LoopbackRequest(server->port(), "GET", "/healthz");
    EXPECT_EQ(reply.status, 200);
    EXPECT_LT(steady_clock::now() - start, kPromptly) << "request " << i;
  }
}

// A client that sends a byte every 300 ms never trips a per-read timeout; the whole-request
// deadline cuts it off.
TEST(HttpServerTest, ADribblingClientIsCutOffAtTheRequestDeadline) {
  HttpServerOptions options;
  options.request_deadline = seconds(2);
  auto server = StartServer(options);
  ScopedFd fd = Connect(server->port());
  ASSERT_TRUE(fd.valid());
  const auto start = steady_clock::now();
  const std::string request = "GET /healthz HTTP/1.1\r\nX-Slow: " + std::string(60, 'a');
  std::string received;
  for (char c : request) {
    if (!Send(fd.get(), std::string_view(&c, 1))) break;
    received += ReadUntilClosed(fd.get(), milliseconds(300));
    if (!received.empty()) break;
  }
  const auto elapsed = steady_clock::now() - start;
  EXPECT_TRUE(StartsWith(received, "HTTP/1.1 408")) << received;
  EXPECT_GE(elapsed, milliseconds(1900));
  EXPECT_LT(elapsed, seconds(2) + kPromptly);
  EXPECT_TRUE(ClosedBy(fd.get(), kPromptly));
}

// Over the cap a connection is answered 503 at once, not queued behind the slow ones; freed slots
// are used again.
TEST(HttpServerTest, ConnectionsOverTheCapGet503AtOnce) {
  HttpServerOptions options;
  options.max_connections = 4;
  auto server = StartServer(options);
  std::vector<ScopedFd> slow;
  for (int i = 0; i < 4; ++i) {
    slow.push_back(Connect(server->port()));
    ASSERT_TRUE(Send(slow.back().get(), "GET /healthz HTTP/1.1\r\n"));
  }
  std::this_thread::sleep_for(milliseconds(200));  // all four accepted
  ScopedFd extra = Connect(server->port());
  ASSERT_TRUE(extra.valid());
  const auto start = steady_clock::now();
  EXPECT_TRUE(StartsWith(ReadUntilClosed(extra.get(), seconds(5)), "HTTP/1.1 503"));
  EXPECT_LT(steady_clock::now() - start, kPromptly);
  EXPECT_EQ(server->rejected_connections(), 1u);

  slow.pop_back();  // one slot frees when its connection closes
  const auto retry_until = steady_clock::now() + seconds(5);
  int status = 0;
  while (status != 200 && steady_clock::now() < retry_until) {
    status = harness::LoopbackRequest(server->port(), "GET", "/healthz").status;
    if (status != 200) std::this_thread::sleep_for(milliseconds(100));
  }
  EXPECT_EQ(status, 200);
}

TEST(HttpServerTest, StopCutsOpenConnections) {
  auto server = StartServer();
  std::vector<ScopedFd> slow;
  for (int i = 0; i < 4; ++i) {
    slow.push_back(Connect(server->port()));
    ASSERT_TRUE(Send(slow.back().get(), "GET /healthz HTTP/1.1\r\n"));
  }
  std::this_thread::sleep_for(milliseconds(100));
  const auto start = steady_clock::now();
  server->Stop();
  EXPECT_LT(steady_clock::now() - start, kPromptly);
  for (auto& fd : slow) EXPECT_TRUE(ClosedBy(fd.get(), seconds(1)));
}

TEST(HttpServerTest, BadListenAddressesAreErrors) {
  for (const char* address : {"9400", "host:port", ":70000", ":-1"}) {
    auto server = HttpServer::Create(address);
    ASSERT_FALSE(server.ok()) << address;
    EXPECT_NE(server.status().message().find(address), std::string::npos)
        << server.status().message();
  }
}

TEST(HttpServerTest, ParsesListenAddressForms) {
  EXPECT_EQ(*ParseListenAddress(":9400"), std::make_pair(std::string(), 9400));
  EXPECT_EQ(*ParseListenAddress("0.0.0.0:1"), std::make_pair(std::string("0.0.0.0"), 1));
  EXPECT_EQ(*ParseListenAddress("[::1]:80"), std::make_pair(std::string("::1"), 80));
}

}  // namespace
}  // namespace zhisuan
