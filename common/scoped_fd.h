#pragma once
// A file descriptor that closes itself. Every early return between open() and close() is a leak
// waiting to happen; an owner that closes on destruction makes the error paths as safe as the
// happy one. Move-only, like every handle in Zhisuan.

namespace zhisuan {

class ScopedFd {
 public:
  ScopedFd() = default;
  // Takes ownership of `fd`; a negative value means "no descriptor".
  explicit ScopedFd(int fd) : fd_(fd) {}

  ScopedFd(ScopedFd&& other) noexcept;
  ScopedFd& operator=(ScopedFd&& other) noexcept;
  ScopedFd(const ScopedFd&) = delete;
  ScopedFd& operator=(const ScopedFd&) = delete;
  ~ScopedFd();

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }

  // Gives up ownership without closing; the caller closes what it returns.
  [[nodiscard]] int release();
  // Closes the descriptor held now (if any) and takes `fd`.
  void reset(int fd = -1);

 private:
  int fd_ = -1;
};

}  // namespace zhisuan
