#include "tests/harness/tls_test_support.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <functional>
#include <memory>
#include <stdexcept>

#include "common/scoped_fd.h"
#include "common/strings.h"

namespace zhisuan::harness {
namespace {

template <typename T, void (*Free)(T*)>
struct Deleter {
  void operator()(T* p) const { Free(p); }
};
using KeyPtr = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY, EVP_PKEY_free>>;
using CertPtr = std::unique_ptr<X509, Deleter<X509, X509_free>>;
using ContextPtr = std::unique_ptr<SSL_CTX, Deleter<SSL_CTX, SSL_CTX_free>>;
using SslPtr = std::unique_ptr<SSL, Deleter<SSL, SSL_free>>;

std::string OpenSslError() {
  char text[256] = "unknown OpenSSL error";
  if (const unsigned long code = ERR_get_error(); code != 0) {  // NOLINT(google-runtime-int)
    ERR_error_string_n(code, text, sizeof text);
  }
  ERR_clear_error();
  return text;
}

void Require(bool ok, std::string_view what) {
  if (!ok) throw std::runtime_error(StrCat(what, ": ", OpenSslError()));
}

void AddExtension(X509* cert, int nid, const char* value) {
  X509V3_CTX context;
  X509V3_set_ctx_nodb(&context);
  X509V3_set_ctx(&context, cert, cert, nullptr, nullptr, 0);
  X509_EXTENSION* extension = X509V3_EXT_conf_nid(nullptr, &context, nid, value);
  Require(extension != nullptr, "X509V3_EXT_conf_nid");
  X509_add_ext(cert, extension, -1);
  X509_EXTENSION_free(extension);
}

void WritePem(const std::string& path, const std::function<int(FILE*)>& write) {
  FILE* file = std::fopen(path.c_str(), "w");
  if (file == nullptr) throw std::runtime_error("cannot write " + path);
  const int ok = write(file);
  std::fclose(file);
  Require(ok == 1, "PEM_write");
}

ScopedFd ConnectLoopback(int port) {
  ScopedFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) return {};
  timeval timeout{10, 0};  // a stuck server fails the test instead of hanging it
  ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  ::setsockopt(fd.get(), SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
  return fd;
}

StatusOr<ContextPtr> ClientContext(const TlsClientOptions& options) {
  ContextPtr context(SSL_CTX_new(TLS_client_method()));
  if (!context) return InternalError(OpenSslError());
  if (options.min_version != 0) SSL_CTX_set_min_proto_version(context.get(), options.min_version);
  if (options.max_version != 0) {
    // Old protocols need the library's lowest security level to be offered at all.
    SSL_CTX_set_security_level(context.get(), 0);
    SSL_CTX_set_cipher_list(context.get(), "ALL:@SECLEVEL=0");
    SSL_CTX_set_max_proto_version(context.get(), options.max_version);
  }
  if (SSL_CTX_load_verify_locations(context.get(), options.ca_file.c_str(), nullptr) != 1) {
    return InvalidArgumentError(StrCat("CA file: ", OpenSslError()));
  }
  SSL_CTX_set_verify(context.get(), SSL_VERIFY_PEER, nullptr);
  if (!options.cert_file.empty() &&
      (SSL_CTX_use_certificate_chain_file(context.get(), options.cert_file.c_str()) != 1 ||
       SSL_CTX_use_PrivateKey_file(context.get(), options.key_file.c_str(), SSL_FILETYPE_PEM) !=
           1)) {
    return InvalidArgumentError(StrCat("client certificate: ", OpenSslError()));
  }
  return context;
}

}  // namespace

TestCertificate WriteSelfSignedCertificate(const std::string& dir, const std::string& name) {
  KeyPtr key(EVP_EC_gen("P-256"));
  Require(key != nullptr, "EVP_EC_gen");
  CertPtr cert(X509_new());
  X509_set_version(cert.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), std::rand() & 0x7fffffff);  // NOLINT
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 24 * 3600);
  X509_set_pubkey(cert.get(), key.get());
  X509_NAME* subject = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(name.c_str()), -1, -1, 0);
  X509_set_issuer_name(cert.get(), subject);
  AddExtension(cert.get(), NID_basic_constraints, "critical,CA:TRUE");
  AddExtension(cert.get(), NID_key_usage, "critical,digitalSignature,keyCertSign");
  AddExtension(cert.get(), NID_ext_key_usage, "serverAuth,clientAuth");
  AddExtension(cert.get(), NID_subject_alt_name, "IP:127.0.0.1");
  AddExtension(cert.get(), NID_subject_key_identifier, "hash");
  Require(X509_sign(cert.get(), key.get(), EVP_sha256()) > 0, "X509_sign");
  TestCertificate files{dir + "/" + name + ".crt", dir + "/" + name + ".key"};
  WritePem(files.cert_file, [&](FILE* f) { return PEM_write_X509(f, cert.get()); });
  WritePem(files.key_file, [&](FILE* f) {
    return PEM_write_PrivateKey(f, key.get(), nullptr, nullptr, 0, nullptr, nullptr);
  });
  return files;
}

StatusOr<std::string> TlsExchange(int port, std::string_view raw_request,
                                  const TlsClientOptions& options) {
  ZHISUAN_ASSIGN_OR_RETURN(ContextPtr context, ClientContext(options));
  ScopedFd fd = ConnectLoopback(port);
  if (!fd.valid()) return UnavailableError("connection refused");
  SslPtr ssl(SSL_new(context.get()));
  SSL_set_fd(ssl.get(), fd.get());
  X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl.get()), "127.0.0.1");
  if (SSL_connect(ssl.get()) != 1) {
    return UnavailableError(StrCat("handshake: ", OpenSslError()));
  }
  size_t written = 0;
  if (SSL_write_ex(ssl.get(), raw_request.data(), raw_request.size(), &written) != 1) {
    return UnavailableError(StrCat("write: ", OpenSslError()));
  }
  std::string reply;
  char buffer[4096];
  size_t n = 0;
  while (SSL_read_ex(ssl.get(), buffer, sizeof buffer, &n) == 1) reply.append(buffer, n);
  // TLS 1.3 reports a refused client certificate only on the first read.
  if (reply.empty()) return UnavailableError(StrCat("read: ", OpenSslError()));
  ERR_clear_error();
  return reply;
}

int TlsGet(int port, std::string_view path, const TlsClientOptions& options, std::string_view token,
           std::string* reply) {
  std::string request =
      StrCat("GET ", path, " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n");
  if (!token.empty()) request += StrCat("Authorization: Bearer ", token, "\r\n");
  request += "\r\n";
  StatusOr<std::string> raw = TlsExchange(port, request, options);
  if (reply != nullptr) *reply = raw.ok() ? *raw : raw.status().ToString();
  if (!raw.ok() || raw->size() < 12 || !StartsWith(*raw, "HTTP/1.")) return 0;
  return std::atoi(raw->substr(9, 3).c_str());
}

}  // namespace zhisuan::harness
