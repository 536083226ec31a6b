#!/usr/bin/env bash
# `make demo` / `make demo-down`: a local Kubernetes control plane with Zhisuan on it, left running.
#
#   hack/demo.sh up DEMO_DIR BUILD_DIR
#   hack/demo.sh down DEMO_DIR BUILD_DIR
#
# What `up` starts (every process detached, its pid recorded in DEMO_DIR/pids.d/):
#   - etcd + kube-apiserver (tests/harness, TLS and RBAC on) with the Zhisuan CRDs;
#   - kwok, simulating 24 GPU/NPU nodes in 3 zones whose energy differs (hydro zero-carbon, coal-
#     heavy grid, solar), plus one node for this machine;
#   - a real zhisuan-agent per simulated node, each reading a fixture hardware tree
#     (tests/fixtures/sysfs) through the fake NVML/DCMI libraries, and one on this machine's CPU;
#   - two zhisuan-controller replicas under leader election;
#   - Prometheus scraping every agent and controller.
# Then it applies the sample ComputePools (manifests/samples) and shows what Zhisuan made of them.
set -euo pipefail

verb=$1 demo_dir=$2 build_dir=$3
repo=$(cd "$(dirname "$0")/.." && pwd)
[[ $build_dir = /* ]] || build_dir="$repo/$build_dir"
bin_dir=$("$repo/hack/toolchain.sh" --print-bindir)
kubectl="$bin_dir/kubectl"
export ZHISUAN_SOURCE_DIR=$repo ZHISUAN_TOOLCHAIN_BIN=$bin_dir
pids="$demo_dir/pids.d"
fixtures="$repo/tests/fixtures/sysfs"

say() { printf '[demo] %s\n' "$*"; }

# start NAME COMMAND...: run detached in its own session, log to DEMO_DIR/logs/NAME.log.
start() {
  local name=$1
  shift
  setsid "$@" >"$demo_dir/logs/$name.log" 2>&1 </dev/null &
  echo $! >"$pids/$name"
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

stop_all() {
  if [[ -d $pids ]]; then
    for f in "$pids"/*; do
      [[ -f $f ]] || continue
      kill -TERM "$(cat "$f")" 2>/dev/null || true
    done
    sleep 1
    for f in "$pids"/*; do
      [[ -f $f ]] || continue
      kill -KILL "$(cat "$f")" 2>/dev/null || true
      rm -f "$f"
    done
  fi
  if [[ -f $demo_dir/control-plane/pids ]]; then
    "$build_dir/tests/harness/zhisuan-devcluster" down "$demo_dir/control-plane" >/dev/null || true
  fi
}

# zone name, energy source, carbon intensity (gCO2e/kWh), carbon-free ratio, fixture per node
ZONES=(
  "kunming-a hydro 0 1.0 h100-8x h100-8x h100-8x h100-8x h100-8x h100-8x ascend910b-8x ascend910b-8x"
  "ulanqab-b grid 540 0.35 h100-8x h100-8x h100-8x h100-8x mi300x-8x mi300x-8x mi300x-8x mi300x-8x"
  "qinghai-c solar 35 0.92 ascend910b-8x ascend910b-8x ascend910b-8x ascend910b-8x mi300x-8x mi300x-8x mixed-pci mixed-pci"
)

up() {
  if [[ -d $pids ]] && compgen -G "$pids/*" >/dev/null; then
    say "already running (state in $demo_dir); 'make demo-down' stops it"
    return 0
  fi
  rm -rf "$demo_dir"
  mkdir -p "$pids" "$demo_dir/logs" "$demo_dir/energy" "$demo_dir/prometheus"
  trap 'say "start-up failed; stopping what was started (logs in $demo_dir/logs)"; stop_all' ERR

  say "starting etcd and kube-apiserver on loopback"
  "$build_dir/tests/harness/zhisuan-devcluster" up "$demo_dir/control-plane" | sed 's/^/[demo] /'
  export KUBECONFIG=$demo_dir/control-plane/admin.kubeconfig

  say "installing the Zhisuan CRDs"
  "$kubectl" apply -f "$repo/charts/zhisuan/crds/" >/dev/null
  "$kubectl" wait --for=condition=Established crd/computepools.zhisuan.io \
    crd/computenodes.zhisuan.io --timeout=60s >/dev/null

  say "starting kwok (simulated nodes)"
  start kwok "$bin_dir/kwok" --kubeconfig="$KUBECONFIG" --manage-all-nodes=false \
    --manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake --node-lease-duration-seconds=40

  local targets=() port node zone source intensity ratio fixture index
  for line in "${ZONES[@]}"; do
    read -r zone source intensity ratio fixtures_for_zone <<<"$line"
    printf '{"source": "%s", "zone": "%s", "carbonIntensityGramsPerKwh": %s, "carbonFreeRatio": %s}\n' \
      "$source" "$zone" "$intensity" "$ratio" >"$demo_dir/energy/$zone.json"
    index=0
    for fixture in $fixtures_for_zone; do
      index=$((index + 1))
      node=$(printf 'zs-%s-%02d' "${zone%%-*}" "$index")
      create_node "$node" "$zone"
      port=$(free_port)
      targets+=("127.0.0.1:$port")
      # Each node sees only its own vendor's library, as on a real node.
      nvml=/nonexistent/libnvidia-ml.so.1 dcmi=/nonexistent/libdcmi.so
      [[ $fixture == h100-8x ]] && nvml="$build_dir/fixtures/lib/nvml/libnvidia-ml.so.1"
      [[ $fixture == ascend910b-8x ]] && dcmi="$build_dir/fixtures/lib/dcmi/libdcmi.so"
      start "agent-$node" "$build_dir/agent/zhisuan-agent" --node-name="$node" \
        --kubeconfig="$KUBECONFIG" --advertise=node-status \
        --sysfs-root="$fixtures/$fixture/sys" --procfs-root="$fixtures/$fixture/proc" \
        --nvml-library="$nvml" --dcmi-library="$dcmi" \
        --energy-profile-file="$demo_dir/energy/$zone.json" \
        --measure-flops-at-startup=false --listen-address="127.0.0.1:$port"
    done
  done
  say "started 24 agents on fixture hardware in 3 zones"

  create_node zs-local local
  printf '{"source": "grid", "zone": "local", "carbonIntensityGramsPerKwh": 450, "carbonFreeRatio": 0.4}\n' \
    >"$demo_dir/energy/local.json"
  port=$(free_port)
  targets+=("127.0.0.1:$port")
  start agent-zs-local "$build_dir/agent/zhisuan-agent" --node-name=zs-local \
    --kubeconfig="$KUBECONFIG" --advertise=node-status \
    --energy-profile-file="$demo_dir/energy/local.json" --listen-address="127.0.0.1:$port"
  say "started an agent on this machine's CPU (node zs-local)"

  local controller_targets=()
  for replica in 1 2; do
    port=$(free_port)
    controller_targets+=("127.0.0.1:$port")
    start "controller-$replica" "$build_dir/controller/zhisuan-controller" \
      --kubeconfig="$KUBECONFIG" --leader-elect --leader-election-namespace=default \
      --metrics-address="127.0.0.1:$port"
  done
  say "started two controller replicas (leader election on)"

  local prometheus_port
  prometheus_port=$(free_port)
  {
    echo "global: {scrape_interval: 5s, evaluation_interval: 5s}"
    echo "rule_files: [$repo/charts/zhisuan/files/alerts.yaml]"
    echo "scrape_configs:"
    echo "- job_name: zhisuan-agent"
    echo "  static_configs: [{targets: [$(IFS=,; echo "${targets[*]}")]}]"
    echo "- job_name: zhisuan-controller"
    echo "  static_configs: [{targets: [$(IFS=,; echo "${controller_targets[*]}")]}]"
  } >"$demo_dir/prometheus/prometheus.yml"
  start prometheus prometheus --config.file="$demo_dir/prometheus/prometheus.yml" \
    --storage.tsdb.path="$demo_dir/prometheus/data" \
    --web.listen-address="127.0.0.1:$prometheus_port"
  echo "http://127.0.0.1:$prometheus_port" >"$demo_dir/prometheus-url"

  say "waiting for every node to publish its ComputeNode"
  for _ in $(seq 1 120); do
    [[ $("$kubectl" get computenodes -o name 2>/dev/null | wc -l) -ge 25 ]] && break
    sleep 1
  done

  say "applying the sample ComputePools (manifests/samples)"
  for sample in "$repo"/manifests/samples/*.yaml; do
    ns=$(sed -n 's/^  namespace: *//p' "$sample" | head -n 1)
    [[ -n $ns ]] && "$kubectl" create namespace "$ns" >/dev/null 2>&1 || true
    "$kubectl" apply -f "$sample" >/dev/null
  done
  for _ in $(seq 1 60); do
    pending=$("$kubectl" get computepools -A -o jsonpath='{range .items[*]}{.status.observedGeneration}{"\n"}{end}' | grep -c '^$' || true)
    [[ $pending -eq 0 ]] && break
    sleep 1
  done
  trap - ERR
  show
}

create_node() {  # NAME ZONE
  "$kubectl" apply -f - >/dev/null <<NODE
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
  echo "Prometheus: $(cat "$demo_dir/prometheus-url")"
  echo "Use the demo cluster:"
  echo "  export KUBECONFIG=$KUBECONFIG"
  echo "  export PATH=$bin_dir:\$PATH   # kubectl v1.34.4, helm, kwok"
  echo "Stop everything: make demo-down"
}

case $verb in
  up) up ;;
  down)
    stop_all
    say "stopped everything; logs and state stay in $demo_dir"
    ;;
  *)
    echo "usage: demo.sh up|down DEMO_DIR BUILD_DIR" >&2
    exit 2
    ;;
esac
