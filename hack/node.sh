#!/usr/bin/env bash
# A real Kubernetes node "in a box": kubelet + containerd + runc, joined to a control plane started
# by `zhisuan-devcluster up --cluster CP_DIR`, without touching the host's network or its
# /var/lib/{kubelet,containerd}.
#
#   hack/node.sh up NODE_DIR --control-plane CP_DIR [--name NAME] [--index N]
#                  [--pause-image TAG] [--image TARBALL]... [--labels k=v,k2=v2]
#   hack/node.sh down NODE_DIR          stop everything `up` started, undo its host changes
#   hack/node.sh check-clean NODE_DIR   exit 1 and list what `down` left behind
#   hack/node.sh restart-kubelet NODE_DIR   stop the kubelet and start it again (pods keep running)
#
# Design:
# - Network: a namespace zs-NAME with lo, an interface zs0 holding the node IP 10.88.0.(N+1)/24
#   (a veth pair with both ends inside), the pod bridge cni0 (bridge CNI, host-local IPAM,
#   10.244.N.0/24, no masquerade) and 10.96.0.1/32 on lo, the address of the `kubernetes`
#   Service. There is no route
#   to the root namespace: the kubelet and pods talk to the API server through Unix sockets (file
#   names cross network namespaces), via hack/netns_forward.py:
#     pod/kubelet -> 10.96.0.1:443 (tcp-to-unix, node netns) -> NODE_DIR/run/apiserver.sock
#       -> unix-to-tcp (root netns) -> 127.0.0.1:<apiserver port>
#     kube-apiserver (egress selector `cluster`, HTTP CONNECT) -> CP_DIR/egress.sock
#       -> connect-proxy (node netns; only the node and pod networks) -> NODE_IP:10250 (kubelet)
#   The default route is a blackhole: nothing can leave.
# - Mounts: a holder process (`sleep infinity`) owns the node netns and a private mount namespace
#   (then `mount --make-rshared /` inside, so pod volume propagation works) in which per-node
#   directories under NODE_DIR/root are bind-mounted over /var/lib/kubelet, /var/lib/containerd,
#   /run/containerd, /var/lib/cni, /etc/cni/net.d, /var/log/pods, /var/log/containers,
#   /run/netns (containerd's pod netns files) and the CDI spec dirs /etc/cdi and /run/cdi
#   (= /var/run/cdi). containerd (2.x, from hack/toolchain.sh) and the kubelet are started in it with
#   `nsenter -t HOLDER -m -n`. Every mount the node makes lives in that namespace and disappears
#   when its last process exits, so the host's mount table never sees them.
# - Host state the kubelet changes anyway, undone by `down`: cgroups (kubelet cgroupRoot
#   /zhisuan-NAME in every hierarchy, removed deepest first), kernel sysctls that are not
#   namespaced (recorded before `up`, restored on `down`), and mount-point directories created on
#   the host's file system for the bind mounts (removed when empty). iptables chains the kubelet
#   creates live in the node netns and go with it.
# - Processes run detached (setsid) with pids in NODE_DIR/pids, so `down` works from any process.
#   Pods are found through the node's cgroups, shims and helpers through the node netns.
#
# Limitations: one node per control plane (the API server has one egress socket); sysctls are
# recorded per node, so nodes sharing a host should be brought down in reverse order.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source_dir="$(dirname "$here")"
bin_dir="${ZHISUAN_TOOLCHAIN_BIN:-$("$here/toolchain.sh" --print-bindir)}"
kubectl="$bin_dir/kubectl"
kubelet="$bin_dir/kubelet"
# containerd 2 from the toolchain (hack/toolchain.sh containerd): Debian's 1.6 cannot inject CDI
# devices. Its shim is found through PATH, so the toolchain's bin dir comes first for containerd.
containerd="$bin_dir/containerd"
ctr="$bin_dir/ctr"
# Globals the kubelet writes (setupKernelTunables); not per network namespace.
sysctls=(vm.overcommit_memory vm.panic_on_oom kernel.panic kernel.panic_on_oops
  kernel.keys.root_maxkeys kernel.keys.root_maxbytes)
