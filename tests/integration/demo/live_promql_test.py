#!/usr/bin/env python3
"""Every PromQL expression of the chart (alerts, recording rules, dashboard panels, dashboard
variables) against the live Prometheus of `hack/demo.sh up`, which scrapes real agents and
controllers and loads the chart's rule files.

    live_promql_test.py PROMETHEUS_URL [--chart DIR] [--expect-targets N] [--settle SECONDS]
    live_promql_test.py --self-test     (the selector extraction, offline)

promql_test.py (tests/integration/chart) proves that the expressions parse and name catalogued
metrics; this proves that they work on what the binaries really export, with the labels the chart's
ServiceMonitors give them. First it waits (bounded) until Prometheus has N targets, all up, each
scraped at least three times, and every rule has been evaluated. Then, for each expression:
  - every metric it names (zhisuan_*, recording rules, `up`) has at least one live series;
  - every series selector in it matches at least one live series (for a dashboard, under at least
    one choice of the dashboard's variables);
  - the query succeeds under every choice of the dashboard's variables, resolved from the live
    label values in order as Grafana does (a variable with no values is a failure);
  - a dashboard panel returns data under at least one choice, unless ALLOWED_EMPTY says why it
    is empty in a healthy demo;
  - an alert expression returns nothing, unless ALLOWED_FIRING says why: the demo is healthy,
    so data would be a false alarm once the alert's `for` passed.
A recording rule whose expression has data must have written its series. And every rule has
been evaluated with health "ok". Empty panels and alerts with data are
retried for up to --settle seconds, because range functions need a few scrapes (and
`[$__range:1m]` subqueries a minute boundary) before they return anything, and the demo settles. Prints a table of failures; exits 1 on any.

Recorded series (the chart's recording rules, files/recording_rules.yaml) exist only once their
rule has evaluated with data, and the accounting rules build on each other (a `[1h:1m]` subquery
of a 5m rate needs a minute boundary after the rate's first sample). So a recorded series that
is not there yet (metric missing, selector empty, a variable with no values, a record not yet
written) is retried like an empty panel, and fails once --settle is spent. Each rule's own
expression is checked like any other, so the metrics under a recorded series must be live; the
checks on ordinary metrics are as strict as ever.
"""
import argparse
import json
import os
import re
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "chart"))
import promql_test  # noqa: E402  (expression_records, catalogue, GRAFANA_VARS)

# Dashboard panel expressions allowed to return nothing in a healthy demo, with the reason. Keyed
# by (dashboard file, panel id, expression); every other panel expression must return data.
ALLOWED_EMPTY = {
    # Lists only unhealthy devices; every fixture device is healthy. The selector still has to
    # match (zhisuan_device_unhealthy_reason exports 0 for every reason).
    ("fleet.json", 12, "zhisuan_device_unhealthy_reason == 1"):
        "no device is unhealthy in the demo",
}

# Alerts whose expression may have data in the healthy demo, with the reason. Any other alert
# expression with data is a failure: the demo is healthy, so it would be a false alarm.
ALLOWED_FIRING = {}

# PromQL words that look like identifiers but are not metric names.
KEYWORDS = {
    "by", "without", "on", "ignoring", "group_left", "group_right", "and", "or", "unless", "bool",
    "offset", "atan2", "inf", "nan", "start", "end",
    # aggregations (followed by `(` or by `by`/`without`)
    "sum", "min", "max", "avg", "group", "stddev", "stdvar", "count", "count_values", "bottomk",
    "topk", "quantile", "limitk", "limit_ratio",
}
LABEL_LIST_KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right"}
TOKEN_RE = re.compile(r"""
    (?P<space>\s+)
  | (?P<string>"(?:\\.|[^"\\])*"|'(?:\\.|[^'\\])*'|`[^`]*`)
  | (?P<duration>(?:\d+(?:ms|[smhdwy]))+)
  | (?P<number>0x[0-9a-fA-F]+|(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)
  | (?P<ident>[a-zA-Z_:][a-zA-Z0-9_:]*)
  | (?P<punct>[(){}\[\],@]|[=!]~|[=!<>]=|[-+*/%^<>=])
""", re.X)


