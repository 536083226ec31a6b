#include "kube/rest_client.h"

#include <arpa/inet.h>
#include <cpprest/http_client.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <atomic>
#include <deque>
#include <exception>
#include <memory>
#include <mutex>
#include <system_error>
#include <thread>

#include "common/log.h"
#include "common/strings.h"
#include "kube/backoff.h"
#include "kube/bearer_token.h"
#include "kube/bounded_json.h"
#include "kube/errors.h"
#include "kube/rate_limiter.h"
#include "kube/resource_path.h"
#include "kube/retry.h"
#include "kube/watch_decoder.h"

namespace zhisuan::kube {
namespace {

using web::http::http_request;
using web::http::http_response;
using web::http::client::http_client;
using web::http::client::http_client_config;
using BodyBuffer = concurrency::streams::streambuf<uint8_t>;

// ---------------------------------------------------------------------------------------------
// TLS

// Why the last certificate verification failed. cpprestsdk reports a failed handshake only as
// "Error in SSL handshake"; OpenSSL knows the reason, so a verify hook records it here.
class TlsFailureLog {
 public:
  void Record(std::string reason) {
    std::lock_guard<std::mutex> lock(mu_);
    last_ = std::move(reason);
    ++generation_;
  }
  uint64_t Generation() const {
    std::lock_guard<std::mutex> lock(mu_);
    return generation_;
  }
  std::string Last() const {
    std::lock_guard<std::mutex> lock(mu_);
    return last_;
  }

 private:
  mutable std::mutex mu_;
  std::string last_;
  uint64_t generation_ = 0;
};
using TlsFailureLogPtr = std::shared_ptr<TlsFailureLog>;

// The log travels with each SSL_CTX (cpprestsdk makes one per connection) as ex_data, freed with
// it.
void FreeTlsFailureLog(void* /*parent*/, void* ptr, CRYPTO_EX_DATA* /*ad*/, int /*idx*/,
                       long /*argl*/, void* /*argp*/) {  // NOLINT(runtime/int): OpenSSL's type
  delete static_cast<TlsFailureLogPtr*>(ptr);
}

int TlsFailureLogIndex() {
  static const int index =
      SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, &FreeTlsFailureLog);
  return index;
}

// Runs OpenSSL's normal chain and host verification, remembering why it failed.
int VerifyAndRecord(X509_STORE_CTX* store, void* /*arg*/) {
  const int verified = X509_verify_cert(store);
  if (verified > 0) return verified;
  auto* ssl =
      static_cast<SSL*>(X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx()));
  if (ssl == nullptr) return verified;
  auto* log = static_cast<TlsFailureLogPtr*>(
      SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), TlsFailureLogIndex()));
  const int error = X509_STORE_CTX_get_error(store);
  if (log != nullptr && *log != nullptr) {
    (*log)->Record(error == X509_V_OK ? "the server certificate does not match the server address"
                                      : X509_verify_cert_error_string(error));
  }
  return verified;
}

struct TlsSettings {
  std::string ca_pem;
  std::string client_cert_pem;
  std::string client_key_pem;
  std::string host;  // without brackets
  bool host_is_ip = false;
  bool insecure = false;
  TlsFailureLogPtr failures = std::make_shared<TlsFailureLog>();
};

struct BioDeleter {
  void operator()(BIO* bio) const { BIO_free(bio); }
};
struct X509Deleter {
  void operator()(X509* cert) const { X509_free(cert); }
};
struct PkeyDeleter {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};
using BioPtr = std::unique_ptr<BIO, BioDeleter>;
using X509Ptr = std::unique_ptr<X509, X509Deleter>;
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyDeleter>;

