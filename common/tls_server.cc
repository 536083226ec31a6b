#include "common/tls_server.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <sys/stat.h>

#include <cerrno>
#include <fstream>

#include "common/log.h"
#include "common/strings.h"

namespace zhisuan {
namespace {

constexpr std::chrono::seconds kReloadCheckInterval{1};
// TLS 1.2 suites with forward secrecy and AEAD only; TLS 1.3's defaults are all of that already.
constexpr char kTls12Ciphers[] =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
    "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";

// The oldest OpenSSL error on this thread's queue, which is then cleared.
std::string OpenSslError() {
  const unsigned long code = ERR_get_error();  // NOLINT(google-runtime-int): OpenSSL's type
  ERR_clear_error();
  if (code == 0) return "unknown OpenSSL error";
  char text[256];
  ERR_error_string_n(code, text, sizeof text);
  return text;
}

// A clear error for a file that is missing or unreadable, before OpenSSL's terser one.
Status CheckReadable(std::string_view what, const std::string& path) {
  std::ifstream in(path);
  if (!in) return InvalidArgumentError(StrCat(what, " \"", path, "\": ", ErrnoText(errno)));
  return OkStatus();
}

Status CheckFiles(const TlsServerFiles& files) {
  if (files.cert_file.empty() != files.key_file.empty()) {
    return InvalidArgumentError(files.cert_file.empty()
                                    ? "a TLS key file needs a certificate file"
                                    : "a TLS certificate file needs a key file");
  }
  if (files.cert_file.empty()) {
    return InvalidArgumentError("a client CA file needs a TLS certificate and key");
  }
  ZHISUAN_RETURN_IF_ERROR(CheckReadable("TLS certificate file", files.cert_file));
  ZHISUAN_RETURN_IF_ERROR(CheckReadable("TLS key file", files.key_file));
  if (!files.client_ca_file.empty()) {
    ZHISUAN_RETURN_IF_ERROR(CheckReadable("client CA file", files.client_ca_file));
  }
  return OkStatus();
}

StatusOr<std::shared_ptr<ssl_ctx_st>> BuildContext(const TlsServerFiles& files) {
  ZHISUAN_RETURN_IF_ERROR(CheckFiles(files));
  std::shared_ptr<SSL_CTX> context(SSL_CTX_new(TLS_server_method()), SSL_CTX_free);
  if (!context) return InternalError(StrCat("SSL_CTX_new: ", OpenSslError()));
  SSL_CTX* raw = context.get();
  SSL_CTX_set_min_proto_version(raw, TLS1_2_VERSION);
  SSL_CTX_set_options(raw, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION |
                               SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_TICKET);
  SSL_CTX_set_mode(raw, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  if (SSL_CTX_set_cipher_list(raw, kTls12Ciphers) != 1) {
    return InternalError(StrCat("TLS 1.2 ciphers: ", OpenSslError()));
  }
  if (SSL_CTX_use_certificate_chain_file(raw, files.cert_file.c_str()) != 1) {
    return InvalidArgumentError(
        StrCat("TLS certificate file \"", files.cert_file, "\": ", OpenSslError()));
  }
  if (SSL_CTX_use_PrivateKey_file(raw, files.key_file.c_str(), SSL_FILETYPE_PEM) != 1 ||
      SSL_CTX_check_private_key(raw) != 1) {
    if (ERR_GET_REASON(ERR_peek_error()) != X509_R_KEY_VALUES_MISMATCH) {
      return InvalidArgumentError(
          StrCat("TLS key file \"", files.key_file, "\": ", OpenSslError()));
    }
    return InvalidArgumentError(StrCat("TLS key file \"", files.key_file,
                                       "\" does not match the certificate \"", files.cert_file,
                                       "\": ", OpenSslError()));
  }
  if (!files.client_ca_file.empty()) {
    STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(files.client_ca_file.c_str());
    if (names == nullptr ||
        SSL_CTX_load_verify_locations(raw, files.client_ca_file.c_str(), nullptr) != 1) {
      if (names != nullptr) sk_X509_NAME_pop_free(names, X509_NAME_free);
      return InvalidArgumentError(StrCat("client CA file \"", files.client_ca_file,
                                         "\": no PEM certificate (", OpenSslError(), ")"));
    }
    SSL_CTX_set_client_CA_list(raw, names);  // takes ownership
    // Without FAIL_IF_NO_PEER_CERT: the kubelet's probes carry no certificate, so /healthz must
    // be reachable without one; /metrics then demands it (RequireClientCertificate).
    SSL_CTX_set_verify(raw, SSL_VERIFY_PEER, nullptr);
  }
  return context;
}

// What the files look like now: device, inode, size and change time of each, following symlinks
// (a Secret volume swaps its ..data link, which changes the inode the name resolves to).
std::string Signature(const TlsServerFiles& files) {
  std::string signature;
  for (const std::string* path : {&files.cert_file, &files.key_file, &files.client_ca_file}) {
    struct stat info {};
    if (path->empty() || ::stat(path->c_str(), &info) != 0) {
      signature += "-;";
      continue;
    }
    signature +=
        StrCat(info.st_dev, ":", info.st_ino, ":", info.st_size, ":", info.st_ctim.tv_sec, ".",
               info.st_ctim.tv_nsec, ":", info.st_mtim.tv_sec, ".", info.st_mtim.tv_nsec, ";");
  }
  return signature;
}

}  // namespace

TlsConnection::TlsConnection(ssl_st* ssl) : ssl_(ssl) {}
TlsConnection::~TlsConnection() { SSL_free(ssl_); }

TlsConnection::Io TlsConnection::Result(int rc) {
  switch (SSL_get_error(ssl_, rc)) {
    case SSL_ERROR_NONE:
      return Io::kDone;
    case SSL_ERROR_WANT_READ:
      return Io::kWantRead;
    case SSL_ERROR_WANT_WRITE:
      return Io::kWantWrite;
    case SSL_ERROR_ZERO_RETURN:
      return Io::kClosed;
    default:
      ERR_clear_error();  // the queue is per thread; leave it clean for the next connection
      return Io::kFailed;
  }
}

TlsConnection::Io TlsConnection::Handshake() {
  const int rc = SSL_accept(ssl_);
  return rc == 1 ? Io::kDone : Result(rc);
}

TlsConnection::Io TlsConnection::Read(char* buffer, size_t size, size_t* n) {
  *n = 0;
  const int rc = SSL_read_ex(ssl_, buffer, size, n);
  return rc == 1 ? Io::kDone : Result(rc);
}

TlsConnection::Io TlsConnection::Write(std::string_view data, size_t* n) {
  *n = 0;
  const int rc = SSL_write_ex(ssl_, data.data(), data.size(), n);
  return rc == 1 ? Io::kDone : Result(rc);
}

bool TlsConnection::PeerVerified() const {
  return SSL_get0_peer_certificate(ssl_) != nullptr && SSL_get_verify_result(ssl_) == X509_V_OK;
}

void TlsConnection::Close() {
  if ((SSL_get_shutdown(ssl_) & SSL_SENT_SHUTDOWN) == 0) SSL_shutdown(ssl_);
  ERR_clear_error();
}

StatusOr<std::shared_ptr<TlsServerContext>> TlsServerContext::Create(TlsServerFiles files) {
  const std::string signature = Signature(files);
  ZHISUAN_ASSIGN_OR_RETURN(ContextPtr context, BuildContext(files));
  return std::shared_ptr<TlsServerContext>(
      new TlsServerContext(std::move(files), std::move(context), signature));
}

TlsServerContext::TlsServerContext(TlsServerFiles files, ContextPtr context, std::string signature)
    : files_(std::move(files)),
      context_(std::move(context)),
      signature_(std::move(signature)),
      next_check_(std::chrono::steady_clock::now() + kReloadCheckInterval) {}

TlsServerContext::~TlsServerContext() = default;

uint64_t TlsServerContext::reloads() const {
  std::lock_guard lock(mu_);
  return reloads_;
}

void TlsServerContext::ReloadIfChanged() {
  const auto now = std::chrono::steady_clock::now();
  if (now < next_check_) return;
  next_check_ = now + kReloadCheckInterval;
  const std::string signature = Signature(files_);
  if (signature == signature_ || signature == failed_signature_) return;
  StatusOr<ContextPtr> context = BuildContext(files_);
  if (!context.ok()) {
    // A half-written rotation often settles a moment later, with a new signature.
    failed_signature_ = signature;
    ZLOG(Warning) << "TLS files changed but do not load; serving the previous ones: "
                  << context.status();
    return;
  }
  context_ = std::move(context).value();
  signature_ = signature;
  ++reloads_;
  ZLOG(Info) << "TLS certificate reloaded from " << files_.cert_file;
}

std::unique_ptr<TlsConnection> TlsServerContext::Accept(int fd) {
  ContextPtr context;
  {
    std::lock_guard lock(mu_);
    ReloadIfChanged();
    context = context_;
  }
  SSL* ssl = SSL_new(context.get());  // holds its own reference to the context
  if (ssl == nullptr) return nullptr;
  auto connection = std::make_unique<TlsConnection>(ssl);
  if (SSL_set_fd(ssl, fd) != 1) return nullptr;
  return connection;
}

}  // namespace zhisuan
