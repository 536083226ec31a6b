// A watch response body arrives in chunks the network chose. Input layout: byte 0 picks the frame
// size limit, byte 1 the number of split points, then that many bytes of split offsets, then the
// body. Whatever the body, the decoder holds at most the limit, and feeding the body in one chunk
// or split at the chosen points yields the same events and errors in the same order.
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "kube/watch_decoder.h"

namespace {

using zhisuan::StatusOr;
using zhisuan::kube::WatchEvent;
using zhisuan::kube::WatchFrameDecoder;

// A comparable rendering of one decoded frame.
std::string Describe(const StatusOr<WatchEvent>& event) {
  if (!event.ok()) {
    if (event.status().message().empty()) std::abort();
    return "error " + event.status().ToString();
  }
  return "event " + std::to_string(static_cast<int>(event->type)) + " " + event->object.dump();
}

std::vector<std::string> Decode(size_t max_frame_bytes, std::string_view body,
                                const std::vector<size_t>& cuts) {
  WatchFrameDecoder decoder(max_frame_bytes);
  std::vector<std::string> out;
  size_t at = 0;
  auto feed = [&](std::string_view chunk) {
    for (const auto& event : decoder.Feed(chunk)) out.push_back(Describe(event));
    if (decoder.buffered_bytes() > max_frame_bytes) std::abort();
  };
  for (size_t cut : cuts) {
    feed(body.substr(at, cut - at));
    at = cut;
  }
  feed(body.substr(at));
  for (const auto& event : decoder.Finish()) out.push_back(Describe(event));
  if (decoder.buffered_bytes() != 0) std::abort();
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  // Small limits reach the oversized-frame path with small inputs; 0 means the default.
  const size_t max_frame_bytes =
      data[0] == 0 ? WatchFrameDecoder::kDefaultMaxFrameBytes : size_t{data[0]} * 4;
  const size_t split_count = std::min<size_t>(data[1] % 16, size - 2);
  const uint8_t* split_bytes = data + 2;
  const std::string_view body(reinterpret_cast<const char*>(data) + 2 + split_count,
                              size - 2 - split_count);
  std::vector<size_t> cuts;
  for (size_t i = 0; i < split_count && !body.empty(); ++i) {
    cuts.push_back(split_bytes[i] * body.size() / 256);
  }
  std::sort(cuts.begin(), cuts.end());

  const std::vector<std::string> whole = Decode(max_frame_bytes, body, {});
  const std::vector<std::string> split = Decode(max_frame_bytes, body, cuts);
  if (whole != split) std::abort();
  return 0;
}
