#pragma once
// An in-memory FileReader for the REST client's config and token tests.

#include <map>
#include <mutex>
#include <string>

#include "common/file_reader.h"
#include "common/strings.h"

namespace zhisuan::kube::testing {

class MemoryFileReader final : public FileReader {
 public:
  void Set(const std::string& path, std::string contents) {
    std::lock_guard<std::mutex> lock(mu_);
    files_[path] = std::move(contents);
  }
  void Remove(const std::string& path) {
    std::lock_guard<std::mutex> lock(mu_);
    files_.erase(path);
  }
  int reads() const {
    std::lock_guard<std::mutex> lock(mu_);
    return reads_;
  }

  StatusOr<std::string> Read(std::string_view path) const override {
    std::lock_guard<std::mutex> lock(mu_);
    ++reads_;
    auto it = files_.find(std::string(path));
    if (it == files_.end()) return NotFoundError(StrCat(path, ": no such file"));
    return it->second;
  }
  StatusOr<std::vector<std::string>> List(std::string_view path) const override {
    return UnimplementedError(StrCat("List ", path));
  }
  StatusOr<std::string> ReadLink(std::string_view path) const override {
    return UnimplementedError(StrCat("ReadLink ", path));
  }
  bool Exists(std::string_view path) const override {
    std::lock_guard<std::mutex> lock(mu_);
    return files_.count(std::string(path)) > 0;
  }

 private:
  mutable std::mutex mu_;
  std::map<std::string, std::string> files_;
  mutable int reads_ = 0;
};

}  // namespace zhisuan::kube::testing
