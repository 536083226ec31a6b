#pragma once
// Where the discovery tests find their fixtures: the committed sysfs trees and the fake vendor
// libraries the build puts under ${ZHISUAN_BINARY_DIR}/fixtures/lib/.

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <system_error>

#include "common/file_reader.h"

namespace zhisuan::agent::testing {

inline std::string SourceDir() {
  const char* dir = std::getenv("ZHISUAN_SOURCE_DIR");
  return dir != nullptr ? dir : ZHISUAN_TEST_SOURCE_DIR;
}

inline std::string BinaryDir() {
  const char* dir = std::getenv("ZHISUAN_BINARY_DIR");
  return dir != nullptr ? dir : ZHISUAN_TEST_BINARY_DIR;
}

// tests/fixtures/sysfs/<name>, the root that holds sys/ and proc/.
inline std::string FixtureRoot(const std::string& name) {
  return SourceDir() + "/tests/fixtures/sysfs/" + name;
}
inline FileReaderPtr FixtureSysfs(const std::string& name) {
  return MakeRootedFileReader(FixtureRoot(name) + "/sys");
}
inline FileReaderPtr FixtureProcfs(const std::string& name) {
  return MakeRootedFileReader(FixtureRoot(name) + "/proc");
}

inline std::string FakeNvmlPath() { return BinaryDir() + "/fixtures/lib/nvml/libnvidia-ml.so.1"; }
inline std::string OldFakeNvmlPath() {
  return BinaryDir() + "/fixtures/lib/nvml-old/libnvidia-ml.so.1";
}
inline std::string FakeDcmiPath() { return BinaryDir() + "/fixtures/lib/dcmi/libdcmi.so"; }

// A private, writable copy of a fixture tree (symlinks kept), removed when the object goes.
class ScratchTree {
 public:
  explicit ScratchTree(const std::string& fixture) {
    root_ = std::filesystem::temp_directory_path() /
            ("zhisuan-discovery-" + std::to_string(::getpid()) + "-" + std::to_string(counter_++));
    std::filesystem::remove_all(root_);
    std::filesystem::copy(
        FixtureRoot(fixture), root_,
        std::filesystem::copy_options::recursive | std::filesystem::copy_options::copy_symlinks);
  }
  ~ScratchTree() {
    std::error_code ignored;
    std::filesystem::remove_all(root_, ignored);
  }
  ScratchTree(const ScratchTree&) = delete;
  ScratchTree& operator=(const ScratchTree&) = delete;

  std::filesystem::path path(const std::string& relative) const { return root_ / relative; }
  FileReaderPtr Sysfs() const { return MakeRootedFileReader((root_ / "sys").string()); }
  FileReaderPtr Procfs() const { return MakeRootedFileReader((root_ / "proc").string()); }

 private:
  static inline int counter_ = 0;
  std::filesystem::path root_;
};

}  // namespace zhisuan::agent::testing
