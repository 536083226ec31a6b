#!/usr/bin/env bash
# DRA with the real kube-apiserver, kube-scheduler and kube-controller-manager (no kubelet: kwok
# nodes), and a real zhisuan-agent per node on the H100, MI300X and Ascend fixture trees:
#   1. each agent's ResourceSlice validates and carries the expected attributes;
#   2. the scheduler allocates claims only to devices that satisfy them: a CEL selector on BF16
#      peak and carbon-free share; matchAttribute on numaNode for a two-device claim; an
#      impossible claim stays unallocated and its pod says why;
#   3. a GPU hit by an Xid (the NVML stand-in's event file) leaves the slice and cannot be
#      allocated; after the agent's quiet period it is back and the waiting claim is allocated.
#      The H100 agent asks for device taints (--dra-device-taints), which this API server, without
#      the alpha DRADeviceTaints gate, drops: the agent must notice and take the GPU out instead;
#   4. steady state: no ResourceSlice write in a 30-second window (docs/dra.md, bench/README.md);
#   5. the controller (--dra) keeps a tenant pool's ResourceClaimTemplate and names it in the
#      status, and puts it back when it is deleted by hand; a Job using it runs only on the pool's
#      devices; the template goes with the pool.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../chart/common.sh"
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
: "${ZHISUAN_BINARY_DIR:?run through ctest (ZHISUAN_BINARY_DIR)}"

devcluster=$ZHISUAN_BINARY_DIR/tests/harness/zhisuan-devcluster
agent=$ZHISUAN_BINARY_DIR/agent/zhisuan-agent
lib=$ZHISUAN_BINARY_DIR/fixtures/lib
fixtures=$ZHISUAN_SOURCE_DIR/tests/fixtures/sysfs
for need in "$devcluster" "$agent" "$ZHISUAN_BINARY_DIR/controller/zhisuan-controller" "$lib/nvml/libnvidia-ml.so.1" "$lib/dcmi/libdcmi.so" "$lib/cuda/libcuda.so.1"; do
  [[ -e $need ]] || { fail "$need not built"; exit 1; }
done
work=$(mktemp -d "${TMPDIR:-/tmp}/zhisuan-dra.XXXXXX")
pids=()
driver=accelerators.zhisuan.io
ns=dra

