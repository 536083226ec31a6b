# The DRA ResourceSlices (agent/dra/resource_slices.h, resource_slice_publisher.h). The tests
# against a real API server and scheduler are in tests/integration/dra/.
zhisuan_test(agent_dra_slices_test
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/dra/resource_slices_test.cc
  LIBS zhisuan_agent zhisuan_kube_fake)
