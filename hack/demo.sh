#!/usr/bin/env bash
# `make demo` / `make demo-down`: a local Kubernetes control plane with Zhisuan on it, left running.
#
#   hack/demo.sh up DEMO_DIR BUILD_DIR
#   hack/demo.sh down DEMO_DIR BUILD_DIR
#
# What `up` starts (every process of its own detached, its pid recorded in DEMO_DIR/pids.d/):
#   - a real control plane on loopback: etcd, kube-apiserver (TLS; Node,RBAC authorization,
#     NodeRestriction), kube-controller-manager and kube-scheduler (`zhisuan-devcluster up
#     --cluster`, pids in DEMO_DIR/control-plane/pids);
#   - one real node, zs-box-1: a kubelet and containerd in their own network and mount namespaces
#     (hack/node.sh, state and pids in DEMO_DIR/node), running images built from BUILD_DIR
#     (hack/images.sh), labelled zhisuan.io/node-in-a-box=true and topology.kubernetes.io/zone=box;
#   - Zhisuan installed there with `helm install zhisuan charts/zhisuan` (CRDs, the controller
#     Deployment, 2 replicas under leader election, and the agent DaemonSet, which reads a copy of
#     the H100 fixture through the NVML stand-in: hack/box-values.sh), so the node's capacity
#     shows nvidia.com/gpu from the agent's device plugin and tenants' Jobs really run;
#   - kwok, simulating 24 GPU/NPU nodes in 3 zones whose energy differs (hydro zero-carbon, coal-
#     heavy grid, solar), plus one node for this machine (zs-local); kwok runs no containers, and
#     the chart's DaemonSet selects only the box node;
#   - a real zhisuan-agent process per simulated node, each reading a fixture hardware tree
#     (tests/fixtures/sysfs) through the fake NVML/DCMI libraries (the H100 nodes also measure
#     their FLOPS through the fake CUDA driver), and one on this machine's CPU;
#   - Prometheus scraping every agent and controller: the processes on loopback directly, the
#     in-cluster pods through one `kubectl port-forward` per pod (API server -> the node's egress
#     proxy -> kubelet), each on a free 127.0.0.1 port. Nothing leaves loopback and the node's own
#     namespaces.
# Then it applies the sample ComputePools (manifests/samples; none takes the box node, whose grid
# power is not zero-carbon, so the tenant guide's pool can) and shows what Zhisuan made of them,
# the `export KUBECONFIG=...` line and the line `workload image: <tag>` for the tenant guide's Job.
# Prometheus names its jobs and labels its series as the chart's ServiceMonitors do (jobs
# zhisuan-agent-metrics and zhisuan-controller-metrics with honor_labels, a `node` label per
# agent), so the chart's alerts and dashboards work on the demo unchanged; tests/integration/demo
# checks every one of their expressions against it.
#
# `up` on a running demo changes nothing; `up` over a stopped or crashed one clears what is left
# (processes, the node: `hack/node.sh down` is safe on a dead node, the control plane) and starts
# afresh. `down` stops each recorded process group (SIGTERM, up to 10 s, then SIGKILL), then the
# node (`hack/node.sh down`: no process, mount, network namespace, cgroup or sysctl change left),
# then the control plane; it needs nothing from BUILD_DIR and is harmless when nothing runs.
# Needs root (the node's namespaces, cgroups and mounts); one real node per machine.
set -euo pipefail

