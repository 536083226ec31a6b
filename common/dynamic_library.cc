#include "common/dynamic_library.h"

#include <dlfcn.h>

#include <utility>

#include "common/strings.h"

namespace zhisuan {

StatusOr<DynamicLibrary> DynamicLibrary::Open(const std::string& path) {
  // RTLD_LOCAL keeps two vendors' libraries from resolving each other's symbols.
  void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    // dlerror's text is per thread in glibc, so reading it right after the failed call is safe.
    const char* reason = dlerror();  // NOLINT(concurrency-mt-unsafe)
    return UnavailableError(
        StrCat("cannot load ", path, ": ", reason != nullptr ? reason : "unknown dlopen error"));
  }
  return DynamicLibrary(handle, path);
}

DynamicLibrary::DynamicLibrary(DynamicLibrary&& other) noexcept
    : handle_(std::exchange(other.handle_, nullptr)), path_(std::move(other.path_)) {}

DynamicLibrary& DynamicLibrary::operator=(DynamicLibrary&& other) noexcept {
  if (this != &other) {
    if (handle_ != nullptr) dlclose(handle_);
    handle_ = std::exchange(other.handle_, nullptr);
    path_ = std::move(other.path_);
  }
  return *this;
}

DynamicLibrary::~DynamicLibrary() {
  if (handle_ != nullptr) dlclose(handle_);
}

void* DynamicLibrary::FindRaw(const char* name) const {
  if (handle_ == nullptr) return nullptr;
  return dlsym(handle_, name);
}

const char* DynamicLibrary::StandIn() const {
  // The symbol is a NUL-terminated char array; a library without it is a real one.
  const char* marker = static_cast<const char*>(FindRaw(kStandInMarkerSymbol));
  return marker != nullptr && marker[0] != '\0' ? marker : "";
}

}  // namespace zhisuan
