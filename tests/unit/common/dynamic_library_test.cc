#include "common/dynamic_library.h"

#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <utility>

namespace zhisuan {
namespace {

// libm is on every glibc system, so the real dlopen path is exercised without a fixture library.
constexpr char kLibm[] = "libm.so.6";

TEST(DynamicLibrary, OpensALibraryAndFindsItsFunctions) {
  auto library = DynamicLibrary::Open(kLibm);
  ASSERT_TRUE(library.ok()) << library.status();
  EXPECT_EQ(library->path(), kLibm);
  auto* cosine = library->Find<double(double)>("cos");
  ASSERT_NE(cosine, nullptr);
  EXPECT_DOUBLE_EQ(cosine(0.0), 1.0);
}

TEST(DynamicLibrary, MissingSymbolIsNullNotAnError) {
  auto library = DynamicLibrary::Open(kLibm);
  ASSERT_TRUE(library.ok()) << library.status();
  EXPECT_EQ(library->Find<void()>("zhisuan_no_such_symbol"), nullptr);
}

TEST(DynamicLibrary, MissingLibraryIsUnavailableAndNamesThePath) {
  auto library = DynamicLibrary::Open("/nonexistent/libvendor.so.1");
  ASSERT_FALSE(library.ok());
  EXPECT_EQ(library.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(library.status().message().find("/nonexistent/libvendor.so.1"), std::string::npos);
}

TEST(DynamicLibrary, MovedFromLibraryFindsNothing) {
  auto library = DynamicLibrary::Open(kLibm);
  ASSERT_TRUE(library.ok()) << library.status();
  DynamicLibrary moved = std::move(*library);
  EXPECT_NE(moved.Find<double(double)>("cos"), nullptr);
  // NOLINTNEXTLINE(bugprone-use-after-move): the moved-from handle must be inert
  EXPECT_EQ(library->Find<double(double)>("cos"), nullptr);
  DynamicLibrary assigned = std::move(moved);
  EXPECT_EQ(assigned.path(), kLibm);
  EXPECT_NE(assigned.Find<double(double)>("cos"), nullptr);
}

// Issue 18: a stand-in never passes for the real thing. Real libraries (libm, libz) lack the
// marker.
TEST(DynamicLibrary, ARealLibraryIsNoStandIn) {
  for (const char* path : {kLibm, "libz.so.1"}) {
    auto library = DynamicLibrary::Open(path);
    if (!library.ok() && std::string(path) == "libz.so.1") continue;  // libz is optional
    ASSERT_TRUE(library.ok()) << library.status();
    EXPECT_STREQ(library->StandIn(), "") << path;
  }
}

TEST(DynamicLibrary, EachFakeVendorLibraryNamesItselfAsAStandIn) {
  for (const auto& [path, name] :
       {std::pair{ZHISUAN_FAKE_NVML, "fake_nvml"}, std::pair{ZHISUAN_FAKE_DCMI, "fake_dcmi"},
        std::pair{ZHISUAN_FAKE_CUDA, "fake_cuda"}}) {
    auto library = DynamicLibrary::Open(path);
    ASSERT_TRUE(library.ok()) << library.status();
    EXPECT_STREQ(library->StandIn(), name) << path;
    // The marker is data, found under the one documented name.
    EXPECT_NE(library->Find<const char>(kStandInMarkerSymbol), nullptr);
  }
}

TEST(DynamicLibrary, AMovedFromLibraryIsNoStandIn) {
  auto library = DynamicLibrary::Open(ZHISUAN_FAKE_NVML);
  ASSERT_TRUE(library.ok()) << library.status();
  DynamicLibrary moved = std::move(*library);
  EXPECT_STREQ(moved.StandIn(), "fake_nvml");
  // NOLINTNEXTLINE(bugprone-use-after-move): the moved-from handle must be inert
  EXPECT_STREQ(library->StandIn(), "");
}

}  // namespace
}  // namespace zhisuan
