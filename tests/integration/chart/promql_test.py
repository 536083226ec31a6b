#!/usr/bin/env python3
"""Every PromQL expression in the chart's alerts, recording rules and dashboards parses, and every
metric it names is in a catalogue: the agent's (docs/metrics.md when present, and the names
agent/metrics/ registers) or the controller's (controller_metrics.txt), or is a series one of the
chart's recording rules (files/recording_rules.yaml) writes. Recording rules are named
level:metric:operations and each is recorded once. Prints each mismatch; exits 1 on any."""
import glob
import json
import os
import re
import subprocess
import sys
import tempfile

import yaml

SRC = os.environ.get("ZHISUAN_SOURCE_DIR") or os.path.abspath(
    os.path.join(os.path.dirname(__file__), "../../.."))
CHART = os.path.join(SRC, "charts/zhisuan")
PROMTOOL = os.environ.get("PROMTOOL", "promtool")

# The chart's rule files: alerts, and the accounting recording rules (issue 18).
RULE_FILES = ("alerts.yaml", "recording_rules.yaml")
# Grafana variables, replaced by values of the right PromQL type.
GRAFANA_VARS = {"$__range": "1h", "$__rate_interval": "5m", "$__interval": "1m",
                "${datasource}": "x"}
BUILTIN = {"up"}
METRIC_RE = re.compile(r"\bzhisuan_[a-z0-9_]+\b")
# A name with a colon is a recorded series (level:metric:operations); its middle part is no metric
# name of a catalogue, so these are taken out before METRIC_RE looks.
RECORDED_RE = re.compile(r"(?<![A-Za-z0-9_:])[a-zA-Z_][a-zA-Z0-9_]*:[a-zA-Z0-9_:]*")
RECORD_NAME_RE = re.compile(r"^[a-z][a-z0-9_]*:[a-z][a-z0-9_]*:[a-z][a-z0-9_]*$")
HISTOGRAM_SUFFIXES = ("_bucket", "_sum", "_count")


def expression_records(chart=CHART):
    """Every alert, recording rule, dashboard panel target and dashboard query variable, as dicts:
    kind ("alert", "record", "panel" or "variable"), where (a readable location), expr (for a
    variable, the series selector inside label_values), and for dashboard entries `dashboard`
    (file name); variables also carry `name` and `label`, in the dashboard's order, so that a live
    check can resolve them as Grafana does. Also used by tests/integration/demo."""
    out = []
    for rule_file in RULE_FILES:
        path = os.path.join(chart, "files", rule_file)
        if not os.path.exists(path) and rule_file != "alerts.yaml":
            continue
        with open(path) as f:
            for group in yaml.safe_load(f)["groups"]:
                for rule in group["rules"]:
                    kind = "alert" if "alert" in rule else "record"
                    out.append({"kind": kind, "where": f"{rule_file} {rule.get(kind)}",
                                "name": rule.get(kind), "expr": rule["expr"]})
    for path in sorted(glob.glob(os.path.join(chart, "files/dashboards/*.json"))):
        with open(path) as f:
            dashboard = json.load(f)
        name = os.path.basename(path)

        def panels(items):
            for p in items:
                yield p
                yield from panels(p.get("panels", []))
        for panel in panels(dashboard.get("panels", [])):
            for target in panel.get("targets", []):
                if "expr" in target:
                    out.append({"kind": "panel", "dashboard": name, "panel": panel["id"],
                                "where": f"{name} panel {panel['id']} {panel.get('title')!r}",
                                "expr": target["expr"]})
        for var in dashboard.get("templating", {}).get("list", []):
            if var.get("type") != "query":
                continue
            query = var["query"]["query"] if isinstance(var["query"], dict) else var["query"]
            where = f"{name} variable {var['name']}"
            m = re.fullmatch(r"label_values\((.*),\s*([a-zA-Z_]+)\)", query.strip())
            if not m:
                out.append({"kind": "variable", "dashboard": name, "where": where,
                            "name": var["name"], "label": None,
                            "expr": "<unsupported variable query>"})
                continue
            out.append({"kind": "variable", "dashboard": name, "where": where,
                        "name": var["name"], "label": m.group(2), "expr": m.group(1)})
    return out


def expressions():
    """(where, expr) for every alert, every dashboard target and every query variable."""
    return [(r["where"], r["expr"]) for r in expression_records()]


def recorded_names(records):
    """The series names the chart's recording rules write."""
    return {r["name"] for r in records if r["kind"] == "record"}


STRING_RE = re.compile(r'"(?:\\.|[^"\\])*"|\'(?:\\.|[^\'\\])*\'|`[^`]*`')


def recorded_in(expr):
    """The recorded series (names with a colon) an expression selects: not inside strings, nor
    the `1h:1m` of a subquery (Grafana variables replaced first)."""
    return set(RECORDED_RE.findall(STRING_RE.sub('""', substitute(expr))))


def substitute(expr):
    for k, v in GRAFANA_VARS.items():
        expr = expr.replace(k, v)
    # Remaining $vars stand for label values inside quotes.
    return re.sub(r"\$\{?([a-zA-Z_][a-zA-Z0-9_]*)\}?", r"\1", expr)


