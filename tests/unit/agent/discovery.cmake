# Discovery tests: parsers in memory, backends against the sysfs fixture trees, and the vendor
# backends (NVML, DCMI) on in-test API tables. None loads a library: the tests that dlopen the fake
# vendor libraries (tests/fixtures/) are in tests/integration/agent/vendor_libraries/.
set(ZHISUAN_DISCOVERY_TEST_DEFINITIONS
    ZHISUAN_TEST_SOURCE_DIR="${PROJECT_SOURCE_DIR}"
    ZHISUAN_TEST_BINARY_DIR="${PROJECT_BINARY_DIR}")

foreach(area pci cpu kfd nvml dcmi discover_node parsers_total)
  zhisuan_test(agent_discovery_${area}_test
               SOURCES ${CMAKE_CURRENT_LIST_DIR}/discovery/${area}_test.cc
               LIBS zhisuan_agent)
  target_include_directories(agent_discovery_${area}_test PRIVATE ${PROJECT_SOURCE_DIR})
  target_compile_definitions(agent_discovery_${area}_test
                             PRIVATE ${ZHISUAN_DISCOVERY_TEST_DEFINITIONS})
endforeach()
