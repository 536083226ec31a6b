#include "kube/watch_decoder.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "kube/errors.h"

namespace zhisuan::kube {
namespace {

using ::testing::HasSubstr;

const std::string kAdded =
    R"({"type":"ADDED","object":{"kind":"ConfigMap","metadata":{"name":"a","resourceVersion":"10"}}})"
    "\n";
const std::string kModified =
    R"({"type":"MODIFIED","object":{"kind":"ConfigMap","metadata":{"name":"a","resourceVersion":"11"}}})"
    "\n";
const std::string kDeleted =
    R"({"type":"DELETED","object":{"kind":"ConfigMap","metadata":{"name":"a","resourceVersion":"12"}}})"
    "\n";
const std::string kBookmark =
    R"({"type":"BOOKMARK","object":{"kind":"ConfigMap","metadata":{"resourceVersion":"20"}}})"
    "\n";
const std::string kExpired =
    R"json({"type":"ERROR","object":{"kind":"Status","apiVersion":"v1","status":"Failure","message":"too old resource version: 1 (20)","reason":"Expired","code":410}})json"
    "\n";

std::vector<StatusOr<WatchEvent>> FeedAll(WatchFrameDecoder& decoder,
                                          const std::vector<std::string>& chunks) {
  std::vector<StatusOr<WatchEvent>> out;
  for (const std::string& chunk : chunks) {
    for (auto& event : decoder.Feed(chunk)) out.push_back(std::move(event));
  }
  for (auto& event : decoder.Finish()) out.push_back(std::move(event));
  return out;
}

TEST(WatchFrameDecoder, DecodesEveryEventType) {
  WatchFrameDecoder decoder;
  auto events = FeedAll(decoder, {kAdded + kModified + kDeleted + kBookmark + kExpired});
  ASSERT_EQ(events.size(), 5u);
  for (const auto& event : events) ASSERT_TRUE(event.ok()) << event.status();
  EXPECT_EQ(events[0]->type, WatchEvent::Type::kAdded);
  EXPECT_EQ(events[0]->object["metadata"]["resourceVersion"], "10");
  EXPECT_EQ(events[1]->type, WatchEvent::Type::kModified);
  EXPECT_EQ(events[2]->type, WatchEvent::Type::kDeleted);
  EXPECT_EQ(events[3]->type, WatchEvent::Type::kBookmark);
  EXPECT_EQ(events[3]->object["metadata"]["resourceVersion"], "20");
  EXPECT_EQ(events[4]->type, WatchEvent::Type::kError);
  EXPECT_EQ(events[4]->object["code"], 410);
  EXPECT_TRUE(IsGone(StatusFromApiStatus(events[4]->object)));
}

TEST(WatchFrameDecoder, ChunksSplitAnywhereGiveTheSameEvents) {
  const std::string stream = kAdded + kBookmark + kModified;
  for (size_t chunk_size = 1; chunk_size <= stream.size(); chunk_size += 7) {
    WatchFrameDecoder decoder;
    std::vector<std::string> chunks;
    for (size_t at = 0; at < stream.size(); at += chunk_size) {
      chunks.push_back(stream.substr(at, chunk_size));
    }
    auto events = FeedAll(decoder, chunks);
    ASSERT_EQ(events.size(), 3u) << "chunk size " << chunk_size;
    EXPECT_EQ(events[0]->type, WatchEvent::Type::kAdded);
    EXPECT_EQ(events[1]->type, WatchEvent::Type::kBookmark);
    EXPECT_EQ(events[2]->type, WatchEvent::Type::kModified);
    EXPECT_EQ(decoder.buffered_bytes(), 0u);
  }
}

TEST(WatchFrameDecoder, HoldsAPartialFrameUntilItsNewline) {
  WatchFrameDecoder decoder;
  EXPECT_TRUE(decoder.Feed(kAdded.substr(0, 20)).empty());
  EXPECT_EQ(decoder.buffered_bytes(), 20u);
  auto events = decoder.Feed(kAdded.substr(20));
  ASSERT_EQ(events.size(), 1u);
  EXPECT_TRUE(events[0].ok());
}

TEST(WatchFrameDecoder, BlankLinesAndCarriageReturnsAreIgnored) {
  WatchFrameDecoder decoder;
  auto events = FeedAll(decoder, {"\n\r\n", kAdded, "  \n"});
  ASSERT_EQ(events.size(), 1u);
  EXPECT_TRUE(events[0].ok());
}

TEST(WatchFrameDecoder, MalformedFramesAreErrorsAndDecodingContinues) {
  WatchFrameDecoder decoder;
  auto events = FeedAll(decoder, {"{not json\n", "[1,2]\n",
                                  R"({"type":"ADDED"})"
                                  "\n",
                                  R"({"type":"EXPLODED","object":{}})"
                                  "\n",
                                  R"({"object":{}})"
                                  "\n",
                                  kAdded});
  ASSERT_EQ(events.size(), 6u);
  EXPECT_THAT(events[0].status().message(), HasSubstr("not valid JSON"));
  EXPECT_THAT(events[1].status().message(), HasSubstr("not a JSON object"));
  EXPECT_THAT(events[2].status().message(), HasSubstr("has no object"));
  EXPECT_THAT(events[3].status().message(), HasSubstr("unknown type \"EXPLODED\""));
  EXPECT_THAT(events[4].status().message(), HasSubstr("no string \"type\""));
  for (int i = 0; i < 5; ++i) EXPECT_EQ(events[i].status().code(), StatusCode::kDataLoss);
  EXPECT_TRUE(events[5].ok());
}

TEST(WatchFrameDecoder, OversizedFrameIsRejectedWithoutBufferingItAll) {
  WatchFrameDecoder decoder(/*max_frame_bytes=*/64);
  std::vector<StatusOr<WatchEvent>> events;
  const std::string huge(50, 'x');
  for (int i = 0; i < 100; ++i) {
    for (auto& event : decoder.Feed(huge)) events.push_back(std::move(event));
    EXPECT_LE(decoder.buffered_bytes(), 64u);
  }
  ASSERT_EQ(events.size(), 1u);
  EXPECT_THAT(events[0].status().message(), HasSubstr("larger than 64 bytes"));
  // The rest of the oversized frame is skipped; the next frame decodes.
  const std::string small = R"({"type":"ADDED","object":{}})"
                            "\n";
  auto after = decoder.Feed("tail of the big one\n" + small);
  ASSERT_EQ(after.size(), 1u);
  EXPECT_TRUE(after[0].ok()) << after[0].status();
}

// Found with the watch_decoder fuzz target: a frame of a few hundred thousand nested arrays parsed
// fine and then overflowed the stack of the first copy or dump of the event's object.
TEST(WatchFrameDecoder, FrameNestedTooDeepIsRefusedAndDecodingContinues) {
  const int depth = 20000;  // the fuzzer's was 200000; anything past the limit is refused alike
  const std::string deep = R"({"type":"ADDED","object":{"spec":)" + std::string(depth, '[') +
                           std::string(depth, ']') + "}}\n";
  // The deepest nesting allowed still decodes: the object's own levels count too.
  const int allowed = kMaxWatchFrameDepth - 2;
  const std::string fits = R"({"type":"ADDED","object":{"spec":)" + std::string(allowed, '[') +
                           std::string(allowed, ']') + "}}\n";
  WatchFrameDecoder decoder;
  auto events = FeedAll(decoder, {deep, fits, kAdded});
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[0].status().code(), StatusCode::kDataLoss);
  EXPECT_THAT(events[0].status().message(), HasSubstr("nests deeper than"));
  ASSERT_TRUE(events[1].ok()) << events[1].status();
  const Json copy = events[1]->object;  // copying recurses per level
  EXPECT_EQ(copy, events[1]->object);
  EXPECT_TRUE(events[2].ok()) << events[2].status();
}

// The error quotes only the first bytes of an unknown type, cut at a character boundary: half a
// UTF-8 character would make the message throw when serialised into an Event.
TEST(WatchFrameDecoder, UnknownTypeIsQuotedWithoutSplittingACharacter) {
  std::string type(31, 'x');
  type += "\u00e9\u00e9";  // bytes 31-34: two 2-byte characters, the first straddling byte 32
  auto event = DecodeWatchFrame(R"({"type":")" + type + R"(","object":{}})");
  ASSERT_FALSE(event.ok());
  const std::string& message = event.status().message();
  EXPECT_NO_THROW((void)Json(message).dump());
  EXPECT_THAT(message, HasSubstr("\"" + std::string(31, 'x') + "\""));
}

TEST(WatchFrameDecoder, TruncatedLastFrameIsAnError) {
  WatchFrameDecoder decoder;
  auto events = FeedAll(decoder, {kAdded, kModified.substr(0, kModified.size() / 2)});
  ASSERT_EQ(events.size(), 2u);
  EXPECT_TRUE(events[0].ok());
  EXPECT_EQ(events[1].status().code(), StatusCode::kDataLoss);
  EXPECT_THAT(events[1].status().message(), HasSubstr("ended inside a frame"));
}

TEST(WatchFrameDecoder, CompleteLastFrameWithoutNewlineCounts) {
  WatchFrameDecoder decoder;
  auto events = FeedAll(decoder, {kAdded.substr(0, kAdded.size() - 1)});
  ASSERT_EQ(events.size(), 1u);
  EXPECT_TRUE(events[0].ok());
}

}  // namespace
}  // namespace zhisuan::kube
