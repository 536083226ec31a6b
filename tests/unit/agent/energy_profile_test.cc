#include "agent/energy/energy_profile.h"

#include <gtest/gtest.h>

#include <map>

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

}  // namespace
}  // namespace zhisuan::agent
