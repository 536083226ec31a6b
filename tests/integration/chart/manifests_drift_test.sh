#!/usr/bin/env bash
# manifests/install.yaml and manifests/crds/ are what hack/generate-manifests.sh makes from the
# chart; run it and commit the result when this fails.
set -euo pipefail
source "$(dirname "$0")/common.sh"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
HELM="$ZHISUAN_TOOLCHAIN_BIN/helm" "$ZHISUAN_SOURCE_DIR/hack/generate-manifests.sh" "$work" >/dev/null
if diff -u "$ZHISUAN_SOURCE_DIR/manifests/install.yaml" "$work/install.yaml"; then
  pass "manifests/install.yaml matches the chart"
else
  fail "manifests/install.yaml drifted from the chart: run hack/generate-manifests.sh"
fi
if diff -ru "$ZHISUAN_SOURCE_DIR/manifests/crds" "$work/crds"; then
  pass "manifests/crds matches charts/zhisuan/crds"
else
  fail "manifests/crds drifted from charts/zhisuan/crds: run hack/generate-manifests.sh"
fi
# The CRD copies hold the same objects as the chart's.
for crd in "$CHART"/crds/*.yaml; do
  if python3 -c 'import sys, yaml; sys.exit(yaml.safe_load(open(sys.argv[1])) != yaml.safe_load(open(sys.argv[2])))' \
      "$crd" "$ZHISUAN_SOURCE_DIR/manifests/crds/$(basename "$crd")"; then
    pass "$(basename "$crd") is the chart's CRD"
  else
    fail "$(basename "$crd") differs from the chart's CRD"
  fi
done
finish
