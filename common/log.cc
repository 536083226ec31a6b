#include "common/log.h"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>

namespace zhisuan {
namespace {
std::atomic<int> g_verbosity{0};

char SeverityLetter(LogSeverity severity) {
  switch (severity) {
    case LogSeverity::kInfo:
      return 'I';
    case LogSeverity::kWarning:
      return 'W';
    case LogSeverity::kError:
      return 'E';
  }
  return '?';
}

// Paths from the build machine are noise in a log; keep them relative to the repository root.
std::string_view TrimSourcePath(std::string_view path) {
  for (std::string_view root :
       {"/common/", "/api/", "/kube/", "/agent/", "/controller/", "/tests/", "/bench/"}) {
    if (auto pos = path.rfind(root); pos != std::string_view::npos) return path.substr(pos + 1);
  }
  return path;
}
}  // namespace

void SetLogVerbosity(int verbosity) { g_verbosity.store(verbosity, std::memory_order_relaxed); }
int LogVerbosity() { return g_verbosity.load(std::memory_order_relaxed); }

LogLine::LogLine(LogSeverity severity, const char* file, int line) {
  auto now = std::chrono::system_clock::now();
  std::time_t seconds = std::chrono::system_clock::to_time_t(now);
  auto micros =
      std::chrono::duration_cast<std::chrono::microseconds>(now.time_since_epoch()).count() %
      1000000;
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char stamp[64];
  std::snprintf(stamp, sizeof stamp, "%c%02d%02d %02d:%02d:%02d.%06ld ", SeverityLetter(severity),
                utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec,
                static_cast<long>(micros));
  stream_ << stamp << TrimSourcePath(file) << ':' << line << "] ";
}

LogLine::~LogLine() {
  stream_ << '\n';
  const std::string text = stream_.str();
  std::fwrite(text.data(), 1, text.size(), stderr);
}

std::string RedactSecret(std::string_view secret) {
  if (secret.size() <= 4) return "<redacted>";
  return std::string(secret.substr(0, 4)) + "...<redacted>";
}

}  // namespace zhisuan
