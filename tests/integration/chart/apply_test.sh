#!/usr/bin/env bash
# Against a real kube-apiserver: every ci values file and manifests/install.yaml pass
# `kubectl apply --dry-run=server`; the samples are valid ComputePools; a real `helm install`
# creates the objects the chart promises; `helm upgrade` and `helm uninstall` work.
set -euo pipefail
source "$(dirname "$0")/common.sh"
source "$(dirname "$0")/cluster.sh"
here="$(cd "$(dirname "$0")" && pwd)"

kubectl apply --server-side -f "$CHART/crds/" -f "$here/monitoring-crds.yaml" >/dev/null
wait_for_crds computepools.zhisuan.io computenodes.zhisuan.io \
  servicemonitors.monitoring.coreos.com prometheusrules.monitoring.coreos.com
kubectl create namespace zhisuan-system >/dev/null

for f in default "$CHART"/ci/*-values.yaml; do
  args=()
  [[ "$f" == default ]] || args=(-f "$f")
  label="$(basename "$f")"
  if out="$(helm template zhisuan "$CHART" --namespace zhisuan-system --kube-version "$KUBE_VERSION" "${args[@]}" |
      kubectl apply --dry-run=server -f - 2>&1)"; then
    pass "server dry-run ($label): $(grep -c 'server dry run' <<<"$out") objects"
  else
    fail "server dry-run ($label): $out"
  fi
done
if out="$(kubectl apply --dry-run=server -f "$ZHISUAN_SOURCE_DIR/manifests/install.yaml" 2>&1)"; then
  pass "server dry-run (manifests/install.yaml)"
else
  fail "server dry-run (manifests/install.yaml): $out"
fi

# The samples are real, valid ComputePools.
for ns in tenant-a tenant-b tenant-c; do kubectl create namespace "$ns" >/dev/null; done
for sample in "$ZHISUAN_SOURCE_DIR"/manifests/samples/*.yaml; do
  if out="$(kubectl create -f "$sample" 2>&1)"; then pass "sample $(basename "$sample")"; else fail "sample $(basename "$sample"): $out"; fi
done
[[ "$(kubectl -n tenant-a get computepool llm-pretraining -o jsonpath='{.spec.capacity.flops} {.spec.capacity.precision} {.spec.carbon.minCarbonFreeRatio}')" == "20P bf16 1" ]] ||
  fail "zero-carbon sample reads back differently"
[[ "$(kubectl -n tenant-b get computepool ascend-finetune -o jsonpath='{.spec.capacity.accelerators} {.spec.accelerator.vendor} {.spec.allocation}')" == "16 huawei AllOrNothing" ]] ||
  fail "Ascend sample reads back differently (defaults not applied?)"

# A real install. No kubelet runs, so pods never start: --wait is not used, the objects are checked.
if out="$(helm install zhisuan "$CHART" --namespace zhisuan-system -f "$CHART/ci/multi-energy-zones-values.yaml" 2>&1)"; then
  pass "helm install"
else
  fail "helm install: $out"
fi
[[ "$out" == *"kubectl -n zhisuan-system rollout status deployment/zhisuan-controller"* ]] || fail "NOTES.txt not shown: $out"
jp() { kubectl "$@" 2>&1; }
[[ "$(jp -n zhisuan-system get deployment zhisuan-controller -o jsonpath='{.spec.replicas}')" == 2 ]] || fail "controller Deployment replicas"
[[ "$(jp -n zhisuan-system get daemonsets -l app.kubernetes.io/component=agent -o name | sort | tr '\n' ' ')" == \
   "daemonset.apps/zhisuan-agent daemonset.apps/zhisuan-agent-inner-mongolia-wind daemonset.apps/zhisuan-agent-qinghai-solar daemonset.apps/zhisuan-agent-sichuan-hydro " ]] ||
  fail "agent DaemonSets: $(jp -n zhisuan-system get daemonsets -o name)"
[[ "$(jp -n zhisuan-system get configmap zhisuan-energy-profiles -o jsonpath='{.data.qinghai-solar\.yaml}')" == *"carbonFreeRatio: 1"* ]] ||
  fail "energy profile ConfigMap"
for obj in clusterrole/zhisuan-controller clusterrole/zhisuan-agent clusterrole/zhisuan-tenant clusterrole/zhisuan-tenant-view \
    clusterrolebinding/zhisuan-controller clusterrolebinding/zhisuan-agent \
    validatingadmissionpolicy/zhisuan-agent-own-node validatingadmissionpolicy/zhisuan-pool-toleration \
    validatingadmissionpolicybinding/zhisuan-agent-own-node validatingadmissionpolicybinding/zhisuan-pool-toleration \
    validatingadmissionpolicy/zhisuan-pool-binding validatingadmissionpolicybinding/zhisuan-pool-binding; do
  kubectl get "$obj" >/dev/null 2>&1 && pass "created $obj" || fail "helm install did not create $obj"
done
for obj in role/zhisuan-controller-leader-election rolebinding/zhisuan-controller-leader-election \
    serviceaccount/zhisuan-controller serviceaccount/zhisuan-agent service/zhisuan-controller-metrics service/zhisuan-agent-metrics; do
  kubectl -n zhisuan-system get "$obj" >/dev/null 2>&1 && pass "created $obj" || fail "helm install did not create $obj"
done
# No kube-controller-manager runs here, so neither the policies' type-checking status nor the
# aggregation of the tenant role into admin/edit can be observed; policy_test.sh exercises the
# policies and the tenant role directly, render_checks.py the aggregation labels.

# Upgrade to one controller without leader election, then uninstall.
if out="$(helm upgrade zhisuan "$CHART" --namespace zhisuan-system -f "$CHART/ci/minimal-values.yaml" 2>&1)"; then
  [[ "$(jp -n zhisuan-system get deployment zhisuan-controller -o jsonpath='{.spec.replicas}')" == 1 ]] || fail "upgrade: replicas"
  kubectl -n zhisuan-system get role zhisuan-controller-leader-election >/dev/null 2>&1 &&
    fail "upgrade: leader-election Role kept" || pass "helm upgrade"
else
  fail "helm upgrade: $out"
fi
# The post-delete cleanup (templates/uninstall-cleanup.yaml) is registered with the release; no
# kubelet runs here to run its Job, so uninstall skips hooks (--no-hooks) rather than wait for it
# until the timeout. tests/integration/controller/uninstall_cleanup_test.cc runs the cleanup itself,
# tests/integration/cluster/e2e_test.sh the hook on a real kubelet.
hooks="$(helm get hooks zhisuan --namespace zhisuan-system 2>&1)"
[[ $hooks == *"kind: Job"* && $hooks == *"--uninstall-cleanup"* && $hooks == *"helm.sh/hook: post-delete"* ]] &&
  pass "post-delete cleanup hook registered" || fail "post-delete cleanup hook missing: $hooks"
if out="$(helm uninstall zhisuan --namespace zhisuan-system --no-hooks 2>&1)"; then
  left="$(kubectl get clusterrole,validatingadmissionpolicy -l app.kubernetes.io/instance=zhisuan -o name)"
  left+="$(kubectl -n zhisuan-system get jobs,serviceaccounts -l app.kubernetes.io/component=uninstall-cleanup -o name)"
  [[ -z "$left" ]] && pass "helm uninstall" || fail "helm uninstall left $left"
  kubectl get crd computepools.zhisuan.io >/dev/null && pass "CRDs kept after uninstall" || fail "CRDs removed by uninstall"
else
  fail "helm uninstall: $out"
fi
finish
