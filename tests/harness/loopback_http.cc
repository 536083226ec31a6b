#include "tests/harness/loopback_http.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>

#include "common/strings.h"

namespace zhisuan::harness {

std::string LoopbackExchange(int port, std::string_view raw_request) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return "";
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    ::close(fd);
    return "";
  }
  size_t sent = 0;
  while (sent < raw_request.size()) {
    const ssize_t n = ::send(fd, raw_request.data() + sent, raw_request.size() - sent, 0);
    if (n <= 0) break;
    sent += static_cast<size_t>(n);
  }
  std::string response;
  char buffer[65536];
  ssize_t n;
  while ((n = ::recv(fd, buffer, sizeof buffer, 0)) > 0) {
    response.append(buffer, static_cast<size_t>(n));
  }
  ::close(fd);
  return response;
}

HttpReply LoopbackRequest(int port, std::string_view method, std::string_view path) {
  // Connection: close makes every server (ours, node_exporter's Go server) end the response by
  // closing, so reading to EOF is the whole reply.
  const std::string response = LoopbackExchange(
      port, StrCat(method, " ", path, " HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"));
  HttpReply reply;
  // "HTTP/1.1 200 OK": the status code is bytes 9..11.
  if (response.size() >= 12 && StartsWith(response, "HTTP/1.")) {
    reply.status = std::atoi(response.substr(9, 3).c_str());
  }
  const size_t body = response.find("\r\n\r\n");
  if (body != std::string::npos) reply.body = response.substr(body + 4);
  return reply;
}

}  // namespace zhisuan::harness
