#pragma once
// The top of every thread Zhisuan starts. An exception escaping a std::thread's body calls
// std::terminate: the process dies on SIGABRT and the log says nothing about which thread or
// what was thrown. RunGuarded catches it at the thread's top, logs both, and ends the process
// with a distinct exit code, so the pod restarts with the reason in its last log lines.
//
// It exits rather than carrying on: a thread that died mid-loop (a worker, an informer, the
// leader elector) leaves the process half working, which is worse than a restart. std::_Exit,
// not std::exit: other threads are still running, and static destructors under them would race.

#include <functional>
#include <string_view>

namespace zhisuan {

// The exit status after an uncaught exception in a thread (EX_SOFTWARE in <sysexits.h>).
inline constexpr int kUncaughtExceptionExitCode = 70;

// Runs `body`. If it throws, logs "thread <thread_name>: uncaught exception: <what>" and ends
// the process with kUncaughtExceptionExitCode; otherwise returns when `body` does.
void RunGuarded(std::string_view thread_name, const std::function<void()>& body) noexcept;

}  // namespace zhisuan
