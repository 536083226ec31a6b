#pragma once
// A tiny HTTPS server on 127.0.0.1 for the responses a real API server never sends on demand:
// malformed JSON, a watch stream cut mid-frame, 429 with Retry-After. OpenSSL directly, one
// request per connection (replies say Connection: close), each connection on its own thread.

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/status.h"

namespace zhisuan::kube::testing {

struct FakeRequest {
  std::string method;
  std::string target;   // path and query
  std::string headers;  // raw header block
  std::string body;
};

struct FakeReply {
  // Raw bytes written in order (status line and headers included), flushed one by one.
  std::vector<std::string> pieces;
  // After the pieces: drop the TCP connection without a TLS close (a broken stream).
  bool abort = false;
  // After the pieces: keep the connection open until the client closes it or the server stops.
  bool hang = false;
};

class FakeHttpsServer {
 public:
  using Handler = std::function<FakeReply(const FakeRequest&)>;

  static StatusOr<std::unique_ptr<FakeHttpsServer>> Start(const std::string& cert_file,
                                                          const std::string& key_file,
                                                          Handler handler,
                                                          const std::string& address = "127.0.0.1");
  ~FakeHttpsServer();

  int port() const { return port_; }
  std::string url() const;
  std::vector<FakeRequest> requests() const;

  // "HTTP/1.1 <status>\r\n..." with Content-Length and Connection: close.
  static std::string Response(int status, const std::string& body,
                              const std::string& extra_headers = "");
  // Status line and headers for a chunked body; then Chunk(...) pieces and LastChunk().
  static std::string ChunkedHead(int status);
  static std::string Chunk(const std::string& data);
  static std::string LastChunk() { return "0\r\n\r\n"; }

 private:
  FakeHttpsServer() = default;
  void AcceptLoop();
  void Serve(int fd);

  void* ssl_ctx_ = nullptr;  // SSL_CTX, kept opaque so OpenSSL stays out of this header
  int listen_fd_ = -1;
  int port_ = 0;
  std::string address_;
  Handler handler_;
  std::atomic<bool> stopping_{false};
  std::thread acceptor_;
  mutable std::mutex mu_;
  std::vector<std::thread> connections_;
  std::vector<FakeRequest> requests_;
};

}  // namespace zhisuan::kube::testing
