#pragma once
// The control plane shared by every case of one integration-test executable.

#include "tests/harness/control_plane.h"

namespace zhisuan::harness {

// The running control plane. Valid from the first test to the last; aborts the run if it could not
// start (the reason is printed first).
ControlPlane& SharedControlPlane();

}  // namespace zhisuan::harness
