#include "agent/energy/energy_profile.h"

#include <gtest/gtest.h>

#include <map>

#include "agent/energy/emissions.h"

namespace zhisuan::agent {
namespace {

// Files held in memory, rewritten by the test as an external feed would.
class MemoryFiles final : public FileReader {
 public:
  StatusOr<std::string> Read(std::string_view path) const override {
    auto it = files.find(std::string(path));
    if (it == files.end()) return NotFoundError(std::string(path));
    return it->second;
  }
  StatusOr<std::vector<std::string>> List(std::string_view) const override {
    return NotFoundError("");
  }
  StatusOr<std::string> ReadLink(std::string_view) const override { return NotFoundError(""); }
  bool Exists(std::string_view path) const override { return files.contains(std::string(path)); }
  std::map<std::string, std::string> files;
};

TEST(EnergyProfileTest, ParsesJsonAndYaml) {
  auto json = ParseEnergyProfile(
      R"({"source": "hydro", "zone": "cn-sichuan", "carbonIntensityGramsPerKwh": 24,
          "carbonFreeRatio": 0.97})",
      {});
  ASSERT_TRUE(json.ok()) << json.status();
  EXPECT_EQ(json->source, "hydro");
  EXPECT_EQ(json->zone, "cn-sichuan");
  EXPECT_EQ(json->carbon_intensity_grams_per_kwh, 24);
  EXPECT_EQ(json->carbon_free_ratio, 0.97);

  auto yaml = ParseEnergyProfile("source: solar\ncarbonFreeRatio: 1\n", *json);
  ASSERT_TRUE(yaml.ok()) << yaml.status();
  EXPECT_EQ(yaml->source, "solar");
  EXPECT_EQ(yaml->zone, "cn-sichuan");  // missing keys keep the defaults
  EXPECT_EQ(yaml->carbon_free_ratio, 1);
}

