# shellcheck shell=bash
# Shared by the DRA tests with kwok nodes; source it after tests/integration/chart/common.sh, with
# $devcluster, $work and the pids array set.

# dra_plane_up [DEVCLUSTER_FLAGS...]: the cluster-mode control plane (extra flags such as
# --feature-gates go to `zhisuan-devcluster up`), KUBECONFIG exported, kwok for nodes annotated
# kwok.x-k8s.io/node=fake (its pid in pids), and the chart's DeviceClasses.
dra_plane_up() {
  "$devcluster" up --cluster "$@" "$work/plane" >"$work/plane-up.log" 2>&1 ||
    { cat "$work/plane-up.log" >&2; fail "control plane did not start"; exit 1; }
  export KUBECONFIG=$work/plane/admin.kubeconfig
  kwok --kubeconfig="$KUBECONFIG" --manage-all-nodes=false \
    --manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake >"$work/kwok.log" 2>&1 &
  pids+=($!)
  helm template zhisuan "$CHART" --kube-version "$KUBE_VERSION" --set dra.enabled=true \
    --show-only templates/dra.yaml | kubectl apply -f - >/dev/null
}

# kwok_node NAME: a Node that kwok keeps Ready, labelled type=kwok.
kwok_node() {
  kubectl apply -f - >/dev/null <<YAML
apiVersion: v1
kind: Node
metadata:
  name: $1
  annotations: {kwok.x-k8s.io/node: fake}
  labels: {type: kwok, kubernetes.io/hostname: $1}
YAML
}
