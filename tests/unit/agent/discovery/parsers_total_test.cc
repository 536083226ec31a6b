// Every discovery parser is total: any byte string gives a value or a Status. This runs them over
// deterministic pseudo-random inputs and mutations of real fixture files, so a crash or sanitizer
// report shows up in the unit tests before the fuzzers ever run.

#include <random>
#include <string>
#include <vector>

#include "agent/discovery/amd/kfd_parsers.h"
#include "agent/discovery/cpu/cpu_parsers.h"
#include "agent/discovery/nvml/nvml_mapping.h"
#include "agent/discovery/pci/pci_parsers.h"
#include "agent/sku/sku_names.h"
#include "gtest/gtest.h"
#include "tests/unit/agent/discovery/fixture_trees.h"

namespace zhisuan::agent {
namespace {

using zhisuan::agent::testing::FixtureProcfs;
using zhisuan::agent::testing::FixtureSysfs;

// Runs every parser on `input`; returns how many accepted it (so the work is not optimised away).
int ParseEverything(std::string_view input) {
  int accepted = 0;
  accepted += pci::ParsePciId(input).ok();
  accepted += pci::ParsePciClass(input).ok();
  accepted += pci::ParseNumaNode(input).ok();
  accepted += pci::NormalizePciBusId(input).ok();
  accepted += cpu::ParseCpuInfo(input).ok();
  accepted += cpu::ParseCpuFreqKhzAsMhz(input).ok();
  auto props = amd::ParseKfdProperties(input);
  if (props.ok()) accepted += amd::KfdNodeFromProperties(*props).ok();
  accepted += amd::ParseSysfsUnsigned(input).ok();
  accepted += !LabelSafe(input).empty();
  accepted += !nvml::BoundedCString(input.data(), input.size()).empty();
  return accepted;
}

TEST(ParsersAreTotal, RandomBytes) {
  std::mt19937 random(20261123);
  std::uniform_int_distribution<int> byte(0, 255);
  std::uniform_int_distribution<int> length(0, 300);
  // Fails by crashing, or by a sanitizer report in the sanitizer builds.
  for (int i = 0; i < 5000; ++i) {
    std::string input(static_cast<size_t>(length(random)), '\0');
    for (char& c : input) c = static_cast<char>(byte(random));
    ParseEverything(input);
  }
}

TEST(ParsersAreTotal, MutatedFixtureFiles) {
  std::vector<std::string> seeds = {
      *FixtureProcfs("h100-8x")->Read("/cpuinfo"),
      *FixtureProcfs("ascend910b-8x")->Read("/cpuinfo"),
      *FixtureSysfs("mi300x-8x")->Read("/class/kfd/kfd/topology/nodes/2/properties"),
      *FixtureSysfs("h100-8x")->Read("/bus/pci/devices/0000:18:00.0/class"),
      "00000000:9A:00.0",
  };
  // Unmutated, each seed parses with at least one parser.
  for (const std::string& seed : seeds) EXPECT_GT(ParseEverything(seed), 0) << seed;
  std::mt19937 random(7);
  for (const std::string& seed : seeds) {
    for (int i = 0; i < 300; ++i) {
      std::string input = seed;
      const int edits = 1 + static_cast<int>(random() % 8);
      for (int e = 0; e < edits && !input.empty(); ++e) {
        const size_t at = random() % input.size();
        switch (random() % 3) {
          case 0:
            input[at] = static_cast<char>(random() % 256);
            break;
          case 1:
            input.erase(at, random() % 16);
            break;
          default:
            input.resize(at);  // truncated, as a half-written sysfs file
            break;
        }
      }
      ParseEverything(input);
    }
  }
}

}  // namespace
}  // namespace zhisuan::agent
