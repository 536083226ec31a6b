# The kube runtime (informer, leader election, events) against a real kube-apiserver.
add_executable(kube_lease_contender ${CMAKE_CURRENT_LIST_DIR}/lease_contender_main.cc)
target_link_libraries(kube_lease_contender PRIVATE zhisuan_kube zhisuan_warnings)

zhisuan_test(kube_runtime_integration_test INTEGRATION
             SOURCES ${CMAKE_CURRENT_LIST_DIR}/runtime_test.cc
             LIBS zhisuan_kube zhisuan_control_plane)
add_dependencies(kube_runtime_integration_test kube_lease_contender)
target_compile_definitions(kube_runtime_integration_test PRIVATE
                           ZHISUAN_LEASE_CONTENDER="$<TARGET_FILE:kube_lease_contender>")