BioPtr MemoryBio(const std::string& pem) {
  return BioPtr(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
}

std::vector<X509Ptr> ReadCertificates(const std::string& pem) {
  std::vector<X509Ptr> certs;
  BioPtr bio = MemoryBio(pem);
  while (bio != nullptr) {
    X509Ptr cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
    if (cert == nullptr) break;
    certs.push_back(std::move(cert));
  }
  ERR_clear_error();  // reading past the last certificate leaves "no start line" queued
  return certs;
}

Status ValidateTls(const TlsSettings& tls) {
  if (!tls.ca_pem.empty() && ReadCertificates(tls.ca_pem).empty()) {
    return InvalidArgumentError("certificate authority data holds no PEM certificate");
  }
  if (tls.client_cert_pem.empty()) return OkStatus();
  std::vector<X509Ptr> chain = ReadCertificates(tls.client_cert_pem);
  if (chain.empty()) {
    return InvalidArgumentError("client certificate data is not a PEM certificate");
  }
  BioPtr bio = MemoryBio(tls.client_key_pem);
  PkeyPtr key(bio ? PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr) : nullptr);
  ERR_clear_error();
  if (key == nullptr) return InvalidArgumentError("client key data is not a PEM private key");
  if (X509_check_private_key(chain.front().get(), key.get()) != 1) {
    ERR_clear_error();
    return InvalidArgumentError("client key does not match the client certificate");
  }
  return OkStatus();
}

// Called by cpprestsdk for each new connection's context.
void ConfigureTlsContext(const TlsSettings& tls, boost::asio::ssl::context& context) {
  SSL_CTX* native = context.native_handle();
  SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION);
  if (!tls.insecure) {
    if (!tls.ca_pem.empty()) {
      // The configured CA is the only root, as in client-go: the system store must not vouch for
      // an API server.
      X509_STORE* store = X509_STORE_new();
      for (const X509Ptr& cert : ReadCertificates(tls.ca_pem)) {
        X509_STORE_add_cert(store, cert.get());
      }
      SSL_CTX_set_cert_store(native, store);
    }
    X509_VERIFY_PARAM* param = SSL_CTX_get0_param(native);
    if (tls.host_is_ip) {
      X509_VERIFY_PARAM_set1_ip_asc(param, tls.host.c_str());
    } else {
      X509_VERIFY_PARAM_set1_host(param, tls.host.c_str(), tls.host.size());
    }
    SSL_CTX_set_cert_verify_callback(native, &VerifyAndRecord, nullptr);
    SSL_CTX_set_ex_data(native, TlsFailureLogIndex(), new TlsFailureLogPtr(tls.failures));
  }
  if (!tls.client_cert_pem.empty()) {
    context.use_certificate_chain(
        boost::asio::buffer(tls.client_cert_pem.data(), tls.client_cert_pem.size()));
    context.use_private_key(
        boost::asio::buffer(tls.client_key_pem.data(), tls.client_key_pem.size()),
        boost::asio::ssl::context::pem);
  }
}

bool IsIpAddress(const std::string& host) {
  unsigned char buffer[sizeof(in6_addr)];
  return inet_pton(AF_INET, host.c_str(), buffer) == 1 ||
         inet_pton(AF_INET6, host.c_str(), buffer) == 1;
}

// ---------------------------------------------------------------------------------------------
// HTTP plumbing

struct RequestSpec {
  RequestSpec(std::string method_in, std::string path_in,
              std::optional<std::string> body_in = std::nullopt,
              std::string content_type_in = "application/json")
      : method(std::move(method_in)),
        path_and_query(std::move(path_in)),
        body(std::move(body_in)),
        content_type(std::move(content_type_in)) {}

  std::string method;
  std::string path_and_query;
  std::optional<std::string> body;
  std::string content_type;
  // Safe to send twice (see kube/retry.h).
  bool idempotent = true;
  // Whether a 429 is waited out and retried here. Not for evictions: their 429 is a
  // PodDisruptionBudget's "not now" (Retry-After 10 s), which the caller asks again about later
  // rather than blocking a worker for every attempt.
  bool retry_too_many_requests = true;
};

struct HttpResult {
  int status = 0;
  std::string body;
  std::optional<std::chrono::seconds> retry_after;
};

// Blocks until at least one byte of the body is available; "" at its end. Throws what the body
// stream throws (a connection that broke mid-body).
std::string ReadSome(BodyBuffer& buffer, size_t max_bytes) {
  std::string out;
  size_t available = buffer.in_avail();
  if (available == 0) {
    // bumpc completes on a single byte; getn would wait for the whole count.
    const auto byte = buffer.bumpc().get();
    if (byte == concurrency::streams::char_traits<uint8_t>::eof()) return out;
    out.push_back(static_cast<char>(byte));
    available = buffer.in_avail();
  }
  const size_t take = std::min(available, max_bytes);
  if (take > 0) {
    const size_t start = out.size();
    out.resize(start + take);
    const size_t got = buffer.getn(reinterpret_cast<uint8_t*>(out.data() + start), take).get();
    out.resize(start + got);
  }
  return out;
}

