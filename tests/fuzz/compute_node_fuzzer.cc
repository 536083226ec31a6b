// Whatever a hostile agent writes into a ComputeNode, decoding returns a node or a Status, and a
// decoded node re-encodes and decodes again.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "api/compute_node.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto json = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded()) return 0;
  auto node = zhisuan::api::ComputeNodeFromJson(json);
  if (!node.ok()) return 0;
  nlohmann::json object = {{"metadata", {{"name", node->name}}},
                           {"status", zhisuan::api::ToJson(node->status)}};
  if (!zhisuan::api::ComputeNodeFromJson(object).ok()) std::abort();
  return 0;
}
