#!/usr/bin/env bash
# The real cluster, measured (bench/README.md, "Real cluster"):
#   1. helm install -> every Zhisuan pod Ready, RUNS times (uninstall between runs);
#   2. a tenant pod created -> Running on the real node, RUNS times;
#   3. RSS of each component of the real node and the control plane, with Zhisuan installed;
#   4. kube-scheduler throughput on NODES kwok nodes: PODS pods into 10 pools (the pools' labels
#      and NoExecute taints on the nodes, the pods carrying the pools' nodeSelector and
#      tolerations) side by side with the same pods and nodes without pools, RUNS times each,
#      alternating.
#
#   ZHISUAN_SOURCE_DIR=$PWD ZHISUAN_TOOLCHAIN_BIN=$(hack/toolchain.sh --print-bindir) \
#     bench/cluster/cluster_bench.sh BUILD_DIR [RUNS] [NODES] [PODS]
#
# Needs root and the one real node of this machine (no other hack/node.sh node may run). Every
# figure is printed as a median of RUNS with its range. Nothing leaves loopback and the node's own
# namespaces.
set -euo pipefail

build_dir=$(realpath "${1:?usage: cluster_bench.sh BUILD_DIR [RUNS] [NODES] [PODS]}")
runs=${2:-3} nodes=${3:-5000} pods=${4:-1000}
source_dir=${ZHISUAN_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
# zhisuan-devcluster finds the control plane's binaries through ZHISUAN_TOOLCHAIN_BIN.
export ZHISUAN_TOOLCHAIN_BIN=${ZHISUAN_TOOLCHAIN_BIN:-$("$source_dir/hack/toolchain.sh" --print-bindir)}
export PATH="$ZHISUAN_TOOLCHAIN_BIN:$PATH"
hack=$source_dir/hack
# shellcheck source=bench/cluster/common.sh
source "$source_dir/bench/cluster/common.sh"
work=$(mktemp -d "${TMPDIR:-/tmp}/zhisuan-cluster-bench.XXXXXX")
system_ns=zhisuan-system
node=zs-bench-1
kwok_pid=""

cleanup() {
  if [[ -n $kwok_pid ]]; then
    kill "$kwok_pid" 2>/dev/null || true
    wait "$kwok_pid" 2>/dev/null || true
  fi
  "$hack/node.sh" down "$work/node" >/dev/null 2>&1 || true
  "$build_dir/tests/harness/zhisuan-devcluster" down "$work/plane" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

"$build_dir/tests/harness/zhisuan-devcluster" up --cluster "$work/plane" >/dev/null
export KUBECONFIG=$work/plane/admin.kubeconfig
"$hack/images.sh" "$build_dir" "$work/images" >"$work/images.list"
tarballs=()
while read -r _ _ tarball; do tarballs+=(--image "$tarball"); done <"$work/images.list"
workload=$(awk '$1 == "workload" { print $2 }' "$work/images.list")
"$hack/node.sh" up "$work/node" --control-plane "$work/plane" --name "$node" \
  --pause-image "$(awk '$1 == "pause" { print $2 }' "$work/images.list")" "${tarballs[@]}" \
  --labels zhisuan.io/node-in-a-box=true >/dev/null
mkdir -p "$work/hardware" "$work/events"
cp -a "$source_dir/tests/fixtures/sysfs/h100-8x/." "$work/hardware/"
mkdir -p "$work/hardware/sys/class"
: >"$work/events/nvml-events"
"$hack/box-values.sh" "$build_dir" "$work/images.list" "$work/hardware" "$work/events" \
  >"$work/values.yaml"
kubectl create namespace "$system_ns" >/dev/null

# 1. helm install -> Ready (helm --wait returns when the Deployment and DaemonSet are Ready).
install_ms=()
for ((i = 1; i <= runs; i++)); do
  began=$(now_ms)
  helm install zhisuan "$source_dir/charts/zhisuan" -n "$system_ns" -f "$work/values.yaml" \
    --wait --timeout 300s >/dev/null
  install_ms+=($(($(now_ms) - began)))
  if ((i < runs)); then
    helm uninstall zhisuan -n "$system_ns" --wait --timeout 120s >/dev/null
    kubectl -n "$system_ns" wait --for=delete pod -l app.kubernetes.io/name=zhisuan \
      --timeout=120s >/dev/null 2>&1 || true
  fi
done
echo "helm install -> all pods Ready: $(median_range "${install_ms[@]}") ms over $runs runs"

# 2. pod create -> Running on the real node.
pod_ms=()
for ((i = 1; i <= runs; i++)); do
  began=$(now_ms)
  kubectl run "bench-$i" --image="$workload" --image-pull-policy=Never --restart=Never \
    --overrides="{\"spec\":{\"nodeSelector\":{\"kubernetes.io/hostname\":\"$node\"},\"terminationGracePeriodSeconds\":0}}" \
    -- sleep 3600 >/dev/null
  until_true 120 bash -c "[[ \$(kubectl get pod bench-$i -o jsonpath='{.status.phase}') == Running ]]"
  pod_ms+=($(($(now_ms) - began)))
  kubectl delete pod "bench-$i" --wait=false >/dev/null
done
echo "tenant pod create -> Running on the real node: $(median_range "${pod_ms[@]}") ms over $runs runs"

# 3. RSS per component (KiB, from /proc), Zhisuan installed and idle.
rss_of() {  # PATTERN: summed VmRSS of the processes whose command line matches
  local total=0 pid
  for pid in $(pgrep -f "$1"); do
    total=$((total + $(awk '/^VmRSS/ { print $2 }' "/proc/$pid/status" 2>/dev/null || echo 0)))
  done
  echo $((total / 1024))
}
echo "RSS (MiB): kubelet $(rss_of "kubelet --config=$work/node") containerd $(rss_of "containerd --config $work/node")" \
  "kube-apiserver $(rss_of "kube-apiserver.*$work/plane") etcd $(rss_of "etcd --name.*$work/plane")" \
  "kube-controller-manager $(rss_of "kube-controller-manager.*$work/plane")" \
  "kube-scheduler $(rss_of "kube-scheduler.*$work/plane")" \
  "zhisuan-agent $(rss_of '^/usr/bin/zhisuan-agent') zhisuan-controller (2 pods) $(rss_of '^/usr/bin/zhisuan-controller')"

# 4. Scheduler throughput on a kwok fleet: pods/s from the first create to the last binding.
helm uninstall zhisuan -n "$system_ns" --wait --timeout 120s >/dev/null
start_kwok "$work/kwok.log"
kwok_nodes_json "$nodes" >"$work/nodes.json"
kubectl apply -f "$work/nodes.json" >/dev/null
until_true 600 ready_kwok_nodes "$nodes"
for p in $(seq 0 9); do kubectl create namespace "pool-$p" >/dev/null; done

# set_pools on|off: label and taint node i into pool (i mod 10) as the controller does, or clear.
set_pools() {
  python3 - "$1" "$nodes" <<'POOLS' | kubectl apply --server-side --force-conflicts -f - >/dev/null
import json, sys
on, n = sys.argv[1] == "on", int(sys.argv[2])
items = []
for i in range(n):
    pool = f"pool-{i % 10}.pool"
    # The node's own labels are restated: kubectl's first server-side apply takes over the fields
    # the client-side apply that created the node set, so a label left out here would be removed.
    labels = {"type": "kwok", "kubernetes.io/hostname": f"kwok-{i:05d}"}
    if on:
        labels["zhisuan.io/pool"] = pool
    items.append({"apiVersion": "v1", "kind": "Node", "metadata": {
        "name": f"kwok-{i:05d}", "labels": labels},
        "spec": {"taints": [{"key": "zhisuan.io/pool", "value": pool, "effect": "NoExecute"}] if on else []}})
print(json.dumps({"apiVersion": "v1", "kind": "List", "items": items}))
POOLS
}
# schedule_ms on|off: create PODS pods (10 namespaces) and time until every one is bound.
schedule_ms() {
  python3 - "$1" "$pods" "$workload" >"$work/pods.json" <<'PODS'
import json, sys
on, n, image = sys.argv[1] == "on", int(sys.argv[2]), sys.argv[3]
items = []
for i in range(n):
    ns, pool = f"pool-{i % 10}", f"pool-{i % 10}.pool"
    spec = {"containers": [{"name": "w", "image": image, "imagePullPolicy": "Never"}],
            "nodeSelector": {"type": "kwok"}}
    if on:
        spec["nodeSelector"]["zhisuan.io/pool"] = pool
        spec["tolerations"] = [{"key": "zhisuan.io/pool", "operator": "Equal", "value": pool,
                                "effect": "NoExecute"}]
    items.append({"apiVersion": "v1", "kind": "Pod",
                  "metadata": {"name": f"p-{i:05d}", "namespace": ns}, "spec": spec})
print(json.dumps({"apiVersion": "v1", "kind": "List", "items": items}))
PODS
  local began
  began=$(now_ms)
  kubectl create -f "$work/pods.json" >/dev/null
  until_true 600 bash -c "(( \$(kubectl get pods -A --field-selector=spec.nodeName!= --no-headers | grep -c ' p-') == $pods ))"
  echo $(($(now_ms) - began))
  for p in $(seq 0 9); do
    kubectl -n "pool-$p" delete pods --all --grace-period=0 --force --wait=true >/dev/null 2>&1
  done
}
with_pools=() without_pools=()
for ((i = 1; i <= runs; i++)); do
  set_pools off
  without_pools+=("$(schedule_ms off)")
  set_pools on
  with_pools+=("$(schedule_ms on)")
done
echo "scheduler, $pods pods on $nodes kwok nodes: without pools $(median_range "${without_pools[@]}") ms," \
  "with 10 pools $(median_range "${with_pools[@]}") ms (pods/s at the medians:" \
  "$(median_rate "$pods" "${without_pools[@]}") vs $(median_rate "$pods" "${with_pools[@]}"))"
