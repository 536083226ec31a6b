#!/usr/bin/env bash
# Against a real kube-apiserver with the chart installed: the RBAC roles grant exactly the intended
# permissions (kubectl auth can-i as the agent, the controller and a tenant), and the two
# ValidatingAdmissionPolicies are enforced: an agent with a pod-bound token writes only its own
# Node and ComputeNode and never the pool binding; a pod tolerates a pool's taint only from the
# pool's namespace.
set -euo pipefail
source "$(dirname "$0")/common.sh"
source "$(dirname "$0")/cluster.sh"

kubectl apply --server-side -f "$CHART/crds/" >/dev/null
wait_for_crds computepools.zhisuan.io computenodes.zhisuan.io
kubectl create namespace zhisuan-system >/dev/null
helm install zhisuan "$CHART" --namespace zhisuan-system >/dev/null

agent=system:serviceaccount:zhisuan-system:zhisuan-agent
controller=system:serviceaccount:zhisuan-system:zhisuan-controller

# ---------------------------------------------------------------------------------------- RBAC
for ns in tenant-a tenant-b; do kubectl create namespace "$ns" >/dev/null; done
kubectl -n tenant-a create rolebinding alice-pools --clusterrole=zhisuan-tenant --user=alice >/dev/null

# can WHO yes|no VERB RESOURCE [kubectl auth can-i flags...]
can() {
  local who="$1" want="$2"; shift 2
  local got
  got="$(kubectl auth can-i "$@" --as="$who" 2>/dev/null || true)"
  if [[ "$got" == "$want" ]]; then
    pass "$who ${want/no/cannot}${want/yes/ can} $*"
  else
    fail "$who: can-i $* says '$got', want '$want'"
  fi
}
# The agent: exactly what agent/publish calls (docs/rbac-agent.md): GET and apply its Node and
# ComputeNode, JSON-patch the Node's status. No list, watch, update, delete or events.
for verb in get patch; do can "$agent" yes "$verb" nodes; done
for verb in list watch; do can "$agent" no "$verb" nodes; done
can "$agent" no get nodes --subresource=status
can "$agent" yes patch nodes --subresource=status
can "$agent" no update nodes --subresource=status
for verb in get create patch; do can "$agent" yes "$verb" computenodes.zhisuan.io; done
can "$agent" yes patch computenodes.zhisuan.io --subresource=status
for verb in get update; do can "$agent" no "$verb" computenodes.zhisuan.io --subresource=status; done
can "$agent" no update computenodes.zhisuan.io
can "$agent" no create events -n default
can "$agent" no create events.events.k8s.io -n default
for verb in create update delete; do can "$agent" no "$verb" nodes; done
can "$agent" no delete computenodes.zhisuan.io
can "$agent" no list computenodes.zhisuan.io
for verb in create update patch delete; do can "$agent" no "$verb" computepools.zhisuan.io -n tenant-a; done
can "$agent" no update computepools.zhisuan.io --subresource=status -n tenant-a
can "$agent" no get secrets -n zhisuan-system
can "$agent" no list secrets -A
can "$agent" no list pods -A
can "$agent" no get configmaps -n zhisuan-system
can "$agent" no create leases.coordination.k8s.io -n zhisuan-system

# The controller: informers (list, watch) on pools, ComputeNodes and Nodes, merge patches of pools,
# their status and Nodes, a live list of Nodes, events, and its one Lease.
for verb in list watch patch; do can "$controller" yes "$verb" computepools.zhisuan.io -A; done
for verb in get update; do can "$controller" no "$verb" computepools.zhisuan.io -n tenant-a; done
can "$controller" no update computepools.zhisuan.io --subresource=status -n tenant-a
can "$controller" yes patch computepools.zhisuan.io --subresource=status -n tenant-a
can "$controller" no get computepools.zhisuan.io --subresource=status -n tenant-a
can "$controller" no update computepools.zhisuan.io --subresource=finalizers -n tenant-a
for verb in list watch; do can "$controller" yes "$verb" computenodes.zhisuan.io; done
can "$controller" no get computenodes.zhisuan.io
for verb in list watch patch; do can "$controller" yes "$verb" nodes; done
can "$controller" no get nodes
can "$controller" no patch nodes --subresource=status
can "$controller" yes create events -n tenant-a
can "$controller" yes patch events -n tenant-a
can "$controller" no create events.events.k8s.io -n tenant-a
can "$controller" yes create leases.coordination.k8s.io -n zhisuan-system
for verb in get update; do
  can "$controller" yes "$verb" leases.coordination.k8s.io/zhisuan-controller -n zhisuan-system
  can "$controller" no "$verb" leases.coordination.k8s.io/kube-scheduler -n zhisuan-system