std::optional<std::chrono::seconds> RetryAfter(const http_response& response) {
  auto it = response.headers().find("Retry-After");
  if (it == response.headers().end()) return std::nullopt;
  std::optional<int64_t> seconds = ParseInt64(StripWhitespace(it->second));
  if (!seconds || *seconds < 0) return std::nullopt;
  return std::chrono::seconds(*seconds);
}

bool FailedBeforeSending(std::string_view what) {
  // cpprestsdk's messages for the stages before any request byte is written.
  return what.find("connect") != std::string_view::npos ||
         what.find("resolv") != std::string_view::npos ||
         what.find("SSL handshake") != std::string_view::npos;
}

// ---------------------------------------------------------------------------------------------
// Watch

class RestWatchStream final : public WatchStream {
 public:
  RestWatchStream(std::shared_ptr<http_client> client, http_response response,
                  std::shared_ptr<pplx::cancellation_token_source> cancel, std::string what)
      : client_(std::move(client)),
        response_(std::move(response)),
        body_(response_.body().streambuf()),
        cancel_(std::move(cancel)),
        what_(std::move(what)) {}

  ~RestWatchStream() override { Cancel(); }

  StatusOr<std::optional<WatchEvent>> Next() override {
    std::lock_guard<std::mutex> lock(next_mu_);
    while (true) {
      if (!ready_.empty()) {
        StatusOr<WatchEvent> front = std::move(ready_.front());
        ready_.pop_front();
        if (!front.ok()) return Fail(front.status().Annotate(what_));
        return std::optional<WatchEvent>(std::move(*front));
      }
      if (cancelled_) return CancelledError(StrCat(what_, ": watch cancelled"));
      if (!final_.ok()) return final_;
      if (ended_) return std::optional<WatchEvent>();
      std::string chunk;
      try {
        chunk = ReadSome(body_, size_t{1} << 20);
        if (chunk.empty() && body_.exception() != nullptr) {
          std::rethrow_exception(body_.exception());
        }
      } catch (const std::exception& e) {
        if (cancelled_) return CancelledError(StrCat(what_, ": watch cancelled"));
        return Fail(UnavailableError(StrCat(what_, ": watch stream broke: ", e.what())));
      }
      if (chunk.empty()) {
        if (cancelled_) return CancelledError(StrCat(what_, ": watch cancelled"));
        ended_ = true;
        for (auto& event : decoder_.Finish()) ready_.push_back(std::move(event));
        continue;
      }
      for (auto& event : decoder_.Feed(chunk)) ready_.push_back(std::move(event));
    }
  }

  void Cancel() override {
    if (cancelled_.exchange(true)) return;
    // Closes the connection under the blocked read, which then completes with an error.
    cancel_->cancel();
  }

 private:
  Status Fail(Status status) {
    final_ = status;
    ready_.clear();
    return status;
  }

  std::shared_ptr<http_client> client_;
  http_response response_;
  BodyBuffer body_;
  std::shared_ptr<pplx::cancellation_token_source> cancel_;
  const std::string what_;
  std::mutex next_mu_;
  std::atomic<bool> cancelled_{false};
  WatchFrameDecoder decoder_;
  std::deque<StatusOr<WatchEvent>> ready_;
  Status final_;
  bool ended_ = false;
};

// ---------------------------------------------------------------------------------------------
// The client

class RestClient final : public ApiClient {
 public:
  RestClient(ClientConfig config, std::shared_ptr<TlsSettings> tls, web::uri base,
             const ClockPtr& clock)
      : config_(std::move(config)),
        tls_(std::move(tls)),
        base_(std::move(base)),
        limiter_(config_.qps, config_.burst, clock),
        token_(config_.bearer_token, config_.token_file, MakeRootedFileReader(""), clock) {
    client_ = MakeHttpClient(config_.request_timeout);
  }

