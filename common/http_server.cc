#include "common/http_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <system_error>

#include "common/log.h"
#include "common/strings.h"
#include "common/thread_guard.h"

namespace zhisuan {
namespace {

using Deadline = std::chrono::steady_clock::time_point;

// What the client's input is cut at when a reply is sent before the request was read whole.
constexpr size_t kMaxDrainBytes = 64 << 10;
constexpr std::chrono::milliseconds kMaxDrainTime{1000};

std::string_view ReasonPhrase(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 202:
      return "Accepted";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 408:
      return "Request Timeout";
    case 411:
      return "Length Required";
    case 413:
      return "Content Too Large";
    case 429:
      return "Too Many Requests";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 503:
      return "Service Unavailable";
    default:
      return "Status";
  }
}

HttpResponse Plain(int status, std::string body) {
  return HttpResponse{status, {}, std::move(body)};
}

std::string Serialize(const HttpResponse& response) {
  std::string reply =
      StrCat("HTTP/1.1 ", response.status, " ", ReasonPhrase(response.status), "\r\nContent-Type: ",
             response.content_type.empty() ? "text/plain; charset=utf-8" : response.content_type,
             "\r\nContent-Length: ", response.body.size(), "\r\nConnection: close\r\n");
  for (const auto& [name, value] : response.headers) reply += StrCat(name, ": ", value, "\r\n");
  reply += "\r\n";
  reply += response.body;
  return reply;
}

enum class Wait { kReady, kTimeout, kStopped };

// Waits for `events` on `fd` until `deadline`, or until the server's wake pipe says stop.
Wait WaitFor(int fd, short events, int wake_fd, Deadline deadline) {
  while (true) {
    const auto left =
        std::chrono::ceil<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return Wait::kTimeout;
    pollfd fds[2] = {{fd, events, 0}, {wake_fd, POLLIN, 0}};
    const int ready = ::poll(fds, 2, static_cast<int>(std::min<int64_t>(left.count(), 60000)));
    if (ready < 0 && errno != EINTR) return Wait::kStopped;
    if (ready <= 0) continue;
    if (fds[1].revents != 0) return Wait::kStopped;
    if (fds[0].revents != 0) return Wait::kReady;
  }
}

// The connection's bytes: the socket itself, or a TLS session over it. Every call is bounded by a
// deadline and gives up when the server's wake pipe says stop.
class Stream {
 public:
  Stream(int fd, int wake_fd, std::unique_ptr<TlsConnection> tls)
      : fd_(fd), wake_fd_(wake_fd), tls_(std::move(tls)) {}

  enum class Read { kData, kClosed, kTimeout, kStopped };

  // The TLS handshake (nothing for plain HTTP). False when it failed or did not finish in time.
  bool Handshake(Deadline deadline) {
    if (!tls_) return true;
    while (true) {
      const TlsConnection::Io io = tls_->Handshake();
      if (io == TlsConnection::Io::kDone) return true;
      if (!WaitOn(io, deadline)) return false;
    }
  }

  // Appends what arrives next to `input`.
  Read ReadSome(std::string& input, Deadline deadline) {
    char buffer[4096];
    while (true) {
      size_t n = 0;
      const TlsConnection::Io io = Receive(buffer, sizeof buffer, &n);
      if (io == TlsConnection::Io::kDone) {
        input.append(buffer, n);
        return Read::kData;
      }
      if (io == TlsConnection::Io::kClosed || io == TlsConnection::Io::kFailed) {
        return Read::kClosed;
      }
      const Wait waited = WaitFor(fd_, Events(io), wake_fd_, deadline);
      if (waited == Wait::kTimeout) return Read::kTimeout;
      if (waited == Wait::kStopped) return Read::kStopped;
    }
  }

  // Writes all of `data` by `deadline`. False when cut off.
  bool WriteAll(std::string_view data, Deadline deadline) {
    while (!data.empty()) {
      size_t n = 0;
      const TlsConnection::Io io = Send(data, &n);
      if (io == TlsConnection::Io::kDone) {
        data.remove_prefix(n);
        continue;
      }
      if (!WaitOn(io, deadline)) return false;
    }
    return true;
  }

