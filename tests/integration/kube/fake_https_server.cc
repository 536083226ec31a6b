#include "tests/integration/kube/fake_https_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>

#include "common/strings.h"

namespace zhisuan::kube::testing {
namespace {

SSL_CTX* Ctx(void* p) { return static_cast<SSL_CTX*>(p); }

bool WriteAll(SSL* ssl, const std::string& data) {
  size_t done = 0;
  while (done < data.size()) {
    const int n = SSL_write(ssl, data.data() + done, static_cast<int>(data.size() - done));
    if (n <= 0) return false;
    done += static_cast<size_t>(n);
  }
  return true;
}

}  // namespace

StatusOr<std::unique_ptr<FakeHttpsServer>> FakeHttpsServer::Start(const std::string& cert_file,
                                                                  const std::string& key_file,
                                                                  Handler handler,
                                                                  const std::string& address) {
  std::unique_ptr<FakeHttpsServer> server(new FakeHttpsServer());
  server->address_ = address;
  server->handler_ = std::move(handler);
  SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
  server->ssl_ctx_ = ctx;
  if (SSL_CTX_use_certificate_chain_file(ctx, cert_file.c_str()) != 1 ||
      SSL_CTX_use_PrivateKey_file(ctx, key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
    return InternalError(StrCat("fake server cannot load ", cert_file, " / ", key_file));
  }
  server->listen_fd_ = socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  setsockopt(server->listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  inet_pton(AF_INET, address.c_str(), &addr.sin_addr);
  addr.sin_port = 0;
  if (bind(server->listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      listen(server->listen_fd_, 16) != 0) {
    return InternalError(StrCat("fake server cannot listen on ", address));
  }
  socklen_t len = sizeof addr;
  getsockname(server->listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
  server->port_ = ntohs(addr.sin_port);
  server->acceptor_ = std::thread([raw = server.get()] { raw->AcceptLoop(); });
  return server;
}

FakeHttpsServer::~FakeHttpsServer() {
  stopping_ = true;
  if (acceptor_.joinable()) acceptor_.join();
  std::vector<std::thread> connections;
  {
    std::lock_guard<std::mutex> lock(mu_);
    connections.swap(connections_);
  }
  for (std::thread& t : connections) t.join();
  if (listen_fd_ >= 0) close(listen_fd_);
  if (ssl_ctx_ != nullptr) SSL_CTX_free(Ctx(ssl_ctx_));
}

std::string FakeHttpsServer::url() const { return StrCat("https://", address_, ":", port_); }

std::vector<FakeRequest> FakeHttpsServer::requests() const {
  std::lock_guard<std::mutex> lock(mu_);
  return requests_;
}

void FakeHttpsServer::AcceptLoop() {
  while (!stopping_) {
    pollfd pfd{listen_fd_, POLLIN, 0};
    if (poll(&pfd, 1, 50) <= 0) continue;
    const int fd = accept(listen_fd_, nullptr, nullptr);
    if (fd < 0) continue;
    std::lock_guard<std::mutex> lock(mu_);
    connections_.emplace_back([this, fd] { Serve(fd); });
  }
}

void FakeHttpsServer::Serve(int fd) {
  SSL* ssl = SSL_new(Ctx(ssl_ctx_));
  SSL_set_fd(ssl, fd);
  FakeReply reply;
  bool handled = false;
  if (SSL_accept(ssl) == 1) {
    std::string raw;
    char buffer[4096];
    size_t header_end = std::string::npos;
    while (header_end == std::string::npos) {
      const int n = SSL_read(ssl, buffer, sizeof buffer);
      if (n <= 0) break;
      raw.append(buffer, static_cast<size_t>(n));
      header_end = raw.find("\r\n\r\n");
    }
    if (header_end != std::string::npos) {
      FakeRequest request;
      const std::string head = raw.substr(0, header_end);
      const size_t line_end = head.find("\r\n");
      const std::string line = head.substr(0, line_end);
      const size_t space = line.find(' ');
      request.method = line.substr(0, space);
      request.target = line.substr(space + 1, line.rfind(' ') - space - 1);
      request.headers = line_end == std::string::npos ? "" : head.substr(line_end + 2);
      request.body = raw.substr(header_end + 4);
      const std::string lower = AsciiLower(request.headers);
      const size_t length_at = lower.find("content-length:");
      if (length_at != std::string::npos) {
        const size_t want = std::stoul(lower.substr(length_at + 15));
        while (request.body.size() < want) {
          const int n = SSL_read(ssl, buffer, sizeof buffer);
          if (n <= 0) break;
          request.body.append(buffer, static_cast<size_t>(n));
        }
      }
      {
        std::lock_guard<std::mutex> lock(mu_);
        requests_.push_back(request);
      }
      reply = handler_(request);
      handled = true;
      for (const std::string& piece : reply.pieces) {
        if (!WriteAll(ssl, piece)) break;
      }
    }
  }
  if (handled && reply.hang) {
    // Until the client goes away (read returns) or the server stops.
    while (!stopping_) {
      pollfd pfd{fd, POLLIN, 0};
      if (poll(&pfd, 1, 50) > 0) break;
    }
  }
  if (handled && !reply.abort) SSL_shutdown(ssl);
  SSL_free(ssl);
  if (handled && reply.abort) shutdown(fd, SHUT_RDWR);
  close(fd);
}

std::string FakeHttpsServer::Response(int status, const std::string& body,
                                      const std::string& extra_headers) {
  return StrCat("HTTP/1.1 ", status,
                " X\r\nContent-Type: application/json\r\nContent-Length: ", body.size(),
                "\r\nConnection: close\r\n", extra_headers, "\r\n", body);
}

std::string FakeHttpsServer::ChunkedHead(int status) {
  return StrCat("HTTP/1.1 ", status,
                " X\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n"
                "Connection: close\r\n\r\n");
}

std::string FakeHttpsServer::Chunk(const std::string& data) {
  char size[32];
  std::snprintf(size, sizeof size, "%zx\r\n", data.size());
  return StrCat(size, data, "\r\n");
}

}  // namespace zhisuan::kube::testing
