#include "agent/dra/prepared_claims_checkpoint.h"

#include <cerrno>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "agent/dra/cdi_spec.h"
#include "common/strings.h"

namespace zhisuan::agent::dra {
namespace {

constexpr int kFormatVersion = 1;

nlohmann::json DeviceJson(const PreparedDevice& device) {
  return {{"requestNames", device.request_names},
          {"poolName", device.pool_name},
          {"deviceName", device.device_name},
          {"cdiDeviceIds", device.cdi_device_ids}};
}

// nlohmann's typed getters throw on a wrong type; the caller turns that into InvalidArgument.
PreparedClaim ClaimFromJson(const std::string& uid, const nlohmann::json& json) {
  PreparedClaim claim{.uid = uid,
                      .ns = json.at("namespace").get<std::string>(),
                      .name = json.at("name").get<std::string>(),
                      .devices = {}};
  for (const auto& device : json.at("devices")) {
    claim.devices.push_back(
        {.request_names = device.at("requestNames").get<std::vector<std::string>>(),
         .pool_name = device.at("poolName").get<std::string>(),
         .device_name = device.at("deviceName").get<std::string>(),
         .cdi_device_ids = device.at("cdiDeviceIds").get<std::vector<std::string>>()});
  }
  return claim;
}

}  // namespace

std::string SerializePreparedClaims(const PreparedClaims& claims) {
  nlohmann::json by_uid = nlohmann::json::object();
  for (const auto& [uid, claim] : claims) {
    nlohmann::json devices = nlohmann::json::array();
    for (const auto& device : claim.devices) devices.push_back(DeviceJson(device));
    by_uid[uid] = {{"namespace", claim.ns}, {"name", claim.name}, {"devices", devices}};
  }
  return nlohmann::json{{"version", kFormatVersion}, {"claims", by_uid}}.dump(2) + "\n";
}

StatusOr<PreparedClaims> ParsePreparedClaims(std::string_view text) {
  const nlohmann::json json = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded() || !json.is_object()) {
    return InvalidArgumentError("the prepared-claims checkpoint is not a JSON object");
  }
  if (!json.contains("version") || json["version"] != kFormatVersion) {
    return InvalidArgumentError(StrCat("the prepared-claims checkpoint has version ",
                                       json.value("version", nlohmann::json()).dump(),
                                       ", this agent reads version ", kFormatVersion));
  }
  PreparedClaims claims;
  try {
    for (const auto& [uid, claim] : json.at("claims").items()) {
      claims[uid] = ClaimFromJson(uid, claim);
    }
  } catch (const nlohmann::json::exception& e) {
    return InvalidArgumentError(StrCat("the prepared-claims checkpoint is malformed: ", e.what()));
  }
  return claims;
}

StatusOr<PreparedClaims> PreparedClaimsCheckpoint::Load() const {
  std::ifstream file(path_);
  if (!file) {
    if (errno == ENOENT) return PreparedClaims{};
    return UnavailableError(StrCat("cannot read ", path_, ": ", ErrnoText(errno)));
  }
  std::stringstream text;
  text << file.rdbuf();
  auto claims = ParsePreparedClaims(text.str());
  if (!claims.ok()) return claims.status().Annotate(path_);
  return claims;
}

Status PreparedClaimsCheckpoint::Save(const PreparedClaims& claims) const {
  return WriteFileAtomically(path_, SerializePreparedClaims(claims));
}

}  // namespace zhisuan::agent::dra