done
can "$controller" no delete leases.coordination.k8s.io -n zhisuan-system
can "$controller" no update leases.coordination.k8s.io -n kube-system
can "$controller" no get secrets -n zhisuan-system
can "$controller" no list secrets -A
can "$controller" no create computepools.zhisuan.io -n tenant-a
can "$controller" no delete computepools.zhisuan.io -n tenant-a
can "$controller" no create computenodes.zhisuan.io
can "$controller" no patch computenodes.zhisuan.io --subresource=status
can "$controller" no delete nodes
can "$controller" no update nodes
can "$controller" no create pods -n tenant-a
# Drains (issue 17): an informer on pods bound to nodes, and evictions; nothing else on pods.
for verb in list watch; do can "$controller" yes "$verb" pods -A; done
can "$controller" yes create pods --subresource=eviction -n tenant-a
for verb in get update patch delete; do can "$controller" no "$verb" pods -n tenant-a; done
can "$agent" no create pods --subresource=eviction -n tenant-a

for verb in get list watch create update patch delete; do can alice yes "$verb" computepools.zhisuan.io -n tenant-a; done
can alice yes get computepools.zhisuan.io --subresource=status -n tenant-a
can alice no update computepools.zhisuan.io --subresource=status -n tenant-a
can alice no patch computepools.zhisuan.io --subresource=status -n tenant-a
for verb in get list create delete; do can alice no "$verb" computepools.zhisuan.io -n tenant-b; done
can alice no list computepools.zhisuan.io -A
can alice no get nodes
can alice no patch nodes
can alice no get computenodes.zhisuan.io
can alice no patch computenodes.zhisuan.io
can alice no get secrets -n tenant-a

# --------------------------------------------------------- agent: own Node and ComputeNode only
for n in node-a node-b; do
  kubectl create -f - >/dev/null <<YAML
apiVersion: v1
kind: Node
metadata: {name: $n, labels: {zhisuan.io/accelerator-count: "8"}}
YAML
done
kubectl create -f - >/dev/null <<'YAML'
apiVersion: zhisuan.io/v1alpha1
kind: ComputeNode
metadata: {name: node-b}
YAML
# The agent's pod on node-a, as the DaemonSet controller and the scheduler would make it.
kubectl -n zhisuan-system create -f - >/dev/null <<'YAML'
apiVersion: v1
kind: Pod
metadata: {name: zhisuan-agent-on-node-a}
spec:
  nodeName: node-a
  serviceAccountName: zhisuan-agent
  containers: [{name: agent, image: ghcr.io/zhisuan/agent:0.1.0}]
YAML
server="$(kubectl config view --minify -o jsonpath='{.clusters[0].cluster.server}')"
ca="$(kubectl config view --minify -o jsonpath='{.clusters[0].cluster.certificate-authority}')"
bound_token="$(kubectl -n zhisuan-system create token zhisuan-agent --bound-object-kind Pod \
  --bound-object-name zhisuan-agent-on-node-a)"
unbound_token="$(kubectl -n zhisuan-system create token zhisuan-agent)"
as_agent() { kubectl --kubeconfig=/dev/null --server="$server" --certificate-authority="$ca" --token="$bound_token" "$@"; }
as_agent_unbound() { kubectl --kubeconfig=/dev/null --server="$server" --certificate-authority="$ca" --token="$unbound_token" "$@"; }
pki="$cluster_dir/plane/pki"
# api_patch agent|controller PATH merge|json BODY: one PATCH as the agent and the controller send
# it, without the GET kubectl patch makes first (neither may read nodes/status; the controller
# never GETs a Node). Prints the server's message when refused.
api_patch() {
  local who="$1" path="$2" type="$3" body="$4" auth out code
  case $who in
    agent) auth=(-H "Authorization: Bearer $bound_token") ;;
    controller) auth=(--cert "$pki/admin.crt" --key "$pki/admin.key" -H "Impersonate-User: $controller") ;;
  esac
  out="$(curl -sS --cacert "$ca" "${auth[@]}" -X PATCH -H "Content-Type: application/$type-patch+json" \
    --data-binary "$body" -w '\n%{http_code}' "$server$path")" || return 1
  code="${out##*$'\n'}"
  [[ "$code" == 2?? ]] && return 0
  python3 -c 'import json,sys; print(json.loads(sys.argv[1]).get("message"))' "${out%$'\n'*}"
  return 1
}

whoami="$(as_agent auth whoami -o jsonpath='{.status.userInfo.username} {.status.userInfo.extra.authentication\.kubernetes\.io/node-name}')"
[[ "$whoami" == "$agent [\"node-a\"]" ]] && pass "pod-bound token carries the node-name claim" || fail "whoami: $whoami"

