#include "agent/energy/energy_profile.h"

#include <yaml-cpp/yaml.h>

#include <cctype>
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

int64_t UnixSeconds(WallTime time) {
  return std::chrono::duration_cast<std::chrono::seconds>(time.time_since_epoch()).count();
}

std::string TimeText(const std::optional<WallTime>& time) {
  return time ? StrCat("@", UnixSeconds(*time)) : std::string("none");
}

StatusOr<std::string> StringField(const YAML::Node& node, std::string_view key) {
  if (!node.IsScalar()) return InvalidArgumentError(StrCat(key, ": expected a string"));
  return node.Scalar();
}

// A timestamp: RFC 3339 text, or null for none.
StatusOr<std::optional<WallTime>> TimeField(const YAML::Node& node, std::string_view key) {
  if (node.IsNull()) return std::optional<WallTime>();
  ZHISUAN_ASSIGN_OR_RETURN(std::string text, StringField(node, key));
  StatusOr<WallTime> time = ParseFeedTimestamp(text);
  if (!time.ok()) return time.status().Annotate(std::string(key));
  return std::optional<WallTime>(*time);
}

// One of a closed set of label-safe words, or null for "not stated".
StatusOr<std::string> EnumField(const YAML::Node& node, std::string_view key,
                                std::string_view first, std::string_view second) {
  if (node.IsNull()) return std::string();
  ZHISUAN_ASSIGN_OR_RETURN(std::string text, StringField(node, key));
  text = AsciiLower(text);
  if (text != first && text != second) {
    return InvalidArgumentError(
        StrCat(key, ": \"", node.Scalar(), "\" is neither ", first, " nor ", second));
  }
  return text;
}

// Fields both shapes spell the same way. Returns false for a key that is not one of them.
StatusOr<bool> ApplyCommonField(const std::string& key, const YAML::Node& value,
                                EnergyProfile& profile, bool& has_datetime) {
  if (key == "zone") {
    ZHISUAN_ASSIGN_OR_RETURN(profile.zone, StringField(value, key));
  } else if (key == "datetime") {
    // The hour the figure describes: what its age is measured from.
    ZHISUAN_ASSIGN_OR_RETURN(profile.timestamp, TimeField(value, key));
    has_datetime = true;
  } else if (key == "updatedAt") {
    ZHISUAN_ASSIGN_OR_RETURN(auto updated, TimeField(value, key));
    if (!has_datetime) profile.timestamp = updated;
  } else if (key == "validUntil") {
    ZHISUAN_ASSIGN_OR_RETURN(profile.valid_until, TimeField(value, key));
  } else if (key == "emissionFactorType") {
    ZHISUAN_ASSIGN_OR_RETURN(profile.emission_factor_type,
                             EnumField(value, key, "lifecycle", "direct"));
  } else if (key == "basis") {
    ZHISUAN_ASSIGN_OR_RETURN(profile.basis, EnumField(value, key, "location", "market"));
  } else {
    return false;
  }
  return true;
}

Status ApplyNativeShape(const YAML::Node& root, EnergyProfile& profile) {
  bool has_datetime = false;
  for (const auto& item : root) {
    const std::string key = item.first.as<std::string>();
    const YAML::Node& value = item.second;
    ZHISUAN_ASSIGN_OR_RETURN(bool common, ApplyCommonField(key, value, profile, has_datetime));
    if (common) continue;
    if (key == "source") {
      ZHISUAN_ASSIGN_OR_RETURN(profile.source, StringField(value, key));
    } else if (key == "carbonIntensityGramsPerKwh") {
      ZHISUAN_ASSIGN_OR_RETURN(profile.carbon_intensity_grams_per_kwh, FigureField(value, key));
    } else if (key == "carbonFreeRatio") {
      ZHISUAN_ASSIGN_OR_RETURN(profile.carbon_free_ratio, FigureField(value, key));
    } else {
      return InvalidArgumentError(
          StrCat(key,
                 ": unknown field (neither an energy profile field nor Electricity Maps' "
                 "carbonIntensity)"));
    }
  }
  return OkStatus();
}