  // Reads and discards what the client still sends, so that close() does not answer unread input
  // with a reset that can destroy the reply in flight. Bounded in bytes and time.
  void Drain() {
    if (tls_) tls_->Close();
    ::shutdown(fd_, SHUT_WR);
    const Deadline deadline = std::chrono::steady_clock::now() + kMaxDrainTime;
    char buffer[4096];
    size_t drained = 0;
    while (drained < kMaxDrainBytes) {
      const ssize_t n = ::recv(fd_, buffer, sizeof buffer, 0);
      if (n > 0) {
        drained += static_cast<size_t>(n);
        continue;
      }
      if (n == 0) return;
      if (errno == EINTR) continue;
      if ((errno != EAGAIN && errno != EWOULDBLOCK) ||
          WaitFor(fd_, POLLIN, wake_fd_, deadline) != Wait::kReady) {
        return;
      }
    }
  }

  bool PeerVerified() const { return tls_ && tls_->PeerVerified(); }

  // Ends a TLS session cleanly (close_notify) before the socket closes.
  void Close() {
    if (tls_) tls_->Close();
  }

 private:
  static short Events(TlsConnection::Io io) {
    return io == TlsConnection::Io::kWantWrite ? POLLOUT : POLLIN;
  }

  // Waits for what `io` asks for. False when the call failed or time ran out.
  bool WaitOn(TlsConnection::Io io, Deadline deadline) {
    if (io != TlsConnection::Io::kWantRead && io != TlsConnection::Io::kWantWrite) return false;
    return WaitFor(fd_, Events(io), wake_fd_, deadline) == Wait::kReady;
  }

  TlsConnection::Io Receive(char* buffer, size_t size, size_t* n) {
    if (tls_) return tls_->Read(buffer, size, n);
    while (true) {
      const ssize_t got = ::recv(fd_, buffer, size, 0);
      if (got > 0) {
        *n = static_cast<size_t>(got);
        return TlsConnection::Io::kDone;
      }
      if (got == 0) return TlsConnection::Io::kClosed;
      if (errno == EINTR) continue;
      return errno == EAGAIN || errno == EWOULDBLOCK ? TlsConnection::Io::kWantRead
                                                     : TlsConnection::Io::kFailed;
    }
  }

  TlsConnection::Io Send(std::string_view data, size_t* n) {
    if (tls_) return tls_->Write(data, n);
    while (true) {
      const ssize_t sent = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
      if (sent > 0) {
        *n = static_cast<size_t>(sent);
        return TlsConnection::Io::kDone;
      }
      if (sent < 0 && errno == EINTR) continue;
      return sent < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) ? TlsConnection::Io::kWantWrite
                                                                   : TlsConnection::Io::kFailed;
    }
  }

  const int fd_;
  const int wake_fd_;
  const std::unique_ptr<TlsConnection> tls_;
};

// Parses the request line and headers (`head` excludes the blank line). Nullopt when malformed.
std::optional<HttpRequest> ParseHead(std::string_view head) {
  const size_t line_end = std::min(head.find("\r\n"), head.size());
  const std::vector<std::string_view> parts = StrSplit(head.substr(0, line_end), ' ');
  if (parts.size() != 3 || parts[0].empty() || !StartsWith(parts[2], "HTTP/1.")) {
    return std::nullopt;
  }
  HttpRequest request;
  request.method = std::string(parts[0]);
  request.path = std::string(parts[1].substr(0, parts[1].find('?')));
  std::string_view rest = head.substr(line_end);
  while (!rest.empty()) {
    rest.remove_prefix(2);  // "\r\n"
    const size_t end = std::min(rest.find("\r\n"), rest.size());
    const std::string_view line = rest.substr(0, end);
    rest.remove_prefix(end);
    const size_t colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) return std::nullopt;
    request.headers.emplace_back(AsciiLower(line.substr(0, colon)),
                                 std::string(StripWhitespace(line.substr(colon + 1))));
  }
  return request;
}

}  // namespace

std::optional<std::string_view> HttpRequest::Header(std::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (key == name) return std::string_view(value);
  }
  return std::nullopt;
}