def tokenize(expr):
    pos, out = 0, []
    while pos < len(expr):
        m = TOKEN_RE.match(expr, pos)
        if not m:
            raise ValueError(f"cannot tokenize at {expr[pos:pos + 20]!r}")
        if m.lastgroup != "space":
            out.append((m.lastgroup, m.group(), m.start(), m.end()))
        pos = m.end()
    return out


def selectors(expr):
    """The series selectors of an expression, as source text: `name`, `name{...}` or `{...}`.
    Label lists after by/on/group_left etc., function names, strings and durations are not."""
    tokens = tokenize(expr)
    out, i = [], 0
    while i < len(tokens):
        kind, text, start, _ = tokens[i]
        nxt = tokens[i + 1][1] if i + 1 < len(tokens) else None
        if kind == "ident" and text in LABEL_LIST_KEYWORDS and nxt == "(":
            while tokens[i][1] != ")":  # skip the label list
                i += 1
        elif kind == "ident" and (nxt == "(" or text in KEYWORDS):
            pass  # a function or an aggregation
        elif (kind == "ident") or (kind == "punct" and text == "{"):
            j = i + 1 if kind == "ident" else i
            end = tokens[i][3]
            if j < len(tokens) and tokens[j][1] == "{":
                while tokens[j][1] != "}":
                    j += 1
                end = tokens[j][3]
                i = j
            out.append(expr[start:end])
        elif kind == "punct" and text == "[":
            while tokens[i][1] != "]":  # range or subquery: durations only
                i += 1
        i += 1
    return out


def metric_names(expr):
    """Metric names an expression selects by name (`name{..}` or `{__name__="name"}`)."""
    names = set()
    for sel in selectors(expr):
        m = re.match(r"[a-zA-Z_:][a-zA-Z0-9_:]*", sel)
        if m:
            names.add(m.group())
        names.update(re.findall(r'__name__\s*=\s*"([^"]+)"', sel))
    return names


def substitute(expr, values):
    """Grafana's built-in variables by fixed values, dashboard variables by `values`."""
    for k, v in promql_test.GRAFANA_VARS.items():
        expr = expr.replace(k, v)

    def one(m):
        name = m.group(1) or m.group(2) or m.group(3)
        if name not in values:
            raise KeyError(f"variable ${name} is not defined before it is used")
        return values[name]
    return re.sub(r"\$\{([a-zA-Z_]\w*)\}|\$([a-zA-Z_]\w*)|\[\[([a-zA-Z_]\w*)\]\]", one, expr)


class Prometheus:
    def __init__(self, url):
        self.url = url.rstrip("/")

    def get(self, path, **params):
        query = urllib.parse.urlencode(params, doseq=True)
        try:
            with urllib.request.urlopen(f"{self.url}{path}?{query}", timeout=30) as r:
                body = json.load(r)
        except urllib.error.HTTPError as e:  # 400/422 carry the PromQL error as JSON
            body = json.load(e)
        if body.get("status") != "success":
            raise RuntimeError(f"{body.get('errorType')}: {body.get('error')}")
        return body["data"]

    def query(self, expr):
        """(result list, None) or (None, error text)."""
        try:
            data = self.get("/api/v1/query", query=expr)
        except RuntimeError as e:
            return None, str(e)
        result = data["result"]
        if data["resultType"] in ("scalar", "string"):
            result = [result]
        return result, None

    def label_values(self, selector, label):
        data = self.get("/api/v1/series", **{"match[]": selector,
                                              "start": f"{time.time() - 300:.3f}"})
        return sorted({s[label] for s in data if label in s})


