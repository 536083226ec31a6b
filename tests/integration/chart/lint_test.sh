#!/usr/bin/env bash
# helm lint with default values and every ci/*-values.yaml; the schema and the `fail` checks reject
# bad values with the expected message; the rendered objects have the properties the chart
# promises (checked by render_checks.py on the parsed YAML).
set -euo pipefail
source "$(dirname "$0")/common.sh"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

values_files=("$CHART"/ci/*-values.yaml)
((${#values_files[@]} >= 4)) || fail "expected at least 4 ci values files, found ${#values_files[@]}"

if helm lint --strict "$CHART" --kube-version "$KUBE_VERSION" >"$work/lint.log" 2>&1; then
  pass "helm lint --strict (default values)"
else
  fail "helm lint --strict (default values): $(cat "$work/lint.log")"
fi
for f in "${values_files[@]}"; do
  if helm lint --strict "$CHART" --kube-version "$KUBE_VERSION" -f "$f" >"$work/lint.log" 2>&1; then
    pass "helm lint --strict -f $(basename "$f")"
  else
    fail "helm lint -f $(basename "$f"): $(cat "$work/lint.log")"
  fi
done

if python3 "$(dirname "$0")/values_comments.py" "$CHART/values.yaml"; then
  pass "every value in values.yaml has a comment starting with its name"
else
  fail "values.yaml comments"
fi

# Contradictory values: `fail` in templates/_helpers.tpl.
expect_render_error "replicas > 1 without leader election" \
  "controller.replicas is 3 but controller.leaderElection.enabled is false" \
  --set controller.replicas=3 --set controller.leaderElection.enabled=false
expect_render_error "device-plugin without a directory" \
  "agent.advertise is device-plugin but agent.devicePluginDir is empty" \
  --set agent.advertise=device-plugin --set agent.devicePluginDir=
expect_render_error "carbon-free ratio above 1 (schema)" \
  "/agent/energyProfile/carbonFreeRatio': maximum: got 1.5, want 1" \
  --set-json 'agent.energyProfile={"source":"hydro","carbonFreeRatio":1.5}'
expect_render_error "carbon-free ratio below 0 in a node group (schema)" \
  "carbonFreeRatio': minimum: got -0.2, want 0" \
  --set-json 'agent.energyProfiles=[{"name":"a","nodeSelector":{"site":"a"},"source":"wind","carbonFreeRatio":-0.2}]'
expect_render_error "carbon-free ratio above 1 with the schema skipped (template check)" \
  'energy profile "default": carbonFreeRatio 1.5 is outside 0..1' \
  --skip-schema-validation --set-json 'agent.energyProfile={"source":"hydro","carbonFreeRatio":1.5}'
expect_render_error "zero-carbon with a carbon intensity" \
  'energy profile "hydro": carbonFreeRatio is 1 (zero-carbon) but carbonIntensity is 40' \
  --set-json 'agent.energyProfiles=[{"name":"hydro","nodeSelector":{"site":"a"},"source":"hydro","carbonFreeRatio":1,"carbonIntensity":40}]'
expect_render_error "energy profiles on different label keys" \
  'nodeSelector uses label "zone" but another profile uses "site"' \
  --set-json 'agent.energyProfiles=[{"name":"a","nodeSelector":{"site":"a"},"source":"hydro"},{"name":"b","nodeSelector":{"zone":"b"},"source":"wind"}]'
expect_render_error "two energy profiles for the same nodes" \
  "two profiles select site=a" \
  --set-json 'agent.energyProfiles=[{"name":"a","nodeSelector":{"site":"a"},"source":"hydro"},{"name":"b","nodeSelector":{"site":"a"},"source":"wind"}]'
expect_render_error "energy profile selecting on two labels (schema)" \
  "maxProperties" \
  --set-json 'agent.energyProfiles=[{"name":"a","nodeSelector":{"site":"a","rack":"1"},"source":"hydro"}]'
expect_render_error "alerts without scraping" \
  "monitoring.prometheusRule.enabled is true but monitoring.serviceMonitor.enabled is false" \
  --set monitoring.prometheusRule.enabled=true
# The schema: unknown keys, wrong enums and types.
expect_render_error "unknown value" "additional properties 'replica' not allowed" --set controller.replica=2
expect_render_error "unknown advertise mode" "/agent/advertise" --set agent.advertise=cdi
expect_render_error "unknown device access" "/agent/deviceAccess" --set agent.deviceAccess=hostdev
expect_render_error "port out of range" "/agent/metricsPort" --set agent.metricsPort=70000
expect_render_error "bad image digest" "/controller/image/digest" --set controller.image.digest=latest
expect_render_error "profile source not label-safe" "/agent/energyProfile/source" --set agent.energyProfile.source=Hydro

expect_render_error "unknown FLOPS measure endpoint mode" "/agent/flopsMeasureEndpoint" \
  --set agent.flopsMeasureEndpoint=open
expect_render_error "relative pod-resources directory" "/agent/podResourcesDir" \
  --set agent.podResourcesDir=kubelet/pod-resources
expect_render_error "DRA kubelet plugin without ResourceSlices" \
  "dra.kubeletPlugin is true but dra.enabled is false" --set dra.kubeletPlugin=true
expect_render_error "relative CDI directory" "/dra/cdiDir" \
  --set dra.enabled=true --set dra.kubeletPlugin=true --set dra.cdiDir=run/cdi
# /metrics security and the NetworkPolicy (issue 17 §4).
expect_render_error "metrics TLS without a Secret" \
  "metrics.tls.enabled is true but metrics.tls.secretName is empty" --set metrics.tls.enabled=true
expect_render_error "a client CA without TLS" \
  "metrics.tls.clientCaKey is set but metrics.tls.enabled is false" --set metrics.tls.clientCaKey=ca.crt
expect_render_error "unknown metrics auth mode" "/metrics/auth" --set metrics.auth=token
expect_render_error "a NetworkPolicy that admits everyone" \
  "networkPolicy.enabled is true but networkPolicy.metricsFrom is empty" --set-json 'networkPolicy.metricsFrom=[]'

# monitoring.prometheusRule.recordingRules=false leaves the accounting rules (issue 18) out of the
# PrometheusRule and keeps the alerts.
if out="$(helm template t "$CHART" --kube-version "$KUBE_VERSION" -f "$CHART/ci/monitoring-on-values.yaml" \
    --set monitoring.prometheusRule.recordingRules=false --show-only templates/monitoring.yaml 2>&1)" &&
  [[ $out == *"alert: AgentDown"* && $out != *"record:"* ]]; then
  pass "monitoring.prometheusRule.recordingRules=false renders the alerts only"
else
  fail "monitoring.prometheusRule.recordingRules=false: $out"
fi

# The rendered objects, parsed; flops-measure-endpoint is the default values with POST
# /flops/measure enabled (agent.flopsMeasureEndpoint=authenticated).
for f in default flops-measure-endpoint "${values_files[@]}"; do
  name="$(basename "$f" -values.yaml)"
  args=()
  case "$f" in
    default) ;;
    flops-measure-endpoint) args=(--set agent.flopsMeasureEndpoint=authenticated) ;;
    *) args=(-f "$f") ;;
  esac
  if helm template zhisuan "$CHART" --namespace zhisuan-system --kube-version "$KUBE_VERSION" \
      "${args[@]}" >"$work/$name.yaml" 2>"$work/err"; then
    if python3 "$(dirname "$0")/render_checks.py" "$name" "$work/$name.yaml"; then
      pass "rendered objects ($name)"
    else
      fail "rendered objects ($name)"
    fi
  else
    fail "helm template ($name): $(cat "$work/err")"
  fi
done
finish