struct HttpServer::Connection {
  std::thread thread;
  std::atomic<bool> done{false};
};

HttpHandler RequireClientCertificate(HttpHandler handler) {
  return [handler = std::move(handler)](const HttpRequest& request) {
    if (!request.client_certificate_verified) {
      return Plain(403, "a client certificate is required\n");
    }
    return handler(request);
  };
}

StatusOr<std::pair<std::string, int>> ParseListenAddress(std::string_view address) {
  const size_t colon = address.rfind(':');
  if (colon == std::string_view::npos) {
    return InvalidArgumentError(
        StrCat("listen address \"", address, "\": expected host:port or :port"));
  }
  std::string host(address.substr(0, colon));
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  auto port = ParseInt64(address.substr(colon + 1));
  if (!port || *port < 0 || *port > 65535) {
    return InvalidArgumentError(StrCat("listen address \"", address, "\": port must be 0..65535"));
  }
  return std::make_pair(host, static_cast<int>(*port));
}

StatusOr<std::unique_ptr<HttpServer>> HttpServer::Create(const std::string& address,
                                                         HttpServerOptions options) {
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
        StrCat("listen address \"", address, "\": ", rc != 0 ? gai_strerror(rc) : "no address"));
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
    return UnavailableError(StrCat("listen address \"", address, "\": ", ErrnoText(error)));
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
  options.max_connections = std::max<size_t>(options.max_connections, 1);
  return std::unique_ptr<HttpServer>(new HttpServer(std::move(fd), bound_port, ScopedFd(wake[0]),
                                                    ScopedFd(wake[1]), std::move(options)));
}

HttpServer::HttpServer(ScopedFd listen_fd, int port, ScopedFd wake_read, ScopedFd wake_write,
                       HttpServerOptions options)
    : listen_fd_(std::move(listen_fd)),
      port_(port),
      wake_read_(std::move(wake_read)),
      wake_write_(std::move(wake_write)),
      options_(std::move(options)) {}

// The descriptors close after Stop() has joined every thread that polls them.
HttpServer::~HttpServer() { Stop(); }

void HttpServer::Handle(std::string method, std::string path, HttpHandler handler) {
  handlers_[{std::move(method), std::move(path)}] = std::move(handler);
}

void HttpServer::Start() {
  thread_ = std::thread([this] { RunGuarded(options_.thread_name, [this] { AcceptLoop(); }); });
}

void HttpServer::Stop() {
  if (!thread_.joinable()) return;
  // The pipe stays readable once written, so the accept thread and every connection see it.
  const char byte = 1;
  (void)!::write(wake_write_.get(), &byte, 1);
  thread_.join();
  for (auto& connection : connections_) connection->thread.join();
  connections_.clear();
}

void HttpServer::ReapFinished() {
  for (auto it = connections_.begin(); it != connections_.end();) {
    if ((*it)->done.load()) {
      (*it)->thread.join();
      it = connections_.erase(it);
    } else {
      ++it;
    }
  }
}