# allowed|denied DESCRIPTION EXPECTED_MESSAGE COMMAND...
allowed() {
  local what="$1"; shift
  local out
  if out="$("$@" 2>&1)"; then pass "allowed: $what"; else fail "$what was refused: $out"; fi
}
denied() {
  local what="$1" want="$2"; shift 2
  local out
  if out="$("$@" 2>&1)"; then
    fail "$what was allowed"
  elif [[ "$out" != *"$want"* ]]; then
    fail "$what refused for another reason: $out"
  else
    pass "denied: $what"
  fi
}
allowed "agent labels its own node" as_agent label node node-a zhisuan.io/vendor=nvidia zhisuan.io/product=H100-SXM5
# ------------------------------------------- agent: only the fields it writes on its own Node
# Node addresses here are data only (no kubelet, nothing dials them): loopback, per the network rule.
# What the kubelet, the controller and an administrator put on node-a; the agent may change none of it.
kubectl label node node-a kubernetes.io/hostname=node-a example.com/rack=r1 >/dev/null
kubectl annotate node node-a example.com/owner=ops >/dev/null
kubectl taint node node-a example.com/maintenance=planned:NoSchedule >/dev/null
kubectl patch node node-a --subresource=status --type=merge -p '{"status":{
  "addresses":[{"type":"InternalIP","address":"127.0.0.11"}],
  "conditions":[{"type":"Ready","status":"True","reason":"KubeletReady","message":"ok",
    "lastHeartbeatTime":"2026-01-01T00:00:00Z","lastTransitionTime":"2026-01-01T00:00:00Z"}],
  "capacity":{"cpu":"64","memory":"512Gi","pods":"110"},
  "allocatable":{"cpu":"63","memory":"500Gi","pods":"110"}}}' >/dev/null
labels_msg="the zhisuan agent may change only its own labels"
denied "agent sets a node-restriction.kubernetes.io/ label" "$labels_msg" \
  as_agent label node node-a node-restriction.kubernetes.io/trusted=true
denied "agent sets a label outside its own" "$labels_msg" as_agent label node node-a example.com/gpu-ok=true
denied "agent changes another label" "$labels_msg" as_agent label node node-a example.com/rack=r2 --overwrite
denied "agent removes another label" "$labels_msg" as_agent label node node-a kubernetes.io/hostname-
denied "agent annotates its node" "may not change a node's annotations" \
  as_agent annotate node node-a example.com/owner=agent --overwrite
spec_msg="may not change a node's spec"
denied "agent removes a taint" "$spec_msg" as_agent taint node node-a example.com/maintenance-
denied "agent adds a taint" "$spec_msg" as_agent taint node node-a example.com/evil=x:NoExecute
denied "agent cordons its node (spec.unschedulable)" "$spec_msg" \
  as_agent patch node node-a --type=merge -p '{"spec":{"unschedulable":true}}'
denied "agent sets spec.providerID" "$spec_msg" \
  as_agent patch node node-a --type=merge -p '{"spec":{"providerID":"evil://x"}}'
status_msg="may not change a node's status other than extended resources"
denied "agent rewrites a status address" "$status_msg" api_patch agent /api/v1/nodes/node-a/status merge \
  '{"status":{"addresses":[{"type":"InternalIP","address":"127.0.0.66"}]}}'
denied "agent rewrites a status condition" "$status_msg" api_patch agent /api/v1/nodes/node-a/status merge \
  '{"status":{"conditions":[{"type":"Ready","status":"False","reason":"Evil","message":"x",
    "lastHeartbeatTime":"2026-01-01T00:00:00Z","lastTransitionTime":"2026-01-01T00:00:00Z"}]}}'
denied "agent changes cpu capacity" "may change only extended resources" api_patch agent /api/v1/nodes/node-a/status merge \
  '{"status":{"capacity":{"cpu":"1024"}}}'
denied "agent removes pods allocatable" "may change only extended resources" api_patch agent /api/v1/nodes/node-a/status json \
  '[{"op":"remove","path":"/status/allocatable/pods"}]'
denied "agent sets a kubernetes.io extended resource" "may change only extended resources" \
  api_patch agent /api/v1/nodes/node-a/status merge \
  '{"status":{"capacity":{"example.kubernetes.io/x":"1"}}}'
allowed "agent adds one of its labels" as_agent label node node-a zhisuan.io/architecture=hopper
allowed "agent removes one of its labels" as_agent label node node-a zhisuan.io/architecture-
allowed "agent applies its labels as the agent does (server-side apply, field manager zhisuan-agent)" \
  as_agent apply --server-side --field-manager=zhisuan-agent --force-conflicts -f - <<'YAML'
