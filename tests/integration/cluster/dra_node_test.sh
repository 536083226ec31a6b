#!/usr/bin/env bash
# The kubelet DRA plugin on a real kubelet (issue 19): Zhisuan installed with helm on the node in a
# box (hack/node.sh: containerd 2, which injects CDI devices) with dra.enabled and
# dra.kubeletPlugin (hack/box-values.sh). Each step asserts the final state:
#   1. the agent registers with the real kubelet as the DRA plugin of accelerators.zhisuan.io,
#      and the node's ResourceSlice is published (the agent's own publisher, --dra=true);
#   2. a pod whose ResourceClaimTemplate asks for one device of the driver is allocated one by the
#      real scheduler, the real kubelet calls NodePrepareResources, and the container sees what the
#      claim's CDI spec injects: its environment (NVIDIA_VISIBLE_DEVICES=<the device's UUID>) and
#      its device nodes (character devices);
#   3. deleting the pod makes the kubelet call NodeUnprepareResources: the CDI spec file and the
#      plugin's checkpoint entry are gone;
#   4. hack/node.sh down leaves nothing behind.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../chart/common.sh"
: "${ZHISUAN_BINARY_DIR:?run through ctest (ZHISUAN_BINARY_DIR)}"

hack=$ZHISUAN_SOURCE_DIR/hack
devcluster=$ZHISUAN_BINARY_DIR/tests/harness/zhisuan-devcluster
work=$(mktemp -d "${TMPDIR:-/tmp}/zhisuan-dra-node.XXXXXX")
node=zs-dra-1
release=zhisuan
system_ns=zhisuan-system
tenant=tenant-dra
driver=accelerators.zhisuan.io
began=$SECONDS

step() { echo "--- [$((SECONDS - began))s] $*"; }

die() {
  fail "$*"
  exit 1
}

dump_state() {
  [[ -f $work/plane/admin.kubeconfig ]] || return 0
  {
    echo "=== pods, claims, slices"
    kubectl get pods -A -o wide
    kubectl get resourceclaims -A -o yaml
    kubectl get resourceslices -o yaml
    echo "=== agent log"
    kubectl -n "$system_ns" logs -l app.kubernetes.io/component=agent --tail=60
    echo "=== events"
    kubectl get events -A --sort-by=.lastTimestamp | tail -n 30
  } >&2 2>&1 || true
  grep -i "dra\|cdi" "$work/node/logs/kubelet.log" 2>/dev/null | tail -n 20 >&2 || true
  grep -i "cdi" "$work/node/logs/containerd.log" 2>/dev/null | tail -n 10 >&2 || true
}

