#!/usr/bin/env bash
# DRA allocation throughput beside the device plugin (bench/README.md, "DRA allocation vs the
# device plugin"): kube-scheduler places CLAIMS pods on NODES kwok nodes of 8 H100s each, from the
# first create to the last binding, RUNS times per mode, the modes alternating:
#   plugin   each pod asks resources.limits nvidia.com/gpu: 1 (what the device plugin advertises,
#            here written into the kwok nodes' status);
#   dra      each pod has a claim made from a ResourceClaimTemplate in its namespace: 1 device of
#            the chart's nvidia.accelerators.zhisuan.io DeviceClass (kube-controller-manager
#            creates the claim, the scheduler allocates it from the ResourceSlices);
#   dra-cel  as dra, the claim also selecting bf16PeakTeraflops >= 900;
#   dra-precreated  as dra, but each pod names a ResourceClaim the bench created before the clock
#            started: the scheduler's allocation alone, without kube-controller-manager making
#            the claims (and updating each pod's status) at its client's default 20 requests/s.
# Every node has one ResourceSlice of 8 devices in the agent's shape: a real zhisuan-agent on the
# H100 fixture tree publishes the first node's, and the bench copies it to the others (new node
# name, pool, owner and UUIDs). Also prints kube-apiserver's RSS before and after the slices.
#
#   ZHISUAN_SOURCE_DIR=$PWD ZHISUAN_TOOLCHAIN_BIN=$(hack/toolchain.sh --print-bindir) \
#     bench/cluster/dra_bench.sh BUILD_DIR [RUNS] [NODES] [CLAIMS] [MODES]
#
# MODES is a comma list (default plugin,dra,dra-cel,dra-precreated). Needs no real node and no
# root. Nothing leaves loopback.
set -euo pipefail

