#pragma once
// TLS for the one HTTP server (http_server.h), so /metrics can be scraped over HTTPS with the
// certificate from a Secret (docs/security.md). Modern defaults only: TLS 1.2 or later, forward-
// secret AEAD ciphers for 1.2, no renegotiation, no compression. With a client CA, a certificate a
// client presents must verify against it or the handshake fails; a client may present none (the
// kubelet's probes cannot), and the routes that need one say so (RequireClientCertificate in
// http_server.h). Nothing is ever configured to skip verification.
//
// The files are read again when they change (checked at most once a second, on a new connection),
// so a Secret rotated by cert-manager takes effect without a restart; a rotation that leaves a
// broken pair is logged and the last good context kept.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "common/status.h"

struct ssl_ctx_st;  // OpenSSL's SSL_CTX
struct ssl_st;      // OpenSSL's SSL

namespace zhisuan {

struct TlsServerFiles {
  std::string cert_file;       // PEM chain, leaf first
  std::string key_file;        // PEM private key of the leaf
  std::string client_ca_file;  // optional PEM bundle that client certificates must chain to
  // Any file set: TLS is wanted, and Create() says what is missing.
  bool enabled() const {
    return !cert_file.empty() || !key_file.empty() || !client_ca_file.empty();
  }
};

// One TLS session over a non-blocking socket the caller owns.
class TlsConnection {
 public:
  enum class Io {
    kDone,       // the call completed (`n` bytes for Read and Write)
    kWantRead,   // wait until the socket is readable, then call again
    kWantWrite,  // wait until the socket is writable, then call again
    kClosed,     // the peer closed the session
    kFailed,     // a protocol or verification error
  };
  explicit TlsConnection(ssl_st* ssl);
  ~TlsConnection();
  TlsConnection(const TlsConnection&) = delete;
  TlsConnection& operator=(const TlsConnection&) = delete;

  Io Handshake();
  Io Read(char* buffer, size_t size, size_t* n);
  Io Write(std::string_view data, size_t* n);
  // After the handshake: the client presented a certificate, and it verified.
  bool PeerVerified() const;
  // Sends close_notify, once; best effort (the socket is non-blocking).
  void Close();

 private:
  Io Result(int rc);
  ssl_st* const ssl_;
};

class TlsServerContext {
 public:
  // Loads and checks the files: a certificate without a key (or the reverse), an unreadable file,
  // a key that does not match the certificate are errors that name the file.
  static StatusOr<std::shared_ptr<TlsServerContext>> Create(TlsServerFiles files);
  ~TlsServerContext();
  TlsServerContext(const TlsServerContext&) = delete;
  TlsServerContext& operator=(const TlsServerContext&) = delete;

  // A session for the accepted socket `fd`, on the current files (reloaded first if they changed).
  std::unique_ptr<TlsConnection> Accept(int fd);
  // Successful reloads since Create (for tests and the log).
  uint64_t reloads() const;

 private:
  using ContextPtr = std::shared_ptr<ssl_ctx_st>;
  TlsServerContext(TlsServerFiles files, ContextPtr context, std::string signature);
  void ReloadIfChanged();

  const TlsServerFiles files_;
  mutable std::mutex mu_;
  ContextPtr context_;
  std::string signature_;         // what the files looked like when context_ was built
  std::string failed_signature_;  // a change that did not load: not retried until the next one
  std::chrono::steady_clock::time_point next_check_;
  uint64_t reloads_ = 0;
};

}  // namespace zhisuan
