# The agent's Kubernetes side: resource naming, Allocate/GetPreferredAllocation, the publish
# planner and publisher, Node status advertising, and its flags. Integration tests against a real
# API server and a stand-in kubelet are in tests/integration/agent_kubernetes/.
set(ZHISUAN_AGENT_K8S_TEST_DIR ${CMAKE_CURRENT_LIST_DIR}/kubernetes)
zhisuan_test(agent_kubernetes_test
  SOURCES ${ZHISUAN_AGENT_K8S_TEST_DIR}/resource_naming_test.cc
          ${ZHISUAN_AGENT_K8S_TEST_DIR}/allocation_test.cc
          ${ZHISUAN_AGENT_K8S_TEST_DIR}/publish_test.cc
          ${ZHISUAN_AGENT_K8S_TEST_DIR}/node_resource_advertiser_test.cc
  LIBS zhisuan_agent zhisuan_kube_fake)
