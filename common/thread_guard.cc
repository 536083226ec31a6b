#include "common/thread_guard.h"

#include <cstdio>
#include <cstdlib>
#include <exception>

#include "common/log.h"

namespace zhisuan {
namespace {

[[noreturn]] void ExitAfterUncaught(std::string_view thread_name, std::string_view what) noexcept {
  try {
    ZLOG(Error) << "thread " << thread_name << ": uncaught exception: " << what
                << "; exiting with status " << kUncaughtExceptionExitCode;
  } catch (...) {  // NOLINT(bugprone-empty-catch): logging failed; the exit below still happens
  }
  std::fflush(stderr);
  std::_Exit(kUncaughtExceptionExitCode);
}

}  // namespace

void RunGuarded(std::string_view thread_name, const std::function<void()>& body) noexcept {
  try {
    body();
  } catch (const std::exception& error) {
    ExitAfterUncaught(thread_name, error.what());
  } catch (...) {
    ExitAfterUncaught(thread_name, "(not a std::exception)");
  }
}

}  // namespace zhisuan
