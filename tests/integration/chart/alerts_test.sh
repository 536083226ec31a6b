#!/usr/bin/env bash
# promtool check rules and promtool test rules on charts/zhisuan/files/alerts.yaml and on the
# accounting recording rules (files/recording_rules.yaml, issue 18; every rule has a unit test),
# then promql_test.py (every alert, recording rule and dashboard expression parses and names
# catalogued metrics or recorded series), and a self-check that promql_test.py does catch a bad
# expression, an unknown metric and an unknown recorded series.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
source "$here/common.sh"
promtool="${PROMTOOL:-$(command -v promtool || true)}"
[[ -x "$promtool" ]] || { echo "FAIL: promtool not found (Debian package prometheus)" >&2; exit 1; }
export PROMTOOL="$promtool"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

cd "$CHART/files"
if "$promtool" check rules alerts.yaml; then pass "promtool check rules"; else fail "promtool check rules"; fi
if "$promtool" test rules alerts_test.yaml; then pass "promtool test rules"; else fail "promtool test rules"; fi
if "$promtool" check rules recording_rules.yaml; then
  pass "promtool check rules (recording rules)"
else
  fail "promtool check rules (recording rules)"
fi
if "$promtool" test rules recording_rules_test.yaml; then
  pass "promtool test rules (recording rules)"
else
  fail "promtool test rules (recording rules)"
fi
# Every recording rule is the expression of a unit test, and every test names a recorded series.
if python3 - "$CHART/files" <<'PY'
import os, sys, yaml
files = sys.argv[1]
records = [r["record"] for g in yaml.safe_load(open(os.path.join(files, "recording_rules.yaml")))["groups"]
           for r in g["rules"]]
tests = yaml.safe_load(open(os.path.join(files, "recording_rules_test.yaml")))
tested = {t["expr"].strip() for case in tests["tests"] for t in case.get("promql_expr_test", [])}
bad = [f"{r}: no promql_expr_test with expr: {r}" for r in records if r not in tested]
bad += [f"alerts.yaml has recording rule {r['record']}: accounting rules belong in recording_rules.yaml"
        for g in yaml.safe_load(open(os.path.join(files, "alerts.yaml")))["groups"]
        for r in g["rules"] if "record" in r]
if len(records) < 30:
    bad.append(f"only {len(records)} recording rules")
print("\n".join(bad))
sys.exit(1 if bad else 0)
PY
then pass "every recording rule has a unit test"; else fail "every recording rule has a unit test"; fi

# Every alert carries severity and the three annotations, the runbook anchor names the alert, and
# docs/operations.md has that section.
if python3 - "$ZHISUAN_SOURCE_DIR" <<'PY'
import re, sys, yaml
src = sys.argv[1]
ops = open(f"{src}/docs/operations.md").read()
anchors = {re.sub(r"[^a-z0-9 -]", "", h.strip().lower()).replace(" ", "-")
           for h in re.findall(r"^#+ (.*)$", ops, re.M)}
bad = []
alerts = [r for g in yaml.safe_load(open(f"{src}/charts/zhisuan/files/alerts.yaml"))["groups"] for r in g["rules"]]
tested = open(f"{src}/charts/zhisuan/files/alerts_test.yaml").read()
for r in alerts:
    a = r["alert"]
    if r.get("labels", {}).get("severity") not in ("critical", "warning", "info"):
        bad.append(f"{a}: severity")
    for k in ("summary", "description", "runbook_url"):
        if not r.get("annotations", {}).get(k):
            bad.append(f"{a}: no {k}")
    anchor = r["annotations"].get("runbook_url", "").rsplit("#", 1)[-1]
    if anchor != a.lower():
        bad.append(f"{a}: runbook anchor {anchor}")
    if anchor not in anchors:
        bad.append(f"{a}: docs/operations.md has no section #{anchor}")
    if f"alertname: {a}\n" not in tested:
        bad.append(f"{a}: not in alerts_test.yaml")
for a in ("AcceleratorUnhealthy", "AgentDown", "PoolDegraded", "PoolUnsatisfied", "PoolCarbonNonCompliant", "ControllerNoLeader"):
    if a not in {r["alert"] for r in alerts}:
        bad.append(f"{a}: missing")
print("\n".join(bad))
sys.exit(1 if bad else 0)
PY
then pass "alert annotations, runbooks and tests"; else fail "alert annotations, runbooks and tests"; fi

if python3 "$here/promql_test.py"; then pass "dashboard and alert PromQL"; else fail "dashboard and alert PromQL"; fi

# Self-check: a copy of the chart with one broken expression and one unknown metric must fail.
mkdir -p "$work/src/charts" "$work/src/docs"
cp -r "$CHART" "$work/src/charts/zhisuan"
mkdir -p "$work/src/agent" && cp -r "$ZHISUAN_SOURCE_DIR/agent/metrics" "$work/src/agent/"
[[ -f "$ZHISUAN_SOURCE_DIR/docs/metrics.md" ]] && cp "$ZHISUAN_SOURCE_DIR/docs/metrics.md" "$work/src/docs/"
sed -i 's/zhisuan_device_healthy == 0/zhisuan_device_healthy_typo == 0/' "$work/src/charts/zhisuan/files/alerts.yaml"
python3 - "$work/src/charts/zhisuan/files/dashboards/node.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
d["panels"][1]["targets"][0]["expr"] = "sum(rate(zhisuan_agent_ready[5m]"
json.dump(d, open(sys.argv[1], "w"))
PY
sed -i 's/namespace:zhisuan_energy_joules:increase1h{/namespace:zhisuan_energy_joule:increase1h{/' \
  "$work/src/charts/zhisuan/files/dashboards/tenant-usage.json"
# Issue 18: emissions as energy x today's intensity, the way the pool dashboard once had them.
python3 - "$work/src/charts/zhisuan/files/dashboards/pool.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
for p in d["panels"]:
    for t in p.get("targets", []):
        if "zhisuan_emissions_grams:rate5m" in t.get("expr", ""):
            t["expr"] = ("sum(node:zhisuan_energy_joules:rate5m * on (node) group_left () "
                         "zhisuan_energy_carbon_intensity_grams_per_joule) * 3600")
json.dump(d, open(sys.argv[1], "w"))
PY
if out="$(ZHISUAN_SOURCE_DIR="$work/src" python3 "$here/promql_test.py" 2>&1)"; then
  fail "promql_test.py passed a broken chart"
elif [[ "$out" == *"zhisuan_device_healthy_typo: in no metric catalogue"* && "$out" == *"node.json panel"*"does not parse"* &&
  "$out" == *"namespace:zhisuan_energy_joule:increase1h: written by no recording rule"*"tenant-usage.json panel"* &&
  "$out" == *"pool.json panel"*"emissions from power or energy x the current intensity"* ]]; then
  pass "promql_test.py catches a typo'd metric, a typo'd recorded series, a broken expression and emissions from the current intensity"
else
  fail "promql_test.py failed the broken chart for the wrong reason: $out"
fi
finish