void HttpServer::AcceptLoop() {
  while (true) {
    pollfd fds[2] = {{listen_fd_.get(), POLLIN, 0}, {wake_read_.get(), POLLIN, 0}};
    // Wakes once a second without traffic, so finished connection threads are joined promptly.
    const int ready = ::poll(fds, 2, 1000);
    if (ready < 0) {
      if (errno == EINTR) continue;
      ZLOG(Error) << "http: poll: " << ErrnoText(errno);
      return;
    }
    ReapFinished();
    if (fds[1].revents != 0) return;
    if ((fds[0].revents & POLLIN) == 0) continue;
    ScopedFd connection(
        ::accept4(listen_fd_.get(), nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK));
    if (!connection.valid()) {
      if (errno != EINTR && errno != EAGAIN) ++errors_;
      continue;
    }
    if (connections_.size() < options_.max_connections) {
      auto entry = std::make_unique<Connection>();
      Connection* raw = entry.get();
      try {
        raw->thread = std::thread([this, raw, fd = std::move(connection)]() mutable {
          RunGuarded(options_.thread_name, [&] { Serve(fd.get()); });
          fd.reset();
          raw->done.store(true);
        });
        connections_.push_back(std::move(entry));
        continue;
      } catch (const std::system_error& error) {
        ++errors_;  // the connection closed with the lambda that owned it
        ZLOG(Warning) << "http: cannot start a connection thread: " << error.what();
        continue;
      }
    }
    // Over the cap: answer at once and close, never queue behind the connections being served.
    ++rejected_;
    ++errors_;
    const std::string reply = Serialize(Plain(503, "too many connections\n"));
    (void)!::send(connection.get(), reply.data(), reply.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    ::shutdown(connection.get(), SHUT_WR);
    char buffer[4096];
    while (::recv(connection.get(), buffer, sizeof buffer, MSG_DONTWAIT) > 0) {
    }
  }
}

HttpResponse HttpServer::Dispatch(HttpRequest request) const {
  auto it = handlers_.find({request.method, request.path});
  if (it != handlers_.end()) return it->second(request);
  const bool path_known = std::any_of(handlers_.begin(), handlers_.end(), [&](const auto& entry) {
    return entry.first.second == request.path;
  });
  return path_known ? Plain(405, "method not allowed\n") : Plain(404, "not found\n");
}

void HttpServer::Serve(int fd) {
  const int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  const Deadline read_deadline = std::chrono::steady_clock::now() + options_.request_deadline;
  std::unique_ptr<TlsConnection> tls;
  if (options_.tls) {
    tls = options_.tls->Accept(fd);
    if (!tls) {
      ++errors_;
      return;
    }
  }
  Stream stream(fd, wake_read_.get(), std::move(tls));
  // A failed handshake (plain HTTP on the TLS port, no client certificate, an old protocol) gets
  // no reply: there is no channel to write one on.
  if (!stream.Handshake(read_deadline)) {
    ++errors_;
    return;
  }
  std::string input;
  size_t header_end = std::string::npos;
  size_t wanted = 0;  // the whole request's size, once the headers are parsed
  std::optional<HttpRequest> request;
  std::optional<HttpResponse> refusal;
  while (!refusal) {
    if (!request) {
      header_end = input.find("\r\n\r\n");
      if (header_end == std::string::npos && input.size() > options_.max_header_bytes) {
        refusal = Plain(431, "request headers too large\n");
        break;
      }
      if (header_end != std::string::npos) {
        if (header_end > options_.max_header_bytes) {
          refusal = Plain(431, "request headers too large\n");
          break;
        }
        request = ParseHead(std::string_view(input).substr(0, header_end));
        if (!request) {
          refusal = Plain(400, "malformed request\n");
          break;
        }
        if (request->Header("transfer-encoding")) {
          refusal = Plain(411, "a body needs Content-Length\n");
          break;
        }
        std::optional<uint64_t> length = 0;
        if (auto text = request->Header("content-length")) length = ParseUint64(*text);
        if (!length) {
          refusal = Plain(400, "malformed Content-Length\n");
          break;
        }
        if (*length > options_.max_body_bytes) {
          refusal = Plain(413, "request body too large\n");
          break;
        }
        wanted = header_end + 4 + *length;
      }
    }
    if (request && input.size() >= wanted) break;
    const Stream::Read read = stream.ReadSome(input, read_deadline);
    if (read == Stream::Read::kStopped) return;
    if (read == Stream::Read::kTimeout) {
      refusal = Plain(408, "request not received in time\n");
      break;
    }
    if (read == Stream::Read::kClosed) {
      ++errors_;  // the client went away mid-request
      return;
    }
  }
  HttpResponse response;
  if (refusal) {
    ++errors_;
    response = std::move(*refusal);
  } else {
    request->body = input.substr(header_end + 4, wanted - header_end - 4);
    request->client_certificate_verified = stream.PeerVerified();
    response = Dispatch(std::move(*request));
  }
  const Deadline write_deadline = std::chrono::steady_clock::now() + options_.request_deadline;
  if (!stream.WriteAll(Serialize(response), write_deadline)) {
    ++errors_;
    return;
  }
  if (refusal || input.size() > wanted) {
    stream.Drain();
  } else {
    stream.Close();
  }
}

}  // namespace zhisuan
