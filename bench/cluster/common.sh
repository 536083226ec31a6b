# shellcheck shell=bash
# Helpers the bench/cluster scripts share; sourced, not run. The caller has KUBECONFIG and the
# toolchain's PATH exported, and kills $kwok_pid on exit.

now_ms() { echo $((${EPOCHREALTIME/[.,]/} / 1000)); }

# median_range VALUES...: "median (min-max)".
median_range() {
  printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END {
    m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
    printf "%s (%s-%s)", m, v[1], v[NR] }'
}

# rate COUNT MS: COUNT per second over MS milliseconds, rounded.
rate() { awk -v n="$1" -v ms="$2" 'BEGIN { printf "%.0f", n * 1000 / ms }'; }

# median_rate COUNT VALUES...: COUNT per second at the median of the millisecond VALUES.
median_rate() {
  local count=$1
  shift
  rate "$count" "$(median_range "$@" | cut -d' ' -f1)"
}

until_true() {  # SECONDS COMMAND...
  local deadline=$((SECONDS + $1))
  shift
  until "$@" >/dev/null 2>&1; do
    ((SECONDS < deadline)) || { echo "timed out: $*" >&2; return 1; }
    sleep 0.2
  done
}

# start_kwok LOG: kwok for the nodes annotated kwok.x-k8s.io/node=fake; sets kwok_pid. Leases of
# 600 s, as bench/fleet: kwok renews a lease at a fraction of its duration, and at 40 s 5,000 nodes
# would cost hundreds of lease writes a second on the same cores the scheduler runs on.
start_kwok() {
  kwok --kubeconfig="$KUBECONFIG" --manage-all-nodes=false \
    --manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake \
    --node-lease-duration-seconds=600 >"$1" 2>&1 &
  # shellcheck disable=SC2034 # the caller's, for its clean-up
  kwok_pid=$!
}

# kwok_nodes_json COUNT [GPUS]: a List of COUNT kwok nodes kwok-00000...; with GPUS, each node's
# status says capacity and allocatable nvidia.com/gpu: GPUS, as the device plugin would make it.
kwok_nodes_json() {
  python3 - "$1" "${2:-0}" <<'NODES'
import json, sys
count, gpus = int(sys.argv[1]), int(sys.argv[2])
def node(i):
    name = f"kwok-{i:05d}"
    out = {"apiVersion": "v1", "kind": "Node",
           "metadata": {"name": name, "annotations": {"kwok.x-k8s.io/node": "fake"},
                        "labels": {"type": "kwok", "kubernetes.io/hostname": name}}}
    if gpus:
        # kwok keeps a status it finds and fills in only what is missing, so the node's other
        # resources are stated here too.
        resources = {"cpu": "192", "memory": "2Ti", "pods": "110", "nvidia.com/gpu": str(gpus)}
        out["status"] = {"capacity": resources, "allocatable": resources}
    return out
print(json.dumps({"apiVersion": "v1", "kind": "List", "items": [node(i) for i in range(count)]}))
NODES
}

# ready_kwok_nodes COUNT: true once COUNT kwok nodes are Ready.
ready_kwok_nodes() {
  (($(kubectl get nodes -l type=kwok --no-headers | grep -cw Ready) == $1))
}

# bound_pods SELECTOR: how many pods matching the label SELECTOR (all namespaces) have a node.
bound_pods() {
  kubectl get pods -A -l "$1" --field-selector=spec.nodeName!= -o name | wc -l
}