// Electricity Maps' /carbon-intensity response, optionally with the /power-breakdown response's
// fossilFreePercentage. Its other fields (isEstimated, estimationMethod, createdAt, the breakdowns,
// fields the API adds later) are ignored: the agent does not own that format.
Status ApplyElectricityMapsShape(const YAML::Node& root, EnergyProfile& profile) {
  bool has_datetime = false;
  // Its intensity is the zone's grid average: location-based.
  profile.basis = "location";
  // The figures are the feed's: a configured ratio does not belong with its intensity.
  profile.carbon_free_ratio.reset();
  for (const auto& item : root) {
    const std::string key = item.first.as<std::string>();
    const YAML::Node& value = item.second;
    ZHISUAN_ASSIGN_OR_RETURN(bool common, ApplyCommonField(key, value, profile, has_datetime));
    if (common) continue;
    if (key == "carbonIntensity") {
      ZHISUAN_ASSIGN_OR_RETURN(profile.carbon_intensity_grams_per_kwh, FigureField(value, key));
    } else if (key == "fossilFreePercentage") {
      ZHISUAN_ASSIGN_OR_RETURN(std::optional<double> percent, FigureField(value, key));
      if (percent && !(*percent >= 0 && *percent <= 100)) {
        return InvalidArgumentError(StrCat(key, ": ", *percent, " is outside 0..100"));
      }
      profile.carbon_free_ratio.reset();
      if (percent) profile.carbon_free_ratio = *percent / 100;
    }
  }
  // Zones are upper case there ("DE", "CN-SO"), label values lower case here.
  profile.zone = AsciiLower(profile.zone);
  return OkStatus();
}

}  // namespace

StatusOr<WallTime> ParseFeedTimestamp(std::string_view text) {
  const auto bad = [&] {
    return InvalidArgumentError(
        StrCat("\"", text, "\" is not an RFC 3339 time (2019-05-21T00:00:00.000Z)"));
  };
  // YYYY-MM-DDTHH:MM:SS[.fraction](Z|+HH:MM|-HH:MM)
  const auto digits = [&](size_t at, size_t count) -> std::optional<int> {
    if (at + count > text.size()) return std::nullopt;
    int value = 0;
    for (size_t i = at; i < at + count; ++i) {
      if (!std::isdigit(static_cast<unsigned char>(text[i]))) return std::nullopt;
      value = value * 10 + (text[i] - '0');
    }
    return value;
  };
  const auto is = [&](size_t at, char c) { return at < text.size() && text[at] == c; };
  auto year = digits(0, 4);
  auto month = digits(5, 2);
  auto day = digits(8, 2);
  auto hour = digits(11, 2);
  auto minute = digits(14, 2);
  auto second = digits(17, 2);
  if (!year || !month || !day || !hour || !minute || !second || !is(4, '-') || !is(7, '-') ||
      !(is(10, 'T') || is(10, 't') || is(10, ' ')) || !is(13, ':') || !is(16, ':')) {
    return bad();
  }
  const std::chrono::year_month_day date{std::chrono::year(*year),
                                         std::chrono::month(static_cast<unsigned>(*month)),
                                         std::chrono::day(static_cast<unsigned>(*day))};
  if (!date.ok() || *hour > 23 || *minute > 59 || *second > 60) return bad();
  size_t at = 19;
  std::chrono::nanoseconds fraction{0};
  if (is(at, '.')) {
    ++at;
    int64_t scale = 100'000'000;
    const size_t start = at;
    while (at < text.size() && std::isdigit(static_cast<unsigned char>(text[at]))) {
      fraction += std::chrono::nanoseconds((text[at] - '0') * scale);
      scale /= 10;
      ++at;
    }
    if (at == start) return bad();
  }
  std::chrono::minutes offset{0};
  if (is(at, 'Z') || is(at, 'z')) {
    ++at;
  } else if (is(at, '+') || is(at, '-')) {
    auto offset_hours = digits(at + 1, 2);
    auto offset_minutes = digits(at + 4, 2);
    if (!offset_hours || !is(at + 3, ':') || !offset_minutes || *offset_hours > 23 ||
        *offset_minutes > 59) {
      return bad();
    }
    offset = std::chrono::hours(*offset_hours) + std::chrono::minutes(*offset_minutes);
    if (text[at] == '-') offset = -offset;
    at += 6;
  } else {
    return bad();
  }
  if (at != text.size()) return bad();
  const auto utc = std::chrono::sys_days(date) + std::chrono::hours(*hour) +
                   std::chrono::minutes(*minute) + std::chrono::seconds(*second) - offset +
                   fraction;
  return std::chrono::time_point_cast<WallTime::duration>(utc);
}