cleanup() {
  local status=$?
  if ((status != 0 || failures > 0)); then
    kubectl get resourceslices,pods -A -o wide >&2 2>/dev/null || true
    kubectl -n "$ns" get resourceclaims -o yaml >&2 2>/dev/null || true
    tail -n 20 "$work"/agent-*.log "$work/controller.log" >&2 2>/dev/null || true
    kubectl get computepools -A -o yaml >&2 2>/dev/null || true
  fi
  if ((${#pids[@]} > 0)); then
    kill "${pids[@]}" 2>/dev/null || true
    wait "${pids[@]}" 2>/dev/null || true
  fi
  "$devcluster" down "$work/plane" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

dra_plane_up
kubectl create namespace "$ns" >/dev/null
kubectl apply --server-side -f "$CHART/crds/" >/dev/null
kubectl wait --for condition=established --timeout=60s crd/computepools.zhisuan.io \
  crd/computenodes.zhisuan.io >/dev/null
"$ZHISUAN_BINARY_DIR/controller/zhisuan-controller" --kubeconfig="$KUBECONFIG" --leader-elect=false \
  --metrics-address=0 --dra=true >"$work/controller.log" 2>&1 &
pids+=($!)

# node fixture energy-source intensity carbon-free-ratio
NODES=(
  "dra-h100 h100-8x hydro 0 1.0"
  "dra-mi300x mi300x-8x grid 684.9 0.35"
  "dra-ascend ascend910b-8x solar 35 0.92"
)
: >"$work/nvml-events"
for entry in "${NODES[@]}"; do
  read -r node fixture source intensity ratio <<<"$entry"
  kwok_node "$node"
  printf '{"source": "%s", "zone": "zone-%s", "carbonIntensityGramsPerKwh": %s, "carbonFreeRatio": %s}\n' \
    "$source" "$node" "$intensity" "$ratio" >"$work/energy-$node.json"
  nvml=/nonexistent/libnvidia-ml.so.1 dcmi=/nonexistent/libdcmi.so cuda=/nonexistent/libcuda.so.1
  measure=false taints=off
  [[ $fixture == h100-8x ]] && nvml=$lib/nvml/libnvidia-ml.so.1 cuda=$lib/cuda/libcuda.so.1 measure=true taints=NoSchedule
  [[ $fixture == ascend910b-8x ]] && dcmi=$lib/dcmi/libdcmi.so
  FAKE_NVML_EVENTS_FILE=$work/nvml-events "$agent" --node-name="$node" --kubeconfig="$KUBECONFIG" \
    --dra=true --dra-device-taints="$taints" --advertise=none \
    --sysfs-root="$fixtures/$fixture/sys" --procfs-root="$fixtures/$fixture/proc" \
    --nvml-library="$nvml" --dcmi-library="$dcmi" --libcuda-library="$cuda" \
    --measure-flops-at-startup="$measure" --flops-probe-duration=50ms \
    --energy-profile-file="$work/energy-$node.json" --health-quiet-period=20s \
    --listen-address=127.0.0.1:0 >"$work/agent-$node.log" 2>&1 &
  pids+=($!)
done

# ------------------------------------------------------------------ 1. the slices and their attributes
slices_json() { kubectl get resourceslices -o json; }
three_pools() {
  slices_json | python3 -c '
import json, sys
items = json.load(sys.stdin)["items"]
ok = {s["spec"]["pool"]["name"] for s in items if len(s["spec"].get("devices", [])) == 8}
sys.exit(0 if ok == {"dra-h100", "dra-mi300x", "dra-ascend"} else 1)'
}
# The H100s measure at start-up (the CUDA stand-in): wait for the measured figure too.
h100_measured() { [[ "$(slices_json)" == *bf16MeasuredTeraflops* ]]; }
eventually 90 three_pools && pass "each agent published one slice with its 8 devices" ||
  { fail "slices: $(slices_json | head -c 2000)"; exit 1; }
eventually 60 h100_measured || fail "the H100 slice never carried a measured figure"
slices_json >"$work/slices.json"
check_attributes() {
  python3 - "$work/slices.json" "$driver" <<'PY'
import json, sys
slices = {s["spec"]["pool"]["name"]: s for s in json.load(open(sys.argv[1]))["items"]}
driver = sys.argv[2]
bad = []
def expect(node, name, kind, want):
    dev = slices[node]["spec"]["devices"][0]
    got = dev["attributes"].get(name, {}).get(kind)
    if want == "present":
        ok = got is not None
    elif want == "absent":
        ok = name not in dev["attributes"]
    else:
        ok = got == want
    if not ok:
        bad.append(f"{node} {name}: {got!r}, want {want!r}")
for node, s in slices.items():
    spec = s["spec"]
    if spec["driver"] != driver or spec["nodeName"] != node or spec["pool"]["resourceSliceCount"] != 1 \
            or spec["pool"]["generation"] < 1:
        bad.append(f"{node}: spec {spec['driver']} {spec['nodeName']} {spec['pool']}")
    for dev in spec["devices"]:
        n = len(dev["attributes"]) + len(dev.get("capacity", {}))
        if n > 32:
            bad.append(f"{node}/{dev['name']}: {n} attributes and capacities")
        if "memory" not in dev.get("capacity", {}):
            bad.append(f"{node}/{dev['name']}: no memory capacity")
        for a in ("numaNode", "resource.kubernetes.io/pciBusID", "uuid", "healthy"):
            if a not in dev["attributes"]:
                bad.append(f"{node}/{dev['name']}: no {a}")
expect("dra-h100", "vendor", "string", "nvidia")
expect("dra-h100", "product", "string", "H100-SXM5")
expect("dra-h100", "architecture", "string", "hopper")
expect("dra-h100", "bf16PeakTeraflops", "int", 989)
expect("dra-h100", "bf16MeasuredTeraflops", "int", "present")
expect("dra-h100", "measuredFlopsSource", "string", "simulated")
expect("dra-h100", "carbonFreePermille", "int", 1000)
expect("dra-h100", "carbonIntensityGramsPerKwh", "int", 0)
expect("dra-h100", "energySource", "string", "hydro")
expect("dra-h100", "energyZone", "string", "zone-dra-h100")
expect("dra-h100", "healthy", "bool", True)
expect("dra-h100", "pool", "string", "absent")
expect("dra-mi300x", "vendor", "string", "amd")
expect("dra-mi300x", "product", "string", "MI300X")
expect("dra-mi300x", "architecture", "string", "cdna3")
expect("dra-mi300x", "bf16PeakTeraflops", "int", 1307)
expect("dra-mi300x", "bf16MeasuredTeraflops", "int", "absent")
expect("dra-mi300x", "carbonFreePermille", "int", 350)
expect("dra-mi300x", "carbonIntensityGramsPerKwh", "int", 685)
expect("dra-ascend", "vendor", "string", "huawei")
expect("dra-ascend", "product", "string", "present")
expect("dra-ascend", "carbonFreePermille", "int", 920)
expect("dra-ascend", "carbonIntensityGramsPerKwh", "int", 35)
for b in bad:
    print(b)
sys.exit(1 if bad else 0)
PY
}
if out=$(check_attributes); then
  pass "H100, MI300X and Ascend devices carry the expected attributes"
else
  fail "attributes: $out"
fi

# ------------------------------------------------------------------ 2. claims and the scheduler
# claim NAME CLASS COUNT CEL [CONSTRAINT_ATTRIBUTE]; pod NAME: a pod holding the claim of its name.
claim() {
  local constraint=""
  [[ -n ${5:-} ]] && constraint="    constraints: [{requests: [acc], matchAttribute: $5}]"
  kubectl -n "$ns" apply -f - >/dev/null <<YAML
apiVersion: resource.k8s.io/v1
kind: ResourceClaim
metadata: {name: $1}
spec:
  devices:
    requests:
      - name: acc
        exactly:
          deviceClassName: $2
          count: $3
          selectors: [{cel: {expression: '$4'}}]
$constraint
YAML
}
pod() {
  kubectl -n "$ns" apply -f - >/dev/null <<YAML
apiVersion: v1
kind: Pod
metadata: {name: $1}
spec:
  nodeSelector: {type: kwok}
  containers: [{name: c, image: registry.example/none:1, resources: {claims: [{name: acc}]}}]
  resourceClaims: [{name: acc, resourceClaimName: $1}]
YAML
}
attr() { echo "device.attributes[\"$driver\"].$1"; }
allocated_pool() {
  kubectl -n "$ns" get resourceclaim "$1" -o jsonpath='{.status.allocation.devices.results[*].pool}'
}
allocated_devices() {
  kubectl -n "$ns" get resourceclaim "$1" -o jsonpath='{.status.allocation.devices.results[*].device}'
}
scheduled_on() { [[ "$(kubectl -n "$ns" get pod "$1" -o jsonpath='{.spec.nodeName}')" == "$2" ]]; }

claim fast-and-clean "$driver" 1 "$(attr bf16PeakTeraflops) >= 900 && $(attr carbonFreePermille) >= 900"
pod fast-and-clean
if eventually 60 scheduled_on fast-and-clean dra-h100 && [[ "$(allocated_pool fast-and-clean)" == dra-h100 ]]; then
  pass "BF16 >= 900 TFLOPS on >= 90% carbon-free power: allocated on the H100 node (not MI300X, grid)"
else
  fail "fast-and-clean: pool '$(allocated_pool fast-and-clean)', node '$(kubectl -n "$ns" get pod fast-and-clean -o jsonpath='{.spec.nodeName}')'"
fi

# The candidates: every MI300X on NUMA node 1, and only the first one (in slice order, which the
# allocator tries first) of NUMA node 0. Without the constraint the allocator would pair that one
# with a NUMA-1 device; with it, only two NUMA-1 devices satisfy the claim.
first_numa0=$(python3 - "$work/slices.json" <<'PY'
import json, sys
for s in json.load(open(sys.argv[1]))["items"]:
    if s["spec"]["nodeName"] == "dra-mi300x":
        d = s["spec"]["devices"][0]
        assert d["attributes"]["numaNode"]["int"] == 0, d
        print(d["attributes"]["resource.kubernetes.io/pciBusID"]["string"])
PY
)
claim numa-pair amd.$driver 2 \
  "$(attr numaNode) == 1 || device.attributes[\"resource.kubernetes.io\"].pciBusID == \"$first_numa0\"" \
  "$driver/numaNode"
pod numa-pair
numa_pair_allocated() { [[ "$(allocated_devices numa-pair | wc -w)" == 2 ]]; }
if eventually 60 numa_pair_allocated && scheduled_on numa-pair dra-mi300x; then
  numas=$(python3 - "$work/slices.json" $(allocated_devices numa-pair) <<'PY'
import json, sys
devs = {d["name"]: d for s in json.load(open(sys.argv[1]))["items"] if s["spec"]["nodeName"] == "dra-mi300x"
        for d in s["spec"]["devices"]}
print(" ".join(str(devs[n]["attributes"]["numaNode"]["int"]) for n in sys.argv[2:]))
PY
)
  read -r first second <<<"$numas"
  [[ $first == 1 && $second == 1 ]] &&
    pass "a two-MI300X claim with matchAttribute numaNode got two devices of NUMA node 1, not $first_numa0 (NUMA 0) and one of NUMA 1" ||
    fail "numa-pair devices on NUMA nodes $numas"
else
  fail "numa-pair: devices '$(allocated_devices numa-pair)'"
fi

claim impossible "$driver" 1 "$(attr bf16PeakTeraflops) >= 100000"
pod impossible
why() { kubectl -n "$ns" get pod impossible -o jsonpath='{.status.conditions[?(@.type=="PodScheduled")].message}'; }
says_why() { [[ "$(why)" == *"cannot allocate all claims"* ]]; }
if eventually 60 says_why && [[ -z "$(allocated_pool impossible)" ]]; then
  pass "an impossible claim stays unallocated; the pod says: $(why)"
else
  fail "impossible: allocation '$(allocated_pool impossible)', pod says '$(why)'"
fi
kubectl -n "$ns" delete pod fast-and-clean impossible --wait=false >/dev/null
kubectl -n "$ns" delete resourceclaim fast-and-clean impossible --wait=false >/dev/null

# ------------------------------------------------------------------ 3. unhealthy, then recovered
h100_devices() {
  kubectl get resourceslices -o json | python3 -c '
import json, sys
for s in json.load(sys.stdin)["items"]:
    if s["spec"]["nodeName"] == "dra-h100":
        print(" ".join(sorted(d["name"] for d in s["spec"]["devices"])))'
}
before=$(h100_devices)
echo "xid 0 79" >>"$work/nvml-events"
seven() { [[ "$(h100_devices | wc -w)" == 7 ]]; }
if eventually 30 seven; then
  lost=$(comm -23 <(tr ' ' '\n' <<<"$before" | sort) <(h100_devices | tr ' ' '\n' | sort))
  pass "after an Xid 79 on GPU 0 the H100 slice lists 7 devices ($lost left)"
  if grep -q 'DRADeviceTaints feature gate is off' "$work/agent-dra-h100.log"; then
    pass "the H100 agent saw the server drop its device taint (gate off) and said so"
  else
    fail "no word of the dropped taint in the H100 agent's log"
  fi
  # Select the lost device by its PCI address: the scheduler cannot allocate what no slice lists.
  bus=$(python3 - "$work/slices.json" "$lost" <<'PY'
import json, sys
for s in json.load(open(sys.argv[1]))["items"]:
    for d in s["spec"]["devices"]:
        if d["name"] == sys.argv[2]:
            print(d["attributes"]["resource.kubernetes.io/pciBusID"]["string"])
PY
)
  claim wants-gpu0 nvidia.$driver 1 "device.attributes[\"resource.kubernetes.io\"].pciBusID == \"$bus\""
  pod wants-gpu0
  sleep 5
  # Still inside the 20-second quiet period: the GPU is out of the slice, so nothing allocates it.
  if seven && [[ -z "$(allocated_pool wants-gpu0)" ]]; then
    pass "a claim for the unhealthy GPU ($bus) is not allocated"
  else
    fail "the unhealthy GPU was allocated: $(allocated_devices wants-gpu0)"
  fi
  eight() { [[ "$(h100_devices | wc -w)" == 8 ]]; }
  gpu0_allocated() { [[ "$(allocated_devices wants-gpu0)" == "$lost" ]]; }
  if eventually 60 eight && eventually 60 gpu0_allocated && scheduled_on wants-gpu0 dra-h100; then
    pass "after the quiet period GPU 0 is back in the slice and the waiting claim got it"
  else
    fail "recovery: devices '$(h100_devices)', allocated '$(allocated_devices wants-gpu0)'"
  fi
else
  fail "the Xid did not take GPU 0 out of the slice: $(h100_devices)"
fi

# ------------------------------------------------------------------ 4. steady state: no writes
generations() { kubectl get resourceslices -o jsonpath='{range .items[*]}{.metadata.name}={.metadata.resourceVersion} {end}'; }
sleep 2
kubectl get resourceslices --watch-only -o name >"$work/watch.log" 2>/dev/null &
watcher=$!
pids+=($watcher)
before=$(generations)
sleep 30
kill "$watcher" 2>/dev/null || true
writes=$(wc -l <"$work/watch.log")
if [[ "$(generations)" == "$before" && $writes == 0 ]]; then
  pass "steady state: 0 ResourceSlice writes in 30 s across 3 nodes"
else
  fail "steady state: $writes slice events in 30 s; $before -> $(generations)"
fi
echo "steady-state ResourceSlice writes: $writes in 30 s over 3 nodes"

# ------------------------------------------------------------------ 5. a tenant pool's claim template
kubectl -n "$ns" delete pod --all --wait=false >/dev/null
kubectl -n "$ns" delete resourceclaim --all --wait=false >/dev/null
kubectl create namespace tenant-a >/dev/null
kubectl apply -f - >/dev/null <<'YAML'
apiVersion: zhisuan.io/v1alpha1
kind: ComputePool
metadata: {name: train, namespace: tenant-a}
spec:
  capacity: {accelerators: 8, precision: bf16}
  accelerator: {vendor: nvidia}
YAML
template_named() {
  [[ "$(kubectl -n tenant-a get computepool train -o jsonpath='{.status.scheduling.resourceClaimTemplateName}')" == train-accelerator ]] &&
    kubectl -n tenant-a get resourceclaimtemplate train-accelerator >/dev/null
}
pool_attribute() {
  [[ "$(kubectl get resourceslices -o jsonpath='{.items[?(@.spec.nodeName=="dra-h100")].spec.devices[0].attributes.pool.string}')" == tenant-a.train ]]
}
if eventually 60 template_named && eventually 30 pool_attribute; then
  pass "the pool binds dra-h100; its slice says pool tenant-a.train; the status names train-accelerator"
else
  fail "pool: $(kubectl -n tenant-a get computepool train -o jsonpath='{.status}')"
fi
# The template is the controller's: deleted by hand, it comes back (a new object, a new uid).
first_uid=$(kubectl -n tenant-a get resourceclaimtemplate train-accelerator -o jsonpath='{.metadata.uid}')
kubectl -n tenant-a delete resourceclaimtemplate train-accelerator >/dev/null
template_back() {
  local uid
  uid=$(kubectl -n tenant-a get resourceclaimtemplate train-accelerator -o jsonpath='{.metadata.uid}') &&
    [[ -n $uid && $uid != "$first_uid" ]]
}
if eventually 30 template_back; then
  pass "a ResourceClaimTemplate deleted by hand is put back by the controller"
else
  fail "the deleted template did not come back"
fi
# kwok completes Job pods at once, and the claims made from the template go with them: record
# each claim's allocation as it happens.
kubectl -n tenant-a get resourceclaims --watch \
  -o jsonpath='{.metadata.name}={.status.allocation.devices.results[*].pool}{"\n"}' \
  >"$work/claims.log" 2>/dev/null &
claims_watcher=$!
pids+=($claims_watcher)
# The watch has listed once it prints the marker (a claim no pod uses, never allocated).
ns=tenant-a claim watch-marker "$driver" 1 "true"
watching() { grep -q '^watch-marker=' "$work/claims.log"; }
eventually 30 watching || fail "the claim watch did not start"
kubectl apply -f - >/dev/null <<'YAML'
apiVersion: batch/v1
kind: Job
metadata: {name: pretrain-dra, namespace: tenant-a}
spec:
  completions: 2
  parallelism: 2
  template:
    spec:
      nodeSelector: {zhisuan.io/pool: tenant-a.train}
      tolerations:
        - {key: zhisuan.io/pool, operator: Equal, value: tenant-a.train, effect: NoExecute}
      resourceClaims:
        - {name: accelerator, resourceClaimTemplateName: train-accelerator}
      containers:
        - name: trainer
          image: registry.example/trainer:1
          resources: {claims: [{name: accelerator}]}
      restartPolicy: Never
YAML
# all_of WANT WORDS...: at least two words, every one WANT.
all_of() {
  local want=$1 n=0 word
  shift
  for word in "$@"; do
    [[ $word == "$want" ]] || return 1
    n=$((n + 1))
  done
  ((n >= 2))
}
job_pods_placed() {
  all_of dra-h100 $(kubectl -n tenant-a get pods -l job-name=pretrain-dra -o jsonpath='{range .items[*]}{.spec.nodeName} {end}')
}
job_done() {
  [[ "$(kubectl -n tenant-a get job pretrain-dra -o jsonpath='{.status.succeeded}')" == 2 ]]
}
# The pools each allocated claim's devices came from, one word per claim.
claim_pools() { awk -F= '$2 != "" { print $1, $2 }' "$work/claims.log" | sort -u | awk '{ print $2 }'; }
if eventually 60 job_pods_placed && eventually 60 job_done && sleep 1 && all_of dra-h100 $(claim_pools); then
  pass "the tenant's Job ran to completion on the pool's node, each pod's claim (from train-accelerator) allocated from the pool's devices"
else
  fail "job: pods on '$(kubectl -n tenant-a get pods -o jsonpath='{range .items[*]}{.spec.nodeName} {end}')', claims: $(cat "$work/claims.log")"
fi
kill "$claims_watcher" 2>/dev/null || true

kubectl -n tenant-a delete computepool train --wait=false >/dev/null
template_gone() { ! kubectl -n tenant-a get resourceclaimtemplate train-accelerator >/dev/null 2>&1; }
pool_attribute_gone() {
  [[ -z "$(kubectl get resourceslices -o jsonpath='{.items[?(@.spec.nodeName=="dra-h100")].spec.devices[0].attributes.pool.string}')" ]]
}
if eventually 60 template_gone && eventually 30 pool_attribute_gone; then
  pass "deleting the pool removes its ResourceClaimTemplate (owner reference), and the slice's pool attribute"
else
  fail "after deleting the pool: template $(kubectl -n tenant-a get resourceclaimtemplate -o name), pool attribute still set"
fi
finish