def variable_choices(prom, variables, failures, unsettled=None, recorded=frozenset()):
    """Every assignment of the dashboard's query variables, each resolved from the live label
    values under the earlier ones (as Grafana does), e.g. [{"node": "zs-a", "precision": "bf16"}].
    A variable over a recorded series with no values yet goes to `unsettled` (retried)."""
    choices = [{}]
    for var in variables:
        if var["label"] is None:
            failures.append((var["where"], "variable", f"unsupported query {var['expr']}"))
            return []
        extended = []
        for choice in choices:
            try:
                selector = substitute(var["expr"], choice)
                values = prom.label_values(selector, var["label"])
            except (KeyError, RuntimeError) as e:
                failures.append((var["where"], "variable query", str(e)))
                return []
            if not values:
                pending = unsettled is not None and metric_names(selector) & recorded
                (unsettled if pending else failures).append(
                    (var["where"], "no values",
                     f"label_values({selector}, {var['label']}) is empty"
                     + (" (recorded series not written yet)" if pending else "")))
            extended += [dict(choice, **{var["name"]: v}) for v in values]
        choices = extended
    return choices


def wait_ready(prom, expect_targets, timeout):
    """Waits until every target is up and scraped 3 times and every rule evaluated once; returns
    what is still missing after `timeout` seconds (empty when ready)."""
    deadline, missing = time.monotonic() + timeout, ["nothing checked yet"]
    while time.monotonic() < deadline:
        missing = []
        targets = prom.get("/api/v1/targets")["activeTargets"]
        if expect_targets is not None and len(targets) != expect_targets:
            missing.append(f"{len(targets)} targets, expected {expect_targets}")
        for t in targets:
            if t["health"] != "up":
                missing.append(f"target {t['labels']} is {t['health']}: {t['lastError']}")
        result, _ = prom.query("min(count_over_time(up[10m]))")
        scrapes = float(result[0]["value"][1]) if result else 0
        if scrapes < 3:
            missing.append(f"the least scraped target has {scrapes:.0f} scrapes, waiting for 3")
        for g in prom.get("/api/v1/rules")["groups"]:
            for r in g["rules"]:
                if r.get("health") == "unknown" or r.get("lastEvaluation", "").startswith("0001"):
                    missing.append(f"rule {r['name']} not evaluated yet")
        if not missing:
            return []
        time.sleep(1)
    return missing


def check_rules(prom, failures, records=()):
    groups = prom.get("/api/v1/rules")["groups"]
    rules = [r for g in groups for r in g["rules"]]
    if not rules:
        failures.append(("rule files", "rules", "Prometheus loaded no rules"))
    for r in rules:
        if r.get("health") != "ok":
            failures.append((f"rule {r['name']}", "rule health",
                             f"{r.get('health')}: {r.get('lastError') or 'not evaluated'}"))
    # Every rule of the chart's rule files is loaded (hack/demo.sh lists the files).
    loaded = {r["name"] for r in rules}
    for r in records:
        if r["kind"] in ("alert", "record") and r["name"] not in loaded:
            failures.append((r["where"], "rule not loaded", f"Prometheus has no rule {r['name']}"))
    return rules


