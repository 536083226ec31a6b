#include "kube/watch_decoder.h"

#include <algorithm>

#include "common/strings.h"

namespace zhisuan::kube {

StatusOr<WatchEvent> DecodeWatchFrame(std::string_view frame) {
  BoundedJson bounded = ParseBoundedJson(frame);
  if (bounded.too_deep) {
    return DataLossError(
        StrCat("watch frame nests deeper than ", kMaxWatchFrameDepth, " levels; refusing it"));
  }
  Json& parsed = bounded.value;
  if (parsed.is_discarded()) {
    return DataLossError(StrCat("watch frame is not valid JSON (", frame.size(), " bytes)"));
  }
  if (!parsed.is_object()) return DataLossError("watch frame is not a JSON object");
  auto type = parsed.find("type");
  if (type == parsed.end() || !type->is_string()) {
    return DataLossError("watch frame has no string \"type\"");
  }
  auto object = parsed.find("object");
  if (object == parsed.end() || !object->is_object()) {
    return DataLossError(StrCat("watch ", type->get<std::string>(), " frame has no object"));
  }
  WatchEvent event;
  const std::string& name = type->get_ref<const std::string&>();
  if (name == "ADDED") {
    event.type = WatchEvent::Type::kAdded;
  } else if (name == "MODIFIED") {
    event.type = WatchEvent::Type::kModified;
  } else if (name == "DELETED") {
    event.type = WatchEvent::Type::kDeleted;
  } else if (name == "BOOKMARK") {
    event.type = WatchEvent::Type::kBookmark;
  } else if (name == "ERROR") {
    event.type = WatchEvent::Type::kError;
  } else {
    // Only the first bytes: the type came from the network and could be anything. The cut backs
    // off to a UTF-8 character boundary, so the message stays valid if it lands in JSON (an
    // Event, a condition), where half a character would make serialising it throw.
    size_t cut = std::min<size_t>(name.size(), 32);
    while (cut > 0 && cut < name.size() && (static_cast<unsigned char>(name[cut]) & 0xC0) == 0x80) {
      --cut;
    }
    return DataLossError(StrCat("watch frame has unknown type \"", name.substr(0, cut), "\""));
  }
  event.object = std::move(*object);
  return event;
}

WatchFrameDecoder::WatchFrameDecoder(size_t max_frame_bytes) : max_frame_bytes_(max_frame_bytes) {}

std::vector<StatusOr<WatchEvent>> WatchFrameDecoder::Feed(std::string_view bytes) {
  std::vector<StatusOr<WatchEvent>> out;
  while (!bytes.empty()) {
    const size_t newline = bytes.find('\n');
    const std::string_view piece = bytes.substr(0, newline);
    bytes.remove_prefix(newline == std::string_view::npos ? bytes.size() : newline + 1);
    if (skipping_oversized_) {
      // The rest of a frame already reported as too large.
      if (newline != std::string_view::npos) skipping_oversized_ = false;
      continue;
    }
    if (pending_.size() + piece.size() > max_frame_bytes_) {
      out.push_back(DataLossError(
          StrCat("watch frame larger than ", max_frame_bytes_, " bytes; refusing to buffer it")));
      pending_.clear();
      pending_.shrink_to_fit();
      skipping_oversized_ = newline == std::string_view::npos;
      continue;
    }
    if (newline == std::string_view::npos) {
      pending_.append(piece);
      break;
    }
    std::string_view frame = piece;
    if (!pending_.empty()) {
      pending_.append(piece);
      frame = pending_;
    }
    // Blank lines (keep-alives, a trailing \r\n) carry nothing.
    if (!StripWhitespace(frame).empty()) out.push_back(DecodeWatchFrame(frame));
    pending_.clear();
  }
  return out;
}

std::vector<StatusOr<WatchEvent>> WatchFrameDecoder::Finish() {
  std::vector<StatusOr<WatchEvent>> out;
  if (skipping_oversized_) {
    skipping_oversized_ = false;
    return out;  // already reported
  }
  if (StripWhitespace(pending_).empty()) {
    pending_.clear();
    return out;
  }
  StatusOr<WatchEvent> last = DecodeWatchFrame(pending_);
  if (last.ok()) {
    out.push_back(std::move(last));
  } else {
    out.push_back(DataLossError(StrCat("watch stream ended inside a frame (", pending_.size(),
                                       " bytes of a truncated event)")));
  }
  pending_.clear();
  return out;
}

}  // namespace zhisuan::kube
