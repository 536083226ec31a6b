#!/usr/bin/env bash
# A pod on a real kubelet: the control plane in cluster mode, one node from hack/node.sh, a pod
# that the real scheduler places and the real kubelet runs, `kubectl logs` and `kubectl exec`
# through the API server's egress proxy, a pod reaching the API server at 10.96.0.1, and then
# `hack/node.sh down` leaving no process, mount, network namespace, cgroup or sysctl change.
#
# Prints the wall time of each step and the RSS of the node and control-plane processes.
# ZHISUAN_KEEP_CLUSTER_DIR=1 keeps the work directory (logs) even when the test passes.
set -euo pipefail
: "${ZHISUAN_SOURCE_DIR:?run through ctest (ZHISUAN_SOURCE_DIR)}"
: "${ZHISUAN_BINARY_DIR:?run through ctest (ZHISUAN_BINARY_DIR)}"
: "${ZHISUAN_TOOLCHAIN_BIN:?run through ctest (ZHISUAN_TOOLCHAIN_BIN)}"
export PATH="$ZHISUAN_TOOLCHAIN_BIN:$PATH"

node_sh="$ZHISUAN_SOURCE_DIR/hack/node.sh"
devcluster="$ZHISUAN_BINARY_DIR/tests/harness/zhisuan-devcluster"
node_name="zst$$"  # unique per run: it names the netns (zs-NAME) and cgroups (zhisuan-NAME)
sysctls=(vm.overcommit_memory vm.panic_on_oom kernel.panic kernel.panic_on_oops)

fail() {
  echo "FAIL: $*" >&2
  exit 1
}
step() { echo "== $* (t=$((SECONDS - t_start))s)"; }

# A missing tool is an environment error (make test installs them all), never a pass.
preflight() {
  ((EUID == 0)) || fail "needs root (network and mount namespaces, cgroups)"
  local tool
  for tool in containerd containerd-shim-runc-v2 runc ctr ip nsenter unshare iptables \
    kube-controller-manager kube-scheduler kubelet; do
    command -v "$tool" >/dev/null || fail "$tool not found (hack/deps.sh, hack/toolchain.sh)"
  done
  [[ -x /usr/lib/cni/bridge && -x /usr/lib/cni/host-local ]] ||
    fail "CNI plugins missing in /usr/lib/cni (containernetworking-plugins)"
  [[ -x "$devcluster" ]] || fail "$devcluster not built"
}

work=$(mktemp -d /tmp/zs-cluster.XXXXXX)
cp_dir="$work/cp" node_dir="$work/node" images_dir="$work/images"
kubectl() { command kubectl --kubeconfig "$cp_dir/admin.kubeconfig" "$@"; }

cleanup() {
  local rc=$?
  trap - EXIT
  if [[ -f "$node_dir/node.env" ]]; then "$node_sh" down "$node_dir" || rc=1; fi
  if [[ -f "$cp_dir/pids" ]]; then "$devcluster" down "$cp_dir" >/dev/null || rc=1; fi
  if ((rc != 0)); then
    echo "--- kept $work; last kubelet log lines:" >&2
    tail -n 30 "$node_dir/logs/kubelet.log" 2>/dev/null >&2 || true
  elif [[ -z "${ZHISUAN_KEEP_CLUSTER_DIR:-}" ]]; then
    rm -rf "$work"
  fi
  exit "$rc"
}

# The pause and workload images from hack/images.sh, as everything the cluster runs.
build_images() {
  local name tag path
  "$ZHISUAN_SOURCE_DIR/hack/images.sh" "$ZHISUAN_BINARY_DIR" "$images_dir" pause workload \
    >"$work/images.txt" || fail "hack/images.sh failed"
  while read -r name tag path; do
    case $name in
      pause) pause_tag=$tag pause_tar=$path ;;
      workload) workload_tag=$tag workload_tar=$path ;;
    esac
  done <"$work/images.txt"
}

# pod_yaml NAME COMMAND: a pod running COMMAND with /bin/sh in the workload image.
pod_yaml() {
  cat <<YAML
apiVersion: v1
kind: Pod
metadata: {name: $1, namespace: default}
spec:
  restartPolicy: Never
  nodeSelector: {zhisuan.io/simulated-hardware: "true"}
  terminationGracePeriodSeconds: 1
  containers:
  - name: main
    image: $workload_tag
    imagePullPolicy: Never
    command: ["/bin/sh", "-c", "$2"]
YAML
}

rss_of() {  # rss_of NAME PID
  echo "rss $1: $(awk '/^VmRSS/ {print $2, $3}' "/proc/$2/status" 2>/dev/null || echo gone)"
}

