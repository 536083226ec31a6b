#!/usr/bin/env bash
# `make demo` end to end, in a fresh directory:
#   0. live_promql_test.py's selector extraction, offline;
#   1. hack/demo.sh up, timed; every recorded process group runs (demo_processes.py); it printed
#      the workload image's tag; every Zhisuan pod (helm install on the real node zs-box-1) is
#      Ready there, and the node's capacity shows nvidia.com/gpu from the agent's device plugin;
#   2. every PromQL expression of the chart's alerts and dashboards against the demo's live
#      Prometheus, which scrapes the real agents and controllers (live_promql_test.py), and a
#      self-check that a chart copy with a metric nobody exports and an alert that would fire in
#      the healthy demo fails it; then the tenant guide's "Try it on the demo" section, run as
#      written (a tenant's pool on the real node and a Job that prints the GPUs it was given);
#   3. `up` on the running demo starts and stops nothing;
#   4. `down`, timed, leaves no process (by recorded pid, process group or a command line naming
#      the demo dir) and no listening port behind, `hack/node.sh check-clean` passes on the real
#      node (no mount, cgroup or sysctl change) and no zs- network namespace is left; a second
#      `down` is harmless;
#   5. `up` over a demo whose processes died but whose pid files remain starts afresh;
#   6. `up` over a crashed demo (everything SIGKILLed, the real node's namespace, cgroups and
#      pods left behind) clears it and starts afresh, and `down` then leaves nothing.
# Whatever fails, the EXIT trap runs `down`, and each step runs under a time limit so that the
# trap runs before ctest's own TIMEOUT would kill this script (ctest's SIGKILL would leave the
# detached demo running).
set -euo pipefail
: "${ZHISUAN_SOURCE_DIR:?run through ctest (ZHISUAN_SOURCE_DIR)}"
: "${ZHISUAN_BINARY_DIR:?run through ctest (ZHISUAN_BINARY_DIR)}"
here=$(cd "$(dirname "$0")" && pwd)
export PYTHONDONTWRITEBYTECODE=1 # live_promql_test.py imports ../chart/promql_test.py
demo_sh="$ZHISUAN_SOURCE_DIR/hack/demo.sh"
work=$(mktemp -d "${TMPDIR:-/tmp}/zhisuan-demo-test.XXXXXX")
demo="$work/demo"
failures=0

# Every step runs under `limit SECONDS`: its own bound, cut to what is left of 780 s, so that even
# when steps hang the EXIT trap's `down` (at most 125 s) runs before ctest's TIMEOUT (960) kills
# this script.
deadline=$((SECONDS + 780))
limit() {
  local want=$1 left=$((deadline - SECONDS))
  shift
  ((left < 1)) && left=1
  timeout -k 5 $((want < left ? want : left)) "$@"
}

fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }
pass() { echo "ok: $*"; }
now_us() { echo "${EPOCHREALTIME/[.,]/}"; }
seconds_since() { # microseconds from now_us
  local tenths=$((($(now_us) - $1) / 100000))
  echo "$((tenths / 10)).$((tenths % 10))"
}