apiVersion: v1
kind: Node
metadata:
  name: node-a
  labels: {zhisuan.io/vendor: nvidia, zhisuan.io/product: H100-SXM5, zhisuan.io/accelerator-count: "8",
           zhisuan.io/accelerator-memory: 80Gi, zhisuan.io/architecture: hopper}
YAML
allowed "agent advertises extended resources as the agent does (JSON patch of nodes/status)" \
  api_patch agent /api/v1/nodes/node-a/status json '[
    {"op":"add","path":"/status/capacity/nvidia.com~1gpu","value":"8"},
    {"op":"add","path":"/status/allocatable/nvidia.com~1gpu","value":"7"}]'
[[ "$(kubectl get node node-a -o jsonpath='{.status.allocatable.nvidia\.com/gpu} {.status.addresses[0].address} {.spec.taints[0].key} {.metadata.labels.example\.com/rack}')" \
   == "7 127.0.0.11 example.com/maintenance r1" ]] || fail "node-a fields the agent may not write changed"
denied "agent labels another node" "may modify only its own Node and ComputeNode, not nodes node-b" \
  as_agent label node node-b zhisuan.io/vendor=nvidia
allowed "agent patches its own node's status" \
  api_patch agent /api/v1/nodes/node-a/status merge '{"status":{"capacity":{"zhisuan.io/test":"1"}}}'
denied "agent patches another node's status" "not nodes node-b" \
  api_patch agent /api/v1/nodes/node-b/status merge '{"status":{"capacity":{"zhisuan.io/test":"1"}}}'
denied "agent binds its own node to a pool (label)" "may not change a node's zhisuan.io/pool label" \
  as_agent label node node-a zhisuan.io/pool=tenant-a.p1
denied "agent taints its own node for a pool" "may not change a node's zhisuan.io/pool taint" \
  as_agent taint node node-a zhisuan.io/pool=tenant-a.p1:NoSchedule
allowed "agent creates its own ComputeNode" as_agent create -f - <<'YAML'
apiVersion: zhisuan.io/v1alpha1
kind: ComputeNode
metadata: {name: node-a}
YAML
denied "agent creates another node's ComputeNode" "not computenodes node-c" as_agent create -f - <<'YAML'
apiVersion: zhisuan.io/v1alpha1
kind: ComputeNode
metadata: {name: node-c}
YAML
allowed "agent writes its own ComputeNode status" \
  api_patch agent /apis/zhisuan.io/v1alpha1/computenodes/node-a/status merge '{"status":{"acceleratorCount":8}}'
denied "agent writes another ComputeNode's status" "not computenodes node-b" \
  api_patch agent /apis/zhisuan.io/v1alpha1/computenodes/node-b/status merge '{"status":{"acceleratorCount":8}}'
denied "agent without a pod-bound token" "must use a pod-bound service account token" \
  as_agent_unbound label node node-a zhisuan.io/vendor=amd --overwrite
denied "agent deletes its own node (RBAC)" "cannot delete resource \"nodes\"" as_agent delete node node-a
[[ "$(kubectl get node node-a -o jsonpath='{.metadata.labels.zhisuan\.io/vendor}')" == nvidia ]] || fail "node-a label not written"
[[ -z "$(kubectl get node node-b -o jsonpath='{.metadata.labels.zhisuan\.io/vendor}')" ]] || fail "node-b was labelled"

# ------------------------- pool binding: only the controller sets the zhisuan.io/pool label and taint
# The controller's identity and its calls (controller/plan_executor.cc): a live list of the pool's
# nodes, then one merge patch of the label and the whole taint list.
as_controller() { kubectl --as="$controller" "$@"; }
bind_patch() {  # bind_patch POOL_VALUE|null TAINTS_JSON
  echo "{\"metadata\":{\"labels\":{\"zhisuan.io/pool\":$1}},\"spec\":{\"taints\":$2}}"
}
allowed "controller lists a pool's nodes" as_controller get nodes -l zhisuan.io/pool=tenant-a.p1 -o name
denied "controller reads a node (it never GETs one)" "cannot get resource \"nodes\"" as_controller get node node-b
allowed "controller binds a node (label and taint, one merge patch)" api_patch controller /api/v1/nodes/node-b merge \
  "$(bind_patch '"tenant-a.p1"' '[{"key":"zhisuan.io/pool","value":"tenant-a.p1","effect":"NoSchedule"}]')"
allowed "controller binds node-a (keeping its other taint)" api_patch controller /api/v1/nodes/node-a merge \
  "$(bind_patch '"tenant-a.p1"' '[{"key":"example.com/maintenance","value":"planned","effect":"NoSchedule"},{"key":"zhisuan.io/pool","value":"tenant-a.p1","effect":"NoSchedule"}]')"
