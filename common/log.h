#pragma once
// One-line structured logging to stderr, in the klog layout Kubernetes operators already read:
//   I1123 03:25:00.123456 agent/main.cc:42] message key=value
// Kept deliberately tiny: the binaries log little, and never on hot paths.

#include <sstream>
#include <string>
#include <string_view>

namespace zhisuan {

enum class LogSeverity { kInfo, kWarning, kError };

// Verbosity threshold for ZLOG_V(n); set once from the --v flag.
void SetLogVerbosity(int verbosity);
int LogVerbosity();

// Collects one line and writes it atomically on destruction, so lines from threads never
// interleave.
class LogLine {
 public:
  LogLine(LogSeverity severity, const char* file, int line);
  ~LogLine();
  LogLine(const LogLine&) = delete;
  LogLine& operator=(const LogLine&) = delete;

  template <typename T>
  LogLine& operator<<(const T& value) {
    stream_ << value;
    return *this;
  }

 private:
  std::ostringstream stream_;
};

// Replaces everything but the first few characters of a secret, for the rare log line that must
// mention one (a token file path is fine to log; its contents never are).
std::string RedactSecret(std::string_view secret);

}  // namespace zhisuan

#define ZLOG(severity) ::zhisuan::LogLine(::zhisuan::LogSeverity::k##severity, __FILE__, __LINE__)
#define ZLOG_V(level) \
  if (::zhisuan::LogVerbosity() >= (level)) ZLOG(Info)
