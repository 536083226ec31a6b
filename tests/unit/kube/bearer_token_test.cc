#include "kube/bearer_token.h"

#include <gtest/gtest.h>

#include "tests/unit/kube/memory_file_reader.h"

namespace zhisuan::kube {
namespace {

using testing::MemoryFileReader;

TEST(BearerTokenSource, FixedTokenNeverTouchesTheFilesystem) {
  auto files = std::make_shared<MemoryFileReader>();
  BearerTokenSource source("fixed", "", files, std::make_shared<FakeClock>());
  EXPECT_EQ(source.Token(), "fixed");
  EXPECT_FALSE(source.RefreshAfterRejection());
  EXPECT_EQ(files->reads(), 0);
}

TEST(BearerTokenSource, RotatedFileIsPickedUpAfterTheRecheckInterval) {
  auto files = std::make_shared<MemoryFileReader>();
  auto clock = std::make_shared<FakeClock>();
  files->Set("/token", "first\n");
  BearerTokenSource source("", "/token", files, clock, std::chrono::seconds(5));
  EXPECT_EQ(source.Token(), "first");
  files->Set("/token", "second\n");
  clock->Advance(std::chrono::seconds(4));
  EXPECT_EQ(source.Token(), "first");  // not re-read on every request
  clock->Advance(std::chrono::seconds(1));
  EXPECT_EQ(source.Token(), "second");
}

TEST(BearerTokenSource, RejectionForcesAnImmediateReread) {
  auto files = std::make_shared<MemoryFileReader>();
  auto clock = std::make_shared<FakeClock>();
  files->Set("/token", "first");
  BearerTokenSource source("", "/token", files, clock);
  EXPECT_EQ(source.Token(), "first");
  EXPECT_FALSE(source.RefreshAfterRejection());  // unchanged: a retry would not help
  files->Set("/token", "second");
  EXPECT_TRUE(source.RefreshAfterRejection());
  EXPECT_EQ(source.Token(), "second");
}

TEST(BearerTokenSource, KeepsTheLastGoodTokenWhileTheFileIsMissingOrEmpty) {
  auto files = std::make_shared<MemoryFileReader>();
  auto clock = std::make_shared<FakeClock>();
  files->Set("/token", "good");
  BearerTokenSource source("", "/token", files, clock, std::chrono::seconds(1));
  files->Remove("/token");
  clock->Advance(std::chrono::seconds(2));
  EXPECT_EQ(source.Token(), "good");
  files->Set("/token", "\n");
  clock->Advance(std::chrono::seconds(2));
  EXPECT_EQ(source.Token(), "good");
}

}  // namespace
}  // namespace zhisuan::kube
