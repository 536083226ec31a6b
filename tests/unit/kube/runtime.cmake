# The kube runtime (work queue, store, informer, leader election, events) against the in-memory
# API server. zhisuan_kube_fake is reused by the agent's and controller's unit tests.
add_library(zhisuan_kube_fake STATIC ${CMAKE_CURRENT_LIST_DIR}/fake_api_client.cc)
target_include_directories(zhisuan_kube_fake PUBLIC ${PROJECT_SOURCE_DIR})
# It plays an API server with Zhisuan's CRDs installed, so it knows their group from api/ (as the
# real server knows it from the chart); the client library under test does not.
target_link_libraries(zhisuan_kube_fake PUBLIC zhisuan_kube PRIVATE zhisuan_api zhisuan_warnings)

zhisuan_test(kube_fake_api_client_test SOURCES ${CMAKE_CURRENT_LIST_DIR}/fake_api_client_test.cc
             LIBS zhisuan_kube_fake)
zhisuan_test(kube_workqueue_test SOURCES ${CMAKE_CURRENT_LIST_DIR}/workqueue_test.cc
             LIBS zhisuan_kube)
zhisuan_test(kube_store_test SOURCES ${CMAKE_CURRENT_LIST_DIR}/store_test.cc LIBS zhisuan_kube)
zhisuan_test(kube_informer_test SOURCES ${CMAKE_CURRENT_LIST_DIR}/informer_test.cc
             LIBS zhisuan_kube_fake)
zhisuan_test(kube_leader_election_test SOURCES ${CMAKE_CURRENT_LIST_DIR}/leader_election_test.cc
             LIBS zhisuan_kube_fake)
zhisuan_test(kube_event_recorder_test SOURCES ${CMAKE_CURRENT_LIST_DIR}/event_recorder_test.cc
             LIBS zhisuan_kube_fake)
zhisuan_test(kube_counting_api_client_test
             SOURCES ${CMAKE_CURRENT_LIST_DIR}/counting_api_client_test.cc LIBS zhisuan_kube_fake)
