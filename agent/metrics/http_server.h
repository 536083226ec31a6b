#pragma once
// A minimal HTTP/1.1 server for /metrics, /healthz, /readyz and POST /flops/measure on one port.
// prometheus-cpp's Exposer serves only registered collectables (no custom handlers such as
// /healthz) and runs a civetweb thread pool; the agent needs a handful of fixed routes and a
// small footprint, so it serves them itself: one thread, one request per connection
// (Connection: close), requests capped at 8 KiB and read with a 2 s timeout.

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <utility>

#include "common/scoped_fd.h"
#include "common/status.h"

namespace zhisuan::agent {

struct HttpResponse {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
};

// Called with the request body; GET handlers ignore it.
using HttpHandler = std::function<HttpResponse(const std::string& body)>;

class HttpServer {
 public:
  // Binds `address` ("host:port", ":port" for all interfaces, port 0 for an ephemeral port).
  static StatusOr<std::unique_ptr<HttpServer>> Create(const std::string& address);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Routes by method and exact path; register before Start().
  void Handle(std::string method, std::string path, HttpHandler handler);
  void Start();
  void Stop();
  int port() const { return port_; }
  uint64_t errors() const { return errors_.load(); }

 private:
  HttpServer(ScopedFd listen_fd, int port, ScopedFd wake_read, ScopedFd wake_write);
  void Loop();
  void Serve(int fd);

  const ScopedFd listen_fd_;
  const int port_;
  const ScopedFd wake_read_;
  const ScopedFd wake_write_;
  std::map<std::pair<std::string, std::string>, HttpHandler> handlers_;
  std::atomic<uint64_t> errors_{0};
  std::thread thread_;
};

// Splits "host:port" / ":port" / "[v6]:port". Errors name the flag value.
StatusOr<std::pair<std::string, int>> ParseListenAddress(std::string_view address);

}  // namespace zhisuan::agent