cleanup() {
  local status=$?
  if ((status != 0 || failures > 0)); then dump_state; fi
  "$hack/node.sh" down "$work/node" >/dev/null 2>&1 || true
  "$devcluster" down "$work/plane" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

# ---------------------------------------------------------------------------------------------
step "control plane, images, a real node with containerd 2"
"$devcluster" up --cluster "$work/plane" >"$work/plane-up.log" 2>&1 ||
  { cat "$work/plane-up.log" >&2; die "control plane did not start"; }
export KUBECONFIG=$work/plane/admin.kubeconfig
"$hack/images.sh" "$ZHISUAN_BINARY_DIR" "$work/images" >"$work/images.list" ||
  die "hack/images.sh failed"
tarballs=()
while read -r _ _ tarball; do tarballs+=(--image "$tarball"); done <"$work/images.list"
pause_tag=$(awk '$1 == "pause" { print $2 }' "$work/images.list")
workload_tag=$(awk '$1 == "workload" { print $2 }' "$work/images.list")
"$hack/node.sh" up "$work/node" --control-plane "$work/plane" --name "$node" \
  --pause-image "$pause_tag" "${tarballs[@]}" --labels zhisuan.io/node-in-a-box=true \
  >"$work/node-up.log" 2>&1 || { cat "$work/node-up.log" >&2; die "node did not come up"; }
mkdir -p "$work/hardware" "$work/events"
cp -a "$ZHISUAN_SOURCE_DIR/tests/fixtures/sysfs/h100-8x/." "$work/hardware/"
mkdir -p "$work/hardware/sys/class"
: >"$work/events/nvml-events"
"$hack/box-values.sh" "$ZHISUAN_BINARY_DIR" "$work/images.list" "$work/hardware" \
  "$work/events" >"$work/values.yaml"
kubectl create namespace "$system_ns" >/dev/null
helm install "$release" "$CHART" --namespace "$system_ns" -f "$work/values.yaml" --wait \
  --timeout 180s >"$work/helm.log" 2>&1 || { cat "$work/helm.log" >&2; die "helm install failed"; }

# ---------------------------------------------------------------------------------------------
step "1. the agent registers with the kubelet as the driver's DRA plugin; the slice is published"
agent_log() { kubectl -n "$system_ns" logs -l app.kubernetes.io/component=agent --tail=-1; }
registered() { agent_log | grep -F "the kubelet registered driver $driver"; }
eventually 90 registered && pass "the real kubelet registered the DRA plugin of $driver" ||
  die "the kubelet did not register the DRA plugin"
slice_devices() {
  kubectl get resourceslices -o json | python3 -c '
import json, sys
node, driver = sys.argv[1], sys.argv[2]
print(sum(len(s["spec"].get("devices", [])) for s in json.load(sys.stdin)["items"]
          if s["spec"].get("nodeName") == node and s["spec"]["driver"] == driver))' "$node" "$driver"
}
slices_published() { [[ $(slice_devices) == 8 ]]; }
eventually 90 slices_published && pass "the agent published the node's 8 devices as a ResourceSlice" ||
  die "no ResourceSlice with 8 devices of $driver for $node (have $(slice_devices))"
eventually 60 "$hack/box-cdi.sh" "$work/node" "$work/hardware" "$node" ||
  die "could not write the box's CDI stand-ins"

# ---------------------------------------------------------------------------------------------
step "2. a pod with a ResourceClaim: prepared by the kubelet, the CDI spec injected"
kubectl create namespace "$tenant" >/dev/null
kubectl -n "$tenant" apply -f - >/dev/null <<CLAIM || die "could not create the claim template"
apiVersion: resource.k8s.io/v1
kind: ResourceClaimTemplate
metadata: {name: one-accelerator}
spec:
  spec:
    devices:
      requests:
        - name: gpu
          exactly:
            deviceClassName: $driver
            selectors:
              - cel: {expression: 'device.driver == "$driver"'}
            count: 1
---
apiVersion: v1
kind: Pod
metadata: {name: trainer}
spec:
  restartPolicy: Never
  resourceClaims:
    - {name: gpu, resourceClaimTemplateName: one-accelerator}
  containers:
    - name: trainer
      image: $workload_tag
      imagePullPolicy: Never
      command:
        - /bin/sh
        - -c
        - |
          echo "NVIDIA_VISIBLE_DEVICES=\$NVIDIA_VISIBLE_DEVICES"
          for n in /dev/nvidia*; do [ -c "\$n" ] && echo "CHAR \$n"; done
          echo READY
          sleep 3600
      resources:
        claims: [{name: gpu}]
CLAIM
pod_running() { [[ $(kubectl -n "$tenant" get pod trainer -o jsonpath='{.status.phase}') == Running ]]; }
eventually 120 pod_running || die "the pod with a claim is not Running: $(kubectl -n "$tenant" describe pod trainer | tail -n 15)"
logs_ready() { kubectl -n "$tenant" logs trainer | grep -x READY; }
eventually 30 logs_ready || die "the container did not report"
claim=$(kubectl -n "$tenant" get pod trainer -o jsonpath='{.status.resourceClaimStatuses[0].resourceClaimName}')
claim_uid=$(kubectl -n "$tenant" get resourceclaim "$claim" -o jsonpath='{.metadata.uid}')
allocated=$(kubectl -n "$tenant" get resourceclaim "$claim" \
  -o jsonpath='{range .status.allocation.devices.results[*]}{.driver} {.pool} {.device}{"\n"}{end}')
device=$(awk '{print $3}' <<<"$allocated")
[[ $(wc -l <<<"$allocated") == 1 && $(awk '{print $1, $2}' <<<"$allocated") == "$driver $node" ]] &&
  pass "the scheduler allocated one device of $driver in pool $node: $device" ||
  fail "the claim's allocation: [$allocated]"
spec_file=$work/node/root/run/cdi/zhisuan.io-accelerator-$claim_uid.json
[[ -f $spec_file ]] && pass "NodePrepareResources wrote the claim's CDI spec" ||
  die "no CDI spec $spec_file; the kubelet did not prepare the claim"
checkpoint=$work/node/root/var/lib/kubelet/plugins/$driver/prepared-claims.json
grep -F "\"$claim_uid\"" "$checkpoint" >/dev/null && pass "the claim is in the plugin's checkpoint" ||
  fail "the checkpoint does not hold claim $claim_uid: $(cat "$checkpoint" 2>&1)"
# What the spec says the container gets, against what the container saw.
read -r want_env want_nodes < <(python3 - "$spec_file" "$claim_uid-$device" <<'SPEC'
import json, sys
spec = json.load(open(sys.argv[1]))
env = [e for e in spec.get("containerEdits", {}).get("env", []) if e.startswith("NVIDIA_VISIBLE_DEVICES=")]
nodes = [n["path"] for d in spec["devices"] if d["name"] == sys.argv[2]
         for n in d["containerEdits"]["deviceNodes"]]
print(env[0] if env else "-", ",".join(sorted(nodes)) or "-")
SPEC
)
seen=$(kubectl -n "$tenant" logs trainer)
seen_env=$(grep '^NVIDIA_VISIBLE_DEVICES=' <<<"$seen")
seen_nodes=$(sed -n 's/^CHAR //p' <<<"$seen" | sort | paste -sd, -)
uuid=${want_env#NVIDIA_VISIBLE_DEVICES=}
expected_uuid=$(kubectl get resourceslices -o json | python3 -c '
import json, sys
for s in json.load(sys.stdin)["items"]:
    for d in s["spec"].get("devices", []):
        if s["spec"].get("nodeName") == sys.argv[1] and d["name"] == sys.argv[2]:
            print(d.get("attributes", {}).get("uuid", {}).get("string", ""))' "$node" "$device")
[[ -n $uuid && $seen_env == "$want_env" && $uuid == "$expected_uuid" ]] &&
  pass "the container's environment is the spec's: $seen_env (the allocated device's UUID)" ||
  fail "the container saw '$seen_env', the spec injects '$want_env', the slice's UUID is '$expected_uuid'"
missing=$(comm -23 <(tr , '\n' <<<"$want_nodes" | sort) <(tr , '\n' <<<"$seen_nodes" | sort))
[[ $want_nodes != - && -z $missing ]] &&
  pass "the container has the spec's device nodes as character devices: $want_nodes" ||
  fail "the spec injects [$want_nodes], the container has character devices [$seen_nodes]"

# ---------------------------------------------------------------------------------------------
step "3. the pod deleted: the kubelet unprepares the claim"
kubectl -n "$tenant" delete pod trainer --wait=true --timeout=60s >/dev/null ||
  fail "the pod was not deleted"
spec_gone() { [[ ! -e $spec_file ]]; }
eventually 60 spec_gone && pass "NodeUnprepareResources removed the CDI spec" ||
  fail "the CDI spec $spec_file is still there"
checkpoint_clear() { ! grep -F "\"$claim_uid\"" "$checkpoint"; }
eventually 30 checkpoint_clear && pass "and the claim's checkpoint entry" ||
  fail "the checkpoint still holds $claim_uid"

# ---------------------------------------------------------------------------------------------
step "4. the node goes down and leaves nothing behind"
helm uninstall "$release" --namespace "$system_ns" --wait --timeout 120s >/dev/null ||
  fail "helm uninstall failed"
"$hack/node.sh" down "$work/node" >"$work/node-down.log" 2>&1 ||
  { cat "$work/node-down.log" >&2; fail "hack/node.sh down failed"; }
"$hack/node.sh" check-clean "$work/node" >"$work/clean.log" 2>&1 &&
  pass "no process, mount, network namespace, cgroup or sysctl change left by the node" ||
  fail "left behind: $(cat "$work/clean.log")"
step "done"
finish
