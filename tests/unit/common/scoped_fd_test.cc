#include "common/scoped_fd.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cerrno>
#include <utility>

namespace zhisuan {
namespace {

bool IsOpen(int fd) { return ::fcntl(fd, F_GETFD) != -1 || errno != EBADF; }

struct Pipe {
  int read = -1;
  int write = -1;
};

Pipe OpenPipe() {
  int fds[2];
  EXPECT_EQ(::pipe2(fds, O_CLOEXEC), 0);
  return {fds[0], fds[1]};
}

TEST(ScopedFd, ClosesOnDestruction) {
  const Pipe pipe = OpenPipe();
  {
    ScopedFd read(pipe.read);
    ScopedFd write(pipe.write);
    EXPECT_TRUE(read.valid());
    EXPECT_EQ(read.get(), pipe.read);
  }
  EXPECT_FALSE(IsOpen(pipe.read));
  EXPECT_FALSE(IsOpen(pipe.write));
}

TEST(ScopedFd, DefaultHoldsNothing) {
  ScopedFd none;
  EXPECT_FALSE(none.valid());
  EXPECT_EQ(none.get(), -1);
}

TEST(ScopedFd, MoveTransfersOwnershipOnce) {
  const Pipe pipe = OpenPipe();
  ScopedFd write(pipe.write);
  ScopedFd original(pipe.read);
  ScopedFd moved(std::move(original));
  EXPECT_FALSE(original.valid());  // NOLINT(bugprone-use-after-move): checking the moved-from
  EXPECT_EQ(moved.get(), pipe.read);

  ScopedFd assigned;
  assigned = std::move(moved);
  EXPECT_EQ(assigned.get(), pipe.read);
  EXPECT_TRUE(IsOpen(pipe.read));
  assigned = ScopedFd();
  EXPECT_FALSE(IsOpen(pipe.read));
}

TEST(ScopedFd, ReleaseGivesUpOwnershipWithoutClosing) {
  const Pipe pipe = OpenPipe();
  ScopedFd write(pipe.write);
  int released = -1;
  {
    ScopedFd read(pipe.read);
    released = read.release();
    EXPECT_FALSE(read.valid());
  }
  EXPECT_EQ(released, pipe.read);
  EXPECT_TRUE(IsOpen(released));
  ::close(released);
}

TEST(ScopedFd, ResetClosesTheOldDescriptor) {
  const Pipe pipe = OpenPipe();
  ScopedFd fd(pipe.read);
  fd.reset(pipe.write);
  EXPECT_FALSE(IsOpen(pipe.read));
  EXPECT_EQ(fd.get(), pipe.write);
  fd.reset();
  EXPECT_FALSE(IsOpen(pipe.write));
  EXPECT_FALSE(fd.valid());
}

}  // namespace
}  // namespace zhisuan