cleanup() {
  local status=$?
  timeout -k 5 120 "$demo_sh" down "$demo" "$ZHISUAN_BINARY_DIR" >/dev/null 2>&1 || true
  if ((status != 0)) && [[ -d $demo/logs ]]; then
    echo "--- last lines of the demo's logs ($demo/logs, kept) ---"
    for log in "$demo"/logs/*.log "$demo"/control-plane/*.log "$demo"/node/logs/*.log; do
      [[ -f $log ]] && { echo "== $log"; tail -n 3 "$log" | cut -c1-240; }
    done
  else
    rm -rf "$work"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# 0. The checker's own selector extraction, offline.
if python3 "$here/live_promql_test.py" --self-test; then
  pass "live_promql_test.py self-test"
else
  fail "live_promql_test.py self-test"
fi

# 1. up, timed.
began=$(now_us)
if limit 300 "$demo_sh" up "$demo" "$ZHISUAN_BINARY_DIR" >"$work/up.log" 2>&1; then
  pass "demo.sh up in $(seconds_since "$began")s"
else
  cat "$work/up.log"
  fail "demo.sh up (exit status above)"
  exit 1
fi
# kwok, 25 agent processes (24 fixture nodes and this machine), Prometheus, and 3 port-forwards
# (2 controller pods, the box node's agent pod).
if python3 "$here/demo_processes.py" snapshot "$demo" "$work/before.json" --expect-groups 30; then
  pass "every recorded process is running"
else
  fail "the demo's recorded processes"
fi

workload=$(sed -n 's/^workload image: //p' "$work/up.log")
if [[ $workload == zhisuan.local/workload:* ]]; then
  pass "up printed the workload image: $workload"
else
  fail "up did not print a line 'workload image: zhisuan.local/workload:<tag>'"
fi
export KUBECONFIG=$demo/control-plane/admin.kubeconfig
kubectl=$("$ZHISUAN_SOURCE_DIR/hack/toolchain.sh" --print-bindir)/kubectl
# "name node ready" of every Zhisuan pod.
pods=$(limit 20 "$kubectl" -n zhisuan-system get pods -l app.kubernetes.io/name=zhisuan \
  -o jsonpath='{range .items[*]}{.metadata.name} {.spec.nodeName} {.status.conditions[?(@.type=="Ready")].status}{"\n"}{end}' || true)
if [[ $(grep -c ' zs-box-1 True$' <<<"$pods") == 3 && $(wc -l <<<"$pods") == 3 ]]; then
  pass "the 2 controller pods and the agent pod are Ready on the real node zs-box-1"
else
  fail "Zhisuan pods (name node ready): [$pods], want 3 Ready on zs-box-1"
fi
gpus=$(limit 20 "$kubectl" get node zs-box-1 -o jsonpath='{.status.capacity.nvidia\.com/gpu}' || true)
[[ $gpus == 8 ]] && pass "the real node's capacity shows nvidia.com/gpu: 8" ||
  fail "zs-box-1 capacity nvidia.com/gpu is '$gpus', want 8"
# The demo's H100 nodes "measure" through the fake CUDA driver: kubectl must say so, and no node
# of the demo may claim a hardware measurement.
nodes_table=$(limit 20 "$kubectl" get computenodes 2>&1 || true)
if grep -E -q ' simulated +[0-9]' <<<"$nodes_table" && ! grep -q ' hardware ' <<<"$nodes_table"; then
  pass "kubectl get computenodes marks the stand-in's measurements as simulated"
else
  fail "kubectl get computenodes has no 'simulated' Measured column, or claims hardware: [$nodes_table]"
fi

# 2. Every alert and dashboard expression against the live Prometheus (25 agent processes, the box
# node's agent pod and 2 controller pods).
prometheus=$(cat "$demo/prometheus-url")
if limit 150 python3 "$here/live_promql_test.py" "$prometheus" --expect-targets 28 \
  --ready-timeout 45 --settle 75; then
  pass "every alert and dashboard expression works on live series"
else
  fail "live PromQL checks (table above)"
fi

# The checker must catch a dashboard that names a metric the binaries do not export, and an alert
# that would fire in the healthy demo (FlopsProbeFailing as it was: the CPU-only node's CUDA probe
# always fails).
mkdir -p "$work/chart"
cp -r "$ZHISUAN_SOURCE_DIR/charts/zhisuan/files" "$work/chart/"
python3 - "$work/chart/files/alerts.yaml" <<'PY2'
import sys, yaml
alerts = yaml.safe_load(open(sys.argv[1]))
for group in alerts["groups"]:
    for rule in group["rules"]:
        if rule.get("alert") == "FlopsProbeFailing":
            rule["expr"] = "zhisuan_flops_probe_success == 0"
yaml.safe_dump(alerts, open(sys.argv[1], "w"))
PY2
python3 - "$work/chart/files/dashboards/node.json" <<'PY2'
import json, sys
d = json.load(open(sys.argv[1]))
for panel in d["panels"]:
    for target in panel.get("targets", []):
        target["expr"] = target["expr"].replace("zhisuan_node_accelerator_power_watts{",
                                                "zhisuan_node_accelerator_power_watt{")
json.dump(d, open(sys.argv[1], "w"))
PY2
if ! grep -q 'zhisuan_node_accelerator_power_watt{' "$work/chart/files/dashboards/node.json"; then
  fail "self-check: could not plant the typo in node.json"
elif out=$(limit 45 python3 "$here/live_promql_test.py" "$prometheus" --chart "$work/chart" \
  --settle 0 2>&1); then
  fail "live_promql_test.py passed a chart with a missing metric and a false alarm"
elif [[ $out == *"metric missing"*"zhisuan_node_accelerator_power_watt has no live series"* &&
  $out == *"FlopsProbeFailing"*"alert in a healthy demo"* ]]; then
  pass "live_promql_test.py catches a metric that no binary exports and a false alarm"
else
  echo "$out"
  fail "live_promql_test.py failed the planted faults for the wrong reason (output above)"
fi

# 2b. The tenant guide's "Try it on the demo" section, run as written (its sh blocks, with the
# printed KUBECONFIG and workload image filled in), then its pool deleted as the guide says.
python3 - "$ZHISUAN_SOURCE_DIR/docs/tenant-guide.md" >"$work/guide.sh" <<'GUIDE'
import re, sys
text = open(sys.argv[1]).read()
section = text.split("## Try it on the demo", 1)[1].split("\n## ", 1)[0]
blocks = re.findall(r"```sh\n(.*?)```", section, re.S)
for block in blocks:
    for line in block.splitlines(keepends=True):
        if not line.startswith("export KUBECONFIG="):
            sys.stdout.write(line)
GUIDE
sed -i "s|zhisuan.local/workload:<tag>|$workload|" "$work/guide.sh"
if guide_out=$(PATH="$(dirname "$kubectl"):$PATH" limit 240 bash -euo pipefail "$work/guide.sh" 2>&1) &&
  [[ $(grep -oE 'GPU-[0-9a-f-]+' <<<"$(grep '^GPUs: ' <<<"$guide_out")" | wc -l) == 2 ]]; then
  pass "the tenant guide's demo section runs as written: $(grep '^GPUs: ' <<<"$guide_out")"
else
  echo "$guide_out"
  fail "the tenant guide's demo section (output above)"
fi
limit 90 "$kubectl" --as=alice -n tenant-demo delete computepool box-pool >/dev/null 2>&1 ||
  fail "the guide's pool was not released"
limit 30 "$kubectl" delete namespace tenant-demo --wait=false >/dev/null 2>&1 || true

# 3. up again: nothing started, nothing stopped.
if out=$(limit 20 "$demo_sh" up "$demo" "$ZHISUAN_BINARY_DIR" 2>&1) &&
  [[ $out == *"already running"* ]] &&
  python3 "$here/demo_processes.py" snapshot "$demo" "$work/again.json" >/dev/null &&
  python3 "$here/demo_processes.py" same "$work/before.json" "$work/again.json"; then
  pass "demo.sh up on a running demo changes nothing"
else
  echo "$out"
  fail "demo.sh up on a running demo"
fi

# The leftover check must see a running demo as left behind.
if out=$(python3 "$here/demo_processes.py" stopped "$demo" "$work/before.json"); then
  fail "demo_processes.py stopped passed while the demo runs"
elif [[ $out == *"names the demo dir"* && $out == *"port still listening"* ]]; then
  pass "demo_processes.py sees a running demo's processes and ports"
else
  echo "$out"
  fail "demo_processes.py stopped failed a running demo for the wrong reason (output above)"
fi

# 4. down, timed; nothing left; down again is harmless.
mkdir -p "$work/pids.d.kept"
cp "$demo/pids.d"/* "$work/pids.d.kept/"
began=$(now_us)
# down needs nothing from the build tree (it still works after `make clean`).
if limit 90 "$demo_sh" down "$demo" "$work/no-build-dir"; then
  pass "demo.sh down in $(seconds_since "$began")s"
else
  fail "demo.sh down"
fi
if python3 "$here/demo_processes.py" stopped "$demo" "$work/before.json"; then
  pass "no process or port left behind"
else
  fail "demo.sh down left things behind (table above)"
fi
if out=$("$ZHISUAN_SOURCE_DIR/hack/node.sh" check-clean "$demo/node" 2>&1); then
  pass "hack/node.sh check-clean: the real node left nothing behind"
else
  echo "$out"
  fail "the real node left things behind (above)"
fi
if ip netns list | grep -q '^zs-'; then
  fail "network namespaces left: $(ip netns list | grep '^zs-' | tr '\n' ' ')"
else
  pass "no zs- network namespace left"
fi
if limit 45 "$demo_sh" down "$demo" "$ZHISUAN_BINARY_DIR" &&
  python3 "$here/demo_processes.py" stopped "$demo" "$work/before.json" >/dev/null; then
  pass "a second demo.sh down is harmless"
else
  fail "a second demo.sh down"
fi

# 5. A demo whose processes are gone (a reboot) but whose pid files remain: `up` clears it and
# starts afresh instead of claiming it runs.
cp "$work/pids.d.kept"/* "$demo/pids.d/" 2>/dev/null || true
if [[ -z $(ls -A "$demo/pids.d") ]]; then
  fail "stale demo: no pid files to restore"
elif out=$(limit 300 "$demo_sh" up "$demo" "$ZHISUAN_BINARY_DIR" 2>&1) &&
  [[ $out == *"no longer running"* && $out == *"up in"* ]] &&
  python3 "$here/demo_processes.py" snapshot "$demo" "$work/fresh.json" --expect-groups 30; then
  pass "demo.sh up over a dead demo's pid files starts afresh"
else
  echo "$out"
  fail "demo.sh up over a dead demo's pid files"
fi

# 6. A crashed demo: every recorded process, the control plane and the node's own processes
# SIGKILLed, leaving the node's network namespace, cgroups, pods and sysctl changes behind. `up`
# clears all of it (hack/node.sh down on the dead node) and starts afresh; `down` then leaves
# nothing.
for f in "$demo"/pids.d/* "$demo"/control-plane/pids "$demo"/node/pids/*; do
  [[ -f $f ]] || continue
  for pid in $(cat "$f"); do kill -KILL -- "-$pid" "$pid" 2>/dev/null || true; done
done
sleep 1
if ! ip netns list | grep -q '^zs-zs-box-1'; then
  fail "crashed demo: the node's network namespace is already gone, nothing to clear"
elif out=$(limit 300 "$demo_sh" up "$demo" "$ZHISUAN_BINARY_DIR" 2>&1) &&
  [[ $out == *"no longer running"* && $out == *"up in"* ]] &&
  python3 "$here/demo_processes.py" snapshot "$demo" "$work/crashed.json" --expect-groups 30 &&
  limit 90 "$demo_sh" down "$demo" "$ZHISUAN_BINARY_DIR" >/dev/null &&
  python3 "$here/demo_processes.py" stopped "$demo" "$work/crashed.json" &&
  python3 "$here/demo_processes.py" stopped "$demo" "$work/fresh.json" >/dev/null &&
  "$ZHISUAN_SOURCE_DIR/hack/node.sh" check-clean "$demo/node" &&
  ! ip netns list | grep -q '^zs-'; then
  pass "demo.sh up over a crashed demo (node left behind) starts afresh, and down stops it"
else
  echo "$out"
  fail "demo.sh up over a crashed demo"
fi

if ((failures > 0)); then
  echo "$failures check(s) failed" >&2
  exit 1
fi
echo "all checks passed"
