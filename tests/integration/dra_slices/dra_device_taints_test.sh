#!/usr/bin/env bash
# DRA device taints (alpha in 1.34: the DRADeviceTaints feature gate) with the gate on in the real
# kube-apiserver, kube-scheduler and kube-controller-manager, a kwok node and a real agent on the
# H100 fixture run as the chart runs it with dra.deviceTaints=NoExecute:
#   1. the chart passes --dra-device-taints only with dra.enabled, and refuses an unknown effect;
#   2. a pod holds all 8 GPUs through a claim; an Xid on GPU 0 keeps the GPU in the slice, marked
#      healthy=false and tainted zhisuan.io/unhealthy:NoExecute, and kube-controller-manager evicts
#      the pod;
#   3. a new claim for all 8 GPUs is not allocated while the taint is there;
#   4. after the agent's quiet period the taint is gone and the waiting claim is allocated.
# The fallback without the gate (the server drops the taints, the agent takes the device out) is in
# dra_slices_test, whose control plane runs without it.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../chart/common.sh"
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
: "${ZHISUAN_BINARY_DIR:?run through ctest (ZHISUAN_BINARY_DIR)}"

devcluster=$ZHISUAN_BINARY_DIR/tests/harness/zhisuan-devcluster
agent=$ZHISUAN_BINARY_DIR/agent/zhisuan-agent
lib=$ZHISUAN_BINARY_DIR/fixtures/lib
fixtures=$ZHISUAN_SOURCE_DIR/tests/fixtures/sysfs
for need in "$devcluster" "$agent" "$lib/nvml/libnvidia-ml.so.1"; do
  [[ -e $need ]] || { fail "$need not built"; exit 1; }
done
work=$(mktemp -d "${TMPDIR:-/tmp}/zhisuan-dra-taints.XXXXXX")
pids=()
driver=accelerators.zhisuan.io
ns=taints
node=taint-h100

