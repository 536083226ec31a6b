#pragma once
// A minimal HTTP/1.1 client for the agent's and controller's own servers on 127.0.0.1, for tests
// and benchmarks. Deliberately raw (one request per connection, read to EOF): tests send malformed
// requests on purpose, and the scrape benchmark must not measure a client library's overhead.

#include <string>
#include <string_view>

namespace zhisuan::harness {

// Sends `raw_request` verbatim to 127.0.0.1:`port` and returns everything the server wrote until
// it closed the connection; empty when the connection was refused.
std::string LoopbackExchange(int port, std::string_view raw_request);

struct HttpReply {
  int status = 0;  // 0: no connection, or no status line
  std::string body;
};

// `method` `path` with "Connection: close", status and body split out.
HttpReply LoopbackRequest(int port, std::string_view method, std::string_view path);

}  // namespace zhisuan::harness
