#pragma once
// String helpers every layer needs. StrCat formats numbers the shortest way that round-trips, so
// what we log and what we send to the API server agree.

#include <charconv>
#include <concepts>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace zhisuan {

namespace strings_internal {
inline void Append(std::string& out, std::string_view text) { out.append(text); }
inline void Append(std::string& out, const char* text) { out.append(text); }
inline void Append(std::string& out, const std::string& text) { out.append(text); }
inline void Append(std::string& out, char c) { out.push_back(c); }
inline void Append(std::string& out, bool b) { out.append(b ? "true" : "false"); }
template <typename T>
requires(std::integral<T> && !std::same_as<T, char> &&
         !std::same_as<T, bool>) void Append(std::string& out, T value) {
  char buffer[24];
  auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, value);
  out.append(buffer, end);
}
template <std::floating_point T>
void Append(std::string& out, T value) {
  char buffer[32];
  auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, value);
  out.append(buffer, end);
}
}  // namespace strings_internal

template <typename... Args>
std::string StrCat(const Args&... args) {
  std::string out;
  (strings_internal::Append(out, args), ...);
  return out;
}

template <typename Range>
std::string StrJoin(const Range& parts, std::string_view separator) {
  std::string out;
  bool first = true;
  for (const auto& part : parts) {
    if (!first) out.append(separator);
    first = false;
    strings_internal::Append(out, part);
  }
  return out;
}

// Splits on every `separator`; keeps empty pieces (callers that want them skipped filter).
std::vector<std::string_view> StrSplit(std::string_view text, char separator);
std::string_view StripWhitespace(std::string_view text);
bool StartsWith(std::string_view text, std::string_view prefix);
bool EndsWith(std::string_view text, std::string_view suffix);
std::string AsciiLower(std::string_view text);

// The text for an errno value. strerror may share one buffer between threads; this does not.
std::string ErrnoText(int error);

// Whole-string numeric parsing: no trailing junk, no overflow. nullopt otherwise.
std::optional<int64_t> ParseInt64(std::string_view text, int base = 10);
std::optional<uint64_t> ParseUint64(std::string_view text, int base = 10);
std::optional<double> ParseDouble(std::string_view text);

std::string Base64Encode(std::string_view data);
// Standard alphabet, padding optional, whitespace ignored. nullopt on any other character.
std::optional<std::string> Base64Decode(std::string_view text);

}  // namespace zhisuan