# A kubelet's own identity: client certificate CN system:node:node-b, O system:nodes, with the
# kubelet's bootstrap role (this API server runs RBAC only, so the Node authorizer's grants are
# given by binding system:node; NodeRestriction would still allow these label writes).
bash "$ZHISUAN_SOURCE_DIR/tests/harness/pki.sh" user "$pki" system:node:node-b system:nodes
kubectl create clusterrolebinding node-b-kubelet --clusterrole=system:node --user=system:node:node-b >/dev/null
as_node() {
  kubectl --kubeconfig=/dev/null --server="$server" --certificate-authority="$ca" \
    --client-certificate="$pki/users/system:node:node-b.crt" --client-key="$pki/users/system:node:node-b.key" "$@"
}
[[ "$(as_node auth whoami -o jsonpath='{.status.userInfo.username} {.status.userInfo.groups}')" == *"system:node:node-b"*"system:nodes"* ]] \
  && pass "node identity minted" || fail "node identity: $(as_node auth whoami 2>&1)"
# A tenant who was given node write access (RBAC grants nodes; only admission protects the pool).
kubectl create clusterrole node-writer --verb=get,patch,update,create --resource=nodes,nodes/status >/dev/null
kubectl create clusterrolebinding alice-node-writer --clusterrole=node-writer --user=alice >/dev/null
# kubectl reads nodes/status before patching it (a kubelet patches without reading).
kubectl create clusterrolebinding node-b-writer --clusterrole=node-writer --user=system:node:node-b >/dev/null
as_tenant() { kubectl --as=alice "$@"; }
label_msg="may not change a node's zhisuan.io/pool label"
taint_msg="may not change a node's zhisuan.io/pool taint"
allowed "node sets its own ordinary label" as_node label node node-b example.com/rack=r7
allowed "node updates its own status" as_node patch node node-b --subresource=status --type=merge \
  -p '{"status":{"addresses":[{"type":"InternalIP","address":"127.0.0.12"}]}}'
for who in node tenant admin agent; do
  case $who in
    node) run=as_node node=node-b ;;
    tenant) run=as_tenant node=node-b ;;
    admin) run=kubectl node=node-b ;;
    agent) run=as_agent node=node-a ;;
  esac
  denied "$who moves a node to another pool (label)" "$label_msg" \
    $run label node "$node" zhisuan.io/pool=tenant-b.p2 --overwrite
  denied "$who unbinds a node (label)" "$label_msg" $run label node "$node" zhisuan.io/pool-
  denied "$who adds a pool taint" "$taint_msg" $run taint node "$node" zhisuan.io/pool=tenant-b.p2:NoExecute
done
denied "node unbinds itself (taint)" "$taint_msg" as_node taint node node-b zhisuan.io/pool-
denied "tenant unbinds a node (taint)" "$taint_msg" as_tenant taint node node-b zhisuan.io/pool-
denied "node changes its pool label through nodes/status" "$label_msg" as_node patch node node-b \
  --subresource=status --type=merge -p '{"metadata":{"labels":{"zhisuan.io/pool":"tenant-b.p2"}}}'
denied "node registers with a pool label" "$label_msg" as_node create -f - <<'YAML'
apiVersion: v1
kind: Node
metadata: {name: node-c, labels: {zhisuan.io/pool: tenant-a.p1}}
YAML
denied "node registers with a pool taint" "$taint_msg" as_node create -f - <<'YAML'
apiVersion: v1
kind: Node
metadata: {name: node-c}
spec: {taints: [{key: zhisuan.io/pool, value: tenant-a.p1, effect: NoSchedule}]}
YAML
allowed "node registers without the pool binding" as_node create -f - <<'YAML'
apiVersion: v1
kind: Node
metadata: {name: node-c, labels: {example.com/rack: r7}}
YAML
denied "tenant labels an unbound node into its pool" "$label_msg" as_tenant label node node-c zhisuan.io/pool=tenant-a.p1
[[ "$(kubectl get node node-b -o jsonpath='{.metadata.labels.zhisuan\.io/pool} {.spec.taints[*].value}')" \
   == "tenant-a.p1 tenant-a.p1" ]] || fail "node-b's pool binding changed"
allowed "controller unbinds a node" api_patch controller /api/v1/nodes/node-b merge "$(bind_patch null '[]')"
[[ -z "$(kubectl get node node-b -o jsonpath='{.metadata.labels.zhisuan\.io/pool}{.spec.taints}')" ]] \
  || fail "node-b still bound after the controller unbound it"
[[ "$(kubectl get node node-a -o jsonpath='{.metadata.labels.zhisuan\.io/pool} {.spec.taints[?(@.key=="zhisuan.io/pool")].value}')" \
   == "tenant-a.p1 tenant-a.p1" ]] || fail "node-a's pool binding changed"

