#!/usr/bin/env bash
# The real-cluster suite: Zhisuan installed with `helm install` on a real cluster (etcd,
# kube-apiserver with the Node authorizer and NodeRestriction, kube-controller-manager,
# kube-scheduler, and one real kubelet node with containerd: hack/node.sh), from images built from
# this build tree (hack/images.sh). Each case asserts the final state:
#   1. every Zhisuan pod is Ready, and the real node's capacity shows nvidia.com/gpu, registered
#      by the agent's device plugin with the real kubelet;
#   2. a tenant's pool binds the real node; a Job built from the pool's status.scheduling (the
#      tenant guide's Job) is placed there by the real scheduler, the kubelet calls Allocate, and
#      the container's environment holds exactly the device IDs the kubelet checkpointed for it;
#   3. a pod of another namespace sent to the pool's node by spec.nodeName never runs;
#   4. an Xid on a GPU (through the NVML stand-in) takes it out of the kubelet's allocatable, and
#      it comes back after the agent's quiet period;
#   5. the kubelet restarts: the device plugin registers again and the capacity returns, with no
#      pod disturbed;
#   6. `helm upgrade` with a changed value rolls the pods and loses no pool binding;
#   7. the pool deleted and `helm uninstall` leave no Zhisuan object, label or taint;
#   8. hack/node.sh down leaves no process, mount, network namespace, cgroup or sysctl change.
# The NVML stand-in and fixture sysfs come in only through hack/box-values.sh.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../chart/common.sh"
: "${ZHISUAN_BINARY_DIR:?run through ctest (ZHISUAN_BINARY_DIR)}"

hack=$ZHISUAN_SOURCE_DIR/hack
devcluster=$ZHISUAN_BINARY_DIR/tests/harness/zhisuan-devcluster
work=$(mktemp -d "${TMPDIR:-/tmp}/zhisuan-e2e.XXXXXX")
node=zs-box-1
release=zhisuan  # helm names the objects zhisuan-controller, zhisuan-agent, zhisuan-tenant
system_ns=zhisuan-system
tenant=tenant-box
pool=box-pool
began=$SECONDS

step() { echo "--- [$((SECONDS - began))s] $*"; }

# die MESSAGE: a failed precondition of later steps; the EXIT trap still cleans up.
die() {
  fail "$*"
  dump_state
  exit 1
}

dump_state() {
  [[ -f $work/plane/admin.kubeconfig ]] || return 0
  {
    echo "=== nodes, pods, pools"
    kubectl get nodes -o wide
    kubectl get pods -A -o wide
    kubectl get computepools -A -o yaml
    echo "=== zhisuan pod logs"
    kubectl -n "$system_ns" logs -l app.kubernetes.io/name=zhisuan --all-containers --tail=40 \
      --prefix
    echo "=== events"
    kubectl get events -A --sort-by=.lastTimestamp | tail -n 40
  } >&2 2>&1 || true
  tail -n 30 "$work/node/logs/kubelet.log" >&2 2>/dev/null || true
}

background_pids=()   # kwok and the fleet's out-of-cluster agents
fleet_agent_pids=()  # the agents alone: step 7 stops them before helm uninstall

