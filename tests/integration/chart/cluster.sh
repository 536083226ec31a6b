# Starts a control plane (etcd + kube-apiserver, no kubelet) for one test script and stops it on
# exit. Source after common.sh; sets KUBECONFIG and $cluster_dir.
devcluster="$ZHISUAN_BINARY_DIR/tests/harness/zhisuan-devcluster"
[[ -x "$devcluster" ]] || { echo "FAIL: $devcluster not built" >&2; exit 1; }
cluster_dir="$(mktemp -d)"
cleanup_cluster() {
  "$devcluster" down "$cluster_dir" >/dev/null 2>&1 || true
  rm -rf "$cluster_dir"
}
trap cleanup_cluster EXIT
"$devcluster" up "$cluster_dir/plane" >"$cluster_dir/up.log" 2>&1 || {
  cat "$cluster_dir/up.log" >&2
  exit 1
}
cleanup_cluster() {
  "$devcluster" down "$cluster_dir/plane" >/dev/null 2>&1 || true
  rm -rf "$cluster_dir"
}
export KUBECONFIG="$cluster_dir/plane/admin.kubeconfig"

# wait_for_crds NAME...: until each CRD is Established.
wait_for_crds() {
  kubectl wait --for=condition=Established --timeout=60s "${@/#/crd/}" >/dev/null
}