TEST(EnergyProfileTest, ErrorsNameTheField) {
  struct Case {
    std::string text;
    std::string field;
  };
  for (const Case& c : std::vector<Case>{
           {R"({"carbonFreeRatio": 1.5})", "carbonFreeRatio"},
           {R"({"carbonIntensityGramsPerKwh": -3})", "carbonIntensityGramsPerKwh"},
           {R"({"carbonIntensityGramsPerKwh": "lots"})", "carbonIntensityGramsPerKwh"},
           {R"({"source": "Hydro Power!"})", "source"},
           {R"({"color": "green"})", "color"},
       }) {
    auto parsed = ParseEnergyProfile(c.text, {});
    ASSERT_FALSE(parsed.ok()) << c.text;
    EXPECT_EQ(parsed.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(parsed.status().message().find(c.field), std::string::npos)
        << parsed.status().message();
  }
  EXPECT_FALSE(ParseEnergyProfile(R"({"source": "hydro", "zone": )", {}).ok());  // truncated
  EXPECT_FALSE(ParseEnergyProfile("[1, 2]", {}).ok());
}

TEST(EnergyProfileTest, EmissionsUseBaseUnits) {
  EnergyProfile profile;
  profile.carbon_intensity_grams_per_kwh = 360;
  EXPECT_DOUBLE_EQ(GramsPerJoule(profile).value_or(-1), 1e-4);
  EXPECT_DOUBLE_EQ(EmissionsGramsPerSecond(1000, profile).value_or(-1), 0.1);  // 1 kW, 360 g/kWh
}

// Issue 18: an agent nobody told about its power reported 0 gCO2e/kWh and a carbon-free ratio of 0,
// and the 0 intensity passed every maxIntensity policy. Unknown stays unknown.
TEST(EnergyProfileTest, WithoutFiguresTheCarbonIsUnknownNotZero) {
  const EnergyProfile unconfigured;
  EXPECT_FALSE(unconfigured.carbon_intensity_grams_per_kwh.has_value());
  EXPECT_FALSE(unconfigured.carbon_free_ratio.has_value());
  EXPECT_FALSE(unconfigured.CarbonKnown());
  EXPECT_FALSE(GramsPerJoule(unconfigured).has_value());
  EXPECT_FALSE(EmissionsGramsPerSecond(700, unconfigured).has_value());
  EXPECT_EQ(UnknownCarbonFigures(unconfigured), "carbon intensity and carbon-free ratio");

  // A profile that names only its source knows nothing about carbon either.
  auto named = ParseEnergyProfile("source: hydro\nzone: cn-sichuan\n", {});
  ASSERT_TRUE(named.ok()) << named.status();
  EXPECT_FALSE(named->carbon_intensity_grams_per_kwh.has_value());
  EXPECT_FALSE(named->carbon_free_ratio.has_value());

  // One figure known is not both.
  auto half = ParseEnergyProfile(R"({"carbonIntensityGramsPerKwh": 0})", {});
  ASSERT_TRUE(half.ok()) << half.status();
  EXPECT_EQ(half->carbon_intensity_grams_per_kwh, 0);  // a known 0 stays a real 0
  EXPECT_FALSE(half->CarbonKnown());
  EXPECT_EQ(UnknownCarbonFigures(*half), "carbon-free ratio");

  // A feed that lost its data says null, which makes a configured figure unknown again.
  EnergyProfile configured;
  configured.carbon_intensity_grams_per_kwh = 500;
  configured.carbon_free_ratio = 0.2;
  EXPECT_TRUE(configured.CarbonKnown());
  EXPECT_EQ(UnknownCarbonFigures(configured), "");
  auto lost = ParseEnergyProfile(R"({"carbonIntensityGramsPerKwh": null, "carbonFreeRatio": 0.3})",
                                 configured);
  ASSERT_TRUE(lost.ok()) << lost.status();
  EXPECT_FALSE(lost->carbon_intensity_grams_per_kwh.has_value());
  EXPECT_EQ(lost->carbon_free_ratio, 0.3);
}

TEST(EnergyProfileSourceTest, FollowsTheFileAndKeepsTheLastGoodProfileOnBadContent) {
  auto files = std::make_shared<MemoryFiles>();
  EnergyProfile configured;
  configured.source = "grid";
  configured.carbon_intensity_grams_per_kwh = 500;
  EnergyProfileSource source(configured, "/feed/energy.json", files);

  // No file yet: the configured profile stands, and the missing file is an error once.
  EXPECT_FALSE(source.Poll().ok());
  EXPECT_EQ(source.Current(), configured);
  EXPECT_EQ(source.errors(), 1u);
  EXPECT_FALSE(source.Poll().ok());
  EXPECT_EQ(source.errors(), 1u);

  files->files["/feed/energy.json"] = R"({"source": "hydro", "carbonIntensityGramsPerKwh": 20})";
  EXPECT_TRUE(source.Poll().ok());
  EXPECT_EQ(source.Current().source, "hydro");
  EXPECT_EQ(source.Current().carbon_intensity_grams_per_kwh, 20);
  EXPECT_TRUE(source.last_poll_ok());

  files->files["/feed/energy.json"] = R"({"source": "hydro", "carbonIntensi)";  // truncated
  EXPECT_FALSE(source.Poll().ok());
  EXPECT_FALSE(source.Poll().ok());
  EXPECT_EQ(source.Current().source, "hydro");  // last good kept
  EXPECT_EQ(source.errors(), 2u);               // one error per distinct bad content
  EXPECT_FALSE(source.last_poll_ok());

  files->files["/feed/energy.json"] = R"({"carbonFreeRatio": 7})";  // out of range
  EXPECT_FALSE(source.Poll().ok());
  EXPECT_EQ(source.errors(), 3u);

  files->files["/feed/energy.json"] = "source: solar\ncarbonFreeRatio: 0.9\n";
  EXPECT_TRUE(source.Poll().ok());
  EXPECT_EQ(source.Current().source, "solar");
  // Fields the file omits come from the configured profile, not the previous file.
  EXPECT_EQ(source.Current().carbon_intensity_grams_per_kwh, 500);
  EXPECT_TRUE(source.last_poll_ok());
}

