#pragma once
// Where a node's power comes from and how clean it is. Intelligent computing centres sell
// "zero-carbon" compute, so the agent exports the profile next to power, and the emissions rate
// that follows from both. The profile comes from the agent config and may be overridden by a file
// an external feed rewrites (grid operator, PPA dashboard, Electricity Maps); the file is re-read
// when it changes. A fed figure has a validity: past it the figure is unknown again, because a
// stale intensity would keep passing (or failing) carbon policies on data nobody vouches for.

#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "common/clock.h"
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
  // How the intensity was accounted: "location" (the grid's average where the power is drawn) or
  // "market" (contracts, PPAs, certificates); "" when the profile does not say. Label-safe.
  std::string basis;
  // "lifecycle" (Electricity Maps' default: construction, fuel supply and combustion) or "direct"
  // (combustion only); "" when the profile does not say. Label-safe.
  std::string emission_factor_type;
  // When the figures were true (`datetime`, else `updatedAt`) and until when the feed vouches for
  // them (`validUntil`). Neither: an operator's static profile, which does not expire.
  std::optional<WallTime> timestamp;
  std::optional<WallTime> valid_until;

  // Both figures known.
  bool CarbonKnown() const { return carbon_intensity_grams_per_kwh && carbon_free_ratio; }

  friend bool operator==(const EnergyProfile&, const EnergyProfile&) = default;
};

// Range and label checks; the message names the offending field.
Status ValidateEnergyProfile(const EnergyProfile& profile);

// Parses a JSON or YAML mapping (JSON is read as YAML) in one of two shapes, told apart by their
// fields:
//  - native: source, zone, carbonIntensityGramsPerKwh, carbonFreeRatio, basis, emissionFactorType,
//    datetime or updatedAt, validUntil;
//  - Electricity Maps' carbon-intensity response (it has `carbonIntensity`, in gCO2eq/kWh): zone
//    (lower-cased), carbonIntensity, datetime, updatedAt, emissionFactorType, and the
//    power-breakdown endpoint's fossilFreePercentage when present (else the carbon-free ratio is
//    unknown, never 0); its basis is "location". Fields of that API the agent does not use are
//    ignored.
// Missing keys keep `defaults`; a carbon figure set to null makes it unknown (a feed that lost its
// data says so rather than repeating a stale figure); in the native shape unknown keys, and in both
// wrong types and out-of-range values, are errors naming the key.
StatusOr<EnergyProfile> ParseEnergyProfile(std::string_view text, const EnergyProfile& defaults);

// RFC 3339 ("2019-05-21T00:00:00.000Z", "2024-03-01T08:00:00+08:00"), as feeds write timestamps.
StatusOr<WallTime> ParseFeedTimestamp(std::string_view text);

// The profile as of one moment, its validity applied.
struct EnergyProfileReading {
  EnergyProfile profile;  // with the carbon figures dropped (unknown) when expired
  // The profile's validUntil; else its timestamp plus the maximum age; nullopt for a profile with
  // neither (an operator's static configuration), which does not expire.
  std::optional<WallTime> valid_until;
  bool expired = false;
};
inline constexpr std::chrono::seconds kDefaultEnergyFeedMaxAge = std::chrono::hours(2);
EnergyProfileReading ReadingAt(const EnergyProfile& profile, WallTime now,
                               std::chrono::seconds max_age);

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
// good profile, logs one line per distinct bad content, and counts an error; the kept profile still
// expires on time (bad input loses nothing, but stale is not trusted). Thread-safe.
class EnergyProfileSource {
 public:
  EnergyProfileSource(EnergyProfile configured, std::string path, FileReaderPtr files,
                      ClockPtr clock = SystemClock(),
                      std::chrono::seconds max_age = kDefaultEnergyFeedMaxAge);

  // Returns the read/parse status of the file this poll (OK when unchanged or when no file).
  Status Poll();
  // The profile now, validity applied (carbon figures unknown once expired).
  EnergyProfileReading Reading() const;
  EnergyProfile Current() const { return Reading().profile; }
  uint64_t errors() const;
  // Whether the last poll left the profile from a good read (true with no file configured).
  bool last_poll_ok() const;

 private:
  Status PollFile();

  const EnergyProfile configured_;
  const std::string path_;
  const FileReaderPtr files_;
  const ClockPtr clock_;
  const std::chrono::seconds max_age_;
  mutable std::mutex mu_;
  EnergyProfile current_;
  std::optional<std::string> last_contents_;
  uint64_t errors_ = 0;
  bool last_poll_ok_ = true;
  bool expiry_logged_ = false;
};

}  // namespace zhisuan::agent
