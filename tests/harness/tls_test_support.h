#pragma once
// TLS for tests of the HTTPS /metrics server: throwaway certificates made with OpenSSL's API in a
// test's own directory, and a client that always verifies the server (as a scraper would).

#include <string>
#include <string_view>

#include "common/status.h"

namespace zhisuan::harness {

struct TestCertificate {
  std::string cert_file;  // PEM, self-signed, CA:TRUE, subjectAltName IP:127.0.0.1
  std::string key_file;   // PEM, P-256
};

// Writes `dir`/`name`.crt and `dir`/`name`.key with common name `name`; a fresh key every call.
TestCertificate WriteSelfSignedCertificate(const std::string& dir, const std::string& name);

struct TlsClientOptions {
  std::string ca_file;    // the server must present a certificate this file vouches for
  std::string cert_file;  // optional client certificate
  std::string key_file;   // and its key
  int max_version = 0;    // e.g. TLS1_1_VERSION to offer only old protocols; 0: any
  int min_version = 0;    // 0: the library's default
};

// Sends `raw_request` over TLS to 127.0.0.1:`port` (the certificate must name IP 127.0.0.1) and
// returns everything the server wrote until it closed; an error when the handshake fails.
StatusOr<std::string> TlsExchange(int port, std::string_view raw_request,
                                  const TlsClientOptions& options);

// GET `path` over TLS with "Connection: close" and, unless empty, "Authorization: Bearer `token`".
// The status code (0 when the handshake failed or no status line came back).
int TlsGet(int port, std::string_view path, const TlsClientOptions& options,
           std::string_view token = "", std::string* reply = nullptr);

}  // namespace zhisuan::harness