TEST(EnergyProfileSourceTest, WithNeitherConfigNorFileTheCarbonStaysUnknown) {
  EnergyProfileSource source(EnergyProfile{}, "", std::make_shared<MemoryFiles>());
  EXPECT_TRUE(source.Poll().ok());
  EXPECT_FALSE(source.Current().carbon_intensity_grams_per_kwh.has_value());
  EXPECT_FALSE(source.Current().carbon_free_ratio.has_value());

  // A feed that supplies only a source leaves the figures unknown too.
  auto files = std::make_shared<MemoryFiles>();
  files->files["/feed/energy.json"] = R"({"source": "solar"})";
  EnergyProfileSource fed(EnergyProfile{}, "/feed/energy.json", files);
  EXPECT_TRUE(fed.Poll().ok());
  EXPECT_EQ(fed.Current().source, "solar");
  EXPECT_FALSE(fed.Current().CarbonKnown());
}

TEST(EnergyProfileSourceTest, WithoutAFileTheConfiguredProfileStands) {
  EnergyProfile configured;
  configured.source = "wind";
  EnergyProfileSource source(configured, "", std::make_shared<MemoryFiles>());
  EXPECT_TRUE(source.Poll().ok());
  EXPECT_EQ(source.Current(), configured);
  EXPECT_EQ(source.errors(), 0u);
}

using std::chrono::hours;
using std::chrono::minutes;
using std::chrono::seconds;

WallTime At(std::string_view rfc3339) {
  StatusOr<WallTime> time = ParseFeedTimestamp(rfc3339);
  EXPECT_TRUE(time.ok()) << rfc3339 << ": " << time.status();
  return time.ok() ? *time : WallTime{};
}

int64_t UnixSeconds(WallTime time) {
  return std::chrono::duration_cast<seconds>(time.time_since_epoch()).count();
}

TEST(FeedTimestampTest, ParsesRfc3339WithFractionsAndOffsets) {
  EXPECT_EQ(UnixSeconds(At("2019-05-21T00:00:00.000Z")), 1558396800);
  EXPECT_EQ(UnixSeconds(At("2019-05-21T00:00:00Z")), 1558396800);
  EXPECT_EQ(UnixSeconds(At("2019-05-21T08:00:00+08:00")), 1558396800);
  EXPECT_EQ(UnixSeconds(At("2019-05-20T19:30:00-04:30")), 1558396800);
  EXPECT_EQ(At("2019-05-21T00:00:00.250Z") - At("2019-05-21T00:00:00Z"),
            std::chrono::milliseconds(250));
  for (std::string_view bad :
       {"", "2019-05-21", "2019-05-21T00:00:00", "2019-02-30T00:00:00Z", "2019-05-21T24:00:00Z",
        "21/05/2019 00:00", "2019-05-21T00:00:00Zx", "2019-05-21T00:00:00.Z"}) {
    EXPECT_FALSE(ParseFeedTimestamp(bad).ok()) << bad;
  }
}

// Issue 18: the feed carries its time, validity, basis and emission factor type.
TEST(EnergyFeedTest, NativeShapeCarriesTimeValidityBasisAndFactorType) {
  auto parsed = ParseEnergyProfile(
      R"({"source": "grid", "zone": "cn-sichuan", "carbonIntensityGramsPerKwh": 110,
          "carbonFreeRatio": 0.8, "basis": "market", "emissionFactorType": "direct",
          "updatedAt": "2027-01-15T07:00:00Z", "validUntil": "2027-01-15T09:00:00Z"})",
      {});
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->basis, "market");
  EXPECT_EQ(parsed->emission_factor_type, "direct");
  EXPECT_EQ(parsed->timestamp, At("2027-01-15T07:00:00Z"));
  EXPECT_EQ(parsed->valid_until, At("2027-01-15T09:00:00Z"));

  // datetime (the hour the figure describes) wins over updatedAt, in either order.
  auto both = ParseEnergyProfile(
      R"({"datetime": "2027-01-15T06:00:00Z", "updatedAt": "2027-01-15T07:00:00Z"})", {});
  ASSERT_TRUE(both.ok()) << both.status();
  EXPECT_EQ(both->timestamp, At("2027-01-15T06:00:00Z"));
}

