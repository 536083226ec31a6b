#pragma once
// The kubelet plugin's record of the claims it prepared, kept in a JSON file in the plugin's
// directory. The kubelet calls NodePrepareResources again after its own restart and
// NodeUnprepareResources possibly after ours, so the answer to a claim prepared before an agent
// restart must be the same, and only this file remembers it. Every change is written whole through
// a temporary file and a rename.

#include <map>
#include <string>
#include <vector>

#include "common/status.h"

namespace zhisuan::agent::dra {

// One device of a prepared claim, as NodePrepareResources reports it.
struct PreparedDevice {
  std::vector<std::string> request_names;
  std::string pool_name;
  std::string device_name;
  std::vector<std::string> cdi_device_ids;

  friend bool operator==(const PreparedDevice&, const PreparedDevice&) = default;
};

struct PreparedClaim {
  std::string uid;
  std::string ns;
  std::string name;
  std::vector<PreparedDevice> devices;

  friend bool operator==(const PreparedClaim&, const PreparedClaim&) = default;
};

// By claim UID.
using PreparedClaims = std::map<std::string, PreparedClaim>;

// The file's text and back. Parse rejects anything it did not write (wrong version, wrong types)
// with InvalidArgument naming what is wrong.
std::string SerializePreparedClaims(const PreparedClaims& claims);
StatusOr<PreparedClaims> ParsePreparedClaims(std::string_view text);

class PreparedClaimsCheckpoint {
 public:
  explicit PreparedClaimsCheckpoint(std::string path) : path_(std::move(path)) {}

  // The claims on file; none when the file does not exist (a first start).
  StatusOr<PreparedClaims> Load() const;
  Status Save(const PreparedClaims& claims) const;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace zhisuan::agent::dra
