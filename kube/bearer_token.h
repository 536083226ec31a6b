#pragma once
// The bearer token to send: fixed, or read from a file that the kubelet rewrites when it rotates
// a bound service-account token (they expire, typically within an hour). The file is re-read at
// most every `recheck` (so a busy client does not stat it per request) and at once after the
// server says 401, so a rotation is picked up without a restart.

#include <chrono>
#include <mutex>
#include <string>

#include "common/clock.h"
#include "common/file_reader.h"

namespace zhisuan::kube {

class BearerTokenSource {
 public:
  BearerTokenSource(std::string initial_token, std::string token_file, FileReaderPtr files,
                    ClockPtr clock, std::chrono::seconds recheck = std::chrono::seconds(5));

  // The token for the next request; "" when there is none.
  std::string Token();
  // The server rejected the token: re-read the file now. True when the token changed, i.e. a retry
  // may succeed.
  bool RefreshAfterRejection();

 private:
  // Reads the file (under mu_); keeps the last good token when the read fails or is empty.
  bool ReloadLocked();

  const std::string token_file_;
  const FileReaderPtr files_;
  const ClockPtr clock_;
  const std::chrono::seconds recheck_;
  std::mutex mu_;
  std::string token_;
  SteadyTime last_read_;
  bool warned_ = false;
};

}  // namespace zhisuan::kube