cleanup() {
  local status=$?
  if ((status != 0 || failures > 0)); then
    kubectl get resourceslices -o yaml >&2 2>/dev/null || true
    kubectl -n "$ns" get pods,resourceclaims -o wide >&2 2>/dev/null || true
    tail -n 20 "$work/agent.log" >&2 2>/dev/null || true
    grep -i taint "$work/plane/kube-controller-manager.log" | tail -n 10 >&2 2>/dev/null || true
  fi
  if ((${#pids[@]} > 0)); then
    kill "${pids[@]}" 2>/dev/null || true
    wait "${pids[@]}" 2>/dev/null || true
  fi
  "$devcluster" down "$work/plane" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

# ------------------------------------------------------------------ 1. the chart's switch
rendered_args() {
  helm template zhisuan "$CHART" --kube-version "$KUBE_VERSION" "$@" --show-only templates/agent.yaml |
    grep -- '--dra' || true
}
if [[ "$(rendered_args --set dra.enabled=true --set dra.deviceTaints=NoExecute)" == *"--dra-device-taints=NoExecute"* &&
  "$(rendered_args --set dra.deviceTaints=NoExecute)" != *"--dra-device-taints"* &&
  "$(rendered_args --set dra.enabled=true)" != *"--dra-device-taints"* ]]; then
  pass "the chart passes --dra-device-taints=NoExecute only with dra.enabled and dra.deviceTaints set"
else
  fail "chart args: $(rendered_args --set dra.enabled=true --set dra.deviceTaints=NoExecute)"
fi
expect_render_error "dra.deviceTaints=PreferNoSchedule is refused" "deviceTaints" \
  --set dra.enabled=true --set dra.deviceTaints=PreferNoSchedule

# ------------------------------------------------------------------ the cluster, gate on
# The gate's scheduler and controller-manager also watch DeviceTaintRules (resource.k8s.io/v1alpha3),
# which the API server serves only when asked: without them the scheduler never syncs its informers.
dra_plane_up --feature-gates=DRADeviceTaints=true --runtime-config=resource.k8s.io/v1alpha3=true
kubectl create namespace "$ns" >/dev/null
kwok_node "$node"
: >"$work/nvml-events"
FAKE_NVML_EVENTS_FILE=$work/nvml-events "$agent" --node-name="$node" --kubeconfig="$KUBECONFIG" \
  --dra=true --dra-device-taints=NoExecute --advertise=none \
  --sysfs-root="$fixtures/h100-8x/sys" --procfs-root="$fixtures/h100-8x/proc" \
  --nvml-library="$lib/nvml/libnvidia-ml.so.1" --dcmi-library=/nonexistent/libdcmi.so \
  --libcuda-library=/nonexistent/libcuda.so.1 --measure-flops-at-startup=false \
  --health-quiet-period=20s --listen-address=127.0.0.1:0 >"$work/agent.log" 2>&1 &
pids+=($!)

# One line per device of the node's slice: its name, its taints (key=value:effect, or -), healthy.
devices() {
  kubectl get resourceslices -o json | python3 -c '
import json, sys
for s in json.load(sys.stdin)["items"]:
    if s["spec"]["nodeName"] == sys.argv[1]:
        for d in s["spec"]["devices"]:
            taints = ",".join("%s=%s:%s" % (t["key"], t.get("value", ""), t["effect"])
                              for t in d.get("taints", []))
            print(d["name"], taints or "-", d["attributes"]["healthy"]["bool"])' "$node"
}
eight_clean() { [[ "$(devices | awk '$2 == "-" && $3 == "True"' | wc -l)" == 8 ]]; }
eventually 90 eight_clean || { fail "no slice with 8 healthy devices: $(devices)"; exit 1; }
# Pods need the namespace's default ServiceAccount, which kube-controller-manager creates.
eventually 30 kubectl -n "$ns" get serviceaccount default || { fail "no default ServiceAccount"; exit 1; }

# claim_all NAME: a claim for all 8 H100s and a pod holding it.
claim_all() {
  kubectl -n "$ns" apply -f - >/dev/null <<YAML
apiVersion: resource.k8s.io/v1
kind: ResourceClaim
metadata: {name: $1}
spec:
  devices:
    requests: [{name: acc, exactly: {deviceClassName: nvidia.$driver, count: 8}}]
---
apiVersion: v1
kind: Pod
metadata: {name: $1}
spec:
  nodeSelector: {type: kwok}
  containers: [{name: c, image: registry.example/none:1, resources: {claims: [{name: acc}]}}]
  resourceClaims: [{name: acc, resourceClaimName: $1}]
YAML
}
allocated_count() {
  kubectl -n "$ns" get resourceclaim "$1" -o jsonpath='{.status.allocation.devices.results[*].device}' | wc -w
}
running() { [[ "$(kubectl -n "$ns" get pod "$1" -o jsonpath='{.status.phase}')" == Running ]]; }
claim_all holder
if eventually 60 running holder && [[ "$(allocated_count holder)" == 8 ]]; then
  pass "a pod holds all 8 H100s through its claim"
else
  fail "holder: phase '$(kubectl -n "$ns" get pod holder -o jsonpath='{.status.phase}')', $(allocated_count holder) devices"
fi

# ------------------------------------------------------------------ 2. the Xid: tainted, and evicted
echo "xid 0 79" >>"$work/nvml-events"
one_tainted() {
  [[ "$(devices | awk '$2 == "zhisuan.io/unhealthy=xid:NoExecute" && $3 == "False"' | wc -l)" == 1 &&
    "$(devices | wc -l)" == 8 ]]
}
if eventually 30 one_tainted; then
  pass "after an Xid 79 the GPU stays in the slice, healthy=false, tainted zhisuan.io/unhealthy=xid:NoExecute"
else
  fail "taint: $(devices | tr '\n' ';')"
fi
holder_evicted() { ! kubectl -n "$ns" get pod holder >/dev/null 2>&1; }
if eventually 60 holder_evicted; then
  pass "kube-controller-manager evicted the pod whose claim holds the tainted GPU"
else
  fail "the holder was not evicted: $(kubectl -n "$ns" get pod holder -o jsonpath='{.status.conditions}')"
fi

# ------------------------------------------------------------------ 3. not allocatable while tainted
claim_all waiter
sleep 5
if one_tainted && [[ "$(allocated_count waiter)" == 0 ]]; then
  pass "a claim for all 8 GPUs is not allocated while one carries the NoExecute taint"
else
  fail "waiter allocated $(allocated_count waiter) devices while tainted: $(devices | tr '\n' ';')"
fi

# ------------------------------------------------------------------ 4. recovery
if eventually 60 eight_clean && eventually 60 running waiter && [[ "$(allocated_count waiter)" == 8 ]]; then
  pass "after the quiet period the taint is gone and the waiting claim got all 8 GPUs"
else
  fail "recovery: $(devices | tr '\n' ';'), waiter has $(allocated_count waiter) devices"
fi
if grep -q 'DRADeviceTaints feature gate is off' "$work/agent.log"; then
  fail "the agent fell back although the gate is on"
fi
finish
