#include "tests/harness/control_plane_environment.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>

namespace zhisuan::harness {
namespace {

std::unique_ptr<ControlPlane> g_control_plane;

class ControlPlaneEnvironment final : public ::testing::Environment {
 public:
  void SetUp() override {
    auto started = ControlPlane::Start({});
    if (!started.ok()) {
      std::fprintf(stderr, "[harness] cannot start the control plane: %s\n",
                   std::string(started.status().message()).c_str());
      std::exit(1);
    }
    g_control_plane = std::move(*started);
    std::fprintf(stderr, "[harness] control plane ready at %s (work dir %s)\n",
                 g_control_plane->server_url().c_str(), g_control_plane->work_dir().c_str());
  }
  void TearDown() override { g_control_plane.reset(); }
};

}  // namespace

ControlPlane& SharedControlPlane() { return *g_control_plane; }

}  // namespace zhisuan::harness

int main(int argc, char** argv) {
  ::testing::InitGoogleMock(&argc, argv);
  ::testing::AddGlobalTestEnvironment(new zhisuan::harness::ControlPlaneEnvironment);
  return RUN_ALL_TESTS();
}