def catalogue():
    names, sources = set(), {}
    doc = os.path.join(SRC, "docs/metrics.md")
    if os.path.exists(doc):
        with open(doc) as f:
            for n in METRIC_RE.findall(f.read()):
                names.add(n); sources.setdefault(n, "docs/metrics.md")
    for path in glob.glob(os.path.join(SRC, "agent/metrics/**/*.cc"), recursive=True):
        with open(path) as f:
            for n in re.findall(r'"(zhisuan_[a-z0-9_]+)"', f.read()):
                names.add(n); sources.setdefault(n, os.path.relpath(path, SRC))
    for path in glob.glob(os.path.join(SRC, "controller/**/*.cc"), recursive=True):
        with open(path) as f:
            for n in re.findall(r'"(zhisuan_[a-z0-9_]+)"', f.read()):
                names.add(n); sources.setdefault(n, os.path.relpath(path, SRC))
    with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "controller_metrics.txt")) as f:
        for line in f:
            line = line.split("#", 1)[0].strip()
            if line:
                names.add(line); sources.setdefault(line, "controller_metrics.txt")
    return names, sources


# Emissions are the agent's counter, Σ ΔE·I(t) (zhisuan_device_emissions_grams_total, or the
# recording rules built on it). The gauges below are power (or energy) times the intensity valid
# now: integrated or multiplied out in a panel they charge past energy at today's intensity.
EMISSIONS_FROM_COUNTER_RE = re.compile(
    r"\bzhisuan_device_emissions_grams_total\b|[a-z_]+:zhisuan_(?:emissions_grams|sci_grams_[a-z_]+):")
CURRENT_INTENSITY_RE = re.compile(
    r"\bzhisuan_node_accelerator_carbon_emissions_grams_per_second\b"
    r"|\bzhisuan_energy_carbon_intensity_grams_per_joule\b")


def emissions_failures(records):
    """Dashboard targets that compute emissions from energy × current intensity, and emissions
    panels (titled so) whose targets do not read the emissions counter or its recorded series."""
    failures = []
    for r in records:
        if r["kind"] != "panel":
            continue
        if CURRENT_INTENSITY_RE.search(r["expr"]):
            failures.append(f"{r['where']}: emissions from power or energy x the current intensity; "
                            f"use zhisuan_device_emissions_grams_total or the recording rules: {r['expr']}")
    by_panel = {}
    for r in records:
        if r["kind"] == "panel" and re.search(r"emission|co2e", r["where"], re.IGNORECASE):
            by_panel.setdefault(r["where"], []).append(r["expr"])
    for where, exprs in sorted(by_panel.items()):
        if not any(EMISSIONS_FROM_COUNTER_RE.search(e) for e in exprs):
            failures.append(f"{where}: an emissions panel that reads no emissions counter: {exprs}")
    return failures


def main():
    exprs = expressions()
    failures = []
    if len(exprs) < 30:
        failures.append(f"only {len(exprs)} expressions found; the extraction is broken")
    rules = {"groups": [{"name": "extracted", "rules": [
        {"record": f"zhisuan:check:{i}", "expr": substitute(e)} for i, (_, e) in enumerate(exprs)]}]}
    with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as f:
        yaml.safe_dump(rules, f)
        path = f.name
    try:
        result = subprocess.run([PROMTOOL, "check", "rules", path], capture_output=True, text=True)
        if result.returncode != 0:
            # Point at the source of each bad expression.
            for i, (where, e) in enumerate(exprs):
                single = {"groups": [{"name": "one", "rules": [{"record": "zhisuan:check", "expr": substitute(e)}]}]}
                with open(path, "w") as g:
                    yaml.safe_dump(single, g)
                r = subprocess.run([PROMTOOL, "check", "rules", path], capture_output=True, text=True)
                if r.returncode != 0:
                    failures.append(f"{where}: does not parse: {e}\n    {r.stdout.strip()} {r.stderr.strip()}")
            if not failures:
                failures.append(f"promtool check rules failed: {result.stdout} {result.stderr}")
    finally:
        os.unlink(path)

    records = expression_records()
    recorded = recorded_names(records)
    seen = set()
    for r in records:
        if r["kind"] != "record":
            continue
        if not RECORD_NAME_RE.match(r["name"]):
            failures.append(f"{r['where']}: a recording rule is named level:metric:operations")
        if r["name"] in seen:
            failures.append(f"{r['where']}: recorded by more than one rule")
        seen.add(r["name"])
    failures.extend(emissions_failures(records))
    names, _ = catalogue()
    used = {}
    for where, e in exprs:
        for n in recorded_in(e):
            used.setdefault(n, []).append(where)
        for n in METRIC_RE.findall(RECORDED_RE.sub(" ", e)):
            used.setdefault(n, []).append(where)
        for n in re.findall(r"\b([a-z_][a-z0-9_]*)\s*[{\[]", e):
            if not n.startswith("zhisuan_") and n in BUILTIN:
                used.setdefault(n, []).append(where)
    for n, wheres in sorted(used.items()):
        if n in BUILTIN:
            continue
        if ":" in n:
            if n not in recorded:
                failures.append(f"{n}: written by no recording rule of the chart; used by "
                                f"{', '.join(sorted(set(wheres)))}")
            continue
        base = n
        for suffix in HISTOGRAM_SUFFIXES:
            if n.endswith(suffix) and n[: -len(suffix)] in names:
                base = n[: -len(suffix)]
        if base not in names:
            failures.append(f"{n}: in no metric catalogue; used by {', '.join(sorted(set(wheres)))}")
    print(f"{len(exprs)} expressions, {len(used)} metric names checked")
    for n in sorted(used):
        print(f"  {n}")
    for failure in failures:
        print(f"FAIL {failure}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
