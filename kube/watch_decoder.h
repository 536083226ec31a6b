#pragma once
// Decodes a watch response body, newline-delimited JSON event frames ({"type":..,"object":..}),
// from chunks that may split a frame anywhere. Pure and allocation-bounded so it can be fuzzed: a
// frame larger than the limit is rejected (and skipped up to its newline) instead of buffered, and
// malformed JSON is an error for that frame, never a crash.

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "kube/bounded_json.h"
#include "kube/client.h"

namespace zhisuan::kube {

class WatchFrameDecoder {
 public:
  static constexpr size_t kDefaultMaxFrameBytes = size_t{16} << 20;

  explicit WatchFrameDecoder(size_t max_frame_bytes = kDefaultMaxFrameBytes);

  // Every frame completed by `bytes`, in order: an event, or the error for that frame.
  std::vector<StatusOr<WatchEvent>> Feed(std::string_view bytes);

  // The stream ended. A complete final object without its newline still counts; anything else
  // left over is a truncated frame (DataLoss). Returns nothing when no bytes were pending.
  std::vector<StatusOr<WatchEvent>> Finish();

  // Bytes held for the frame in progress.
  size_t buffered_bytes() const { return pending_.size(); }

 private:
  size_t max_frame_bytes_;
  std::string pending_;
  bool skipping_oversized_ = false;
};

// Deepest array/object nesting a frame may have (see kube/bounded_json.h for why there is one).
inline constexpr int kMaxWatchFrameDepth = kMaxJsonDepth;

// One frame's JSON text to an event. Exposed for tests and for the fuzzer.
StatusOr<WatchEvent> DecodeWatchFrame(std::string_view frame);

}  // namespace zhisuan::kube