TEST(EnergyFeedTest, AcceptsElectricityMapsCarbonIntensityResponse) {
  EnergyProfile configured;
  configured.source = "grid";
  configured.carbon_free_ratio = 0.5;  // not the feed's: must not be paired with its intensity
  auto parsed = ParseEnergyProfile(
      R"({"zone":"DE","carbonIntensity":302,"datetime":"2019-05-21T00:00:00.000Z",
          "updatedAt":"2019-05-21T00:00:00.000Z","emissionFactorType":"lifecycle",
          "isEstimated":false,"estimationMethod":null})",
      configured);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->zone, "de");
  EXPECT_EQ(parsed->source, "grid");
  EXPECT_EQ(parsed->carbon_intensity_grams_per_kwh, 302);
  EXPECT_FALSE(parsed->carbon_free_ratio.has_value());  // unknown, never 0
  EXPECT_EQ(parsed->basis, "location");
  EXPECT_EQ(parsed->emission_factor_type, "lifecycle");
  EXPECT_EQ(parsed->timestamp, At("2019-05-21T00:00:00Z"));
  EXPECT_FALSE(parsed->valid_until.has_value());

  // With the power-breakdown endpoint's fossilFreePercentage, the ratio is known.
  auto with_breakdown = ParseEnergyProfile(
      R"({"zone":"CN-SO","carbonIntensity":95,"fossilFreePercentage":87,
          "datetime":"2027-01-15T07:00:00Z"})",
      {});
  ASSERT_TRUE(with_breakdown.ok()) << with_breakdown.status();
  EXPECT_EQ(with_breakdown->zone, "cn-so");
  EXPECT_DOUBLE_EQ(with_breakdown->carbon_free_ratio.value_or(-1), 0.87);
  EXPECT_TRUE(with_breakdown->CarbonKnown());
}

TEST(EnergyFeedTest, InvalidFeedsNameTheField) {
  struct Case {
    std::string text;
    std::string field;
  };
  for (const Case& c : std::vector<Case>{
           {R"({"zone":"DE","carbonIntensity":"high"})", "carbonIntensity"},
           {R"({"zone":"DE","carbonIntensity":302,"fossilFreePercentage":130})",
            "fossilFreePercentage"},
           {R"({"zone":"DE","carbonIntensity":302,"datetime":"yesterday"})", "datetime"},
           {R"({"zone":"DE","carbonIntensity":302,"emissionFactorType":"scope3"})",
            "emissionFactorType"},
           {R"({"carbonIntensityGramsPerKwh":300,"basis":"guess"})", "basis"},
           {R"({"carbonIntensityGramsPerKwh":300,"validUntil":"soon"})", "validUntil"},
           {R"({"carbonIntensity":302,"carbonIntensityGramsPerKwh":300})", "carbonIntensity"},
           {R"({"zone":"DE","intensity":302})", "intensity"},
       }) {
    auto parsed = ParseEnergyProfile(c.text, {});
    ASSERT_FALSE(parsed.ok()) << c.text;
    EXPECT_NE(parsed.status().message().find(c.field), std::string::npos)
        << parsed.status().message();
  }
}