# Everything `down` must undo, checked here independently of node.sh check-clean.
assert_clean() {
  local left=0 line
  if ip netns list | grep -w "zs-$node_name" >/dev/null; then echo "left: netns zs-$node_name" && left=1; fi
  if compgen -G "/sys/fs/cgroup/*/zhisuan-$node_name" >/dev/null; then
    echo "left: cgroups $(echo /sys/fs/cgroup/*/zhisuan-"$node_name")" && left=1
  fi
  if grep -F "$work" /proc/self/mountinfo; then echo "left: mounts under $work" && left=1; fi
  if pgrep -af -- "$node_dir"; then echo "left: processes naming $node_dir" && left=1; fi
  for line in "${sysctls_before[@]}"; do
    [[ "$(sysctl -n "${line%%=*}")" == "${line#*=}" ]] ||
      { echo "left: sysctl ${line%%=*}=$(sysctl -n "${line%%=*}"), was ${line#*=}" && left=1; }
  done
  "$node_sh" check-clean "$node_dir" || left=1
  ((left == 0)) || fail "hack/node.sh down left host state behind"
}

main() {
  preflight
  trap cleanup EXIT
  t_start=$SECONDS
  local s t
  sysctls_before=()
  for s in "${sysctls[@]}"; do sysctls_before+=("$s=$(sysctl -n "$s")"); done

  step "control plane (cluster mode)"
  t=$SECONDS
  "$devcluster" up --cluster "$cp_dir"
  echo "time control plane up: $((SECONDS - t))s"

  step "images"
  build_images

  step "node up"
  t=$SECONDS
  "$node_sh" up "$node_dir" --control-plane "$cp_dir" --name "$node_name" --index 1 \
    --pause-image "$pause_tag" --image "$pause_tar" --image "$workload_tar" \
    --labels zhisuan.io/simulated-hardware=true
  echo "time node up (to Ready): $((SECONDS - t))s"
  kubectl get node "$node_name" -o wide

  step "a pod prints its environment and service-account namespace"
  # The default ServiceAccount comes from kube-controller-manager; admission needs it first.
  for ((t = 0; t < 60; t++)); do kubectl get sa default >/dev/null 2>&1 && break || sleep 1; done
  t=$SECONDS
  pod_yaml env-printer \
    'env; echo ns=$(cat /var/run/secrets/kubernetes.io/serviceaccount/namespace)' |
    kubectl apply -f -
  kubectl wait --for=jsonpath='{.status.phase}'=Succeeded pod/env-printer --timeout=120s ||
    fail "env-printer did not succeed: $(kubectl describe pod env-printer)"
  echo "time pod created to Succeeded: $((SECONDS - t))s"
  [[ "$(kubectl get pod env-printer -o jsonpath='{.spec.nodeName}')" == "$node_name" ]] ||
    fail "env-printer was not scheduled onto $node_name"
  local logs
  # Through the API server's egress selector and the node's CONNECT proxy.
  logs=$(kubectl logs env-printer 2>&1) || fail "kubectl logs failed: $logs"
  grep -qx "ns=default" <<<"$logs" || fail "no service-account namespace in the logs: $logs"
  grep -qx "KUBERNETES_SERVICE_HOST=10.96.0.1" <<<"$logs" || fail "no service env in: $logs"
  echo "ok: scheduled, ran, and kubectl logs returned its output"

  step "a pod reaches the API server at 10.96.0.1"
  # busybox wget speaks TLS (Debian's busybox-static does); /version is public to anonymous
  # clients. No -T: busybox 1.35 wget segfaults with a timeout on TLS URLs.
  t=$SECONDS
  pod_yaml api-client \
    '/bin/busybox wget -q -O- --no-check-certificate https://10.96.0.1/version; sleep 3600' |
    kubectl apply -f -
  kubectl wait --for=condition=Ready pod/api-client --timeout=120s ||
    fail "api-client not Running: $(kubectl describe pod api-client)"
  echo "time pod created to Running: $((SECONDS - t))s"
  for ((t = 0; t < 30; t++)); do
    logs=$(kubectl logs api-client 2>&1 || true)
    grep -q '"gitVersion"' <<<"$logs" && break
    sleep 1
  done
  grep -q '"gitVersion"' <<<"$logs" || fail "the pod did not reach https://10.96.0.1: $logs"
  [[ "$(kubectl exec api-client -- /bin/sh -c 'echo exec-works')" == exec-works ]] ||
    fail "kubectl exec failed"
  echo "ok: the pod read /version from 10.96.0.1; kubectl exec works"

  step "memory"
  rss_of kubelet "$(cat "$node_dir/pids/kubelet")"
  rss_of containerd "$(cat "$node_dir/pids/containerd")"
  rss_of kube-scheduler "$(sed -n 1p "$cp_dir/pids")"
  rss_of kube-controller-manager "$(sed -n 2p "$cp_dir/pids")"
  rss_of kube-apiserver "$(sed -n 3p "$cp_dir/pids")"

  step "node down"
  t=$SECONDS
  "$node_sh" down "$node_dir"
  echo "time node down: $((SECONDS - t))s"
  assert_clean
  "$node_sh" down "$node_dir" # idempotent
  echo "ok: nothing left behind"
  step "done"
}

main "$@"