build_dir=$(realpath "${1:?usage: dra_bench.sh BUILD_DIR [RUNS] [NODES] [CLAIMS] [MODES]}")
runs=${2:-3} nodes=${3:-5000} claims=${4:-1000} modes=${5:-plugin,dra,dra-cel,dra-precreated}
source_dir=${ZHISUAN_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
# zhisuan-devcluster finds the control plane's binaries through ZHISUAN_TOOLCHAIN_BIN.
export ZHISUAN_TOOLCHAIN_BIN=${ZHISUAN_TOOLCHAIN_BIN:-$("$source_dir/hack/toolchain.sh" --print-bindir)}
export PATH="$ZHISUAN_TOOLCHAIN_BIN:$PATH"
# shellcheck source=bench/cluster/common.sh
source "$source_dir/bench/cluster/common.sh"
work=$(mktemp -d "${TMPDIR:-/tmp}/zhisuan-dra-bench.XXXXXX")
driver=accelerators.zhisuan.io
device_class=nvidia.$driver
namespaces=10
kwok_pid="" agent_pid=""

cleanup() {
  local pid
  for pid in $agent_pid $kwok_pid; do
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  "$build_dir/tests/harness/zhisuan-devcluster" down "$work/plane" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
for mode in ${modes//,/ }; do
  [[ $mode =~ ^(plugin|dra|dra-cel|dra-precreated)$ ]] ||
    { echo "unknown mode '$mode' (plugin, dra, dra-cel, dra-precreated)" >&2; exit 2; }
done
((nodes >= 1 && claims >= 1 && claims <= nodes * 8)) ||
  { echo "need 1 <= CLAIMS <= 8 * NODES (got $claims claims, $nodes nodes)" >&2; exit 2; }

apiserver_rss() {  # MiB, VmRSS of this bench's kube-apiserver
  local pid
  pid=$(pgrep -f "kube-apiserver.*$work/plane" | head -n 1)
  echo $(($(awk '/^VmRSS/ { print $2 }' "/proc/$pid/status") / 1024))
}

"$build_dir/tests/harness/zhisuan-devcluster" up --cluster "$work/plane" >"$work/plane-up.log"
export KUBECONFIG=$work/plane/admin.kubeconfig
helm template zhisuan "$source_dir/charts/zhisuan" --kube-version 1.34.4 --set dra.enabled=true \
  --show-only templates/dra.yaml | kubectl apply -f - >/dev/null
kubectl get deviceclass "$device_class" >/dev/null
kubectl apply --server-side -f "$source_dir/charts/zhisuan/crds/" >/dev/null
start_kwok "$work/kwok.log"
kwok_nodes_json "$nodes" 8 >"$work/nodes.json"
began=$(now_ms)
kubectl create -f "$work/nodes.json" >/dev/null
until_true 600 ready_kwok_nodes "$nodes"
echo "$nodes kwok nodes created and Ready in $(($(now_ms) - began)) ms"
gpus=$(kubectl get node kwok-00000 -o jsonpath='{.status.allocatable.nvidia\.com/gpu}')
[[ $gpus == 8 ]] || { echo "kwok-00000 allocatable nvidia.com/gpu is '$gpus', not 8" >&2; exit 1; }
rss_before=$(apiserver_rss)

# The first node's slice, as the agent writes it: H100 fixture, NVML and CUDA stand-ins (so the
# measured BF16 figure is there too), an energy profile.
lib=$build_dir/fixtures/lib fixture=$source_dir/tests/fixtures/sysfs/h100-8x
echo '{"source": "hydro", "zone": "cn-sichuan", "carbonIntensityGramsPerKwh": 24, "carbonFreeRatio": 0.97}' \
  >"$work/energy.json"
: >"$work/nvml-events"
FAKE_NVML_EVENTS_FILE=$work/nvml-events "$build_dir/agent/zhisuan-agent" --node-name=kwok-00000 \
  --kubeconfig="$KUBECONFIG" --dra=true --advertise=none \
  --sysfs-root="$fixture/sys" --procfs-root="$fixture/proc" \
  --nvml-library="$lib/nvml/libnvidia-ml.so.1" --dcmi-library=/nonexistent/libdcmi.so \
  --libcuda-library="$lib/cuda/libcuda.so.1" --measure-flops-at-startup=true \
  --flops-probe-duration=50ms --energy-profile-file="$work/energy.json" \
  --listen-address=127.0.0.1:0 >"$work/agent.log" 2>&1 &
agent_pid=$!
agent_slice() {
  kubectl get resourceslices -o json >"$work/agent-slices.json" &&
    [[ "$(<"$work/agent-slices.json")" == *bf16MeasuredTeraflops* ]]
}
until_true 120 agent_slice || { tail -n 20 "$work/agent.log" >&2; exit 1; }
python3 - "$work/agent-slices.json" <<'SHAPE'
import json, sys
device = json.load(open(sys.argv[1]))["items"][0]["spec"]["devices"][0]
print(f"the agent's device {device['name']}: {len(device['attributes'])} attributes"
      f" ({', '.join(sorted(device['attributes']))}), capacity {device.get('capacity')}")
SHAPE
kill "$agent_pid"
wait "$agent_pid" 2>/dev/null || true
agent_pid=""

# The others' slices: the agent's, with each node's name, pool, owner and its own device UUIDs.
kubectl get nodes -l type=kwok -o jsonpath='{range .items[*]}{.metadata.name} {.metadata.uid}{"\n"}{end}' \
  >"$work/node-uids"
python3 - "$work/agent-slices.json" "$work/node-uids" >"$work/slices.json" <<'SLICES'
import copy, json, sys, uuid
template = json.load(open(sys.argv[1]))["items"]
assert len(template) == 1 and len(template[0]["spec"]["devices"]) == 8, template
template = template[0]
for key in ("uid", "resourceVersion", "creationTimestamp", "managedFields", "generation"):
    template["metadata"].pop(key, None)
items = []
for line in open(sys.argv[2]):
    node, uid = line.split()
    if node == template["spec"]["nodeName"]:
        continue
    s = copy.deepcopy(template)
    s["metadata"]["name"] = f"{node}-zhisuan-0"
    s["metadata"]["ownerReferences"][0].update(name=node, uid=uid)
    s["spec"]["nodeName"] = node
    s["spec"]["pool"]["name"] = node
    for d in s["spec"]["devices"]:
        d["attributes"]["uuid"]["string"] = "GPU-" + str(uuid.uuid5(uuid.NAMESPACE_OID, node + d["name"]))
    items.append(s)
print(json.dumps({"apiVersion": "v1", "kind": "List", "items": items}))
SLICES
began=$(now_ms)
kubectl create -f "$work/slices.json" >/dev/null
slice_count() { (($(kubectl get resourceslices -o name | wc -l) == nodes)); }
until_true 120 slice_count
echo "ResourceSlices: $nodes (8 devices each; $((nodes - 1)) copied from the agent's) written in $(($(now_ms) - began)) ms"
sleep 5
echo "kube-apiserver RSS: $rss_before MiB with $nodes nodes, $(apiserver_rss) MiB with their slices too"

# One plain and one CEL template per namespace, as a tenant would keep them.
for ((n = 0; n < namespaces; n++)); do
  kubectl create namespace "dra-$n" >/dev/null
  kubectl -n "dra-$n" apply -f - >/dev/null <<YAML
apiVersion: resource.k8s.io/v1
kind: ResourceClaimTemplate
metadata: {name: gpu}
spec:
  spec:
    devices:
      requests: [{name: gpu, exactly: {deviceClassName: $device_class, count: 1}}]
---
apiVersion: resource.k8s.io/v1
kind: ResourceClaimTemplate
metadata: {name: gpu-fast}
spec:
  spec:
    devices:
      requests:
        - name: gpu
          exactly:
            deviceClassName: $device_class
            count: 1
            selectors:
              - cel: {expression: 'device.attributes["$driver"].bf16PeakTeraflops >= 900'}
YAML
done

pods_json() {  # MODE
  python3 - "$1" "$claims" "$namespaces" <<'PODS'
import json, sys
mode, count, namespaces = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
def pod(i):
    container = {"name": "w", "image": "registry.example/none:1", "imagePullPolicy": "Never"}
    spec = {"containers": [container], "nodeSelector": {"type": "kwok"},
            "terminationGracePeriodSeconds": 0}
    if mode == "plugin":
        container["resources"] = {"limits": {"nvidia.com/gpu": "1"}}
    elif mode == "dra-precreated":
        spec["resourceClaims"] = [{"name": "gpu", "resourceClaimName": f"p-{i:05d}"}]
        container["resources"] = {"claims": [{"name": "gpu"}]}
    else:
        template = "gpu" if mode == "dra" else "gpu-fast"
        spec["resourceClaims"] = [{"name": "gpu", "resourceClaimTemplateName": template}]
        container["resources"] = {"claims": [{"name": "gpu"}]}
    return {"apiVersion": "v1", "kind": "Pod", "spec": spec, "metadata": {
        "name": f"p-{i:05d}", "namespace": f"dra-{i % namespaces}", "labels": {"bench": "dra"}}}
print(json.dumps({"apiVersion": "v1", "kind": "List", "items": [pod(i) for i in range(count)]}))
PODS
}
claims_json() {  # one claim per pod, named as the pod, asking what the template gpu asks
  python3 - "$claims" "$namespaces" "$device_class" <<'CLAIMS'
import json, sys
count, namespaces, device_class = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
print(json.dumps({"apiVersion": "v1", "kind": "List", "items": [
    {"apiVersion": "resource.k8s.io/v1", "kind": "ResourceClaim",
     "metadata": {"name": f"p-{i:05d}", "namespace": f"dra-{i % namespaces}"},
     "spec": {"devices": {"requests": [
         {"name": "gpu", "exactly": {"deviceClassName": device_class, "count": 1}}]}}}
    for i in range(count)]}))
CLAIMS
}
claim_count() { kubectl get resourceclaims -A -o name | wc -l; }
allocated_claims() {
  kubectl get resourceclaims -A -o jsonpath='{range .items[*]}{.status.allocation.devices.results[0].driver}{"\n"}{end}' |
    grep -c "^$driver\$" || true
}
# schedule MODE: "TOTAL_MS CLAIMS_MS", from the first create to every pod bound, and to every
# claim created (0 for plugin). Both counts are polled in every mode, so the polling load is equal.
schedule() {
  local began total="" claims_at=0 bound made deadline=$((SECONDS + 900))
  pods_json "$1" >"$work/pods.json"
  if [[ $1 == dra-precreated ]]; then
    claims_json >"$work/claims.json"
    kubectl create -f "$work/claims.json" >/dev/null
  fi
  began=$(now_ms)
  kubectl create -f "$work/pods.json" >/dev/null
  while [[ -z $total ]]; do
    bound=$(bound_pods bench=dra) made=$(claim_count)
    ((claims_at == 0 && made == claims)) && claims_at=$(($(now_ms) - began))
    ((bound == claims)) && total=$(($(now_ms) - began))
    ((SECONDS < deadline)) || { echo "timed out: $bound of $claims pods bound ($1)" >&2; return 1; }
    sleep 0.2
  done
  if [[ $1 != plugin && $(allocated_claims) != "$claims" ]]; then
    echo "$1: $(allocated_claims) of $claims claims allocated by $driver" >&2
    return 1
  fi
  echo "$total $claims_at"
  for ((n = 0; n < namespaces; n++)); do
    kubectl -n "dra-$n" delete pods --all --grace-period=0 --force --wait=true >/dev/null 2>&1
    [[ $1 != dra-precreated ]] || kubectl -n "dra-$n" delete resourceclaims --all --wait=false >/dev/null
  done
  # The claims made from templates go with their pods (kube-controller-manager deletes them).
  until_true 900 bash -c "(( \$(kubectl get resourceclaims -A -o name | wc -l) == 0 ))"
}

declare -A total_ms claims_ms
for ((i = 1; i <= runs; i++)); do
  for mode in ${modes//,/ }; do
    result=$(schedule "$mode")
    read -r total made <<<"$result"
    total_ms[$mode]+="$total " claims_ms[$mode]+="$made "
    line="run $i $mode: all $claims pods bound in $total ms"
    [[ $mode == dra || $mode == dra-cel ]] && line+=" (the claims all created at $made ms)"
    echo "$line"
  done
done

summary=()
for mode in ${modes//,/ }; do
  # shellcheck disable=SC2086 # one word per run
  line="$mode $(median_range ${total_ms[$mode]}) ms, $(median_rate "$claims" ${total_ms[$mode]}) pods/s"
  # shellcheck disable=SC2086
  [[ $mode == dra || $mode == dra-cel ]] && line+=" (claims all created from the templates at $(median_range ${claims_ms[$mode]}) ms)"
  summary+=("$line")
done
echo "scheduler, $claims pods on $nodes kwok nodes of 8 GPUs, median (range) of $runs runs:"
printf '  %s\n' "${summary[@]}"
if [[ -n ${total_ms[plugin]:-} ]]; then
  for mode in ${modes//,/ }; do
    [[ $mode != plugin ]] || continue
    # shellcheck disable=SC2086
    awk -v mode="$mode" -v a="$(median_range ${total_ms[$mode]} | cut -d' ' -f1)" \
      -v b="$(median_range ${total_ms[plugin]} | cut -d' ' -f1)" \
      'BEGIN { printf "  %s / plugin, time at the medians: %.2f\n", mode, a / b }'
  done
fi
