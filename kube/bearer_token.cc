#include "kube/bearer_token.h"

#include "common/log.h"
#include "common/strings.h"

namespace zhisuan::kube {

BearerTokenSource::BearerTokenSource(std::string initial_token, std::string token_file,
                                     FileReaderPtr files, ClockPtr clock,
                                     std::chrono::seconds recheck)
    : token_file_(std::move(token_file)),
      files_(std::move(files)),
      clock_(std::move(clock)),
      recheck_(recheck),
      token_(std::move(initial_token)),
      last_read_(clock_->Now()) {
  if (!token_file_.empty() && token_.empty()) {
    std::lock_guard<std::mutex> lock(mu_);
    ReloadLocked();
  }
}

std::string BearerTokenSource::Token() {
  std::lock_guard<std::mutex> lock(mu_);
  if (!token_file_.empty() && clock_->Now() - last_read_ >= recheck_) ReloadLocked();
  return token_;
}

bool BearerTokenSource::RefreshAfterRejection() {
  if (token_file_.empty()) return false;
  std::lock_guard<std::mutex> lock(mu_);
  return ReloadLocked();
}

bool BearerTokenSource::ReloadLocked() {
  last_read_ = clock_->Now();
  StatusOr<std::string> contents = files_->Read(token_file_);
  std::string token = contents.ok() ? std::string(StripWhitespace(*contents)) : std::string();
  if (token.empty()) {
    // Mid-rotation the file can be briefly missing or empty; the old token may still be valid.
    if (!warned_) {
      ZLOG(Warning) << "cannot read bearer token file " << token_file_ << " ("
                    << (contents.ok() ? "empty" : contents.status().ToString())
                    << "); keeping the previous token";
      warned_ = true;
    }
    return false;
  }
  warned_ = false;
  if (token == token_) return false;
  const bool rotated = !token_.empty();
  token_ = std::move(token);
  if (rotated) ZLOG(Info) << "bearer token file " << token_file_ << " changed; using the new token";
  return true;
}

}  // namespace zhisuan::kube
