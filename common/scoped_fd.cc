#include "common/scoped_fd.h"

#include <unistd.h>

#include <utility>

namespace zhisuan {

ScopedFd::ScopedFd(ScopedFd&& other) noexcept : fd_(other.release()) {}

ScopedFd& ScopedFd::operator=(ScopedFd&& other) noexcept {
  if (this != &other) reset(other.release());
  return *this;
}

ScopedFd::~ScopedFd() { reset(); }

int ScopedFd::release() { return std::exchange(fd_, -1); }

void ScopedFd::reset(int fd) {
  // close() is not retried on EINTR: on Linux the descriptor is released even then, and a retry
  // could close a descriptor another thread has just been given.
  if (fd_ >= 0 && fd_ != fd) ::close(fd_);
  fd_ = fd;
}

}  // namespace zhisuan