cleanup() {
  local status=$?
  if ((status != 0 || failures > 0)); then dump_state; fi
  if ((${#background_pids[@]} > 0)); then
    kill "${background_pids[@]}" 2>/dev/null || true
    wait "${background_pids[@]}" 2>/dev/null || true
  fi
  "$hack/node.sh" down "$work/node" >/dev/null 2>&1 || true
  "$devcluster" down "$work/plane" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

node_field() { kubectl get node "$node" -o jsonpath="$1"; }
gpu_capacity() { node_field '{.status.capacity.nvidia\.com/gpu}'; }
gpu_allocatable() { node_field '{.status.allocatable.nvidia\.com/gpu}'; }
allocatable_is() { [[ $(gpu_allocatable) == "$1" ]]; }
capacity_is() { [[ $(gpu_capacity) == "$1" ]]; }

# zhisuan_pod_ids: "name uid restarts" of every Zhisuan pod that is not on its way out, sorted.
zhisuan_pod_ids() {
  kubectl -n "$system_ns" get pods -o json | python3 -c '
import json, sys
for pod in json.load(sys.stdin)["items"]:
    if pod["metadata"].get("deletionTimestamp"):
        continue
    restarts = sum(c.get("restartCount", 0) for c in pod["status"].get("containerStatuses", []))
    print(pod["metadata"]["name"], pod["metadata"]["uid"], restarts)' | sort
}

all_zhisuan_pods_ready() {
  kubectl -n "$system_ns" rollout status deployment/"$release"-controller --timeout=5s &&
    kubectl -n "$system_ns" rollout status daemonset/"$release"-agent --timeout=5s
}

install_chart() {  # helm install or upgrade, with extra arguments
  helm "$@" "$release" "$CHART" --namespace "$system_ns" \
    -f "$work/values.yaml" --wait --timeout 180s >"$work/helm.log" 2>&1 ||
    { cat "$work/helm.log" >&2; return 1; }
}

# ---------------------------------------------------------------------------------------------
step "control plane: etcd, kube-apiserver (Node,RBAC; NodeRestriction), controller-manager, scheduler"
"$devcluster" up --cluster "$work/plane" >"$work/plane-up.log" 2>&1 ||
  { cat "$work/plane-up.log" >&2; die "control plane did not start"; }
export KUBECONFIG=$work/plane/admin.kubeconfig

step "images from this build tree"
"$hack/images.sh" "$ZHISUAN_BINARY_DIR" "$work/images" >"$work/images.list" ||
  die "hack/images.sh failed"
tarballs=()
while read -r _ _ tarball; do tarballs+=(--image "$tarball"); done <"$work/images.list"
pause_tag=$(awk '$1 == "pause" { print $2 }' "$work/images.list")
workload_tag=$(awk '$1 == "workload" { print $2 }' "$work/images.list")

step "a real node: containerd and the kubelet in their own namespaces"
"$hack/node.sh" up "$work/node" --control-plane "$work/plane" --name "$node" \
  --pause-image "$pause_tag" "${tarballs[@]}" --labels zhisuan.io/node-in-a-box=true \
  >"$work/node-up.log" 2>&1 || { cat "$work/node-up.log" >&2; die "node did not come up"; }

# The agent reads a copy of the H100 fixture: the chart mounts sys/class, which this fixture lacks.
mkdir -p "$work/hardware" "$work/events"
cp -a "$ZHISUAN_SOURCE_DIR/tests/fixtures/sysfs/h100-8x/." "$work/hardware/"
mkdir -p "$work/hardware/sys/class"
: >"$work/events/nvml-events"
printf 'source: grid\nzone: box\ncarbonIntensityGramsPerKwh: 450\ncarbonFreeRatio: 0.4\n' >"$work/energy.yaml"
"$hack/box-values.sh" "$ZHISUAN_BINARY_DIR" "$work/images.list" "$work/hardware" \
  "$work/events" >"$work/values.yaml"

# ---------------------------------------------------------------------------------------------
step "1. helm install: every Zhisuan pod Ready, the device plugin registered with the kubelet"
kubectl create namespace "$system_ns" >/dev/null
install_chart install || die "helm install failed"
if eventually 60 all_zhisuan_pods_ready; then
  pass "helm install: controller Deployment and agent DaemonSet Ready on the real node"
else
  die "Zhisuan pods not Ready after helm install"
fi
if eventually 60 capacity_is 8; then
  pass "the real kubelet shows nvidia.com/gpu: 8 from Zhisuan's device plugin"
else
  die "node capacity nvidia.com/gpu is '$(gpu_capacity)', want 8"
fi
# containerd 2 resolves the nvidia.com/gpu CDI names Allocate returns: stand-ins for the fixture GPUs.
eventually 60 "$hack/box-cdi.sh" "$work/node" "$work/hardware" "$node" ||
  die "could not write the box's CDI stand-ins"
agents_on_other_nodes=$(kubectl -n "$system_ns" get pods -l app.kubernetes.io/component=agent \
  -o jsonpath='{range .items[*]}{.spec.nodeName}{"\n"}{end}' | grep -vcx "$node" || true)
[[ $agents_on_other_nodes == 0 ]] && pass "the agent DaemonSet runs only on the real node" ||
  fail "$agents_on_other_nodes agent pods on other nodes"

# ---------------------------------------------------------------------------------------------
step "2. a tenant's pool binds the real node; its Job gets the devices Allocate returned"
kubectl create namespace "$tenant" >/dev/null
# The tenant: ComputePools through the chart's tenant role, Jobs and logs through the built-in edit.
kubectl -n "$tenant" create rolebinding pools --clusterrole="$release"-tenant \
  --user=alice >/dev/null
kubectl -n "$tenant" create rolebinding edit --clusterrole=edit --user=alice >/dev/null
as_tenant() { kubectl --as=alice -n "$tenant" "$@"; }
as_tenant apply -f - >/dev/null <<POOL || die "the tenant could not create a ComputePool"
apiVersion: zhisuan.io/v1alpha1
kind: ComputePool
metadata: {name: $pool}
spec:
  capacity: {accelerators: 8, precision: bf16}
  accelerator: {vendor: nvidia}
POOL
pool_value=$tenant.$pool
pool_ready() {
  [[ $(as_tenant get computepool "$pool" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}') == True ]]
}
node_in_pool() { [[ $(node_field '{.metadata.labels.zhisuan\.io/pool}') == "$pool_value" ]]; }
scheduling_published() {
  [[ -n $(as_tenant get computepool "$pool" -o jsonpath='{.status.scheduling.nodeSelector}') ]]
}
if eventually 90 node_in_pool && eventually 30 scheduling_published; then
  pass "the pool bound the real node ($pool_value)"
else
  die "the pool did not bind $node"
fi
scheduling=$(as_tenant get computepool "$pool" -o jsonpath='{.status.scheduling}')
# The tenant guide's Job, its nodeSelector and tolerations copied from status.scheduling.
python3 - "$scheduling" "$workload_tag" >"$work/job.json" <<'JOB'
import json, sys
scheduling, image = json.loads(sys.argv[1]), sys.argv[2]
print(json.dumps({
    "apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "pretrain"},
    "spec": {"backoffLimit": 0, "template": {"spec": {
        "nodeSelector": scheduling["nodeSelector"],
        "tolerations": scheduling["tolerations"],
        "restartPolicy": "Never",
        "containers": [{
            "name": "trainer", "image": image, "imagePullPolicy": "Never",
            "command": ["/bin/sh", "-c", "echo NVIDIA_VISIBLE_DEVICES=$NVIDIA_VISIBLE_DEVICES"],
            "resources": {"limits": {"nvidia.com/gpu": 2}}}]}}}}))
JOB
as_tenant apply -f "$work/job.json" >/dev/null || die "the tenant could not create the Job"
if as_tenant wait --for=condition=Complete job/pretrain --timeout=120s >/dev/null; then
  pass "the tenant's Job ran to completion"
else
  die "the tenant's Job did not complete"
fi
job_pod=$(as_tenant get pods -l job-name=pretrain -o jsonpath='{.items[0].metadata.name}')
job_pod_uid=$(as_tenant get pod "$job_pod" -o jsonpath='{.metadata.uid}')
[[ $(as_tenant get pod "$job_pod" -o jsonpath='{.spec.nodeName}') == "$node" ]] &&
  pass "the real scheduler placed the Job's pod on the pool's node" ||
  fail "the Job's pod ran on $(as_tenant get pod "$job_pod" -o jsonpath='{.spec.nodeName}')"
seen=$(as_tenant logs "$job_pod" | sed -n 's/^NVIDIA_VISIBLE_DEVICES=//p' | tr ',' '\n' | sort)
checkpoint=$work/node/root/var/lib/kubelet/device-plugins/kubelet_internal_checkpoint
allocated=$(python3 - "$checkpoint" "$job_pod_uid" <<'CHECKPOINT'
import json, sys
data = json.load(open(sys.argv[1]))["Data"]
for entry in data["PodDeviceEntries"]:
    if entry["PodUID"] == sys.argv[2] and entry["ResourceName"] == "nvidia.com/gpu":
        for ids in entry["DeviceIDs"].values():
            print("\n".join(ids))
CHECKPOINT
)
allocated=$(sort <<<"$allocated")
if [[ -n $seen && $(wc -l <<<"$seen") == 2 && $seen == "$allocated" ]]; then
  pass "the container saw the 2 GPUs the kubelet allocated: $(echo $seen)"
else
  fail "container saw [$(echo $seen)], the kubelet allocated [$(echo $allocated)]"
fi

# ---------------------------------------------------------------------------------------------
step "2b. the kwok fleet: three pools in three namespaces, 300 tenant pods, each on its own pool"
# kwok simulates nine more H100 nodes (it runs no containers: their pods only go Running on paper),
# each published by an out-of-cluster agent on a fixture tree, as in make demo.
"$ZHISUAN_TOOLCHAIN_BIN/kwok" --kubeconfig="$KUBECONFIG" --manage-all-nodes=false \
  --manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake \
  --node-lease-duration-seconds=40 >"$work/kwok.log" 2>&1 &
background_pids+=($!)
for i in $(seq 1 9); do
  cat <<NODE
---
apiVersion: v1
kind: Node
metadata:
  name: zs-kwok-$i
  annotations: {kwok.x-k8s.io/node: fake}
  labels: {type: kwok, kubernetes.io/hostname: zs-kwok-$i}
NODE
done | kubectl apply -f - >/dev/null
for i in $(seq 1 9); do
  "$ZHISUAN_BINARY_DIR/agent/zhisuan-agent" --node-name="zs-kwok-$i" --kubeconfig="$KUBECONFIG" \
    --advertise=node-status --sysfs-root="$work/hardware/sys" --procfs-root="$work/hardware/proc" \
    --nvml-library="$ZHISUAN_BINARY_DIR/fixtures/lib/nvml/libnvidia-ml.so.1" \
    --dcmi-library=/nonexistent/libdcmi.so --libcuda-library=/nonexistent/libcuda.so.1 \
    --energy-profile-file="$work/energy.yaml" --listen-address=127.0.0.1:0 \
    >"$work/agent-kwok-$i.log" 2>&1 &
  background_pids+=($!)
  fleet_agent_pids+=($!)
done
fleet_published() { (($(kubectl get computenodes -o name | grep -c zs-kwok) == 9)); }
eventually 90 fleet_published || die "the kwok fleet's agents did not publish 9 ComputeNodes"
for t in 1 2 3; do
  kubectl create namespace "fleet-$t" >/dev/null
  kubectl -n "fleet-$t" apply -f - >/dev/null <<POOL
apiVersion: zhisuan.io/v1alpha1
kind: ComputePool
metadata: {name: pool}
spec:
  capacity: {accelerators: 24, precision: bf16}
  accelerator: {vendor: nvidia}
POOL
done
fleet_bound() {
  local t
  for t in 1 2 3; do
    (($(kubectl get nodes -l "zhisuan.io/pool=fleet-$t.pool" -o name | wc -l) == 3)) || return 1
    [[ -n $(kubectl -n "fleet-$t" get computepool pool -o jsonpath='{.status.scheduling.nodeSelector}') ]] ||
      return 1
  done
}
eventually 120 fleet_bound || die "the three fleet pools did not bind three nodes each"
pass "three pools in three namespaces bound three kwok nodes each"
for t in 1 2 3; do
  scheduling=$(kubectl -n "fleet-$t" get computepool pool -o jsonpath='{.status.scheduling}')
  python3 - "$scheduling" "$workload_tag" "fleet-$t" <<'PODS' | kubectl apply -f - >/dev/null
import json, sys
scheduling, image, namespace = json.loads(sys.argv[1]), sys.argv[2], sys.argv[3]
pods = [{"apiVersion": "v1", "kind": "Pod",
         "metadata": {"name": f"worker-{i}", "namespace": namespace},
         "spec": {"nodeSelector": scheduling["nodeSelector"],
                  "tolerations": scheduling["tolerations"],
                  "containers": [{"name": "w", "image": image, "imagePullPolicy": "Never"}]}}
        for i in range(100)]
print(json.dumps({"apiVersion": "v1", "kind": "List", "items": pods}))
PODS
done
# Outsiders: no toleration, scheduled normally; every H100 node is bound, so they must wait.
kubectl create namespace outsider >/dev/null
kubectl -n outsider run stray --image="$workload_tag" --image-pull-policy=Never --restart=Never \
  --overrides='{"spec":{"nodeSelector":{"zhisuan.io/vendor":"nvidia"}}}' >/dev/null
# ...and one sent straight to a pool's kwok node: kwok admits anything, so it is the NoExecute
# taint's eviction (kube-controller-manager) that must remove it.
kwok_pool_node=$(kubectl get nodes -l zhisuan.io/pool=fleet-1.pool -o jsonpath='{.items[0].metadata.name}')
kubectl -n outsider run direct --image="$workload_tag" --image-pull-policy=Never --restart=Never \
  --overrides="{\"spec\":{\"nodeName\":\"$kwok_pool_node\"}}" >/dev/null
fleet_running() {
  (($(kubectl get pods -A -l '!job-name' --field-selector=status.phase=Running -o name |
    grep -c 'pod/worker-') == 300))
}
if eventually 180 fleet_running; then
  pass "300 tenant pods Running on the kwok fleet"
else
  fail "only $(kubectl get pods -A --field-selector=status.phase=Running -o name | grep -c 'pod/worker-') of 300 tenant pods Running"
fi
misplaced=$(kubectl get pods -A -o json | python3 -c '
import json, subprocess, sys
pool_of = {}
for node in json.loads(subprocess.check_output(["kubectl", "get", "nodes", "-o", "json"]))["items"]:
    pool_of[node["metadata"]["name"]] = node["metadata"].get("labels", {}).get("zhisuan.io/pool", "")
for pod in json.load(sys.stdin)["items"]:
    ns, node = pod["metadata"]["namespace"], pod["spec"].get("nodeName", "")
    if not node or pod["metadata"].get("deletionTimestamp"):
        continue
    pool = pool_of.get(node, "")
    if ns.startswith("fleet-") and pool != ns + ".pool":
        print(ns, pod["metadata"]["name"], "on", node, "of pool", pool or "none")
    if pool and not pool.startswith(ns + ".") and ns != "'"$system_ns"'":
        print(ns, pod["metadata"]["name"], "on", node, "of pool", pool)')
[[ -z $misplaced ]] && pass "every tenant pod is on its own pool's node, and no other namespace is" ||
  fail "misplaced pods: $misplaced"
stray_waits() {
  [[ $(kubectl -n outsider get pod stray -o jsonpath='{.status.conditions[?(@.type=="PodScheduled")].reason}') == Unschedulable ]]
}
eventually 30 stray_waits && pass "an outsider pod stays unschedulable while every H100 node is in a pool" ||
  fail "the outsider pod: $(kubectl -n outsider get pod stray -o jsonpath='{.spec.nodeName} {.status.conditions}')"
direct_gone() { ! kubectl -n outsider get pod direct; }
eventually 60 direct_gone && pass "an outsider pod sent by spec.nodeName to a pool's kwok node was evicted" ||
  fail "the outsider's direct pod is still on $kwok_pool_node"
for t in 1 2 3; do kubectl delete namespace "fleet-$t" --wait=false >/dev/null; done
kubectl delete namespace outsider --wait=false >/dev/null

# ---------------------------------------------------------------------------------------------
step "3. a pod of another namespace sent to the pool's node by spec.nodeName never runs"
kubectl create namespace intruder >/dev/null
kubectl -n intruder run intruder --image="$workload_tag" --image-pull-policy=Never \
  --restart=Never --overrides="{\"spec\":{\"nodeName\":\"$node\"}}" -- sleep 3600 >/dev/null
intruder_phase() { kubectl -n intruder get pod intruder -o jsonpath='{.status.phase}'; }
# Settled: refused by the kubelet's admission (Failed) or removed by the taint eviction controller.
intruder_settled() { [[ $(intruder_phase) == Failed ]] || ! kubectl -n intruder get pod intruder; }
# Events outlive the pod: a container that ever started leaves a Started event.
intruder_started() {
  kubectl -n intruder get events --field-selector involvedObject.name=intruder \
    -o jsonpath='{range .items[*]}{.reason}{"\n"}{end}' | grep -x Started >/dev/null
}
if eventually 60 intruder_settled && ! intruder_started; then
  pass "the intruder never ran (phase '$(intruder_phase 2>/dev/null || echo deleted)', no container started)"
else
  fail "the intruder pod is '$(intruder_phase)' on the pool's node, or one of its containers started"
fi
kubectl delete namespace intruder --wait=false >/dev/null

# ---------------------------------------------------------------------------------------------
step "4. an Xid takes a GPU out of the kubelet's allocatable; it comes back after the quiet period"
echo "xid 0 79" >>"$work/events/nvml-events"
if eventually 60 allocatable_is 7; then
  pass "after an Xid 79 on GPU 0 the kubelet's allocatable is 7"
else
  fail "allocatable is '$(gpu_allocatable)' after the Xid, want 7"
fi
# The pool repairs: Ready again with its 8 accelerators healthy, on whichever H100 node is free
# (the fleet's nodes were released above, so the controller may move it to one of them).
pool_repaired() {
  pool_ready &&
    [[ $(as_tenant get computepool "$pool" -o jsonpath='{.status.acceleratorCount}') == 8 ]]
}
if eventually 90 pool_repaired; then
  pass "the pool repaired: Ready with 8 healthy accelerators on $(as_tenant get computepool "$pool" -o jsonpath='{.status.nodes}')"
else
  fail "the pool did not repair: $(as_tenant get computepool "$pool" -o jsonpath='{.status}')"
fi
if eventually 120 allocatable_is 8; then
  pass "GPU 0 recovered after the quiet period: allocatable 8"
else
  fail "allocatable is '$(gpu_allocatable)' after the quiet period, want 8"
fi

# ---------------------------------------------------------------------------------------------
step "5. the kubelet restarts: the device plugin registers again, no pod disturbed"
before=$(zhisuan_pod_ids)
"$hack/node.sh" restart-kubelet "$work/node" >/dev/null || die "kubelet restart failed"
if eventually 90 allocatable_is 8 && eventually 60 all_zhisuan_pods_ready; then
  pass "after the kubelet restarted, nvidia.com/gpu is allocatable again"
else
  fail "after the kubelet restart allocatable is '$(gpu_allocatable)'"
fi
after=$(zhisuan_pod_ids)
[[ $before == "$after" ]] && pass "no Zhisuan pod was restarted or replaced" ||
  fail "pods changed across the kubelet restart: before [$before] after [$after]"

# ---------------------------------------------------------------------------------------------
step "6. helm upgrade with a changed value rolls the pods and keeps the binding"
pool_nodes() { as_tenant get computepool "$pool" -o jsonpath='{.status.nodes}'; }
bound_before=$(pool_nodes)
install_chart upgrade --set agent.logVerbosity=2 --set controller.logVerbosity=2 ||
  die "helm upgrade failed"
eventually 90 all_zhisuan_pods_ready || fail "pods not Ready after helm upgrade"
rolled=$(zhisuan_pod_ids)
common=$(comm -12 <(echo "$after" | awk '{print $2}' | sort) <(echo "$rolled" | awk '{print $2}' | sort))
[[ -z $common ]] && pass "helm upgrade replaced every Zhisuan pod" ||
  fail "pods not replaced by the upgrade: $common"
agent_args=$(kubectl -n "$system_ns" get pods -l app.kubernetes.io/component=agent \
  -o jsonpath='{.items[0].spec.containers[0].args}')
[[ $agent_args == *--v=2* ]] && pass "the new pods run with the changed value" ||
  fail "agent args after upgrade: $agent_args"
bound_after=$(pool_nodes)
node_labels_hold() {
  local name
  for name in $(python3 -c 'import json, sys; print(" ".join(json.loads(sys.argv[1] or "[]")))' "$bound_after"); do
    [[ $(kubectl get node "$name" -o jsonpath='{.metadata.labels.zhisuan\.io/pool}') == "$pool_value" ]] || return 1
  done
}
[[ -n $bound_before && $bound_after == "$bound_before" ]] && node_labels_hold &&
  pass "the pool binding survived the upgrade ($bound_after)" ||
  fail "the upgrade changed the binding: before $bound_before, after $bound_after"
eventually 60 pool_ready && pass "the pool is Ready after the upgrade" ||
  fail "pool not Ready after upgrade: $(as_tenant get computepool "$pool" -o jsonpath='{.status.conditions}')"

# ---------------------------------------------------------------------------------------------
step "7. the pool deleted, then helm uninstall: nothing of Zhisuan is left"
as_tenant delete job pretrain --wait=true >/dev/null
as_tenant delete computepool "$pool" --timeout=60s >/dev/null || fail "the pool was not released"
# The fleet's agents run outside the chart, and a running agent publishes its ComputeNode again
# within a minute of its deletion (issue 17), so the cleanup's deletions would not last. An admin
# stops such agents first (docs/install.md, "Uninstall"); Helm stops the chart's own.
kill "${fleet_agent_pids[@]}" 2>/dev/null || true
wait "${fleet_agent_pids[@]}" 2>/dev/null || true
helm uninstall "$release" --namespace "$system_ns" --wait --timeout 120s >/dev/null ||
  fail "helm uninstall failed"
kubectl -n "$system_ns" wait --for=delete pod -l app.kubernetes.io/name=zhisuan --timeout=60s \
  >/dev/null 2>&1 || fail "Zhisuan pods still there 60 s after helm uninstall"
leftover_labels=$(kubectl get nodes -o json | python3 -c '
import json, sys
for node in json.load(sys.stdin)["items"]:
    meta, spec = node["metadata"], node["spec"]
    for key in meta.get("labels", {}):
        if key.startswith("zhisuan.io/") and key != "zhisuan.io/node-in-a-box":
            print(meta["name"], "label", key)
    for taint in spec.get("taints", []):
        if taint["key"].startswith("zhisuan.io/"):
            print(meta["name"], "taint", taint["key"])')
[[ -z $leftover_labels ]] && pass "no zhisuan.io label or taint on any node" ||
  fail "left on nodes: $leftover_labels"
leftover_objects=$(kubectl get clusterroles,clusterrolebindings,validatingadmissionpolicies,validatingadmissionpolicybindings,computenodes \
  -o name 2>/dev/null | grep -i zhisuan || true)
leftover_objects+=$(kubectl -n "$system_ns" get all,configmaps,serviceaccounts,roles,rolebindings,leases \
  -l app.kubernetes.io/name=zhisuan -o name 2>/dev/null || true)
[[ -z $leftover_objects ]] && pass "helm uninstall left no Zhisuan object" ||
  fail "left after uninstall: $leftover_objects"

# ---------------------------------------------------------------------------------------------
step "8. the node goes down and leaves nothing behind"
"$hack/node.sh" down "$work/node" >"$work/node-down.log" 2>&1 ||
  { cat "$work/node-down.log" >&2; fail "hack/node.sh down failed"; }
if "$hack/node.sh" check-clean "$work/node" >"$work/clean.log" 2>&1; then
  pass "no process, mount, network namespace, cgroup or sysctl change left by the node"
else
  fail "left behind: $(cat "$work/clean.log")"
fi
step "done"
finish