  StatusOr<Json> Get(const ResourceType& type, std::string_view ns,
                     std::string_view name) override {
    ZHISUAN_RETURN_IF_ERROR(RequireName(type, name));
    ZHISUAN_ASSIGN_OR_RETURN(std::string path, ResourcePath(type, ns, name));
    return DoJson({"GET", path});
  }

  StatusOr<ObjectList> List(const ResourceType& type, std::string_view ns,
                            const ListOptions& options) override {
    ZHISUAN_ASSIGN_OR_RETURN(std::string path, ResourcePath(type, ns, ""));
    ZHISUAN_ASSIGN_OR_RETURN(Json list, DoJson({"GET", path + ListQuery(options, false)}));
    ObjectList out;
    const Json& metadata = list.contains("metadata") ? list["metadata"] : Json::object();
    if (metadata.is_object()) {
      out.resource_version = metadata.value("resourceVersion", "");
      out.continue_token = metadata.value("continue", "");
    }
    auto items = list.find("items");
    if (items != list.end() && items->is_array()) {
      out.items.reserve(items->size());
      for (Json& item : *items) {
        // List items arrive without kind and apiVersion; callers expect whole objects.
        if (item.is_object()) {
          if (!item.contains("kind")) item["kind"] = type.kind;
          if (!item.contains("apiVersion")) item["apiVersion"] = type.ApiVersion();
        }
        out.items.push_back(std::move(item));
      }
    } else if (items != list.end() && !items->is_null()) {
      return DataLossError(StrCat("GET ", path, ": list response has a non-array \"items\""));
    }
    return out;
  }

  StatusOr<Json> Create(const ResourceType& type, std::string_view ns,
                        const Json& object) override {
    ZHISUAN_ASSIGN_OR_RETURN(std::string path, ResourcePath(type, ns, ""));
    RequestSpec spec{"POST", path, object.dump()};
    spec.idempotent = false;
    return DoJson(spec);
  }

  StatusOr<Json> CreateSubresource(const ResourceType& type, std::string_view ns,
                                   std::string_view name, std::string_view subresource,
                                   const Json& object) override {
    ZHISUAN_RETURN_IF_ERROR(RequireName(type, name));
    ZHISUAN_ASSIGN_OR_RETURN(std::string path, ResourcePath(type, ns, name, subresource));
    RequestSpec spec{"POST", path, object.dump()};
    spec.idempotent = false;
    spec.retry_too_many_requests = subresource != "eviction";
    return DoJson(spec);
  }

  StatusOr<Json> Update(const ResourceType& type, const Json& object) override {
    return Put(type, object, "");
  }

  StatusOr<Json> UpdateStatus(const ResourceType& type, const Json& object) override {
    return Put(type, object, "status");
  }

  Status Delete(const ResourceType& type, std::string_view ns, std::string_view name,
                const DeleteOptions& options) override {
    ZHISUAN_RETURN_IF_ERROR(RequireName(type, name));
    ZHISUAN_ASSIGN_OR_RETURN(std::string path, ResourcePath(type, ns, name));
    RequestSpec spec{"DELETE", path};
    if (!options.precondition_uid.empty() || !options.precondition_resource_version.empty()) {
      Json preconditions = Json::object();
      if (!options.precondition_uid.empty()) preconditions["uid"] = options.precondition_uid;
      if (!options.precondition_resource_version.empty()) {
        preconditions["resourceVersion"] = options.precondition_resource_version;
      }
      spec.body =
          Json{{"kind", "DeleteOptions"}, {"apiVersion", "v1"}, {"preconditions", preconditions}}
              .dump();
    }
    return Do(spec).status();
  }

  StatusOr<Json> Patch(const ResourceType& type, std::string_view ns, std::string_view name,
                       PatchType patch_type, const Json& patch,
                       const PatchOptions& options) override {
    if (patch_type == PatchType::kApply && options.field_manager.empty()) {
      return InvalidArgumentError("server-side apply needs a field manager");
    }
    ZHISUAN_RETURN_IF_ERROR(RequireName(type, name));
    ZHISUAN_ASSIGN_OR_RETURN(std::string path, ResourcePath(type, ns, name, options.subresource));
    std::vector<std::string> query;
    if (!options.field_manager.empty()) {
      query.push_back(StrCat("fieldManager=", PercentEncode(options.field_manager)));
    }
    if (patch_type == PatchType::kApply && options.force) query.push_back("force=true");
    if (!query.empty()) path = StrCat(path, "?", StrJoin(query, "&"));
    // JSON is YAML, so an apply patch is sent as JSON under the apply content type.
    RequestSpec spec{"PATCH", path, patch.dump(), PatchContentType(patch_type)};
    spec.idempotent = patch_type == PatchType::kApply || patch_type == PatchType::kMerge;
    return DoJson(spec);
  }