verb=$1 demo_dir=$2 build_dir=$3
repo=$(cd "$(dirname "$0")/.." && pwd)
[[ $build_dir = /* ]] || build_dir="$repo/$build_dir"
# Absolute, so the printed KUBECONFIG works from anywhere and hack/node.sh's paths are stable.
demo_dir=$(realpath -m "$demo_dir")
bin_dir=$("$repo/hack/toolchain.sh" --print-bindir)
kubectl="$bin_dir/kubectl"
export ZHISUAN_SOURCE_DIR=$repo ZHISUAN_TOOLCHAIN_BIN=$bin_dir
pids="$demo_dir/pids.d"
fixtures="$repo/tests/fixtures/sysfs"

# The real node, and the Helm release on it (the chart's objects are zhisuan-controller,
# zhisuan-agent, the ClusterRole zhisuan-tenant); the ports are the chart's defaults.
BOX_NODE=zs-box-1 RELEASE=zhisuan SYSTEM_NS=zhisuan-system CONTROLLER_PORT=8080 AGENT_PORT=9400

say() { printf '[demo] %s\n' "$*"; }

# The body of a port-forward that outlives its pod: KUBECTL NAMESPACE LABELS FIELDS INDEX PORTS.
# Each round looks up the INDEX-th running pod (sorted by name) matching LABELS and FIELDS, and
# forwards PORTS (local:remote, local on 127.0.0.1) to it until kubectl exits.
# shellcheck disable=SC2016 # expanded by the bash -c that runs it
FORWARD_LOOP='
  kubectl=$1 namespace=$2 labels=$3 fields=$4 index=$5 ports=$6
  while :; do
    pod=$("$kubectl" -n "$namespace" get pods -l "$labels" \
      --field-selector "status.phase=Running${fields:+,$fields}" -o name | sort | sed -n "${index}p")
    [[ -n $pod ]] && "$kubectl" -n "$namespace" port-forward --address=127.0.0.1 "$pod" "$ports"
    sleep 1
  done'

# start NAME COMMAND...: run detached in its own session, log to DEMO_DIR/logs/NAME.log. setsid
# does not fork here (a background job of a script is no group leader), so $! is the program
# itself and its pid is also its session and process group id, which `down` signals as a whole.
start() {
  local name=$1
  shift
  setsid "$@" >"$demo_dir/logs/$name.log" 2>&1 </dev/null &
  echo $! >"$pids/$name"
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# wait_http URL SECONDS: until URL answers 200, at most SECONDS.
wait_http() {
  python3 - "$@" <<'WAIT'
import sys, time, urllib.request
deadline = time.monotonic() + float(sys.argv[2])
while True:
    try:
        with urllib.request.urlopen(sys.argv[1], timeout=5) as response:
            if response.status == 200:
                sys.exit(0)
    except Exception:
        pass
    if time.monotonic() > deadline:
        sys.exit(1)
    time.sleep(0.5)
WAIT
}

# recorded_groups FILE...: the process groups recorded in the files (one pid a line) that are
# still ours. A pid whose process is alive but leads no session of its own was recycled by an
# unrelated process after a reboot or crash; it is skipped rather than signalled.
recorded_groups() {
  local f pid sid
  for f in "$@"; do
    [[ -f $f ]] || continue
    while read -r pid; do
      [[ $pid =~ ^[0-9]+$ ]] || continue
      sid=$(ps -o sid= -p "$pid" 2>/dev/null | tr -d ' ') || true
      if [[ -n $sid && $sid != "$pid" ]]; then
        say "pid $pid in $f now belongs to an unrelated process; leaving it alone"
        continue
      fi
      echo "$pid"
    done <"$f"
  done
}

# live_groups PGID...: those of the given process groups that still have a process that is not a
# zombie (an exited process waiting to be reaped holds nothing).
live_groups() {
  ps -e -o pgid=,stat= | awk -v want=" $* " '$2 !~ /^Z/ && index(want, " " $1 " ") { print $1 }' |
    sort -u
}

# stop_groups GRACE_SECONDS PGID...: SIGTERM every group at once, wait for all to exit, SIGKILL
# whatever is left after the grace period. Fails when a process survives SIGKILL too.
stop_groups() {
  local grace=$1 group left deadline
  shift
  (($# > 0)) || return 0
  for group in "$@"; do
    kill -CONT -- "-$group" 2>/dev/null || true # a stopped process cannot act on SIGTERM
    kill -TERM -- "-$group" 2>/dev/null || true
  done
  deadline=$((SECONDS + grace))
  while left=$(live_groups "$@") && [[ -n $left ]] && ((SECONDS < deadline)); do
    sleep 0.1
  done
  [[ -z $left ]] && return 0
  say "still running after ${grace}s, sending SIGKILL to process groups:" $left
  for group in $left; do kill -KILL -- "-$group" 2>/dev/null || true; done
  deadline=$((SECONDS + 5))
  while left=$(live_groups "$@") && [[ -n $left ]] && ((SECONDS < deadline)); do
    sleep 0.1
  done
  [[ -z $left ]] && return 0
  say "process groups survived SIGKILL:" $left
  return 1
}

# stop_all: port-forwards, agents, kwok and Prometheus first, while the API server they talk to is
# still up; then the real node (hack/node.sh down; the Helm release goes with the cluster); then
# the control plane, kube-apiserver first (the order of its pids file; each was started in its
# own session by zhisuan-devcluster). Needs nothing from the build tree, so it works after
# `make clean` too.
stop_all() {
  local status=0 group
  if [[ -d $pids ]]; then
    # shellcheck disable=SC2046 # one word per group
    if stop_groups 10 $(recorded_groups "$pids"/*); then rm -f "$pids"/*; else status=1; fi
  fi
  # The real node: hack/node.sh down also undoes its host changes (cgroups, sysctls, netns), and
  # is harmless on a node that died or was never fully up.
  if [[ -f $demo_dir/node/node.env ]]; then
    mkdir -p "$demo_dir/logs"
    "$repo/hack/node.sh" down "$demo_dir/node" >>"$demo_dir/logs/node-down.log" 2>&1 ||
      { say "hack/node.sh down $demo_dir/node failed; see $demo_dir/logs/node-down.log"; status=1; }
  fi
  local plane_pids=$demo_dir/control-plane/pids
  if [[ -f $plane_pids ]]; then
    for group in $(recorded_groups "$plane_pids"); do
      stop_groups 10 "$group" || status=1
    done
    if ((status == 0)); then rm -f "$plane_pids"; fi
  fi
  return $status
}

# running: whether any recorded process of the demo is still alive.
running() {
  local groups
  [[ -d $pids ]] || return 1
  groups=$(recorded_groups "$pids"/*)
  [[ -n $groups ]] || return 1
  # shellcheck disable=SC2086
  [[ -n $(live_groups $groups) ]]
}

# zone name, energy source, carbon intensity (gCO2e/kWh), carbon-free ratio, fixture per node.
# kunming-a is zero-carbon only because the simulated site runs on its own hydro plant behind the
# meter: a site on the Yunnan grid would have that grid's factor (107.3 g/kWh, 2022 average).
# ulanqab-b draws from the Inner Mongolia grid: its 2022 average factor (docs/install.md, Grid
# emission factors); its carbon-free share is a placeholder. qinghai-c blends its own solar and
# storage with some Qinghai grid power.
ZONES=(
  "kunming-a hydro 0 1.0 h100-8x h100-8x h100-8x h100-8x h100-8x h100-8x ascend910b-8x ascend910b-8x"
  "ulanqab-b grid 684.9 0.35 h100-8x h100-8x h100-8x h100-8x mi300x-8x mi300x-8x mi300x-8x mi300x-8x"
  "qinghai-c solar 35 0.92 ascend910b-8x ascend910b-8x ascend910b-8x ascend910b-8x mi300x-8x mi300x-8x mixed-pci mixed-pci"
)

up() {
  local began=${EPOCHREALTIME/[.,]/} # microseconds
  if running; then
    say "already running (state in $demo_dir); 'make demo-down' stops it"
    return 0
  fi
  if [[ -d $pids || -f $demo_dir/control-plane/pids || -f $demo_dir/node/node.env ]]; then
    say "a previous demo in $demo_dir is no longer running; clearing what is left of it"
    stop_all
  fi
  local need
  for need in agent/zhisuan-agent controller/zhisuan-controller tests/harness/zhisuan-devcluster \
    fixtures/lib/nvml/libnvidia-ml.so.1 fixtures/lib/dcmi/libdcmi.so fixtures/lib/cuda/libcuda.so.1; do
    [[ -e $build_dir/$need ]] || { say "$build_dir/$need is missing: build first (make build)"; return 1; }
  done
  command -v prometheus >/dev/null || { say "prometheus is not installed (make deps)"; return 1; }
  rm -rf "$demo_dir"
  mkdir -p "$pids" "$demo_dir/logs" "$demo_dir/energy" "$demo_dir/prometheus"
  # Whatever makes start-up fail (set -e, at any depth, or an interrupt), stop what was started.
  trap 'status=$?; if ((status != 0)); then
          say "start-up failed; stopping what was started (logs in $demo_dir/logs)"; stop_all || true
        fi' EXIT
  trap 'exit 130' INT TERM

  say "starting the control plane on loopback: etcd, kube-apiserver, controller-manager, scheduler"
  "$build_dir/tests/harness/zhisuan-devcluster" up --cluster "$demo_dir/control-plane" |
    sed 's/^/[demo] /'
  export KUBECONFIG=$demo_dir/control-plane/admin.kubeconfig

  say "building the images from $build_dir (hack/images.sh)"
  "$repo/hack/images.sh" "$build_dir" "$demo_dir/images" >"$demo_dir/images.list" \
    2>"$demo_dir/logs/images.log"
  local tarballs=() pause_tag
  while read -r _ _ tarball; do tarballs+=(--image "$tarball"); done <"$demo_dir/images.list"
  pause_tag=$(awk '$1 == "pause" { print $2 }' "$demo_dir/images.list")

  say "starting a real node, $BOX_NODE: kubelet and containerd in their own namespaces (hack/node.sh)"
  "$repo/hack/node.sh" up "$demo_dir/node" --control-plane "$demo_dir/control-plane" \
    --name "$BOX_NODE" --pause-image "$pause_tag" "${tarballs[@]}" \
    --labels zhisuan.io/node-in-a-box=true,topology.kubernetes.io/zone=box \
    >"$demo_dir/logs/node-up.log" 2>&1 ||
    { tail -n 20 "$demo_dir/logs/node-up.log" | sed 's/^/[demo]   /'; return 1; }

  # The box agent reads a copy of the H100 fixture (the chart mounts sys/class, which it lacks)
  # through the NVML stand-in; nvml-events is the stand-in's fault-injection file.
  mkdir -p "$demo_dir/hardware" "$demo_dir/nvml"
  cp -a "$fixtures/h100-8x/." "$demo_dir/hardware/"
  mkdir -p "$demo_dir/hardware/sys/class"
  : >"$demo_dir/nvml/nvml-events"
  "$repo/hack/box-values.sh" "$build_dir" "$demo_dir/images.list" "$demo_dir/hardware" \
    "$demo_dir/nvml" >"$demo_dir/values.yaml"
  # Like the simulated H100 nodes, the box agent measures its FLOPS at start-up through the fake
  # CUDA driver (from the build tree, as the NVML stand-in), so its CUDA probe succeeds and
  # FlopsProbeFailing stays quiet in the healthy demo.
  python3 - "$demo_dir/values.yaml" "$build_dir/fixtures/lib/cuda" <<'CUDA'
import sys, yaml
path, cuda = sys.argv[1], sys.argv[2]
values = yaml.safe_load(open(path))
agent = values["agent"]
agent["hostLibraryPaths"] = agent.get("hostLibraryPaths", []) + [cuda]
agent["extraArgs"] = agent.get("extraArgs", []) + [
    f"--libcuda-library={cuda}/libcuda.so.1", "--measure-flops-at-startup=true",
    "--flops-probe-duration=50ms"]
yaml.safe_dump(values, open(path, "w"), sort_keys=False)
CUDA
  say "helm install $RELEASE charts/zhisuan on $BOX_NODE (CRDs, controller Deployment, agent DaemonSet)"
  "$kubectl" create namespace "$SYSTEM_NS" >/dev/null
  # No --wait: the pods start while kwok and the simulated agents do; they are waited for below.
  "$bin_dir/helm" install "$RELEASE" "$repo/charts/zhisuan" --namespace "$SYSTEM_NS" \
    -f "$demo_dir/values.yaml" >"$demo_dir/logs/helm.log" 2>&1 ||
    { sed 's/^/[demo]   /' "$demo_dir/logs/helm.log"; return 1; }
  "$kubectl" wait --for=condition=Established crd/computepools.zhisuan.io \
    crd/computenodes.zhisuan.io --timeout=60s >/dev/null

  say "starting kwok (simulated nodes)"
  start kwok "$bin_dir/kwok" --kubeconfig="$KUBECONFIG" --manage-all-nodes=false \
    --manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake --node-lease-duration-seconds=40

  # Every node first, in one apply (one kubectl per node is most of a minute on 2 cores).
  local targets=() nodes=() node_zones=() node_fixtures=() port node zone source intensity ratio
  local fixture index i
  for line in "${ZONES[@]}"; do
    read -r zone source intensity ratio fixtures_for_zone <<<"$line"
    printf '{"source": "%s", "zone": "%s", "carbonIntensityGramsPerKwh": %s, "carbonFreeRatio": %s}\n' \
      "$source" "$zone" "$intensity" "$ratio" >"$demo_dir/energy/$zone.json"
    index=0
    for fixture in $fixtures_for_zone; do
      index=$((index + 1))
      nodes+=("$(printf 'zs-%s-%02d' "${zone%%-*}" "$index")")
      node_zones+=("$zone")
      node_fixtures+=("$fixture")
    done
  done
  printf '{"source": "grid", "zone": "local", "carbonIntensityGramsPerKwh": 450, "carbonFreeRatio": 0.4}\n' \
    >"$demo_dir/energy/local.json"
  for i in "${!nodes[@]}"; do node_yaml "${nodes[$i]}" "${node_zones[$i]}"; done |
    "$kubectl" apply -f - >/dev/null
  node_yaml zs-local local | "$kubectl" apply -f - >/dev/null

  for i in "${!nodes[@]}"; do
    node=${nodes[$i]} zone=${node_zones[$i]} fixture=${node_fixtures[$i]}
    port=$(free_port)
    targets+=("{targets: [127.0.0.1:$port], labels: {node: $node}}")
    # A 2-minute energy window (not the hour a real node uses) so that the pools' energy-weighted
    # carbon figures appear a few seconds after start rather than after five minutes.
    # Each node sees only its own vendor's libraries, as on a real node. The H100 nodes measure
    # their FLOPS at start-up through the fake CUDA driver (instant: no kernel runs, and a short
    # CPU probe), so the measured-FLOPS series, panels and alert have data.
    nvml=/nonexistent/libnvidia-ml.so.1 dcmi=/nonexistent/libdcmi.so
    cuda=/nonexistent/libcuda.so.1 measure=false
    if [[ $fixture == h100-8x ]]; then
      nvml="$build_dir/fixtures/lib/nvml/libnvidia-ml.so.1"
      cuda="$build_dir/fixtures/lib/cuda/libcuda.so.1" measure=true
    fi
    [[ $fixture == ascend910b-8x ]] && dcmi="$build_dir/fixtures/lib/dcmi/libdcmi.so"
    start "agent-$node" "$build_dir/agent/zhisuan-agent" --node-name="$node" \
      --kubeconfig="$KUBECONFIG" --advertise=node-status \
      --sysfs-root="$fixtures/$fixture/sys" --procfs-root="$fixtures/$fixture/proc" \
      --nvml-library="$nvml" --dcmi-library="$dcmi" --libcuda-library="$cuda" \
      --energy-profile-file="$demo_dir/energy/$zone.json" \
      --measure-flops-at-startup="$measure" --flops-probe-duration=50ms \
      --energy-average-window=2m --listen-address="127.0.0.1:$port"
  done
  say "started 24 agents on fixture hardware in 3 zones"

  port=$(free_port)
  targets+=("{targets: [127.0.0.1:$port], labels: {node: zs-local}}")
  start agent-zs-local "$build_dir/agent/zhisuan-agent" --node-name=zs-local \
    --kubeconfig="$KUBECONFIG" --advertise=node-status \
    --energy-profile-file="$demo_dir/energy/local.json" --energy-average-window=2m \
    --listen-address="127.0.0.1:$port"
  say "started an agent on this machine's CPU (node zs-local)"

  say "waiting for the Zhisuan pods on $BOX_NODE"
  "$kubectl" -n "$SYSTEM_NS" rollout status deployment/"$RELEASE"-controller --timeout=180s \
    >/dev/null
  "$kubectl" -n "$SYSTEM_NS" rollout status daemonset/"$RELEASE"-agent --timeout=120s >/dev/null

  # Prometheus reaches the in-cluster pods through `kubectl port-forward` (API server, then the
  # node's egress proxy, then the kubelet), one per pod on a free loopback port. kubectl
  # port-forward exits for good at the first failed connection to the pod (a scrape while the
  # container restarts, say), so each runs under a loop that finds its pod again and reconnects.
  local controller_targets=() box_port replica
  for replica in 1 2; do
    port=$(free_port)
    controller_targets+=("127.0.0.1:$port")
    start "port-forward-controller-$replica" bash -c "$FORWARD_LOOP" forward "$kubectl" \
      "$SYSTEM_NS" "app.kubernetes.io/name=zhisuan,app.kubernetes.io/component=controller" \
      "" "$replica" "$port:$CONTROLLER_PORT"
  done
  box_port=$(free_port)
  targets+=("{targets: [127.0.0.1:$box_port], labels: {node: $BOX_NODE}}")
  start "port-forward-agent-$BOX_NODE" bash -c "$FORWARD_LOOP" forward "$kubectl" "$SYSTEM_NS" \
    "app.kubernetes.io/name=zhisuan,app.kubernetes.io/component=agent" \
    "spec.nodeName=$BOX_NODE" 1 "$box_port:$AGENT_PORT"
  for port in "${controller_targets[@]##*:}" "$box_port"; do
    wait_http "http://127.0.0.1:$port/metrics" 30 ||
      { say "port-forward to 127.0.0.1:$port does not serve /metrics (logs/port-forward-*.log)"; return 1; }
  done
  say "the two controller replicas (leader election) and the box agent are scraped through kubectl port-forward"

  local prometheus_port
  prometheus_port=$(free_port)
  {
    echo "global: {scrape_interval: 5s, evaluation_interval: 5s}"
    echo "rule_files: [$repo/charts/zhisuan/files/alerts.yaml, $repo/charts/zhisuan/files/recording_rules.yaml]"
    echo "scrape_configs:"
    echo "- job_name: zhisuan-agent-metrics"
    echo "  static_configs:"
    printf '  - %s\n' "${targets[@]}"
    echo "- job_name: zhisuan-controller-metrics"
    echo "  honor_labels: true  # pool series carry the pool's namespace, as in the chart"
    echo "  static_configs: [{targets: [$(IFS=,; echo "${controller_targets[*]}")]}]"
  } >"$demo_dir/prometheus/prometheus.yml"
  start prometheus prometheus --config.file="$demo_dir/prometheus/prometheus.yml" \
    --storage.tsdb.path="$demo_dir/prometheus/data" \
    --web.listen-address="127.0.0.1:$prometheus_port"
  echo "http://127.0.0.1:$prometheus_port" >"$demo_dir/prometheus-url"

  say "waiting for every node to publish its ComputeNode"
  local published=0 deadline=$((SECONDS + 120))
  while ((SECONDS < deadline)); do
    published=$("$kubectl" get computenodes -o name 2>/dev/null | wc -l)
    ((published >= 26)) && break
    sleep 1
  done
  if ((published < 26)); then
    say "only $published of 26 nodes published a ComputeNode in 120 s; see $demo_dir/logs/agent-*.log"
    return 1
  fi
  # containerd 2 resolves the CDI names Allocate and the DRA plugin return: stand-ins for the box's
  # fixture GPUs (hack/box-cdi.sh).
  "$repo/hack/box-cdi.sh" "$demo_dir/node" "$demo_dir/hardware" "$BOX_NODE" ||
    { say "could not write the box's CDI stand-ins"; return 1; }

  say "applying the sample ComputePools (manifests/samples)"
  for sample in "$repo"/manifests/samples/*.yaml; do
    ns=$(sed -n 's/^  namespace: *//p' "$sample" | head -n 1)
    [[ -n $ns ]] && "$kubectl" create namespace "$ns" >/dev/null 2>&1 || true
    "$kubectl" apply -f "$sample" >/dev/null
  done
  deadline=$((SECONDS + 60))
  while ((SECONDS < deadline)); do
    pending=$("$kubectl" get computepools -A -o jsonpath='{range .items[*]}{.status.observedGeneration}{"\n"}{end}' | grep -c '^$' || true)
    [[ $pending -eq 0 ]] && break
    sleep 1
  done
  trap - EXIT INT TERM
  show
  local tenths=$(((${EPOCHREALTIME/[.,]/} - began) / 100000))
  say "up in $((tenths / 10)).$((tenths % 10))s"
}

node_yaml() {  # NAME ZONE: a kwok-managed Node, as one YAML document
  cat <<NODE
---
apiVersion: v1
kind: Node
metadata:
  name: $1
  annotations: {kwok.x-k8s.io/node: fake}
  labels: {type: kwok, topology.kubernetes.io/zone: $2, kubernetes.io/hostname: $1}
spec: {}
NODE
}

show() {
  export KUBECONFIG=$demo_dir/control-plane/admin.kubeconfig
  echo
  "$kubectl" get computepools,computenodes -A
  echo
  "$kubectl" -n "$SYSTEM_NS" get pods -o wide
  echo
  echo "Prometheus: $(cat "$demo_dir/prometheus-url")"
  echo "Real node: $BOX_NODE (kubectl logs/exec/port-forward work on its pods)"
  echo "workload image: $(awk '$1 == "workload" { print $2 }' "$demo_dir/images.list")"
  echo "Use the demo cluster:"
  echo "  export KUBECONFIG=$KUBECONFIG"
  echo "  export PATH=$bin_dir:\$PATH   # kubectl v1.34.4, helm, kwok"
  echo "Stop everything: make demo-down"
}

case $verb in
  up) up ;;
  down)
    if ! stop_all; then
      say "could not stop everything (see above); logs and state stay in $demo_dir"
      exit 1
    fi
    say "stopped everything; logs and state stay in $demo_dir"
    ;;
  *)
    echo "usage: demo.sh up|down DEMO_DIR BUILD_DIR" >&2
    exit 2
    ;;
esac