EnergyProfileReading ReadingAt(const EnergyProfile& profile, WallTime now,
                               std::chrono::seconds max_age) {
  EnergyProfileReading reading;
  reading.profile = profile;
  if (profile.valid_until) {
    reading.valid_until = profile.valid_until;
  } else if (profile.timestamp) {
    reading.valid_until = *profile.timestamp + max_age;
  }
  // The same path as no profile: the figures are unknown, not the last ones repeated.
  if (reading.valid_until && now >= *reading.valid_until) {
    reading.expired = true;
    reading.profile.carbon_intensity_grams_per_kwh.reset();
    reading.profile.carbon_free_ratio.reset();
  }
  return reading;
}

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
  // The figures and their time travel together: a file without a timestamp does not inherit one.
  profile.timestamp.reset();
  profile.valid_until.reset();
  try {
    const YAML::Node& fields = root;  // const: a lookup must not insert the key
    if (fields["carbonIntensity"]) {
      if (fields["carbonIntensityGramsPerKwh"] || fields["carbonFreeRatio"]) {
        return InvalidArgumentError(
            "carbonIntensity: Electricity Maps' field mixed with the native "
            "carbonIntensityGramsPerKwh/carbonFreeRatio; use one shape");
      }
      ZHISUAN_RETURN_IF_ERROR(ApplyElectricityMapsShape(root, profile));
    } else {
      ZHISUAN_RETURN_IF_ERROR(ApplyNativeShape(root, profile));
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
                                         FileReaderPtr files, ClockPtr clock,
                                         std::chrono::seconds max_age)
    : configured_(std::move(configured)),
      path_(std::move(path)),
      files_(std::move(files)),
      clock_(std::move(clock)),
      max_age_(max_age),
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
  Status status = PollFile();
  std::lock_guard lock(mu_);
  // Logged once per expiry: the figures go unknown until a fresh feed arrives.
  const EnergyProfileReading reading = ReadingAt(current_, clock_->WallNow(), max_age_);
  if (reading.expired && !expiry_logged_) {
    ZLOG(Warning) << "energy profile" << (path_.empty() ? std::string() : StrCat(" from ", path_))
                  << " expired at " << TimeText(reading.valid_until)
                  << " (validUntil, else its timestamp plus --energy-feed-max-age): its carbon "
                     "figures are unknown until the feed is refreshed";
  }
  expiry_logged_ = reading.expired;
  return status;
}

Status EnergyProfileSource::PollFile() {
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
                   << " carbonFreeRatio=" << FigureText(parsed->carbon_free_ratio)
                   << " basis=" << parsed->basis
                   << " emissionFactorType=" << parsed->emission_factor_type
                   << " timestamp=" << TimeText(parsed->timestamp)
                   << " validUntil=" << TimeText(parsed->valid_until);
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
  return status.Annotate(StrCat("energy profile file ", path_));
}

EnergyProfileReading EnergyProfileSource::Reading() const {
  std::lock_guard lock(mu_);
  return ReadingAt(current_, clock_->WallNow(), max_age_);
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
