#pragma once
// Where a node's power comes from and how clean it is. Intelligent computing centres sell
// "zero-carbon" compute, so the agent exports the profile next to power, and the emissions rate
// that follows from both. The profile comes from the agent config and may be overridden by a file
// an external feed rewrites (grid operator, PPA dashboard); the file is re-read when it changes.

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "common/file_reader.h"
#include "common/status.h"

namespace zhisuan::agent {

struct EnergyProfile {
  std::string source = "grid";  // label-safe: grid, hydro, solar, wind, nuclear, mixed, ...
  std::string zone;             // grid zone or site, label-safe ("cn-sichuan"); may be empty
  // The carbon figures are unknown until configured or fed. Unknown is not zero: a 0 would read as
  // perfectly clean and pass every carbon policy, so an unknown figure is left out of the metrics
  // and the ComputeNode, and a pool with a policy on it never admits the node.
  std::optional<double> carbon_intensity_grams_per_kwh;  // gCO2e per kWh, as feeds publish it
  std::optional<double> carbon_free_ratio;               // 0..1

  // Both figures known.
  bool CarbonKnown() const { return carbon_intensity_grams_per_kwh && carbon_free_ratio; }

  friend bool operator==(const EnergyProfile&, const EnergyProfile&) = default;
};

// Range and label checks; the message names the offending field.
Status ValidateEnergyProfile(const EnergyProfile& profile);

// Parses a JSON or YAML mapping (JSON is read as YAML) with keys source, zone,
// carbonIntensityGramsPerKwh, carbonFreeRatio. Missing keys keep `defaults`; a carbon figure set to
// null makes it unknown (a feed that lost its data says so rather than repeating a stale figure);
// unknown keys, wrong types and out-of-range values are errors naming the key.
StatusOr<EnergyProfile> ParseEnergyProfile(std::string_view text, const EnergyProfile& defaults);

// Unit conversions, kept in one place. Exported metrics use base units: grams per joule for
// intensity, grams per second for the emissions rate (power in watts x intensity in g/J). Both are
// unknown (nullopt) while the intensity is.
inline constexpr double kJoulesPerKwh = 3.6e6;
inline std::optional<double> GramsPerJoule(const EnergyProfile& profile) {
  if (!profile.carbon_intensity_grams_per_kwh) return std::nullopt;
  return *profile.carbon_intensity_grams_per_kwh / kJoulesPerKwh;
}
inline std::optional<double> EmissionsGramsPerSecond(double power_watts,
                                                     const EnergyProfile& profile) {
  if (!profile.carbon_intensity_grams_per_kwh) return std::nullopt;
  // Multiply before dividing: 700 W at 360 g/kWh is exactly 0.07 g/s, not 0.07000000000000001.
  return power_watts * *profile.carbon_intensity_grams_per_kwh / kJoulesPerKwh;
}

// "carbon intensity and carbon-free ratio" (whichever are unknown), "" when both are known: what a
// log line, the ComputeNode condition and docs call the missing figures.
std::string UnknownCarbonFigures(const EnergyProfile& profile);

// The current profile: the configured one, overridden by `path` whenever that file holds a valid
// profile. With neither a configured figure nor a file, the carbon figures stay unknown (logged
// once at construction). Poll() re-reads the file when its contents changed (a small file, compared
// whole, so an in-place rewrite within one mtime tick is not missed). A bad file keeps the last
// good profile, logs one line per distinct bad content, and counts an error. Thread-safe.
class EnergyProfileSource {
 public:
  EnergyProfileSource(EnergyProfile configured, std::string path, FileReaderPtr files);

  // Returns the read/parse status of the file this poll (OK when unchanged or when no file).
  Status Poll();
  EnergyProfile Current() const;
  uint64_t errors() const;
  // Whether the last poll left the profile from a good read (true with no file configured).
  bool last_poll_ok() const;

 private:
  const EnergyProfile configured_;
  const std::string path_;
  const FileReaderPtr files_;
  mutable std::mutex mu_;
  EnergyProfile current_;
  std::optional<std::string> last_contents_;
  uint64_t errors_ = 0;
  bool last_poll_ok_ = true;
};

}  // namespace zhisuan::agent