  StatusOr<WatchStreamPtr> Watch(const ResourceType& type, std::string_view ns,
                                 const ListOptions& options) override {
    ZHISUAN_ASSIGN_OR_RETURN(std::string path, ResourcePath(type, ns, ""));
    path += ListQuery(options, true);
    // cpprestsdk's timeout is an inactivity timeout; a watch may be quiet until the server ends it
    // (timeoutSeconds, or up to an hour by default), so it gets its own client and a margin.
    const std::chrono::seconds server_end(options.timeout_seconds > 0 ? options.timeout_seconds
                                                                      : 3600);
    auto client =
        MakeHttpClient(std::max(config_.request_timeout, server_end + std::chrono::seconds(30)));
    auto cancel = std::make_shared<pplx::cancellation_token_source>();
    const RequestSpec spec("GET", path);
    // One attempt: a watch that cannot start is the informer's to retry, with its own backoff.
    limiter_.Wait();
    ZHISUAN_ASSIGN_OR_RETURN(http_response response, Send(*client, spec, cancel));
    if (response.status_code() < 200 || response.status_code() >= 300) {
      AttemptOutcome outcome;
      StatusOr<HttpResult> failed = ReadResponse(response, spec, cancel, outcome);
      if (!failed.ok()) return failed.status();
      return StatusFromResponse(failed->status, failed->body);
    }
    return WatchStreamPtr(std::make_unique<RestWatchStream>(
        std::move(client), std::move(response), std::move(cancel), StrCat("WATCH ", path)));
  }

 private:
  // An empty name would silently turn a Get into a List of the whole collection.
  static Status RequireName(const ResourceType& type, std::string_view name) {
    if (!name.empty()) return OkStatus();
    return InvalidArgumentError(StrCat(type.resource, ": object name is empty"));
  }

  StatusOr<Json> Put(const ResourceType& type, const Json& object, std::string_view subresource) {
    if (!object.is_object() || !object.contains("metadata") || !object["metadata"].is_object()) {
      return InvalidArgumentError(StrCat("update of ", type.resource, ": object has no metadata"));
    }
    const Json& metadata = object["metadata"];
    const std::string name = metadata.value("name", "");
    const std::string ns = metadata.value("namespace", "");
    if (name.empty()) {
      return InvalidArgumentError(StrCat("update of ", type.resource, ": metadata.name is empty"));
    }
    ZHISUAN_ASSIGN_OR_RETURN(std::string path, ResourcePath(type, ns, name, subresource));
    return DoJson({"PUT", path, object.dump()});
  }

  std::shared_ptr<http_client> MakeHttpClient(std::chrono::seconds timeout) const {
    http_client_config config;
    config.set_timeout(timeout);
    config.set_validate_certificates(!tls_->insecure);
    // SNI carries host names only; an IP there is a protocol violation some servers reject.
    config.set_tlsext_sni_enabled(!tls_->host_is_ip);
    // A redirect would carry our credentials to wherever it points.
    config.set_max_redirects(0);
    std::shared_ptr<TlsSettings> tls = tls_;
    config.set_ssl_context_callback(
        [tls](boost::asio::ssl::context& context) { ConfigureTlsContext(*tls, context); });
    return std::make_shared<http_client>(base_, config);
  }

