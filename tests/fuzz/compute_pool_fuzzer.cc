// Whatever a ComputePool object holds, decoding returns a pool or a Status, never a crash; a
// decoded spec re-encodes to one that decodes again.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "api/compute_pool.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto json = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded()) return 0;
  auto pool = zhisuan::api::ComputePoolFromJson(json);
  if (!pool.ok()) return 0;
  if (!zhisuan::api::ComputePoolSpecFromJson(zhisuan::api::ToJson(pool->spec)).ok()) std::abort();
  (void)zhisuan::api::ToJson(pool->status);
  return 0;
}
