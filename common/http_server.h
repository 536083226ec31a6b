#pragma once
// The one HTTP/1.1 server both binaries use for /metrics, /healthz, /readyz and the agent's
// POST /flops/measure. prometheus-cpp's Exposer (civetweb) serves only collectables, and the
// routes here are few and fixed, so the server is small: routing by method and exact path, one
// request per connection (Connection: close).
//
// What keeps one client from stalling the others (issue 17: a single slow client used to block
// /healthz until the liveness probe restarted the agent):
//   - each connection is served on its own thread, at most `max_connections` at once; a
//     connection over the cap gets an immediate 503 and is closed, never queued;
//   - the whole request (line, headers, body) must arrive within `request_deadline` of the
//     accept, however the bytes are spread (a per-read timeout let a client dribbling one byte a
//     second hold the server forever); the reply must be written within as long again;
//   - headers over `max_header_bytes` get 431, a body over `max_body_bytes` 413, and chunked
//     bodies 411 (no route needs one).
// With `tls` set every connection is HTTPS (tls_server.h); the handshake counts against the same
// deadline, so a client that stalls mid-handshake holds its slot no longer than one that stalls
// mid-request. Authentication is per route (kube/request_authorizer.h: RequireAccess), so
// /healthz and /readyz stay open to the kubelet's probes while /metrics asks for a token.

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "common/scoped_fd.h"
#include "common/status.h"
#include "common/tls_server.h"

namespace zhisuan {

struct HttpRequest {
  std::string method;
  std::string path;                                          // without the query string
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-cased, in order
  std::string body;
  // Over TLS with a client CA: the client presented a certificate that CA verified.
  bool client_certificate_verified = false;

  // The first header named `name` (lower case), if any.
  std::optional<std::string_view> Header(std::string_view name) const;
};

struct HttpResponse {
  HttpResponse() = default;
  HttpResponse(int status_code, std::string type, std::string text)
      : status(status_code), content_type(std::move(type)), body(std::move(text)) {}

  int status = 200;
  std::string content_type;  // empty: "text/plain; charset=utf-8"
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // extra headers (Retry-After, ...)
};

using HttpHandler = std::function<HttpResponse(const HttpRequest& request)>;

struct HttpServerOptions {
  size_t max_connections = 32;
  size_t max_header_bytes = 8 << 10;
  size_t max_body_bytes = 4 << 10;
  std::chrono::milliseconds request_deadline{10000};
  std::string thread_name = "http";
  std::shared_ptr<TlsServerContext> tls;  // null: plain HTTP
};

class HttpServer {
 public:
  // Binds `address` ("host:port", ":port" for all interfaces, port 0 for an ephemeral port).
  static StatusOr<std::unique_ptr<HttpServer>> Create(const std::string& address,
                                                      HttpServerOptions options = {});
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Routes by method and exact path. Register before Start(); handlers run on connection threads,
  // concurrently with each other.
  void Handle(std::string method, std::string path, HttpHandler handler);
  void Start();
  // Stops accepting, cuts every open connection and joins their threads.
  void Stop();
  int port() const { return port_; }
  // Requests that failed on the client's side: malformed, over a limit, past the deadline,
  // refused over the connection cap.
  uint64_t errors() const { return errors_.load(); }
  // Connections refused with 503 because `max_connections` were open.
  uint64_t rejected_connections() const { return rejected_.load(); }

 private:
  struct Connection;
  HttpServer(ScopedFd listen_fd, int port, ScopedFd wake_read, ScopedFd wake_write,
             HttpServerOptions options);
  void AcceptLoop();
  void ReapFinished();
  void Serve(int fd);
  HttpResponse Dispatch(HttpRequest request) const;

  const ScopedFd listen_fd_;
  const int port_;
  const ScopedFd wake_read_;
  const ScopedFd wake_write_;
  const HttpServerOptions options_;
  std::map<std::pair<std::string, std::string>, HttpHandler> handlers_;
  std::atomic<uint64_t> errors_{0};
  std::atomic<uint64_t> rejected_{0};
  std::list<std::unique_ptr<Connection>> connections_;  // the accept thread's, then Stop()'s
  std::thread thread_;
};

// `handler`, for clients that presented a verified certificate (HttpServerOptions::tls with a
// client CA); others get 403. The routes the kubelet probes must not be wrapped: it has no
// certificate.
HttpHandler RequireClientCertificate(HttpHandler handler);

// Splits "host:port" / ":port" / "[v6]:port". Errors name the flag value.
StatusOr<std::pair<std::string, int>> ParseListenAddress(std::string_view address);

}  // namespace zhisuan
