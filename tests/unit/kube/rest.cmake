# The REST half of the kube client: config resolution, URL building, error mapping, the watch frame
# decoder, rate limiting, retries and token rotation, all without a server.
zhisuan_test(kube_rest_unit_test
             SOURCES ${CMAKE_CURRENT_LIST_DIR}/config_test.cc
                     ${CMAKE_CURRENT_LIST_DIR}/resource_path_test.cc
                     ${CMAKE_CURRENT_LIST_DIR}/errors_test.cc
                     ${CMAKE_CURRENT_LIST_DIR}/watch_decoder_test.cc
                     ${CMAKE_CURRENT_LIST_DIR}/rate_limiter_test.cc
                     ${CMAKE_CURRENT_LIST_DIR}/retry_test.cc
                     ${CMAKE_CURRENT_LIST_DIR}/bearer_token_test.cc
             LIBS zhisuan_kube)