def run_checks(prom, records):
    """One pass over every expression. Returns (failures, unsettled, report): failures are final;
    unsettled are panels that returned nothing and alerts whose expression has data, which may
    change as data accumulates and the demo settles."""
    failures, unsettled, report = [], [], []
    live_names = {}
    # Series the chart's recording rules write: missing ones are retried, not failed at once.
    recorded = promql_test.recorded_names(records)

    def name_exists(name):
        if name not in live_names:
            result, error = prom.query(f'count({{__name__="{name}"}})')
            live_names[name] = bool(result) and not error
        return live_names[name]

    by_dashboard = {}
    for r in records:
        if "dashboard" in r:
            by_dashboard.setdefault(r["dashboard"], []).append(r)
    choices = {d: variable_choices(prom, [r for r in rs if r["kind"] == "variable"], failures,
                                   unsettled, recorded)
               for d, rs in by_dashboard.items()}

    for r in records:
        if r["kind"] == "variable":
            continue
        per_choice = choices.get(r.get("dashboard"), [{}])
        if not per_choice:
            failures.append((r["where"], "variables", "no choice of the dashboard's variables"))
            continue
        # Selectors are reported as written, $node and all; the k-th selector of a substituted
        # expression is the k-th of the source.
        try:
            source_selectors = selectors(substitute(r["expr"], _Placeholders()))
            texts = sorted({substitute(r["expr"], c) for c in per_choice})
        except (KeyError, ValueError) as e:
            failures.append((r["where"], "expression", str(e)))
            continue
        for name in sorted(set().union(*(metric_names(t) for t in texts))):
            if not name_exists(name):
                if name in recorded:
                    unsettled.append((r["where"], "metric missing",
                                      f"{name} has no live series (recorded series not written yet)"))
                else:
                    failures.append((r["where"], "metric missing", f"{name} has no live series"))
        matched = dict.fromkeys(source_selectors, False)
        with_data, errors = 0, []
        for text in texts:
            for source, sel in zip(source_selectors, selectors(text)):
                if not matched[source]:
                    result, error = prom.query(f"count({sel})")
                    matched[source] = bool(result) and not error
            result, error = prom.query(text)
            if error:
                errors.append(f"{text}: {error}")
            elif result:
                with_data += 1
        for error in errors[:3]:
            failures.append((r["where"], "query error", error))
        for sel, ok in matched.items():
            if not ok:
                (unsettled if metric_names(sel) & recorded else failures).append(
                    (r["where"], "selector empty",
                     f"{sel} matches no live series"
                     + (" under any choice of variables" if len(texts) > 1 else "")))
        status = f"data under {with_data}/{len(texts)} variable choices" if len(texts) > 1 else \
            ("data" if with_data else "empty")
        if r["kind"] == "panel" and with_data == 0 and not errors:
            key = (r["dashboard"], r["panel"], r["expr"])
            if key in ALLOWED_EMPTY:
                status = f"empty, allowed: {ALLOWED_EMPTY[key]}"
            else:
                unsettled.append((r["where"], "empty result",
                                  f"{r['expr']} returned nothing (not in ALLOWED_EMPTY)"))
                status = "EMPTY"
        elif r["kind"] == "alert":
            status = "not firing"
            if with_data and r["name"] in ALLOWED_FIRING:
                status = f"pending or firing, allowed: {ALLOWED_FIRING[r['name']]}"
            elif with_data:
                status = "PENDING OR FIRING"
                unsettled.append((r["where"], "alert in a healthy demo",
                                  f"{r['expr']} has data: the alert would fire"))
        elif r["kind"] == "record" and with_data and not name_exists(r["name"]):
            # Its expression may have gained data since the rule last ran: retried.
            unsettled.append((r["where"], "record missing",
                              f"{r['name']} has no series although its expression has data"))
        report.append((r["where"], status))
    return failures, unsettled, report


class _Placeholders(dict):
    """substitute() values that keep a dashboard variable visible: $node stays $node."""
    def __contains__(self, key):
        return True

    def __getitem__(self, key):
        return f"${key}"


def self_test():
    """The selector extraction on the shapes the chart uses, and a few it might."""
    cases = {
        'sum(a * on (node) group_left () b) / sum(a)': ["a", "b", "a"],
        'sum by (source) (x * on (node) group_left (source) y_info) * 3600': ["x", "y_info"],
        'histogram_quantile(0.99, sum by (le) (rate(h_bucket[10m]))) > 5': ["h_bucket"],
        'sum(sum_over_time(e[1h:1m])) * 60 / 1000 + 3.6e6': ["e"],
        'up{job=~".+-agent-metrics"} == 0': ['up{job=~".+-agent-metrics"}'],
        'count(r == 0) or vector(0)': ["r"],
        'time() - t > 120 unless on (pool) c offset 5m': ["t", "c"],
        '{__name__="m", a="}"}': ['{__name__="m", a="}"}'],
        'node:zhisuan_device_power_watts:sum > bool 1': ["node:zhisuan_device_power_watts:sum"],
        'label_replace(x, "dst", "$1", "src", "(.*)")': ["x"],
        'max_over_time(p[6h]) == 1 and ignoring (le) q': ["p", "q"],
        'sum_over_time(a:b:c{n="x"}[1h:1m]) * 60 / (d:e:f > 0)': ['a:b:c{n="x"}', "d:e:f"],
        'sum(sum_over_time(n:m:o{a="$a"}[1h:1m])) * 60': ['n:m:o{a="$a"}'],
    }
    bad = [f"selectors({e!r}) = {selectors(e)}, expected {want}"
           for e, want in cases.items() if selectors(e) != want]
    if metric_names('{__name__="m"} + n_sum / n_count') != {"m", "n_sum", "n_count"}:
        bad.append("metric_names misses __name__ matchers or histogram suffixes")
    if substitute('a{n="$node",p="${precision}"}[$__range]', {"node": "x", "precision": "y"}) \
            != 'a{n="x",p="y"}[1h]':
        bad.append("substitute")
    for b in bad:
        print(f"FAIL self-test: {b}")
    print("self-test passed" if not bad else f"{len(bad)} self-test failure(s)")
    return 1 if bad else 0


