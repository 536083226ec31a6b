# The REST client against a real kube-apiserver (and a fake HTTPS server for responses a real one
# never sends on demand).
zhisuan_test(kube_rest_client_integration_test INTEGRATION
             SOURCES ${CMAKE_CURRENT_LIST_DIR}/rest_client_test.cc
                     ${CMAKE_CURRENT_LIST_DIR}/fake_https_server.cc
             LIBS zhisuan_kube zhisuan_control_plane OpenSSL::SSL OpenSSL::Crypto)