TEST(EnergyFeedTest, ValidityIsValidUntilElseTimestampPlusMaxAgeElseNone) {
  EnergyProfile profile;
  profile.carbon_intensity_grams_per_kwh = 300;
  profile.carbon_free_ratio = 0.4;
  const WallTime noon = At("2027-01-15T12:00:00Z");

  // Neither: an operator's static profile, valid for good.
  EnergyProfileReading reading = ReadingAt(profile, noon + hours(24 * 365), hours(2));
  EXPECT_FALSE(reading.valid_until.has_value());
  EXPECT_FALSE(reading.expired);
  EXPECT_TRUE(reading.profile.CarbonKnown());

  profile.timestamp = noon;
  EXPECT_FALSE(ReadingAt(profile, noon + minutes(119), hours(2)).expired);
  reading = ReadingAt(profile, noon + hours(2), hours(2));
  EXPECT_EQ(reading.valid_until, noon + hours(2));
  EXPECT_TRUE(reading.expired);
  EXPECT_FALSE(reading.profile.carbon_intensity_grams_per_kwh.has_value());
  EXPECT_FALSE(reading.profile.carbon_free_ratio.has_value());
  EXPECT_FALSE(reading.profile.CarbonKnown());

  profile.valid_until = noon + hours(6);  // the feed's own word wins over the maximum age
  EXPECT_FALSE(ReadingAt(profile, noon + hours(5), hours(2)).expired);
  EXPECT_TRUE(ReadingAt(profile, noon + hours(6), hours(2)).expired);
}

// Past its validity a feed's figures are unknown again; a bad rewrite keeps the last good figures
// only until they expire; a fresh feed brings them back. No sleeping: the clock is simulated.
TEST(EnergyProfileSourceTest, ExpiredFeedMakesTheCarbonUnknownAndBadInputDoesNotExtendIt) {
  auto clock = std::make_shared<FakeClock>();  // starts at 2027-01-15T08:00:00Z
  auto files = std::make_shared<MemoryFiles>();
  files->files["/feed/energy.json"] =
      R"({"zone":"DE","carbonIntensity":302,"fossilFreePercentage":60,
          "datetime":"2027-01-15T07:30:00Z"})";
  EnergyProfileSource source(EnergyProfile{}, "/feed/energy.json", files, clock, hours(1));
  EXPECT_TRUE(source.Poll().ok());
  EXPECT_TRUE(source.Current().CarbonKnown());
  EXPECT_EQ(source.Reading().valid_until, At("2027-01-15T08:30:00Z"));
  EXPECT_FALSE(source.Reading().expired);

  // Rejected content keeps the last good figures while they are valid...
  files->files["/feed/energy.json"] = R"({"zone":"DE","carbonIntensity":"n/a"})";
  Status bad = source.Poll();
  EXPECT_FALSE(bad.ok());
  EXPECT_NE(bad.message().find("/feed/energy.json"), std::string::npos) << bad;
  EXPECT_NE(bad.message().find("carbonIntensity"), std::string::npos) << bad;
  EXPECT_EQ(source.Current().carbon_intensity_grams_per_kwh, 302);

  // ...and not past them.
  clock->Advance(minutes(30));
  EXPECT_FALSE(source.Poll().ok());
  EXPECT_TRUE(source.Reading().expired);
  EXPECT_FALSE(source.Current().carbon_intensity_grams_per_kwh.has_value());
  EXPECT_FALSE(source.Current().carbon_free_ratio.has_value());
  EXPECT_EQ(source.Current().zone, "de");  // where the power comes from is still known

  // A fresh feed makes them known again.
  files->files["/feed/energy.json"] =
      R"({"zone":"DE","carbonIntensity":280,"fossilFreePercentage":62,
          "datetime":"2027-01-15T08:30:00Z","validUntil":"2027-01-15T09:30:00Z"})";
  EXPECT_TRUE(source.Poll().ok());
  EXPECT_FALSE(source.Reading().expired);
  EXPECT_EQ(source.Current().carbon_intensity_grams_per_kwh, 280);
}