  // One attempt up to the response headers; the body is left to the caller.
  StatusOr<http_response> Send(http_client& client, const RequestSpec& spec,
                               const std::shared_ptr<pplx::cancellation_token_source>& cancel,
                               AttemptOutcome* outcome = nullptr) {
    AttemptOutcome local;
    if (outcome == nullptr) outcome = &local;
    const std::string what = StrCat(spec.method, " ", spec.path_and_query);
    const uint64_t tls_failures_before = tls_->failures->Generation();
    try {
      http_request request(spec.method);
      request.set_request_uri(web::uri(spec.path_and_query));
      request.headers().add("Accept", "application/json");
      request.headers().add("User-Agent", config_.user_agent);
      const std::string token = token_.Token();
      if (!token.empty()) request.headers().add("Authorization", StrCat("Bearer ", token));
      if (spec.body) request.set_body(*spec.body, spec.content_type);
      http_response response = client.request(request, cancel->get_token()).get();
      outcome->http_status = response.status_code();
      return response;
    } catch (const web::http::http_exception& e) {
      outcome->http_status = 0;
      const std::string reason = e.what();
      if (e.error_code().value() == static_cast<int>(std::errc::timed_out)) {
        outcome->timed_out = true;
        return DeadlineExceededError(
            StrCat(what, ": no response within the timeout (", reason, ")"));
      }
      if (tls_->failures->Generation() != tls_failures_before) {
        outcome->tls_verification_failed = true;
        return UnavailableError(StrCat(what, ": TLS certificate verification of ", config_.server,
                                       " failed: ", tls_->failures->Last()));
      }
      outcome->request_sent = !FailedBeforeSending(reason);
      return UnavailableError(StrCat(what, ": cannot reach ", config_.server, ": ", reason));
    } catch (const std::exception& e) {
      outcome->http_status = 0;
      return InternalError(StrCat(what, ": ", e.what()));
    }
  }

  // One attempt, body included.
  StatusOr<HttpResult> RoundTrip(const RequestSpec& spec, AttemptOutcome& outcome) {
    auto cancel = std::make_shared<pplx::cancellation_token_source>();
    ZHISUAN_ASSIGN_OR_RETURN(http_response response, Send(*client_, spec, cancel, &outcome));
    return ReadResponse(response, spec, cancel, outcome);
  }

  // The rest of a response whose headers arrived, within the size limit.
  StatusOr<HttpResult> ReadResponse(http_response& response, const RequestSpec& spec,
                                    const std::shared_ptr<pplx::cancellation_token_source>& cancel,
                                    AttemptOutcome& outcome) {
    HttpResult result;
    result.status = response.status_code();
    result.retry_after = RetryAfter(response);
    outcome.retry_after = result.retry_after;
    const std::string what = StrCat(spec.method, " ", spec.path_and_query);
    const uint64_t declared = response.headers().content_length();
    if (declared > config_.max_response_bytes) {
      cancel->cancel();
      return FailedPreconditionError(StrCat(what, ": response of ", declared, " bytes exceeds the ",
                                            config_.max_response_bytes,
                                            "-byte limit; list in pages (limit)"));
    }
    try {
      BodyBuffer body = response.body().streambuf();
      while (true) {
        std::string chunk = ReadSome(body, size_t{1} << 20);
        if (chunk.empty()) break;
        result.body += chunk;
        if (result.body.size() > config_.max_response_bytes) {
          cancel->cancel();
          return FailedPreconditionError(StrCat(what, ": response exceeds the ",
                                                config_.max_response_bytes,
                                                "-byte limit; list in pages (limit)"));
        }
      }
      response.content_ready().get();  // throws when the body ended early
    } catch (const std::exception& e) {
      outcome.http_status = 0;
      outcome.request_sent = true;
      return UnavailableError(
          StrCat(what, ": connection broke while reading the response: ", e.what()));
    }
    return result;
  }

