# The agent's core: FLOPS, health, energy, config, metrics. Discovery registers its own tests in
# discovery.cmake.
set(ZHISUAN_AGENT_CORE_TEST_DIR ${CMAKE_CURRENT_LIST_DIR})
zhisuan_test(agent_flops_test
  SOURCES ${ZHISUAN_AGENT_CORE_TEST_DIR}/peak_flops_table_test.cc
          ${ZHISUAN_AGENT_CORE_TEST_DIR}/cpu_peak_flops_test.cc
          ${ZHISUAN_AGENT_CORE_TEST_DIR}/flops_probe_test.cc
          ${ZHISUAN_AGENT_CORE_TEST_DIR}/measured_flops_scheduler_test.cc
  LIBS zhisuan_agent)
# The CUDA probe's unit tests inject an in-test driver table; the fake libcuda is loaded only by
# tests/integration/agent/vendor_libraries/.
zhisuan_test(agent_health_test
  SOURCES ${ZHISUAN_AGENT_CORE_TEST_DIR}/device_health_tracker_test.cc
          ${ZHISUAN_AGENT_CORE_TEST_DIR}/health_text_test.cc
  LIBS zhisuan_agent)
zhisuan_test(agent_energy_test
  SOURCES ${ZHISUAN_AGENT_CORE_TEST_DIR}/energy_profile_test.cc
          ${ZHISUAN_AGENT_CORE_TEST_DIR}/average_power_test.cc
  LIBS zhisuan_agent)
zhisuan_test(agent_config_test
  SOURCES ${ZHISUAN_AGENT_CORE_TEST_DIR}/agent_config_test.cc LIBS zhisuan_agent)
zhisuan_test(agent_metrics_test
  SOURCES ${ZHISUAN_AGENT_CORE_TEST_DIR}/metrics_test.cc
  LIBS zhisuan_agent zhisuan_loopback_http)
# POST /flops/measure (TokenReview, SubjectAccessReview, rate limit) and the probe gate (busy,
# allocated to a pod per an in-process fake of the kubelet's pod-resources gRPC service).
zhisuan_test(agent_flops_guard_test
  SOURCES ${ZHISUAN_AGENT_CORE_TEST_DIR}/flops_measure_endpoint_test.cc
          ${ZHISUAN_AGENT_CORE_TEST_DIR}/probe_gate_test.cc
  LIBS zhisuan_agent)