// Issue 18: emissions are the sum of each interval's energy times the intensity valid then.
DeviceTelemetry Counter(double joules) {
  DeviceTelemetry telemetry;
  telemetry.energy_joules = joules;
  telemetry.power_watts = 1;  // ignored where the counter is there
  return telemetry;
}
DeviceTelemetry Power(double watts) {
  DeviceTelemetry telemetry;
  telemetry.power_watts = watts;
  return telemetry;
}

TEST(DeviceEmissionsTest, SumsEachIntervalsEnergyTimesItsIntensityNotTotalTimesNow) {
  DeviceEmissions emissions;
  const SteadyTime t0{hours(1)};
  // The counter already holds 10 kWh from before the agent started: none of it is counted.
  emissions.Observe(Counter(36e6), t0, 500);
  EXPECT_FALSE(emissions.grams(EnergySource::kCounter).has_value());
  emissions.Observe(Counter(36e6 + 3.6e6), t0 + hours(1), 500);      // 1 kWh at 500
  emissions.Observe(Counter(36e6 + 3 * 3.6e6), t0 + hours(2), 100);  // 2 kWh at 100
  // 1 x 500 + 2 x 100 = 700 g; the total energy (13 kWh) x today's 100 would be 1300.
  EXPECT_NEAR(emissions.grams(EnergySource::kCounter).value_or(-1), 700, 1e-9);
  EXPECT_FALSE(emissions.grams(EnergySource::kIntegratedPower).has_value());
}

TEST(DeviceEmissionsTest, CounterResetAddsNothingAndCountingResumes) {
  DeviceEmissions emissions;
  const SteadyTime t0{hours(1)};
  emissions.Observe(Counter(7.2e6), t0, 100);
  emissions.Observe(Counter(10.8e6), t0 + hours(1), 100);  // +1 kWh: 100 g
  emissions.Observe(Counter(0.36e6), t0 + hours(2), 100);  // driver reload: skipped
  emissions.Observe(Counter(3.96e6), t0 + hours(3), 100);  // +1 kWh: 100 g
  EXPECT_NEAR(emissions.grams(EnergySource::kCounter).value_or(-1), 200, 1e-9);
}

TEST(DeviceEmissionsTest, UnknownIntensityIntervalIsSkippedNotCountedLater) {
  DeviceEmissions emissions;
  const SteadyTime t0{hours(1)};
  emissions.Observe(Counter(0), t0, std::nullopt);
  emissions.Observe(Counter(3.6e6), t0 + hours(1), std::nullopt);     // unknown: skipped
  EXPECT_FALSE(emissions.grams(EnergySource::kCounter).has_value());  // absent, not 0
  emissions.Observe(Counter(7.2e6), t0 + hours(2), 300);
  // Only the second kWh, at its own intensity; the skipped one is not charged at 300.
  EXPECT_NEAR(emissions.grams(EnergySource::kCounter).value_or(-1), 300, 1e-9);
}

TEST(DeviceEmissionsTest, WithoutACounterPowerIsIntegratedBetweenSamples) {
  DeviceEmissions emissions;
  const SteadyTime t0{hours(1)};
  emissions.Observe(Power(300), t0, 360);
  emissions.Observe(Power(500), t0 + seconds(10), 360);  // 4000 J at 1e-4 g/J
  EXPECT_NEAR(emissions.grams(EnergySource::kIntegratedPower).value_or(-1), 0.4, 1e-12);
  emissions.Observe(DeviceTelemetry{}, t0 + seconds(20), 360);  // no reading: skipped
  emissions.Observe(Power(400), t0 + seconds(30), 360);         // no previous: skipped
  emissions.Observe(Power(400), t0 + seconds(40), 720);         // 4000 J at 2e-4 g/J
  EXPECT_NEAR(emissions.grams(EnergySource::kIntegratedPower).value_or(-1), 1.2, 1e-12);
  EXPECT_FALSE(emissions.grams(EnergySource::kCounter).has_value());
}

}  // namespace
}  // namespace zhisuan::agent
