#include "agent/metrics/http_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/log.h"
#include "common/strings.h"
#include "common/thread_guard.h"

namespace zhisuan::agent {
namespace {

constexpr size_t kMaxRequestBytes = 8 << 10;

std::string_view ReasonPhrase(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 202:
      return "Accepted";
    case 400:
      return "Bad Request";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 503:
      return "Service Unavailable";
    default:
      return "Status";
  }
}

void WriteAll(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n <= 0) {
      if (n < 0 && errno == EINTR) continue;
      return;
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
}

}  // namespace

StatusOr<std::pair<std::string, int>> ParseListenAddress(std::string_view address) {
  const size_t colon = address.rfind(':');
  if (colon == std::string_view::npos) {
    return InvalidArgumentError(
        StrCat("--listen-address \"", address, "\": expected host:port or :port"));
  }
  std::string host(address.substr(0, colon));
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  auto port = ParseInt64(address.substr(colon + 1));
  if (!port || *port < 0 || *port > 65535) {
    return InvalidArgumentError(
        StrCat("--listen-address \"", address, "\": port must be 0..65535"));
  }
  return std::make_pair(host, static_cast<int>(*port));
}

StatusOr<std::unique_ptr<HttpServer>> HttpServer::Create(const std::string& address) {
  ZHISUAN_ASSIGN_OR_RETURN(auto host_port, ParseListenAddress(address));
  auto [host, port] = host_port;
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* resolved = nullptr;
  const std::string port_text = StrCat(port);
  const int rc =
      getaddrinfo(host.empty() ? nullptr : host.c_str(), port_text.c_str(), &hints, &resolved);
  if (rc != 0 || resolved == nullptr) {
    return InvalidArgumentError(
        StrCat("--listen-address \"", address, "\": ", rc != 0 ? gai_strerror(rc) : "no address"));
  }
  // Prefer IPv4 for the wildcard so ":9400" works on hosts without IPv6.
  addrinfo* chosen = resolved;
  for (addrinfo* it = resolved; it != nullptr; it = it->ai_next) {
    if (it->ai_family == AF_INET) {
      chosen = it;
      break;
    }
  }
  if (chosen == nullptr) return InvalidArgumentError("no address");  // for the analyser
  ScopedFd fd(::socket(chosen->ai_family, chosen->ai_socktype | SOCK_CLOEXEC, 0));
  if (!fd.valid()) {
    freeaddrinfo(resolved);
    return UnavailableError(StrCat("socket: ", ErrnoText(errno)));
  }
  const int one = 1;
  ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (::bind(fd.get(), chosen->ai_addr, chosen->ai_addrlen) != 0 || ::listen(fd.get(), 64) != 0) {
    const int error = errno;
    freeaddrinfo(resolved);
    return UnavailableError(StrCat("--listen-address \"", address, "\": ", ErrnoText(error)));
  }
  freeaddrinfo(resolved);
  sockaddr_storage bound{};
  socklen_t length = sizeof bound;
  ::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&bound), &length);
  const int bound_port = bound.ss_family == AF_INET6
                             ? ntohs(reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port)
                             : ntohs(reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
  int wake[2];
  if (::pipe2(wake, O_CLOEXEC | O_NONBLOCK) != 0) {
    return UnavailableError(StrCat("pipe: ", ErrnoText(errno)));
  }
  return std::unique_ptr<HttpServer>(
      new HttpServer(std::move(fd), bound_port, ScopedFd(wake[0]), ScopedFd(wake[1])));
}

HttpServer::HttpServer(ScopedFd listen_fd, int port, ScopedFd wake_read, ScopedFd wake_write)
    : listen_fd_(std::move(listen_fd)),
      port_(port),
      wake_read_(std::move(wake_read)),
      wake_write_(std::move(wake_write)) {}

// The descriptors close after Stop() has joined the thread that polls them.
HttpServer::~HttpServer() { Stop(); }

void HttpServer::Handle(std::string method, std::string path, HttpHandler handler) {
  handlers_[{std::move(method), std::move(path)}] = std::move(handler);
}

void HttpServer::Start() {
  thread_ = std::thread([this] { RunGuarded("metrics-http", [this] { Loop(); }); });
}

void HttpServer::Stop() {
  if (!thread_.joinable()) return;
  const char byte = 1;
  (void)!::write(wake_write_.get(), &byte, 1);
  thread_.join();
}

void HttpServer::Loop() {
  while (true) {
    pollfd fds[2] = {{listen_fd_.get(), POLLIN, 0}, {wake_read_.get(), POLLIN, 0}};
    const int ready = ::poll(fds, 2, -1);
    if (ready < 0) {
      if (errno == EINTR) continue;
      ZLOG(Error) << "http: poll: " << ErrnoText(errno);
      return;
    }
    if (fds[1].revents != 0) return;
    if ((fds[0].revents & POLLIN) == 0) continue;
    const ScopedFd connection(::accept4(listen_fd_.get(), nullptr, nullptr, SOCK_CLOEXEC));
    if (!connection.valid()) {
      if (errno != EINTR && errno != EAGAIN) ++errors_;
      continue;
    }
    Serve(connection.get());
  }
}

void HttpServer::Serve(int fd) {
  timeval timeout{2, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
  const int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  std::string request;
  size_t header_end = std::string::npos;
  char buffer[2048];
  while (header_end == std::string::npos) {
    const ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
    if (n <= 0) {
      if (n < 0 && errno == EINTR) continue;
      ++errors_;
      return;
    }
    request.append(buffer, static_cast<size_t>(n));
    header_end = request.find("\r\n\r\n");
    if (request.size() > kMaxRequestBytes) break;
  }
  HttpResponse response;
  if (header_end == std::string::npos) {
    ++errors_;
    response = {400, "text/plain; charset=utf-8", "request too large\n"};
  } else {
    const std::string_view head(request.data(), header_end);
    const size_t line_end = head.find("\r\n");
    const std::vector<std::string_view> parts = StrSplit(head.substr(0, line_end), ' ');
    if (parts.size() != 3) {
      ++errors_;
      response = {400, "text/plain; charset=utf-8", "malformed request line\n"};
    } else {
      std::string path(parts[1]);
      if (const size_t query = path.find('?'); query != std::string::npos) path.resize(query);
      // Bodies are not needed by any route; what arrived with the headers is passed on.
      const std::string body = request.substr(header_end + 4);
      auto it = handlers_.find({std::string(parts[0]), path});
      if (it != handlers_.end()) {
        response = it->second(body);
      } else {
        bool path_known = false;
        for (const auto& [key, handler] : handlers_) path_known |= key.second == path;
        response = path_known
                       ? HttpResponse{405, "text/plain; charset=utf-8", "method not allowed\n"}
                       : HttpResponse{404, "text/plain; charset=utf-8", "not found\n"};
      }
    }
  }
  std::string reply =
      StrCat("HTTP/1.1 ", response.status, " ", ReasonPhrase(response.status),
             "\r\nContent-Type: ", response.content_type,
             "\r\nContent-Length: ", response.body.size(), "\r\nConnection: close\r\n\r\n");
  reply += response.body;
  WriteAll(fd, reply);
  if (header_end == std::string::npos) {
    // Unread input makes close() send a reset that can destroy the reply in flight; finish
    // writing, then drain what the client still sends (bounded by the receive timeout).
    ::shutdown(fd, SHUT_WR);
    for (int i = 0; i < 64 && ::recv(fd, buffer, sizeof buffer, 0) > 0; ++i) {
    }
  }
}

}  // namespace zhisuan::agent
