# The kubelet DRA plugin: CDI specs, the prepared-claims checkpoint, NodePrepareResources and
# NodeUnprepareResources over real gRPC on unix sockets in a temporary directory, registration,
# and the plugin's flags. The real kubelet calls it in tests/integration/cluster/dra_node_test.sh.
set(ZHISUAN_DRA_KUBELET_TEST_DIR ${CMAKE_CURRENT_LIST_DIR}/dra_kubelet)
zhisuan_test(agent_dra_kubelet_plugin_test
  SOURCES ${ZHISUAN_DRA_KUBELET_TEST_DIR}/cdi_spec_test.cc
          ${ZHISUAN_DRA_KUBELET_TEST_DIR}/claim_preparer_test.cc
          ${ZHISUAN_DRA_KUBELET_TEST_DIR}/kubelet_plugin_test.cc
  LIBS zhisuan_agent zhisuan_kube_fake)
