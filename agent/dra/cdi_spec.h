#pragma once
// The CDI (Container Device Interface) spec the kubelet plugin writes for one prepared claim: what
// the container runtime injects into each container that uses the claim. It carries what the
// device plugin's Allocate gives a container today (deviceplugin/allocation.h): the vendor's
// environment once for the whole claim (a spec-level edit, applied when any of its devices is
// injected, so NVIDIA_VISIBLE_DEVICES lists all of the claim's GPUs), and each device's nodes on
// its own CDI device "<claim uid>-<device name>".

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "agent/device.h"
#include "common/status.h"

namespace zhisuan::agent::dra {

// The CDI kind of every device this driver injects ("vendor/class").
inline constexpr std::string_view kCdiKind = "zhisuan.io/accelerator";
// 0.6.0 has everything used here (spec-level edits, deviceNodes with hostPath and permissions)
// and is read by every CDI library containerd 1.7 and 2.x ship.
inline constexpr std::string_view kCdiVersion = "0.6.0";

struct CdiDeviceNode {
  std::string path;       // inside the container
  std::string host_path;  // "" when the same as path
  std::string permissions = "rw";
};

struct CdiDevice {
  std::string name;  // unique within the kind: "<claim uid>-<device name>"
  std::vector<CdiDeviceNode> device_nodes;
};

struct CdiSpec {
  std::vector<std::string> env;  // "KEY=value", applied with any of the devices
  std::vector<CdiDevice> devices;
};

// One device of a claim as the allocation names it, and the accelerator behind it.
struct ClaimDevice {
  std::string device_name;  // DraDeviceName(accelerator)
  Accelerator accelerator;
};

// The spec for `devices` of claim `claim_uid`. `dev_root` prefixes every host path ("" on a real
// node; a fixture directory holding stand-in nodes in a node in a box). InvalidArgument when a
// device has no device node to inject (a CDI device needs at least one edit).
StatusOr<CdiSpec> BuildClaimCdiSpec(std::string_view claim_uid,
                                    const std::vector<ClaimDevice>& devices,
                                    std::string_view dev_root);

// The spec file's JSON, as the CDI library reads it.
nlohmann::json CdiSpecJson(const CdiSpec& spec);

// "zhisuan.io/accelerator=<name>", what the kubelet hands the runtime.
std::string QualifiedCdiName(std::string_view device_name);

// The CDI device name of one device of one claim.
std::string CdiDeviceName(std::string_view claim_uid, std::string_view device_name);

// The spec file of one claim in `cdi_dir`. One file per claim, so unprepare removes exactly it.
std::string ClaimCdiSpecPath(std::string_view cdi_dir, std::string_view claim_uid);

// Writes `contents` to `path` through a temporary file in the same directory, fsync and rename:
// a reader (the runtime's CDI cache, a restarted agent) sees the old file or the new, never half.
Status WriteFileAtomically(const std::string& path, std::string_view contents);

}  // namespace zhisuan::agent::dra
