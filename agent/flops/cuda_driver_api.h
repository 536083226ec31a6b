#pragma once
// The slice of the CUDA driver ABI the CUDA FLOPS probe calls (cuda.h, stable since CUDA 4), as a
// table of function pointers. The probe takes the table, not the library, so unit tests hand it
// an in-process fake and load nothing; production fills it from libcuda with dlsym.

#include <cstddef>

#include "common/dynamic_library.h"
#include "common/status.h"

namespace zhisuan::agent {

using CUresult = int;
using CUdevice = int;
using CUdeviceptr = unsigned long long;  // NOLINT(runtime/int): the ABI's type
struct CUctx_st;
struct CUmod_st;
struct CUfunc_st;
struct CUevent_st;
struct CUstream_st;
using CUcontext = CUctx_st*;
using CUmodule = CUmod_st*;
using CUfunction = CUfunc_st*;
using CUevent = CUevent_st*;
using CUstream = CUstream_st*;
inline constexpr int kCuAttributeMultiprocessorCount = 16;
inline constexpr int kCuAttributeComputeCapabilityMajor = 75;

// Every entry is required: the probe cannot run with any of them missing.
struct CudaDriverApi {
  CUresult (*cuInit)(unsigned int) = nullptr;
  CUresult (*cuGetErrorString)(CUresult, const char**) = nullptr;
  CUresult (*cuDeviceGetCount)(int*) = nullptr;
  CUresult (*cuDeviceGet)(CUdevice*, int) = nullptr;
  CUresult (*cuDeviceGetName)(char*, int, CUdevice) = nullptr;
  CUresult (*cuDeviceGetAttribute)(int*, int, CUdevice) = nullptr;
  CUresult (*cuDeviceGetPCIBusId)(char*, int, CUdevice) = nullptr;
  CUresult (*cuCtxCreate_v2)(CUcontext*, unsigned int, CUdevice) = nullptr;
  CUresult (*cuCtxDestroy_v2)(CUcontext) = nullptr;
  CUresult (*cuCtxSynchronize)() = nullptr;
  CUresult (*cuModuleLoadData)(CUmodule*, const void*) = nullptr;
  CUresult (*cuModuleUnload)(CUmodule) = nullptr;
  CUresult (*cuModuleGetFunction)(CUfunction*, CUmodule, const char*) = nullptr;
  CUresult (*cuMemAlloc_v2)(CUdeviceptr*, size_t) = nullptr;
  CUresult (*cuMemFree_v2)(CUdeviceptr) = nullptr;
  CUresult (*cuLaunchKernel)(CUfunction, unsigned int, unsigned int, unsigned int, unsigned int,
                             unsigned int, unsigned int, unsigned int, CUstream, void**,
                             void**) = nullptr;
  CUresult (*cuEventCreate)(CUevent*, unsigned int) = nullptr;
  CUresult (*cuEventRecord)(CUevent, CUstream) = nullptr;
  CUresult (*cuEventSynchronize)(CUevent) = nullptr;
  CUresult (*cuEventElapsedTime)(float*, CUevent, CUevent) = nullptr;
  CUresult (*cuEventDestroy_v2)(CUevent) = nullptr;
  // Not an entry point: the stand-in's name when the library is one (DynamicLibrary::StandIn),
  // "" for the real driver. Every measurement made through the table carries it.
  const char* stand_in = "";
};

// Fills the table from `library`; Unavailable naming the first symbol it lacks.
StatusOr<CudaDriverApi> ResolveCudaDriverApi(const DynamicLibrary& library);

}  // namespace zhisuan::agent