# Host paths bound in the node's mount namespace over NODE_DIR/root/<same path>, so e.g. the
# kubelet's device-plugin checkpoint is NODE_DIR/root/var/lib/kubelet/device-plugins/... .
bind_targets=(/var/lib/kubelet /var/lib/containerd /run/containerd /var/lib/cni /etc/cni/net.d
  /var/log/pods /var/log/containers /run/netns /etc/cdi /run/cdi)

log() { echo "node.sh: $*" >&2; }
die() {
  log "$*"
  exit 1
}

usage() {
  sed -n '7,12p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

# ---------------------------------------------------------------------------------------------
# Small process helpers

# pid_of NAME: the recorded pid, if that process is still ours (its command line names NODE_DIR,
# or it lives in the node's network namespace), so a recycled pid is never signalled.
pid_of() {
  local pid net
  pid=$(cat "$node_dir/pids/$1" 2>/dev/null) || return 0
  [[ -r "/proc/$pid/cmdline" ]] || return 0
  net=$(cat "$node_dir/net.ns" 2>/dev/null ||
    stat -L -c %i "/run/netns/${netns:-}" 2>/dev/null || true)
  if grep -qF "$node_dir" "/proc/$pid/cmdline" 2>/dev/null ||
    [[ -n "$net" && "$(ns_id "$pid" net)" == "$net" ]]; then
    echo "$pid"
  fi
}
alive() { [[ -n "$1" ]] && kill -0 "$1" 2>/dev/null; }

any_alive() {
  local pid
  for pid in "$@"; do alive "$pid" && return 0; done
  return 1
}

# stop_pids GRACE_SECONDS PID...: SIGTERM to all at once, wait, SIGKILL what is left.
stop_pids() {
  local grace=$1 i
  shift
  kill -TERM "$@" 2>/dev/null || true
  for ((i = 0; i < grace * 10; i++)); do
    any_alive "$@" || return 0
    sleep 0.1
  done
  kill -KILL "$@" 2>/dev/null || true
  for ((i = 0; i < 50; i++)); do
    any_alive "$@" || return 0
    sleep 0.1
  done
}

stop_pid() { [[ -z "$1" ]] || stop_pids "${2:-10}" "$1"; }

# start NAME LOG COMMAND...: runs detached (own session, stdin /dev/null), records the pid.
# setsid, nsenter (no --fork) and unshare (no --fork) all exec, so $! is the final program's pid.
start() {
  local name=$1 logfile=$2
  shift 2
  setsid "$@" </dev/null >>"$logfile" 2>&1 &
  echo $! >"$node_dir/pids/$name"
  disown  # no "Killed" notices from this shell when `down` ends them
}

# wait_for SECONDS DESCRIPTION COMMAND...: polls COMMAND until it succeeds.
wait_for() {
  local seconds=$1 what=$2 i
  shift 2
  for ((i = 0; i < seconds * 5; i++)); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 0.2
  done
  die "timed out after ${seconds}s waiting for $what"
}

in_node() { nsenter -t "$(pid_of holder)" -m -n "$@"; }

# Inode of a namespace link, e.g. ns_id 123 net.
ns_id() { stat -L -c %i "/proc/$1/ns/$2" 2>/dev/null || true; }

# Pids whose namespace KIND (net or mnt) is inode ID.
pids_in_ns() {
  local kind=$1 id=$2 p
  [[ -n "$id" ]] || return 0
  for p in /proc/[0-9]*; do
    [[ "$(stat -L -c %i "$p/ns/$kind" 2>/dev/null)" == "$id" ]] && echo "${p#/proc/}"
  done
  return 0
}

# Pids in the node's cgroups (the pods' processes), from every hierarchy.
pids_in_cgroups() {
  local dir
  for dir in /sys/fs/cgroup/*/"$cgroup_name"; do
    [[ -d "$dir" ]] || continue
    find "$dir" -name cgroup.procs -exec cat {} + 2>/dev/null
  done | sort -u
}

# ---------------------------------------------------------------------------------------------
# Configuration

load_env() {
  [[ -f "$node_dir/node.env" ]] || return 1
  # shellcheck source=/dev/null
  source "$node_dir/node.env"
  cgroup_name="zhisuan-$name"
}

write_env() {
  cat >"$node_dir/node.env" <<EOF
name=$name
index=$index
node_ip=$node_ip
node_subnet=$node_subnet
pod_cidr=$pod_cidr
netns=$netns
cp_dir=$cp_dir
egress_socket=$egress_socket
labels=$(printf %q "$labels")
EOF
}

write_containerd_config() {
  # containerd 2.4 (config version 4): CRI is split into the images and runtime plugins.
  # restrict_oom_score_adj: runc cannot raise oom_score_adj without CAP_SYS_RESOURCE here and
  # fails every sandbox otherwise. The opt plugin would create /opt/containerd on the host, and NRI
  # a socket in the host's /var/run/nri. CDI is always on in containerd 2: the kubelet DRA plugin's
  # devices (and a device plugin's CDI names) are injected from the specs in /etc/cdi and
  # /var/run/cdi, both bound per node.
  cat >"$node_dir/etc/containerd.toml" <<EOF
version = 4
root = "/var/lib/containerd"
state = "/run/containerd"
disabled_plugins = ["io.containerd.internal.v1.opt", "io.containerd.nri.v1.nri",
  "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs",
  "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.erofs",
  "io.containerd.tracing.processor.v1.otlp"]
[grpc]
  address = "/run/containerd/containerd.sock"
[plugins.'io.containerd.cri.v1.images']
  snapshotter = "overlayfs"
  [plugins.'io.containerd.cri.v1.images'.pinned_images]
    sandbox = "$pause_image"
[plugins.'io.containerd.cri.v1.runtime']
  restrict_oom_score_adj = true
  enable_selinux = false
  cdi_spec_dirs = ["/etc/cdi", "/var/run/cdi"]
  [plugins.'io.containerd.cri.v1.runtime'.containerd]
    default_runtime_name = "runc"
    [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc.options]
        SystemdCgroup = false
  [plugins.'io.containerd.cri.v1.runtime'.cni]
    bin_dirs = ["/usr/lib/cni"]
    conf_dir = "/etc/cni/net.d"
EOF
  cat >"$node_dir/root/etc/cni/net.d/10-zhisuan.conflist" <<EOF
{
  "cniVersion": "1.0.0",
  "name": "zhisuan",
  "plugins": [
    {"type": "bridge", "bridge": "cni0", "isGateway": true, "ipMasq": false,
     "ipam": {"type": "host-local", "ranges": [[{"subnet": "$pod_cidr"}]],
              "routes": [{"dst": "0.0.0.0/0"}]}},
    {"type": "loopback"}
  ]
}
EOF
}

write_kubelet_config() {
  local pki="$cp_dir/pki" user="system:node:$name"
  bash "$source_dir/tests/harness/pki.sh" user "$pki" "$user" system:nodes
  cp "$pki/users/$user.crt" "$node_dir/etc/kubelet-client.crt"
  cp "$pki/users/$user.key" "$node_dir/etc/kubelet-client.key"
  cp "$pki/ca.crt" "$node_dir/etc/ca.crt"
  cat >"$node_dir/etc/kubelet.kubeconfig" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: zhisuan
  cluster:
    server: https://10.96.0.1:443
    certificate-authority: $node_dir/etc/ca.crt
users:
- name: $user
  user:
    client-certificate: $node_dir/etc/kubelet-client.crt
    client-key: $node_dir/etc/kubelet-client.key
contexts:
- name: zhisuan
  context: {cluster: zhisuan, user: $user}
current-context: zhisuan
EOF
  # resolvConf "" and no clusterDNS: pods get no resolver, so no lookup leaves the machine.
  # Eviction thresholds are tiny so a full CI disk does not evict test pods.
  cat >"$node_dir/etc/kubelet.yaml" <<EOF
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: $node_ip
port: 10250
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: 10248
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: $node_dir/etc/ca.crt}
authorization:
  mode: Webhook
containerRuntimeEndpoint: unix://$node_dir/root/run/containerd/containerd.sock
cgroupDriver: cgroupfs
cgroupRoot: /$cgroup_name
cgroupsPerQOS: true
failSwapOn: false
failCgroupV1: false
protectKernelDefaults: false
resolvConf: ""
registerNode: true
evictionHard:
  memory.available: 100Mi
  nodefs.available: 1%
  imagefs.available: 1%
  nodefs.inodesFree: 1%
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
serializeImagePulls: false
EOF
}

# ---------------------------------------------------------------------------------------------
# up

save_sysctls() {
  [[ -f "$node_dir/sysctls.saved" ]] && return 0
  local s
  for s in "${sysctls[@]}"; do echo "$s=$(sysctl -n "$s")"; done >"$node_dir/sysctls.saved"
}

setup_network() {
  ip netns add "$netns"
  ip -n "$netns" link set lo up
  ip -n "$netns" addr add 10.96.0.1/32 dev lo
  # The node's "NIC": a veth pair with both ends inside the namespace (the dummy driver is not
  # always available). Nothing is attached to it, so it leads nowhere.
  ip -n "$netns" link add zs0 type veth peer name zs0-peer
  ip -n "$netns" addr add "$node_ip/24" dev zs0
  ip -n "$netns" link set zs0-peer up
  ip -n "$netns" link set zs0 up
  # Some components want a default route; this one drops whatever it gets.
  ip -n "$netns" route add blackhole default
}

setup_cgroups() {
  local hierarchy
  for hierarchy in /sys/fs/cgroup/*/; do
    [[ -f "$hierarchy/cgroup.procs" ]] && mkdir -p "$hierarchy$cgroup_name"
  done
}

# The holder owns the node netns and a private mount namespace; the binds are made inside it.
start_holder() {
  start holder "$node_dir/logs/holder.log" \
    nsenter --net="/run/netns/$netns" unshare --mount --propagation private sleep infinity
  local holder host_mnt
  holder=$(cat "$node_dir/pids/holder")  # raw: it may not have entered the namespaces yet
  host_mnt=$(ns_id $$ mnt)
  wait_for 10 "the namespace holder" \
    bash -c "[[ \$(stat -L -c %i /proc/$holder/ns/mnt) != $host_mnt ]] && \
      [[ \$(readlink /proc/$holder/exe) == */sleep ]]"
  ns_id "$holder" mnt >"$node_dir/mnt.ns"
  ns_id "$holder" net >"$node_dir/net.ns"
  local target source created=()
  for target in "${bind_targets[@]}"; do
    source="$node_dir/root$target"
    mkdir -p "$source"
    if [[ ! -e "$target" ]]; then
      mkdir -p "$target"
      created+=("$target")
    fi
  done
  # iptables (kubelet, CNI) creates its lock file in /run unless XTABLES_LOCKFILE says otherwise,
  # which older iptables ignore: remove it on down if it was not there before.
  [[ -e /run/xtables.lock ]] || created+=(/run/xtables.lock)
  printf '%s\n' "${created[@]}" >>"$node_dir/created-dirs"
  local script="mount --make-rshared /"
  for target in "${bind_targets[@]}"; do
    source="$node_dir/root$target"
    script+=" && mount --bind '$source' '$target'"
  done
  nsenter -t "$holder" -m sh -c "$script"
}

start_containerd() {
  start containerd "$node_dir/logs/containerd.log" \
    env XTABLES_LOCKFILE="$node_dir/run/xtables.lock" PATH="$bin_dir:$PATH" \
    nsenter -t "$(pid_of holder)" -m -n "$containerd" --config "$node_dir/etc/containerd.toml"
  wait_for 60 "containerd" in_node "$ctr" --address /run/containerd/containerd.sock version
}

import_images() {
  local tarball
  for tarball in "${images[@]}"; do
    log "importing $tarball"
    in_node "$ctr" --address /run/containerd/containerd.sock -n k8s.io images import \
      "$tarball" >>"$node_dir/logs/images.log" 2>&1 ||
      die "importing $tarball failed: $(tail -5 "$node_dir/logs/images.log")"
  done
  # The list is read whole first: `ctr ... | grep -q` fails under pipefail when grep's early exit
  # makes ctr die of SIGPIPE on a long list.
  local imported
  imported=$(in_node "$ctr" --address /run/containerd/containerd.sock -n k8s.io images ls -q)
  grep -qxF "$pause_image" <<<"$imported" ||
    die "the pause image $pause_image is not among the imported images"
}

start_forwarders() {
  local py
  py=$(python3 -c 'import sys; print(sys.executable)')
  local fwd="$here/netns_forward.py" api_port
  api_port=$(sed -n 's|^ *server: https://127.0.0.1:\([0-9]*\)$|\1|p' "$cp_dir/admin.kubeconfig")
  [[ -n "$api_port" ]] || die "no API server port in $cp_dir/admin.kubeconfig"
  # Readiness is a "ready" line in each log: start from empty logs.
  : >"$node_dir/logs/forward-api-root.log"
  : >"$node_dir/logs/forward-api-node.log"
  : >"$node_dir/logs/forward-egress.log"
  start forward-api-root "$node_dir/logs/forward-api-root.log" \
    "$py" "$fwd" unix-to-tcp --unix "$node_dir/run/apiserver.sock" --connect "127.0.0.1:$api_port"
  start forward-api-node "$node_dir/logs/forward-api-node.log" \
    nsenter -t "$(pid_of holder)" -n \
    "$py" "$fwd" tcp-to-unix --listen 10.96.0.1:443 --unix "$node_dir/run/apiserver.sock"
  start forward-egress "$node_dir/logs/forward-egress.log" \
    nsenter -t "$(pid_of holder)" -n \
    "$py" "$fwd" connect-proxy --unix "$egress_socket" --allow "$node_subnet" --allow "$pod_cidr"
  wait_for 10 "the API server forwarders" grep -q ready "$node_dir/logs/forward-api-node.log"
  wait_for 10 "the API server forwarders" grep -q ready "$node_dir/logs/forward-api-root.log"
  wait_for 10 "the egress proxy" grep -q ready "$node_dir/logs/forward-egress.log"
}

start_kubelet() {
  start kubelet "$node_dir/logs/kubelet.log" \
    env XTABLES_LOCKFILE="$node_dir/run/xtables.lock" nsenter -t "$(pid_of holder)" -m -n \
    "$kubelet" \
    --config="$node_dir/etc/kubelet.yaml" --kubeconfig="$node_dir/etc/kubelet.kubeconfig" \
    --hostname-override="$name" --node-ip="$node_ip" --node-labels="$labels" --v=1
}

wait_ready() {
  local admin="$cp_dir/admin.kubeconfig" i
  for ((i = 0; i < 300; i++)); do
    alive "$(pid_of kubelet)" || die "the kubelet exited: $(tail -20 "$node_dir/logs/kubelet.log")"
    if "$kubectl" --kubeconfig "$admin" get node "$name" >/dev/null 2>&1; then break; fi
    sleep 0.5
  done
  "$kubectl" --kubeconfig "$admin" wait --for=condition=Ready "node/$name" --timeout=180s >&2 ||
    die "node $name is not Ready; kubelet log: $(tail -20 "$node_dir/logs/kubelet.log")"
}

cmd_up() {
  name=node1 index=1 pause_image="" labels="" cp_dir="" images=() up_done=0
  while (($#)); do
    case $1 in
      --control-plane) cp_dir=$(realpath "$2") && shift ;;
      --name) name=$2 && shift ;;
      --index) index=$2 && shift ;;
      --pause-image) pause_image=$2 && shift ;;
      --image) images+=("$(realpath "$2")") && shift ;;
      --labels) labels=$2 && shift ;;
      *) usage ;;
    esac
    shift
  done
  [[ -n "$cp_dir" && -n "$pause_image" ]] || die "up needs --control-plane and --pause-image"
  [[ -x "$containerd" && -x "$ctr" && -x "$bin_dir/containerd-shim-runc-v2" ]] ||
    die "containerd 2 is not in $bin_dir: run hack/toolchain.sh containerd"
  [[ -f "$cp_dir/egress-selector.yaml" ]] ||
    die "$cp_dir is not a cluster-mode control plane (zhisuan-devcluster up --cluster)"
  ((index >= 1 && index <= 250)) || die "--index must be 1..250"
  [[ "$name" =~ ^[a-z0-9][a-z0-9-]{0,40}$ ]] || die "--name must be a short DNS label"
  if alive "$(pid_of holder)"; then die "a node already runs in $node_dir"; fi
  netns="zs-$name"
  node_ip="10.88.0.$((index + 1))" node_subnet=10.88.0.0/24 pod_cidr="10.244.$index.0/24"
  egress_socket=$(sed -n 's/^ *udsName: //p' "$cp_dir/egress-selector.yaml")
  cgroup_name="zhisuan-$name"
  ip netns list | grep -w "$netns" >/dev/null && die "network namespace $netns exists; run down first"
  if [[ -S "$egress_socket" ]] && python3 -c "import socket,sys; s=socket.socket(socket.AF_UNIX); \
      s.connect(sys.argv[1])" "$egress_socket" 2>/dev/null; then
    die "another node already serves $egress_socket (one node per control plane)"
  fi
  mkdir -p "$node_dir"/{pids,logs,etc,run,root}
  ((${#node_dir} < 80)) || die "NODE_DIR is too long for Unix socket paths: $node_dir"
  write_env
  # A failed `up` leaves nothing running (the logs stay in NODE_DIR).
  trap 'if [[ $up_done != 1 ]]; then log "up failed; cleaning up"; cmd_down >&2 || true; fi' EXIT
  local t0=$SECONDS
  save_sysctls
  # `ip netns add` creates /run/netns and makes it a mount point; undo that on down if it is ours.
  [[ -e /run/netns ]] || echo /run/netns >>"$node_dir/created-dirs"
  setup_network
  setup_cgroups
  start_holder
  write_containerd_config
  start_containerd
  import_images
  start_forwarders
  write_kubelet_config
  start_kubelet
  wait_ready
  up_done=1
  log "node $name Ready after $((SECONDS - t0))s (node IP $node_ip, pods $pod_cidr)"
  echo "$name"
}

kubelet_healthy() {
  in_node python3 -c 'import urllib.request as u
assert u.urlopen("http://127.0.0.1:10248/healthz", timeout=2).read() == b"ok"'
}

cmd_restart_kubelet() {
  load_env || die "no node recorded in $node_dir"
  alive "$(pid_of holder)" || die "node $name is not running"
  stop_pid "$(pid_of kubelet)" 15
  start_kubelet
  # The Node object is still Ready from before; the new kubelet's own health endpoint is not.
  wait_for 120 "the kubelet's /healthz" kubelet_healthy
  wait_ready
  log "kubelet of node $name restarted"
}

# ---------------------------------------------------------------------------------------------
# down

# kill_all DESCRIPTION COMMAND...: SIGKILL whatever COMMAND lists until it lists nothing.
kill_all() {
  local what=$1 i pids
  shift
  for ((i = 0; i < 50; i++)); do
    pids=$("$@" | grep -vx "$$" || true)
    [[ -z "$pids" ]] && return 0
    # shellcheck disable=SC2086
    kill -KILL $pids 2>/dev/null || true
    sleep 0.2
  done
  log "could not kill $what: $pids"
}

unmount_under_node_dir() {
  local mount_point
  # Deepest first; nothing should be here (the binds live in the holder's namespace).
  while read -r mount_point; do
    umount "$mount_point" 2>/dev/null || umount -l "$mount_point" 2>/dev/null || true
  done < <(awk -v d="$node_dir/" 'index($5 "/", d) == 1 {print $5}' /proc/self/mountinfo | sort -r)
}

remove_cgroups() {
  local dir i
  for ((i = 0; i < 25; i++)); do
    for dir in /sys/fs/cgroup/*/"$cgroup_name"; do
      [[ -d "$dir" ]] || continue
      find "$dir" -depth -type d -exec rmdir {} + 2>/dev/null || true
    done
    compgen -G "/sys/fs/cgroup/*/$cgroup_name" >/dev/null || return 0
    sleep 0.2
  done
}

restore_sysctls() {
  [[ -f "$node_dir/sysctls.saved" ]] || return 0
  local line
  while IFS= read -r line; do
    [[ "$(sysctl -n "${line%%=*}")" == "${line#*=}" ]] || sysctl -q -w "$line" >/dev/null
  done <"$node_dir/sysctls.saved"
}

remove_created_dirs() {
  [[ -f "$node_dir/created-dirs" ]] || return 0
  local dir
  while IFS= read -r dir; do
    if [[ -f "$dir" ]]; then
      rm -f "$dir"
    elif [[ -d "$dir" && -z "$(ls -A "$dir")" ]]; then
      # Only when empty: another user of `ip netns` may have come along meanwhile.
      if mountpoint -q "$dir"; then umount "$dir" 2>/dev/null || true; fi
      rmdir "$dir" 2>/dev/null || true
    fi
  done < <(sort -r "$node_dir/created-dirs")
}

cmd_down() {
  load_env || {
    log "nothing recorded in $node_dir"
    return 0
  }
  local net_id mnt_id
  net_id=$(cat "$node_dir/net.ns" 2>/dev/null || true)
  mnt_id=$(cat "$node_dir/mnt.ns" 2>/dev/null || true)
  # The kubelet first, or it restarts the pods we are about to kill.
  stop_pid "$(pid_of kubelet)" 15
  # Pods: every process in the node's cgroups (SIGKILL; this node is disposable).
  kill_all "pod processes" pids_in_cgroups
  local helpers=() p
  for p in containerd forward-egress forward-api-node forward-api-root; do
    [[ -n "$(pid_of $p)" ]] && helpers+=("$(pid_of $p)")
  done
  ((${#helpers[@]} == 0)) || stop_pids 10 "${helpers[@]}"
  # Shims and anything else left in the node's namespaces, then the holder itself; with it the
  # private mount namespace and all mounts in it go away.
  kill_all "processes in the node's namespaces" \
    bash -c "$(declare -f pids_in_ns); pids_in_ns net '$net_id'; pids_in_ns mnt '$mnt_id'"
  stop_pid "$(pid_of holder)" 1
  unmount_under_node_dir
  if ip netns list | grep -w "$netns" >/dev/null; then ip netns delete "$netns"; fi
  # Ours: `up` refuses to start while another node serves it.
  rm -f "$egress_socket"
  remove_cgroups
  restore_sysctls
  remove_created_dirs
  rm -f "$node_dir"/pids/*
  cmd_check_clean
}

# ---------------------------------------------------------------------------------------------
# check-clean

cmd_check_clean() {
  load_env || return 0
  local left=() p line id
  for p in "$node_dir"/pids/*; do
    [[ -f "$p" ]] && alive "$(pid_of "$(basename "$p")")" &&
      left+=("process $(basename "$p") ($(cat "$p"))")
  done
  for id in "$(cat "$node_dir/net.ns" 2>/dev/null)" "$(cat "$node_dir/mnt.ns" 2>/dev/null)"; do
    for p in $(pids_in_ns net "$id") $(pids_in_ns mnt "$id"); do
      left+=("process $p in the node's namespaces: $(tr '\0' ' ' </proc/"$p"/cmdline)")
    done
  done
  for p in $(pids_in_cgroups); do left+=("process $p in the node's cgroups"); done
  while read -r line; do left+=("mount $line"); done < <(
    awk -v d="$node_dir/" 'index($5 "/", d) == 1 {print $5}' /proc/self/mountinfo)
  ip netns list | grep -w "$netns" >/dev/null && left+=("network namespace $netns")
  for p in /sys/fs/cgroup/*/"$cgroup_name"; do [[ -d "$p" ]] && left+=("cgroup $p"); done
  if [[ -f "$node_dir/sysctls.saved" ]]; then
    while IFS= read -r line; do
      [[ "$(sysctl -n "${line%%=*}")" == "${line#*=}" ]] ||
        left+=("sysctl ${line%%=*}=$(sysctl -n "${line%%=*}") (was ${line#*=})")
    done <"$node_dir/sysctls.saved"
  fi
  if [[ -f "$node_dir/created-dirs" ]]; then
    while IFS= read -r line; do
      [[ -n "$line" && -e "$line" ]] && left+=("directory $line")
    done <"$node_dir/created-dirs"
  fi
  if ((${#left[@]})); then
    log "left behind by node $name:"
    printf '  %s\n' "${left[@]}" >&2
    return 1
  fi
  log "node $name: nothing left behind"
}

# ---------------------------------------------------------------------------------------------

(($# >= 2)) || usage
verb=$1
node_dir=$(realpath -m "$2")
shift 2
case $verb in
  up) cmd_up "$@" ;;
  down) cmd_down ;;
  check-clean) cmd_check_clean ;;
  restart-kubelet) cmd_restart_kubelet ;;
  *) usage ;;
esac