def catalogue_not_live(prom):
    """Catalogued metric names with no live series: reported, not failed (a metric may need
    hardware or a state the demo lacks), so that a reader sees what the demo does not show."""
    names, _ = promql_test.catalogue()
    live = set(prom.get("/api/v1/label/__name__/values"))
    missing = []
    for n in sorted(names):
        if n not in live and not any(n + sfx in live for sfx in promql_test.HISTOGRAM_SUFFIXES):
            missing.append(n)
    return missing


def print_table(rows, header):
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows)]
    widths[-1] = 0
    for row in [header] + rows:
        print("  ".join(str(x).ljust(w) for x, w in zip(row, widths)).rstrip())


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("prometheus", nargs="?")
    parser.add_argument("--self-test", action="store_true",
                        help="check the selector extraction offline and exit")
    parser.add_argument("--chart", default=promql_test.CHART)
    parser.add_argument("--expect-targets", type=int,
                        help="how many scrape targets Prometheus must have, all up")
    parser.add_argument("--ready-timeout", type=float, default=90,
                        help="seconds to wait for targets, scrapes and a rule evaluation")
    parser.add_argument("--settle", type=float, default=90,
                        help="seconds to retry panels that return nothing yet")
    args = parser.parse_args()
    if args.self_test:
        return self_test()
    if not args.prometheus:
        parser.error("PROMETHEUS_URL is required")
    prom = Prometheus(args.prometheus)
    records = promql_test.expression_records(args.chart)
    if len(records) < 30:
        print(f"FAIL: only {len(records)} expressions found in {args.chart}; the extraction is broken")
        return 1

    began = time.monotonic()
    missing = wait_ready(prom, args.expect_targets, args.ready_timeout)
    if missing:
        print(f"FAIL: Prometheus not ready after {args.ready_timeout:.0f}s:")
        print("\n".join(f"  {m}" for m in missing))
        return 1
    print(f"Prometheus ready after {time.monotonic() - began:.1f}s: every target up and scraped, "
          "every rule evaluated")

    deadline = time.monotonic() + args.settle
    while True:
        failures, unsettled, report = run_checks(prom, records)
        if not unsettled or time.monotonic() >= deadline:
            break
        print(f"{len(unsettled)} expression(s) not settled yet, retrying: "
              + "; ".join(f"{w} ({why})" for w, why, _ in unsettled))
        time.sleep(5)
    failures += unsettled
    rules = check_rules(prom, failures, records)

    print(f"\n{len(report)} expressions checked against {args.prometheus}; {len(rules)} rules loaded")
    print_table(report, ("expression", "result"))
    not_live = catalogue_not_live(prom)
    if not_live:
        print(f"\ncatalogued metrics no live series has (information, not a failure): "
              f"{', '.join(not_live)}")
    if failures:
        print(f"\n{len(failures)} FAILURE(S):")
        print_table(sorted(set(failures)), ("where", "check", "detail"))
        return 1
    print("\nall live PromQL checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
