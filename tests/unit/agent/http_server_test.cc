#include "agent/metrics/http_server.h"

#include <gtest/gtest.h>

#include "common/strings.h"
#include "tests/harness/loopback_http.h"

namespace zhisuan::agent {
namespace {

TEST(HttpServerTest, RoutesByMethodAndPath) {
  auto server = HttpServer::Create("127.0.0.1:0");
  ASSERT_TRUE(server.ok()) << server.status();
  int posts = 0;
  (*server)->Handle("GET", "/healthz", [](const std::string&) {
    return HttpResponse{200, {}, "ok\n"};
  });
  (*server)->Handle("POST", "/flops/measure", [&](const std::string&) {
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

TEST(HttpServerTest, OversizedRequestsAreRejected) {
  auto server = HttpServer::Create("127.0.0.1:0");
  ASSERT_TRUE(server.ok());
  (*server)->Start();
  std::string huge = "GET / HTTP/1.1\r\nX-Pad: " + std::string(10000, 'a');
  EXPECT_TRUE(StartsWith(harness::LoopbackExchange((*server)->port(), huge), "HTTP/1.1 400"));
}

TEST(HttpServerTest, BadListenAddressesNameTheFlag) {
  for (const char* address : {"9400", "host:port", ":70000", ":-1"}) {
    auto server = HttpServer::Create(address);
    ASSERT_FALSE(server.ok()) << address;
    EXPECT_NE(server.status().message().find("--listen-address"), std::string::npos)
        << server.status().message();
  }
}

TEST(HttpServerTest, ParsesListenAddressForms) {
  EXPECT_EQ(*ParseListenAddress(":9400"), std::make_pair(std::string(), 9400));
  EXPECT_EQ(*ParseListenAddress("0.0.0.0:1"), std::make_pair(std::string("0.0.0.0"), 1));
  EXPECT_EQ(*ParseListenAddress("[::1]:80"), std::make_pair(std::string("::1"), 80));
}

}  // namespace
}  // namespace zhisuan::agent
