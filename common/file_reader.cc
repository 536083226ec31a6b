#include "common/file_reader.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <system_error>

#include "common/strings.h"

namespace zhisuan {
namespace {

class RootedFileReader final : public FileReader {
 public:
  RootedFileReader(std::string root, size_t max_bytes)
      : root_(std::move(root)), max_bytes_(max_bytes) {
    while (!root_.empty() && root_.back() == '/') root_.pop_back();
  }

  StatusOr<std::string> Read(std::string_view path) const override {
    const std::string full = Resolve(path);
    std::ifstream in(full, std::ios::binary);
    if (!in) {
      if (errno == ENOENT) return NotFoundError(StrCat(full, ": no such file"));
      return UnavailableError(StrCat(full, ": ", ErrnoText(errno)));
    }
    std::string contents;
    char buffer[4096];
    while (in.read(buffer, sizeof buffer) || in.gcount() > 0) {
      contents.append(buffer, static_cast<size_t>(in.gcount()));
      if (contents.size() > max_bytes_) {
        return OutOfRangeError(StrCat(full, ": larger than ", max_bytes_, " bytes"));
      }
    }
    if (in.bad()) return DataLossError(StrCat(full, ": read error"));
    return contents;
  }

  StatusOr<std::vector<std::string>> List(std::string_view path) const override {
    const std::string full = Resolve(path);
    std::error_code ec;
    std::vector<std::string> names;
    for (std::filesystem::directory_iterator it(full, ec), end; !ec && it != end;
         it.increment(ec)) {
      names.push_back(it->path().filename().string());
    }
    if (ec) {
      if (ec == std::errc::no_such_file_or_directory) {
        return NotFoundError(StrCat(full, ": no such directory"));
      }
      return UnavailableError(StrCat(full, ": ", ec.message()));
    }
    std::sort(names.begin(), names.end());
    return names;
  }

  StatusOr<std::string> ReadLink(std::string_view path) const override {
    std::error_code ec;
    auto target = std::filesystem::read_symlink(Resolve(path), ec);
    if (ec) return NotFoundError(StrCat(Resolve(path), ": ", ec.message()));
    return target.string();
  }

  bool Exists(std::string_view path) const override {
    std::error_code ec;
    return std::filesystem::exists(Resolve(path), ec);
  }

 private:
  std::string Resolve(std::string_view path) const {
    if (root_.empty()) return std::string(path);
    if (!path.empty() && path.front() == '/') return StrCat(root_, path);
    return StrCat(root_, "/", path);
  }

  std::string root_;
  size_t max_bytes_;
};

}  // namespace

FileReaderPtr MakeRootedFileReader(std::string root, size_t max_bytes) {
  return std::make_shared<RootedFileReader>(std::move(root), max_bytes);
}

}  // namespace zhisuan