  // Every attempt a request gets: rate limit, send, classify, retry.
  StatusOr<HttpResult> Do(const RequestSpec& spec) {
    Backoff backoff(BackoffPolicy{std::chrono::milliseconds(200), std::chrono::seconds(10)});
    bool refreshed_token = false;
    for (int attempt = 0;; ++attempt) {
      limiter_.Wait();
      AttemptOutcome outcome;
      StatusOr<HttpResult> result = RoundTrip(spec, outcome);
      Status failure;
      if (result.ok()) {
        if (result->status >= 200 && result->status < 300) return result;
        failure = StatusFromResponse(result->status, result->body);
        if (result->status == 429 && !spec.retry_too_many_requests) return failure;
        if (result->status == 401 && !refreshed_token && token_.RefreshAfterRejection()) {
          // The token file was rotated since we last read it: one immediate retry.
          refreshed_token = true;
          --attempt;
          continue;
        }
      } else {
        failure = result.status();
      }
      std::optional<std::chrono::milliseconds> delay =
          RetryDelay(outcome, spec.idempotent, attempt, std::max(1, config_.max_attempts), backoff);
      if (!delay) return failure;
      ZLOG_V(2) << spec.method << " " << spec.path_and_query << " failed (" << failure
                << "); retrying in " << delay->count() << "ms";
      std::this_thread::sleep_for(*delay);
    }
  }

  StatusOr<Json> DoJson(const RequestSpec& spec) {
    ZHISUAN_ASSIGN_OR_RETURN(HttpResult result, Do(spec));
    BoundedJson bounded = ParseBoundedJson(result.body);
    if (bounded.too_deep) {
      return DataLossError(StrCat(spec.method, " ", spec.path_and_query, ": HTTP ", result.status,
                                  " response nests deeper than ", kMaxJsonDepth, " levels"));
    }
    Json& parsed = bounded.value;
    if (parsed.is_discarded() || !parsed.is_object()) {
      return DataLossError(StrCat(spec.method, " ", spec.path_and_query, ": HTTP ", result.status,
                                  " response is not a JSON object (", result.body.size(),
                                  " bytes)"));
    }
    // Moved, not copied: a list response can be tens of MiB parsed, and a copy here doubled the
    // controller's start-up peak (heaptrack on bench/fleet at 5,000 nodes).
    return std::move(parsed);
  }

  const ClientConfig config_;
  const std::shared_ptr<TlsSettings> tls_;
  const web::uri base_;
  TokenBucketRateLimiter limiter_;
  BearerTokenSource token_;
  std::shared_ptr<http_client> client_;
};

// cpprestsdk makes its process-wide task scheduler on first use, behind a spin lock inside
// libcpprest, which is not built with ThreadSanitizer. Making it here, once and before a client
// can reach another thread, orders its creation before every request where TSan can see it.
// Otherwise the first requests of two threads (the leader elector's and an informer's, say) show
// up as a race on the scheduler's reference count (make tsan, 2026-12-07).
void CreateTaskSchedulerOnce() {
  static std::once_flag once;
  std::call_once(once, [] { (void)pplx::get_ambient_scheduler(); });
}

}  // namespace

StatusOr<ApiClientPtr> NewRestClient(const ClientConfig& config, const ClockPtr& clock) {
  CreateTaskSchedulerOnce();
  if (config.server.empty()) return InvalidArgumentError("client config has no server");
  if (!StartsWith(config.server, "https://")) {
    return InvalidArgumentError(StrCat("server ", config.server, " is not https://"));
  }
  web::uri base;
  try {
    base = web::uri(config.server);
  } catch (const std::exception& e) {
    return InvalidArgumentError(StrCat("server URL ", config.server, " is invalid: ", e.what()));
  }
  auto tls = std::make_shared<TlsSettings>();
  tls->ca_pem = config.ca_pem;
  tls->client_cert_pem = config.client_cert_pem;
  tls->client_key_pem = config.client_key_pem;
  tls->insecure = config.insecure_skip_tls_verify;
  tls->host = base.host();
  if (tls->host.size() > 2 && tls->host.front() == '[' && tls->host.back() == ']') {
    tls->host = tls->host.substr(1, tls->host.size() - 2);
  }
  tls->host_is_ip = IsIpAddress(tls->host);
  Status valid = ValidateTls(*tls);
  if (!valid.ok()) return valid.Annotate(config.source.empty() ? "client config" : config.source);
  if (tls->insecure) {
    ZLOG(Warning) << "TLS verification of " << config.server
                  << " is OFF (insecure-skip-tls-verify); do not use this outside a lab";
  }
  return ApiClientPtr(std::make_shared<RestClient>(config, std::move(tls), std::move(base), clock));
}

StatusOr<ApiClientPtr> NewRestClient(const ClientConfig& config) {
  return NewRestClient(config, SystemClock());
}

}  // namespace zhisuan::kube
