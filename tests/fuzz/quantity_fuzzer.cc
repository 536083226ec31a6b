// Any byte string either parses to a finite quantity or is rejected with a message; a parsed
// value formats to a string that parses again.
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "api/quantity.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto parsed = zhisuan::api::ParseQuantity(text);
  if (!parsed.ok()) {
    if (parsed.status().message().empty()) std::abort();
    return 0;
  }
  if (!std::isfinite(*parsed)) std::abort();
  const std::string formatted = zhisuan::api::FormatQuantity(std::fabs(*parsed));
  if (!zhisuan::api::ParseQuantity(formatted).ok()) std::abort();
  return 0;
}
