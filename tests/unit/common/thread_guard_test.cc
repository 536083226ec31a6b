#include "common/thread_guard.h"

#include <gtest/gtest.h>

#include <stdexcept>
#include <thread>

namespace zhisuan {
namespace {

// The death tests fork a process that starts a thread; "threadsafe" re-executes the test binary
// instead of forking a process that already runs threads.
class ThreadGuardDeathTest : public ::testing::Test {
 protected:
  void SetUp() override { GTEST_FLAG_SET(death_test_style, "threadsafe"); }
};

void RunOnThread(std::string_view name, const std::function<void()>& body) {
  std::thread thread([name, &body] { RunGuarded(name, body); });
  thread.join();
}

TEST_F(ThreadGuardDeathTest, AnExceptionLeavingAThreadIsLoggedWithItsNameAndExitsNonZero) {
  EXPECT_EXIT(RunOnThread("pool-worker", [] { throw std::runtime_error("boom"); }),
              ::testing::ExitedWithCode(kUncaughtExceptionExitCode),
              "thread pool-worker: uncaught exception: boom");
}

TEST_F(ThreadGuardDeathTest, ANonStandardExceptionIsCaughtToo) {
  EXPECT_EXIT(RunOnThread("informer", [] { throw 42; }),
              ::testing::ExitedWithCode(kUncaughtExceptionExitCode),
              "thread informer: uncaught exception: \\(not a std::exception\\)");
}

TEST(ThreadGuardTest, ABodyThatReturnsReturns) {
  int runs = 0;
  RunOnThread("quiet", [&runs] { ++runs; });
  EXPECT_EQ(runs, 1);
}

}  // namespace
}  // namespace zhisuan
