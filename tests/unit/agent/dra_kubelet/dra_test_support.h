#pragma once
// Shared by the kubelet DRA plugin's tests: a temporary directory and ResourceClaims as the
// scheduler leaves them once allocated.

#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

namespace zhisuan::agent::dra {

// A fresh directory under $TMPDIR, removed with everything in it.
class TempDir {
 public:
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "zhisuan-dra.XXXXXX").string();
    path_ = ::mkdtemp(pattern.data()) != nullptr ? pattern : "";
  }
  ~TempDir() {
    std::error_code ignored;
    if (!path_.empty()) std::filesystem::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

inline std::string ReadFile(const std::string& path) {
  std::ifstream file(path);
  std::stringstream text;
  text << file.rdbuf();
  return text.str();
}

struct AllocationResult {
  std::string_view driver;
  std::string pool;
  std::string device;
};

// A ResourceClaim whose one request "gpus" was allocated `results`.
inline nlohmann::json AllocatedClaim(const std::string& name,
                                     const std::vector<AllocationResult>& results) {
  nlohmann::json allocated = nlohmann::json::array();
  for (const auto& result : results) {
    allocated.push_back({{"request", "gpus"},
                         {"driver", result.driver},
                         {"pool", result.pool},
                         {"device", result.device}});
  }
  return {{"apiVersion", "resource.k8s.io/v1"},
          {"kind", "ResourceClaim"},
          {"metadata", {{"name", name}, {"namespace", "team"}}},
          {"spec", {{"devices", {{"requests", nlohmann::json::array()}}}}},
          {"status", {{"allocation", {{"devices", {{"results", allocated}}}}}}}};
}

}  // namespace zhisuan::agent::dra
