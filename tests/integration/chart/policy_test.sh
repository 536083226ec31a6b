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
for verb in get list watch patch; do can "$agent" yes "$verb" nodes; done
can "$agent" yes get nodes --subresource=status
can "$agent" yes patch nodes --subresource=status
can "$agent" no update nodes --subresource=status
for verb in get create patch; do can "$agent" yes "$verb" computenodes.zhisuan.io; done
can "$agent" yes patch computenodes.zhisuan.io --subresource=status
can "$agent" yes create events -n default
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

for verb in get list watch update patch; do can "$controller" yes "$verb" computepools.zhisuan.io -A; done
can "$controller" yes update computepools.zhisuan.io --subresource=status -n tenant-a
can "$controller" yes patch computepools.zhisuan.io --subresource=status -n tenant-a
can "$controller" yes update computepools.zhisuan.io --subresource=finalizers -n tenant-a
for verb in get list watch; do can "$controller" yes "$verb" computenodes.zhisuan.io; done
for verb in get list watch patch; do can "$controller" yes "$verb" nodes; done
can "$controller" yes create events -n tenant-a
for verb in get create update; do can "$controller" yes "$verb" leases.coordination.k8s.io -n zhisuan-system; done
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
denied "agent labels another node" "may modify only its own Node and ComputeNode, not nodes node-b" \
  as_agent label node node-b zhisuan.io/vendor=nvidia
allowed "agent patches its own node's status" \
  as_agent patch node node-a --subresource=status --type=merge -p '{"status":{"capacity":{"zhisuan.io/test":"1"}}}'
denied "agent patches another node's status" "not nodes node-b" \
  as_agent patch node node-b --subresource=status --type=merge -p '{"status":{"capacity":{"zhisuan.io/test":"1"}}}'
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
  as_agent patch computenode node-a --subresource=status --type=merge -p '{"status":{"acceleratorCount":8}}'
denied "agent writes another ComputeNode's status" "not computenodes node-b" \
  as_agent patch computenode node-b --subresource=status --type=merge -p '{"status":{"acceleratorCount":8}}'
denied "agent without a pod-bound token" "must use a pod-bound service account token" \
  as_agent_unbound label node node-a zhisuan.io/vendor=amd --overwrite
denied "agent deletes its own node (RBAC)" "cannot delete resource \"nodes\"" as_agent delete node node-a
[[ "$(kubectl get node node-a -o jsonpath='{.metadata.labels.zhisuan\.io/vendor}')" == nvidia ]] || fail "node-a label not written"
[[ -z "$(kubectl get node node-b -o jsonpath='{.metadata.labels.zhisuan\.io/vendor}')" ]] || fail "node-b was labelled"
# The admin (standing in for the controller) may still bind nodes.
allowed "controller-side binding is not affected" kubectl label node node-b zhisuan.io/pool=tenant-a.p1

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
# Tolerations may be added to a running pod: updates are checked too.
denied "adding another tenant's toleration to a running pod" "pods in namespace tenant-b $msg" \
  kubectl -n tenant-b patch pod ordinary --type=json \
  -p '[{"op":"add","path":"/spec/tolerations/-","value":{"key":"zhisuan.io/pool","operator":"Equal","value":"tenant-a.p1","effect":"NoSchedule"}}]'
finish
