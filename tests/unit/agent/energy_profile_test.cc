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
  EXPECT_DOUBLE_EQ(GramsPerJoule(profile), 1e-4);
  EXPECT_DOUBLE_EQ(EmissionsGramsPerSecond(1000, profile), 0.1);  // 1 kW at 360 g/kWh
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
