#pragma once
// A vendor library opened at run time with dlopen. Vendor libraries are never linked: the agent
// image must start on nodes that lack them, and an old driver's library may lack newer symbols.
// In common/ because more than one part of the agent opens one (discovery's NVML and DCMI
// backends, the CUDA FLOPS probe), and none of them should own the handle type for the others.

#include <string>
#include <string_view>

#include "common/status.h"

namespace zhisuan {

// The data symbol every stand-in library (tests/fixtures/fake_nvml, fake_dcmi, fake_cuda) exports:
// `extern "C" const char zhisuan_stand_in[] = "fake_nvml";`. No vendor's library has it, so a
// library that does is a stand-in, and what the agent reads through it is simulated, not measured.
inline constexpr const char* kStandInMarkerSymbol = "zhisuan_stand_in";

// Owns one dlopen handle and closes it on destruction. Move-only.
class DynamicLibrary {
 public:
  // Unavailable (with dlerror's reason) when the library cannot be loaded.
  static StatusOr<DynamicLibrary> Open(const std::string& path);

  DynamicLibrary(DynamicLibrary&& other) noexcept;
  DynamicLibrary& operator=(DynamicLibrary&& other) noexcept;
  DynamicLibrary(const DynamicLibrary&) = delete;
  DynamicLibrary& operator=(const DynamicLibrary&) = delete;
  ~DynamicLibrary();

  // The symbol as a function pointer of type `Function*`, or nullptr when the library lacks it.
  // A missing symbol means "not supported by this library version", not an error.
  template <typename Function>
  Function* Find(const char* name) const {
    // POSIX guarantees a data pointer from dlsym converts to a function pointer.
    return reinterpret_cast<Function*>(FindRaw(name));
  }

  const std::string& path() const { return path_; }

  // The stand-in's name (the value of kStandInMarkerSymbol, e.g. "fake_nvml") when this library is
  // a stand-in; empty for a real vendor library. The pointer stays valid while the library is open.
  const char* StandIn() const;

 private:
  DynamicLibrary(void* handle, std::string path) : handle_(handle), path_(std::move(path)) {}
  void* FindRaw(const char* name) const;

  void* handle_ = nullptr;
  std::string path_;
};

}  // namespace zhisuan
