#pragma once
// The filesystem as the agent and the kube client see it: everything under a root that tests point
// at a fixture tree (the agent's --sysfs-root and --procfs-root).

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace zhisuan {

class FileReader {
 public:
  virtual ~FileReader() = default;
  // Whole file contents. NotFound when absent, Unavailable/Internal on other read errors.
  virtual StatusOr<std::string> Read(std::string_view path) const = 0;
  // Names of the entries in a directory (not "." or ".."), sorted for deterministic output.
  virtual StatusOr<std::vector<std::string>> List(std::string_view path) const = 0;
  // Target of a symlink, as written in the link.
  virtual StatusOr<std::string> ReadLink(std::string_view path) const = 0;
  virtual bool Exists(std::string_view path) const = 0;
};
using FileReaderPtr = std::shared_ptr<const FileReader>;

// Reads the real filesystem, prefixing every path with `root` ("" or "/" for the host itself).
// Reads are capped at `max_bytes` so a hostile or broken file cannot exhaust memory.
FileReaderPtr MakeRootedFileReader(std::string root, size_t max_bytes = 4 << 20);

}  // namespace zhisuan