# ------------------------------------------------- pool tolerations from the pool's namespace
long_ns="tenant-with-a-rather-long-namespace-name-for-hashing-x"   # 54 characters
other_long_ns="tenant-with-a-rather-long-namespace-name-for-hashing-y"
for ns in "$long_ns" "$other_long_ns"; do kubectl create namespace "$ns" >/dev/null; done
kubectl create namespace kube-system >/dev/null 2>&1 || true
for ns in tenant-a tenant-b kube-system "$long_ns" "$other_long_ns"; do kubectl -n "$ns" create serviceaccount default >/dev/null 2>&1 || true; done
# api::PoolBindingValue (api/meta.cc): "<ns>.<name>", or when longer than 63 characters its first
# 46 characters, trailing non-alphanumerics trimmed, "-", and the 16-hex-digit FNV-1a hash.
binding_value() {
  python3 - "$1" "$2" <<'PY'
import sys
v = f"{sys.argv[1]}.{sys.argv[2]}"
if len(v) > 63:
    h = 1469598103934665603
    for b in v.encode():
        h = ((h ^ b) * 1099511628211) % 2**64
    p = v[:46]
    while p and not p[-1].isalnum():
        p = p[:-1]
    v = f"{p}-{h:016x}"
print(v)
PY
}
long_value="$(binding_value "$long_ns" training-run-2026)"
[[ ${#long_value} -le 63 && "$long_value" =~ -[0-9a-f]{16}$ ]] || fail "hashed binding value $long_value"

# pod NAMESPACE NAME TOLERATION_JSON: create a pod with that toleration.
pod() {
  kubectl -n "$1" create -o name -f - <<YAML
apiVersion: v1
kind: Pod
metadata: {name: $2}
spec:
  containers: [{name: c, image: registry.example/trainer:1}]
  tolerations: [$3]
YAML
}
msg="may tolerate the zhisuan.io/pool taint only with operator Equal and the value of one of their own pools"
allowed "tenant-a pod tolerates tenant-a's pool" pod tenant-a own '{"key":"zhisuan.io/pool","operator":"Equal","value":"tenant-a.p1","effect":"NoSchedule"}'
allowed "toleration with the default operator" pod tenant-a own-default-op '{"key":"zhisuan.io/pool","value":"tenant-a.p1","effect":"NoSchedule"}'
denied "tenant-b pod tolerates tenant-a's pool" "pods in namespace tenant-b $msg" \
  pod tenant-b steal '{"key":"zhisuan.io/pool","operator":"Equal","value":"tenant-a.p1","effect":"NoSchedule"}'
denied "a namespace that only prefixes another's name" "pods in namespace tenant-a $msg" \
  pod tenant-a prefix '{"key":"zhisuan.io/pool","operator":"Equal","value":"tenant-ab.p1","effect":"NoSchedule"}'
denied "tolerating every pool (Exists on the pool key)" "$msg" \
  pod tenant-a every-pool '{"key":"zhisuan.io/pool","operator":"Exists"}'
denied "wildcard toleration" "may not use a wildcard toleration" pod tenant-b wildcard '{"operator":"Exists"}'
allowed "pods without pool tolerations" pod tenant-b ordinary '{"key":"node.kubernetes.io/not-ready","operator":"Exists","effect":"NoExecute"}'
allowed "exempt namespace (kube-system) may use a wildcard" pod kube-system daemon '{"operator":"Exists"}'
allowed "long namespace tolerates its own hashed pool value" pod "$long_ns" own "{\"key\":\"zhisuan.io/pool\",\"value\":\"$long_value\"}"
denied "long namespace tolerates another namespace's hashed value" "$msg" \
  pod "$long_ns" steal "{\"key\":\"zhisuan.io/pool\",\"value\":\"$(binding_value tenant-a "$(printf 'p%.0s' {1..60})")\"}"
denied "a shorter prefix of a long namespace with a hash" "$msg" \
  pod "$long_ns" short "{\"key\":\"zhisuan.io/pool\",\"value\":\"tenant-0123456789abcdef\"}"
allowed "the other long namespace, with the same first 46 characters (documented limit)" \
  pod "$other_long_ns" same-prefix "{\"key\":\"zhisuan.io/pool\",\"value\":\"$long_value\"}"
# Issue 17, as the tenants themselves: bob may create pods in tenant-b, alice in tenant-a (a Role
# of their own: the built-in edit role is filled by kube-controller-manager's aggregation, which
# this control plane does not run). node-a is tenant-a.p1's.
for pair in tenant-b:bob tenant-a:alice; do
  kubectl -n "${pair%%:*}" create role pod-writer --verb=create,get,patch --resource=pods >/dev/null
  kubectl -n "${pair%%:*}" create rolebinding "${pair##*:}-pods" --role=pod-writer --user="${pair##*:}" >/dev/null
done
# podas USER NAMESPACE NAME NODE_NAME TOLERATIONS_JSON
podas() {
  kubectl --as="$1" -n "$2" create -o name -f - <<YAML
apiVersion: v1
kind: Pod
metadata: {name: $3}
spec:
  ${4:+nodeName: $4}
  containers: [{name: c, image: registry.example/trainer:1}]
  tolerations: [$5]
YAML
}
denied "bob (tenant-b) forges tenant-a's toleration, named by its index" \
  "spec.tolerations[1]: pods in namespace tenant-b $msg" \
  podas bob tenant-b forged "" '{"key":"example.com/gpu","operator":"Exists"},{"key":"zhisuan.io/pool","value":"tenant-a.p1","effect":"NoExecute"}'
denied "bob tolerates every pool" "spec.tolerations[0]" \
  podas bob tenant-b every "" '{"key":"zhisuan.io/pool","operator":"Exists","effect":"NoExecute"}'
denied "bob tolerates everything" "spec.tolerations[0]: pods in namespace tenant-b may not use a wildcard" \
  podas bob tenant-b wildcard-bob "" '{"operator":"Exists"}'
denied "bob forges it on node-a directly (spec.nodeName)" "spec.tolerations[0]" \
  podas bob tenant-b forged-direct node-a '{"key":"zhisuan.io/pool","value":"tenant-a.p1","effect":"NoExecute"}'
# No toleration: the API server has nothing to refuse. The NoExecute pool taint makes node-a's
# kubelet reject it at admission (TaintToleration), which a suite with a real kubelet checks.
allowed "bob's pod naming node-a without a toleration reaches the API server" \
  podas bob tenant-b direct node-a ""
allowed "alice (tenant-a) copies her pool's toleration from status.scheduling" \
  podas alice tenant-a copied node-a '{"key":"zhisuan.io/pool","operator":"Equal","value":"tenant-a.p1","effect":"NoExecute"}'
# The agent's pods, as its DaemonSet makes them: the release namespace is exempt, so the chart's
# tolerations (every NoSchedule taint, the pool key with any effect) pass.
allowed "the agent's DaemonSet pod tolerates every pool" kubectl -n zhisuan-system create -o name -f - <<'YAML'
apiVersion: v1
kind: Pod
metadata: {name: zhisuan-agent-tolerations}
spec:
  serviceAccountName: zhisuan-agent
  nodeName: node-a
  containers: [{name: agent, image: registry.example/zhisuan-agent:1}]
  tolerations: [{operator: Exists, effect: NoSchedule}, {key: zhisuan.io/pool, operator: Exists}]
YAML
# Tolerations may be added to a running pod: updates are checked too.
denied "adding another tenant's toleration to a running pod" "pods in namespace tenant-b $msg" \
  kubectl -n tenant-b patch pod ordinary --type=json \
  -p '[{"op":"add","path":"/spec/tolerations/-","value":{"key":"zhisuan.io/pool","operator":"Equal","value":"tenant-a.p1","effect":"NoSchedule"}}]'
# ------------------------------- DRA (dra.enabled): the agent writes only its own node's slices
# Off (the default): no DRA rights at all.
can "$agent" no create resourceslices.resource.k8s.io
can "$controller" no create resourceclaimtemplates.resource.k8s.io -n tenant-a
helm upgrade zhisuan "$CHART" --namespace zhisuan-system --reuse-values --set dra.enabled=true >/dev/null
for verb in get list watch create update delete; do can "$agent" yes "$verb" resourceslices.resource.k8s.io; done
can "$agent" no patch resourceslices.resource.k8s.io
can "$agent" no deletecollection resourceslices.resource.k8s.io
for verb in list watch; do can "$agent" yes "$verb" nodes; done
can "$agent" no create resourceclaims.resource.k8s.io -n tenant-a
for verb in get list watch create delete; do can "$controller" yes "$verb" resourceclaimtemplates.resource.k8s.io -n tenant-a; done
for verb in update patch deletecollection; do can "$controller" no "$verb" resourceclaimtemplates.resource.k8s.io -n tenant-a; done
can "$controller" no create resourceslices.resource.k8s.io
can alice no create resourceslices.resource.k8s.io
[[ "$(kubectl get deviceclass -o name | wc -l)" -ge 14 ]] && pass "DeviceClasses installed" || fail "DeviceClasses: $(kubectl get deviceclass -o name)"
# slice NAME NODE [DRIVER]: a one-device slice as the agent writes it.
slice() {
  cat <<YAML
apiVersion: resource.k8s.io/v1
kind: ResourceSlice
metadata: {name: $1}
spec:
  driver: ${3:-accelerators.zhisuan.io}
  nodeName: $2
  pool: {name: $2, generation: 1, resourceSliceCount: 1}
  devices:
    - name: pci-0000-17-00-0
      attributes:
        vendor: {string: nvidia}
        carbonFreePermille: {int: 1000}
YAML
}
# The policy reaches every API server cache within a second or two: retry the first write.
for _ in $(seq 30); do
  out="$(slice node-b-zhisuan-0 node-b | as_agent create -f - 2>&1)" && break
  [[ "$out" == *"may write only ResourceSlices"* ]] && break
  sleep 0.5
done
slices_msg="may write only ResourceSlices of driver accelerators.zhisuan.io with spec.nodeName and spec.pool.name node-a"
[[ "$out" == *"$slices_msg"* ]] && pass "denied: agent creates another node's slice" \
  || fail "agent creating node-b's slice: $out"
allowed "agent creates its own node's slice" as_agent create -f - <<<"$(slice node-a-zhisuan-0 node-a)"
allowed "agent updates its own node's slice" as_agent replace -f - <<<"$(slice node-a-zhisuan-0 node-a | sed 's/generation: 1/generation: 2/')"
# (spec.nodeName and spec.pool.name are immutable: the API server refuses moving a slice.)
denied "agent creates a slice of its node in another node's pool" "$slices_msg" \
  as_agent create -f - <<<"$(slice node-a-zhisuan-2 node-a | sed 's/pool: {name: node-a/pool: {name: node-b/')"
denied "agent writes another driver's slice" "$slices_msg" \
  as_agent create -f - <<<"$(slice node-a-gpu node-a gpu.nvidia.com)"
denied "agent writes its node's slice with an unbound token" "must use a pod-bound service account token" \
  as_agent_unbound create -f - <<<"$(slice node-a-zhisuan-1 node-a)"
# node-b's slice, written by the agent on node-b (nobody else may write one).
kubectl -n zhisuan-system create -f - >/dev/null <<'YAML'
apiVersion: v1
kind: Pod
metadata: {name: zhisuan-agent-on-node-b}
spec:
  nodeName: node-b
  serviceAccountName: zhisuan-agent
  containers: [{name: agent, image: ghcr.io/zhisuan/agent:0.1.0}]
YAML
node_b_token="$(kubectl -n zhisuan-system create token zhisuan-agent --bound-object-kind Pod \
  --bound-object-name zhisuan-agent-on-node-b)"
as_agent_b() { kubectl --kubeconfig=/dev/null --server="$server" --certificate-authority="$ca" --token="$node_b_token" "$@"; }
allowed "the agent on node-b creates node-b's slice" as_agent_b create -f - <<<"$(slice node-b-zhisuan-0 node-b)"
kubectl create clusterrole slice-writer --verb=get,list,create,update,delete --resource=resourceslices.resource.k8s.io >/dev/null
kubectl create clusterrolebinding alice-slice-writer --clusterrole=slice-writer --user=alice >/dev/null
kubectl create clusterrolebinding node-b-slice-writer --clusterrole=slice-writer --user=system:node:node-b >/dev/null
denied "agent updates another node's slice" "the zhisuan agent on node node-a may" \
  as_agent replace -f - <<<"$(slice node-b-zhisuan-0 node-b | sed 's/carbonFreePermille: {int: 1000}/carbonFreePermille: {int: 0}/')"
denied "agent deletes another node's slice" "may not modify or delete the ResourceSlice node-b-zhisuan-0 of another node" \
  as_agent delete resourceslice node-b-zhisuan-0
forge_msg="may not write ResourceSlices of the driver accelerators.zhisuan.io: only the zhisuan agent"
denied "node-b's kubelet forges its own node's Zhisuan slice" "$forge_msg" \
  as_node create -f - <<<"$(slice node-b-zhisuan-1 node-b)"
denied "node-b's kubelet rewrites the agent's slice" "$forge_msg" \
  as_node replace -f - <<<"$(slice node-b-zhisuan-0 node-b)"
denied "a tenant with RBAC on slices forges one" "$forge_msg" \
  as_tenant create -f - <<<"$(slice node-a-zhisuan-9 node-a)"
allowed "another driver's slice is not the policy's business" \
  as_tenant create -f - <<<"$(slice node-b-gpu node-b gpu.nvidia.com)"
allowed "the agent deletes its own node's slice" as_agent delete resourceslice node-a-zhisuan-0
allowed "others may delete (garbage collection, a kubelet's start-up)" as_node delete resourceslice node-b-zhisuan-0
finish
