#pragma once
// The zhisuan.io/ labels the agent puts on its Node: few and stable, so a scheduler or a
// ComputePool selector can rely on them. Everything finer (per-device health, FLOPS, power) lives
// in the ComputeNode, because labels are cheap to select on but costly to change.

#include <map>
#include <string>
#include <vector>

#include "agent/device.h"

namespace zhisuan::agent {

using NodeLabels = std::map<std::string, std::string>;

// Labels for a node with `accelerators`:
//   zhisuan.io/vendor              "nvidia"
//   zhisuan.io/product             "H100-SXM5"
//   zhisuan.io/accelerator-count   "8"
//   zhisuan.io/accelerator-memory  "80Gi" (per device, rounded to the nearest GiB)
//   zhisuan.io/architecture        "hopper" (omitted when unknown)
// A mixed node is labelled for its majority (vendor, product) group, ties broken by vendor name
// then product, so the result is deterministic; count and memory describe that group only (the
// devices a selector on the product can actually get). No accelerators: no labels, which removes
// any the agent set before.
NodeLabels NodeLabelsFor(const std::vector<Accelerator>& accelerators);

// Bytes as a whole number of GiB, rounded to nearest ("80Gi"); "0" for zero.
std::string FormatMemoryLabel(uint64_t bytes);

}  // namespace zhisuan::agent
