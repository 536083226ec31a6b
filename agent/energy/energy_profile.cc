#include "agent/energy/energy_profile.h"

#include <yaml-cpp/yaml.h>

#include <optional>
#include <string>
#include <vector>

#include "common/log.h"
#include "common/strings.h"

namespace zhisuan::agent {
namespace {

// Label values must stay few and safe to put in a label.
bool IsLabelSafe(std::string_view value) {
  if (value.size() > 63) return false;
  for (char c : value) {
    const bool ok =
        (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.';
    if (!ok) return false;
  }
  return true;
}

// A carbon figure: a number, or null for unknown.
StatusOr<std::optional<double>> FigureField(const YAML::Node& node, std::string_view key) {
  if (node.IsNull()) return std::optional<double>();
  if (!node.IsScalar()) return InvalidArgumentError(StrCat(key, ": expected a number"));
  auto value = ParseDouble(StripWhitespace(node.Scalar()));
  if (!value) {
    return InvalidArgumentError(StrCat(key, ": expected a number, got \"", node.Scalar(), "\""));
  }
  return std::optional<double>(*value);
}

std::string FigureText(const std::optional<double>& figure) {
  return figure ? StrCat(*figure) : std::string("unknown");
}

}  // namespace

Status ValidateEnergyProfile(const EnergyProfile& profile) {
  if (profile.source.empty() || !IsLabelSafe(profile.source)) {
    return InvalidArgumentError(
        StrCat("source: \"", profile.source, "\" must be 1-63 of [a-z0-9._-]"));
  }
  if (!IsLabelSafe(profile.zone)) {
    return InvalidArgumentError(StrCat("zone: \"", profile.zone, "\" must be 0-63 of [a-z0-9._-]"));
  }
  // The dirtiest grids run near 1,000 g/kWh; lignite alone about 1,200. 2,000 leaves headroom.
  if (const auto& intensity = profile.carbon_intensity_grams_per_kwh;
      intensity && !(*intensity >= 0 && *intensity <= 2000)) {  // NaN fails both
    return InvalidArgumentError(
        StrCat("carbonIntensityGramsPerKwh: ", *intensity, " is outside 0..2000"));
  }
  if (const auto& ratio = profile.carbon_free_ratio; ratio && !(*ratio >= 0 && *ratio <= 1)) {
    return InvalidArgumentError(StrCat("carbonFreeRatio: ", *ratio, " is outside 0..1"));
  }
  return OkStatus();
}

StatusOr<EnergyProfile> ParseEnergyProfile(std::string_view text, const EnergyProfile& defaults) {
  YAML::Node root;
  try {
    root = YAML::Load(std::string(text));
  } catch (const YAML::Exception& e) {
    return InvalidArgumentError(StrCat("not valid JSON or YAML: ", e.what()));
  }
  if (!root.IsMap()) return InvalidArgumentError("expected a mapping of profile fields");
  EnergyProfile profile = defaults;
  try {
    for (const auto& item : root) {
      const std::string key = item.first.as<std::string>();
      const YAML::Node& value = item.second;
      if (key == "source" || key == "zone") {
        if (!value.IsScalar()) return InvalidArgumentError(StrCat(key, ": expected a string"));
        (key == "source" ? profile.source : profile.zone) = value.Scalar();
      } else if (key == "carbonIntensityGramsPerKwh") {
        ZHISUAN_ASSIGN_OR_RETURN(profile.carbon_intensity_grams_per_kwh, FigureField(value, key));
      } else if (key == "carbonFreeRatio") {
        ZHISUAN_ASSIGN_OR_RETURN(profile.carbon_free_ratio, FigureField(value, key));
      } else {
        return InvalidArgumentError(StrCat(key, ": unknown field"));
      }
    }
  } catch (const YAML::Exception& e) {
    return InvalidArgumentError(StrCat("malformed profile: ", e.what()));
  }
  ZHISUAN_RETURN_IF_ERROR(ValidateEnergyProfile(profile));
  return profile;
}

std::string UnknownCarbonFigures(const EnergyProfile& profile) {
  std::vector<std::string> unknown;
  if (!profile.carbon_intensity_grams_per_kwh) unknown.emplace_back("carbon intensity");
  if (!profile.carbon_free_ratio) unknown.emplace_back("carbon-free ratio");
  return StrJoin(unknown, " and ");
}

EnergyProfileSource::EnergyProfileSource(EnergyProfile configured, std::string path,
                                         FileReaderPtr files)
    : configured_(std::move(configured)),
      path_(std::move(path)),
      files_(std::move(files)),
      current_(configured_) {
  // With a file, its first poll logs what it says; without one this is the profile for good.
  if (path_.empty() && !configured_.CarbonKnown()) {
    ZLOG(Warning) << "no " << UnknownCarbonFigures(configured_)
                  << " configured and no --energy-profile-file: the node reports them as unknown "
                     "(zhisuan_energy_carbon_known 0), and pools with a carbon policy on them "
                     "will not admit it";
  }
}

Status EnergyProfileSource::Poll() {
  if (path_.empty()) return OkStatus();
  StatusOr<std::string> contents = files_->Read(path_);
  std::lock_guard lock(mu_);
  Status status;
  std::string seen;
  if (!contents.ok()) {
    status = contents.status();
    seen = StrCat("\x01read error: ", status.ToString());  // never equals real contents
  } else {
    seen = *contents;
    if (last_contents_ && *last_contents_ == seen) {
      return last_poll_ok_ ? OkStatus() : UnavailableError("unchanged bad energy profile file");
    }
    StatusOr<EnergyProfile> parsed = ParseEnergyProfile(seen, configured_);
    if (parsed.ok()) {
      if (!(*parsed == current_)) {
        ZLOG(Info) << "energy profile from " << path_ << ": source=" << parsed->source
                   << " zone=" << parsed->zone << " carbonIntensityGramsPerKwh="
                   << FigureText(parsed->carbon_intensity_grams_per_kwh)
                   << " carbonFreeRatio=" << FigureText(parsed->carbon_free_ratio);
      }
      current_ = *std::move(parsed);
      last_contents_ = std::move(seen);
      last_poll_ok_ = true;
      return OkStatus();
    }
    status = parsed.status();
  }
  // One log line and one error per distinct bad content, not one per tick.
  if (!last_contents_ || *last_contents_ != seen) {
    ++errors_;
    ZLOG(Warning) << "energy profile file " << path_
                  << " rejected, keeping the last good profile: " << status;
  }
  last_contents_ = std::move(seen);
  last_poll_ok_ = false;
  return status;
}

EnergyProfile EnergyProfileSource::Current() const {
  std::lock_guard lock(mu_);
  return current_;
}

uint64_t EnergyProfileSource::errors() const {
  std::lock_guard lock(mu_);
  return errors_;
}

bool EnergyProfileSource::last_poll_ok() const {
  std::lock_guard lock(mu_);
  return last_poll_ok_;
}

}  // namespace zhisuan::agent
