#pragma once
// Parsing what an API server (or something pretending to be one) sends, with a bound on nesting.
// nlohmann::json parses iteratively, but copying, comparing and serialising a value recurse once
// per level, so a body nested a few hundred thousand levels deep (a few hundred KB of "[") would
// overflow the stack of whoever touches it next. Real objects nest a few dozen levels; the API
// server itself refuses JSON nested beyond 10000.

#include <string_view>

#include "kube/client.h"

namespace zhisuan::kube {

inline constexpr int kMaxJsonDepth = 512;

struct BoundedJson {
  Json value;             // discarded (is_discarded()) when the text is not valid JSON
  bool too_deep = false;  // refused for nesting deeper than kMaxJsonDepth
};

inline BoundedJson ParseBoundedJson(std::string_view text) {
  BoundedJson result;
  // The parser reports each value's depth as it goes; anything nested too deep is dropped there,
  // so it is never built.
  const Json::parser_callback_t depth_guard = [&result](int depth, Json::parse_event_t, Json&) {
    if (depth > kMaxJsonDepth) result.too_deep = true;
    return !result.too_deep;
  };
  result.value = Json::parse(text.begin(), text.end(), depth_guard, /*allow_exceptions=*/false);
  return result;
}

}  // namespace zhisuan::kube
