#!/usr/bin/env python3
"""Checks the objects `helm template` rendered for one values set (lint_test.sh calls it).
usage: render_checks.py NAME RENDERED.yaml   (NAME: default, minimal, monitoring-on, ...)"""
import json
import os
import sys

import yaml

name, path = sys.argv[1], sys.argv[2]
with open(path) as f:
    objects = [o for o in yaml.safe_load_all(f) if o]
errors = []


def check(cond, message):
    if not cond:
        errors.append(message)


def of_kind(kind):
    return [o for o in objects if o["kind"] == kind]


def one(kind, obj_name):
    found = [o for o in objects if o["kind"] == kind and o["metadata"]["name"] == obj_name]
    check(len(found) == 1, f"expected one {kind} {obj_name}, found {len(found)}")
    return found[0] if found else {}


prefix = "acme-zhisuan" if name == "prefix-resources" else "zhisuan"
ns = "zhisuan-system"

# Labels on every object.
for o in objects:
    labels = o["metadata"].get("labels", {})
    for key in ("app.kubernetes.io/name", "app.kubernetes.io/instance", "app.kubernetes.io/version",
                "app.kubernetes.io/managed-by", "app.kubernetes.io/part-of", "helm.sh/chart"):
        check(key in labels, f"{o['kind']} {o['metadata']['name']} lacks label {key}")
    if name == "prefix-resources":
        check(labels.get("acme.example/cost-centre") == "ai-platform",
              f"{o['kind']} {o['metadata']['name']} lacks commonLabels")
        if o["kind"] not in ("ServiceAccount",):
            check(o["metadata"]["name"].startswith("acme-zhisuan-"),
                  f"{o['kind']} {o['metadata']['name']} is not prefixed by fullnameOverride")

service_accounts = {o["metadata"]["name"] for o in of_kind("ServiceAccount")}

# Controller.
deploy = one("Deployment", f"{prefix}-controller")
spec = deploy.get("spec", {})
pod = spec.get("template", {}).get("spec", {})
want_replicas = 1 if name == "minimal" else 2
check(spec.get("replicas") == want_replicas, f"controller replicas {spec.get('replicas')} != {want_replicas}")
c = pod.get("containers", [{}])[0]
args = c.get("args", [])
args_controller = args
if name == "minimal":
    check("--leader-elect" not in args and "--leader-elect=false" in args,
          f"minimal: leader election not turned off (the controller defaults to on): {args}")
    check(not [o for o in of_kind("Role") if "leader-election" in o["metadata"]["name"]],
          "minimal: leader-election Role without leader election")
else:
    for a in ("--leader-elect", f"--leader-election-namespace={ns}", "--metrics-address=:8080"):
        check(a in args, f"controller args lack {a}: {args}")
check(c.get("livenessProbe", {}).get("httpGet", {}).get("path") == "/healthz", "controller liveness probe is not /healthz")
check(c.get("readinessProbe", {}).get("httpGet", {}).get("path") == "/readyz", "controller readiness probe is not /readyz")
check(c.get("livenessProbe", {}).get("httpGet", {}).get("port") == "metrics", "controller probes not on the metrics port")
check({"name": "metrics", "containerPort": 8080, "protocol": "TCP"} in c.get("ports", []), "controller metrics port")
sc = c.get("securityContext", {})
check(sc.get("runAsNonRoot") is True and pod.get("securityContext", {}).get("runAsNonRoot") is True, "controller runAsNonRoot")
check(sc.get("readOnlyRootFilesystem") is True, "controller readOnlyRootFilesystem")
check(sc.get("allowPrivilegeEscalation") is False, "controller allowPrivilegeEscalation")
check(sc.get("capabilities", {}).get("drop") == ["ALL"], "controller capabilities drop ALL")
check(sc.get("seccompProfile", {}).get("type") == "RuntimeDefault", "controller seccomp RuntimeDefault")
check("requests" in c.get("resources", {}) and "limits" in c.get("resources", {}), "controller resources")
check(pod.get("serviceAccountName") in service_accounts, "controller ServiceAccount not rendered")
svc = one("Service", f"{prefix}-controller-metrics")
check(svc.get("spec", {}).get("selector", {}).get("app.kubernetes.io/component") == "controller", "controller Service selector")
if name == "prefix-resources":
    check(c.get("image") == "registry.acme.example/zhisuan/controller@sha256:" + "0" * 63 + "1", f"controller image {c.get('image')}")
    check(pod.get("imagePullSecrets") == [{"name": "acme-registry"}], "imagePullSecrets")
    check(pod.get("serviceAccountName") == "acme-controller", "controller serviceAccount.name")
else:
    check(c.get("image") == "ghcr.io/zhisuan/controller:0.1.0", f"controller image {c.get('image')}")

# Agent DaemonSets.
daemonsets = of_kind("DaemonSet")
groups = {"default": {}}
if name == "multi-energy-zones":
    groups.update({"sichuan-hydro": {"zhisuan.io/site": "sichuan"},
                   "qinghai-solar": {"zhisuan.io/site": "qinghai"},
                   "inner-mongolia-wind": {"zhisuan.io/site": "ulanqab"}})
check(len(daemonsets) == len(groups), f"{len(daemonsets)} DaemonSets, want {len(groups)}")
profiles_cm = one("ConfigMap", f"{prefix}-energy-profiles")
selectors = set()
for group, node_selector in groups.items():
    ds = one("DaemonSet", f"{prefix}-agent" + ("" if group == "default" else f"-{group}"))
    if not ds:
        continue
    sel = json.dumps(ds["spec"]["selector"]["matchLabels"], sort_keys=True)
    check(sel not in selectors, f"DaemonSet {group} selector overlaps another's")
    selectors.add(sel)
    pod = ds["spec"]["template"]["spec"]
    check(ds["spec"]["selector"]["matchLabels"].items() <= ds["spec"]["template"]["metadata"]["labels"].items(),
          f"agent {group}: selector does not match the template")
    check(pod.get("priorityClassName") == "system-node-critical", f"agent {group} priorityClassName")
    tolerations = pod.get("tolerations", [])
    check({"operator": "Exists", "effect": "NoSchedule"} in tolerations, f"agent {group} tolerates every NoSchedule taint")
    # Issue 17: a pool's node carries zhisuan.io/pool NoSchedule while it drains, NoExecute after;
    # the kubelet refuses (and the taint manager evicts) a pod that does not tolerate NoExecute.
    check(any(t.get("key") == "zhisuan.io/pool" and t.get("operator") == "Exists" and t.get("effect", "") == ""
              for t in tolerations), f"agent {group} tolerates zhisuan.io/pool with every effect")
    c = pod["containers"][0]
    args = c["args"]
    env = {e["name"]: e for e in c.get("env", [])}
    check(env.get("NODE_NAME", {}).get("valueFrom", {}).get("fieldRef", {}).get("fieldPath") == "spec.nodeName",
          f"agent {group}: NODE_NAME from spec.nodeName")
    for a in ("--node-name=$(NODE_NAME)", "--sysfs-root=/host/sys", "--procfs-root=/host/proc",
              "--listen-address=:9400", "--energy-profile-file=/etc/zhisuan/energy/profile.yaml"):
        check(a in args, f"agent {group} args lack {a}: {args}")
    check({"name": "metrics", "containerPort": 9400, "protocol": "TCP"} in c.get("ports", []), f"agent {group} port 9400")
    mounts = {m["name"]: m for m in c["volumeMounts"]}
    volumes = {v["name"]: v for v in pod["volumes"]}
    # Host sysfs and procfs: only the subtrees the agent reads, each read-only recursively (a plain
    # read-only bind leaves submounts such as /sys/fs/cgroup or /proc/sys/fs/binfmt_misc writable).
    host_mounts = {"sys-bus-pci": ("/sys/bus/pci", "/host/sys/bus/pci"),
                   "sys-class": ("/sys/class", "/host/sys/class"),
                   "sys-devices": ("/sys/devices", "/host/sys/devices"),
                   "proc-cpuinfo": ("/proc/cpuinfo", "/host/proc/cpuinfo")}
    for vol, (host, path) in host_mounts.items():
        check(mounts.get(vol, {}).get("readOnly") is True, f"agent {group}: {vol} is not read-only")
        check(mounts.get(vol, {}).get("recursiveReadOnly") == "Enabled",
              f"agent {group}: {vol} is not recursively read-only")
        check(mounts.get(vol, {}).get("mountPath") == path, f"agent {group}: {vol} mountPath")
        check(volumes.get(vol, {}).get("hostPath", {}).get("path") == host, f"agent {group}: {vol} hostPath")
    for vol in pod["volumes"]:
        host = vol.get("hostPath", {}).get("path", "")
        check(vol["name"] in host_mounts or not (host in ("/sys", "/proc") or host.startswith(("/sys/", "/proc/"))),
              f"agent {group}: {vol['name']} mounts {host}: more of the host sysfs/procfs than the agent reads")
    for m in c["volumeMounts"]:
        if volumes.get(m["name"], {}).get("hostPath") and m["name"] != "device-plugins":
            check(m.get("readOnly") is True, f"agent {group}: host mount {m['name']} is not read-only")
    # Issue 17: in device-plugin mode the kubelet's pod-resources socket, read-only, so that a FLOPS
    # probe (start-up included, endpoint or not) never runs on a device a pod holds; without it the
    # agent skips every GPU. Every render here advertises through the device plugin.
    check("--advertise=device-plugin" in args, f"agent {group}: expected device-plugin mode: {args}")
    check(volumes.get("pod-resources", {}).get("hostPath", {}).get("path") == "/var/lib/kubelet/pod-resources"
          and volumes["pod-resources"]["hostPath"].get("type") == "Directory",
          f"agent {group}: pod-resources hostPath {volumes.get('pod-resources')}")
    check(mounts.get("pod-resources", {}).get("mountPath") == "/var/lib/kubelet/pod-resources"
          and mounts["pod-resources"].get("readOnly") is True,
          f"agent {group}: pod-resources mount {mounts.get('pod-resources')}")
    check("--pod-resources-socket=/var/lib/kubelet/pod-resources/kubelet.sock" in args,
          f"agent {group}: --pod-resources-socket {args}")
    endpoint_mode = "authenticated" if name == "flops-measure-endpoint" else "disabled"
    check(f"--flops-measure-endpoint={endpoint_mode}" in args,
          f"agent {group}: --flops-measure-endpoint={endpoint_mode} {args}")
    items = volumes.get("energy-profile", {}).get("configMap", {}).get("items", [])
    check(items == [{"key": f"{group}.yaml", "path": "profile.yaml"}], f"agent {group}: energy profile key {items}")
    check(f"{group}.yaml" in profiles_cm.get("data", {}), f"ConfigMap lacks {group}.yaml")
    check("subPath" not in mounts.get("energy-profile", {}), "energy profile must not be a subPath mount (no live updates)")
    sc = c["securityContext"]
    if name == "prefix-resources":
        check(sc.get("privileged") is True, "privileged deviceAccess is not privileged")
        check(mounts.get("dev", {}).get("readOnly") is True and mounts["dev"]["mountPath"] == "/host/dev", "privileged: /dev at /host/dev read-only")
        check("--dev-root=/host/dev" in args, "privileged: --dev-root")
        check("--resource-prefix=zhisuan.io" in args, f"prefix-resources: --resource-prefix {args}")
        check(volumes.get("device-plugins", {}).get("hostPath", {}).get("path") == "/var/lib/kubelet/device-plugins",
              "device-plugin hostPath")
        check(mounts.get("host-library-0", {}).get("mountPath") == "/usr/local/Ascend/driver", "hostLibraryPaths")
        check(c["image"] == "registry.acme.example/zhisuan/agent:0.1.0-acme", f"agent image {c['image']}")
        check(env.get("ASCEND_VISIBLE_DEVICES", {}).get("value") == "0-7", "agent.extraEnv")
    else:
        check(sc.get("privileged") is not True, f"agent {group} privileged in runtime mode")
        check(sc.get("allowPrivilegeEscalation") is False and sc.get("capabilities", {}).get("drop") == ["ALL"]
              and sc.get("readOnlyRootFilesystem") is True, f"agent {group}: restricted securityContext {sc}")
        check("dev" not in volumes, f"agent {group}: host /dev mounted in runtime mode")
        # The default advertises through the kubelet's device-plugin directory.
        check(volumes.get("device-plugins", {}).get("hostPath", {}).get("path") == "/var/lib/kubelet/device-plugins",
              f"agent {group}: device-plugin hostPath")
        check("--advertise=device-plugin" in args and "--device-plugin-dir=/var/lib/kubelet/device-plugins" in args,
              f"agent {group}: device-plugin args {args}")
        check(not any(a.startswith("--resource-prefix") for a in args), f"agent {group}: vendor resource names by default")
        check(env.get("NVIDIA_VISIBLE_DEVICES", {}).get("value") == "all", "runtime mode: NVIDIA_VISIBLE_DEVICES")
        check(c["image"] == "ghcr.io/zhisuan/agent:0.1.0", f"agent image {c['image']}")
    # Node placement.
    terms = (pod.get("affinity", {}).get("nodeAffinity", {})
             .get("requiredDuringSchedulingIgnoredDuringExecution", {}).get("nodeSelectorTerms", []))
    if name == "minimal":
        check(not terms, "minimal: agent restricted to accelerator nodes though acceleratorNodeLabels is empty")
    else:
        keys = [t["matchExpressions"][0]["key"] for t in terms]
        check("zhisuan.io/accelerator-count" in keys and "feature.node.kubernetes.io/pci-10de.present" in keys,
              f"agent {group}: accelerator node affinity {keys}")
        check(all(t["matchExpressions"][0]["operator"] == "Exists" for t in terms), "affinity terms use Exists")
    for k, v in node_selector.items():
        check(pod.get("nodeSelector", {}).get(k) == v, f"agent {group}: nodeSelector {k}={v}")
    if name == "multi-energy-zones" and group == "default":
        for t in terms:
            check({"key": "zhisuan.io/site", "operator": "NotIn", "values": ["sichuan", "qinghai", "ulanqab"]}
                  in t["matchExpressions"], f"default agent does not skip the profiled sites: {t}")
if name == "minimal":
    # No figures configured: the profile says nothing of carbon, so the agent reports it unknown.
    default = yaml.safe_load(profiles_cm["data"]["default.yaml"])
    check("carbonIntensityGramsPerKwh" not in default and "carbonFreeRatio" not in default,
          f"default profile claims carbon figures nobody configured: {default}")
if name == "multi-energy-zones":
    hydro = yaml.safe_load(profiles_cm["data"]["sichuan-hydro.yaml"])
    check(hydro == {"source": "hydro", "zone": "cn-sichuan", "carbonIntensityGramsPerKwh": 0, "carbonFreeRatio": 1},
          f"sichuan profile {hydro}")
    default = yaml.safe_load(profiles_cm["data"]["default.yaml"])
    check(default == {"source": "grid", "zone": "cn-north", "carbonIntensityGramsPerKwh": 677.6, "carbonFreeRatio": 0.3},
          f"default profile {default}")
one("Service", f"{prefix}-agent-metrics")

# RBAC: no wildcards, no secrets, nothing beyond the documented verbs.
roles = of_kind("ClusterRole") + of_kind("Role")
for r in roles:
    for rule in r.get("rules", []):
        check("*" not in rule.get("verbs", []) and "*" not in rule.get("resources", []),
              f"{r['metadata']['name']} uses a wildcard")
        check("secrets" not in rule.get("resources", []), f"{r['metadata']['name']} grants secrets")
names = {r["metadata"]["name"] for r in roles}
# The controller reads and renews only its own Lease (--leader-election-id, default zhisuan-controller).
lease_id = next((a.split("=", 1)[1] for a in args_controller if a.startswith("--leader-election-id=")),
                "zhisuan-controller")
for r in roles:
    for rule in r.get("rules", []):
        if "leases" in rule.get("resources", []) and set(rule.get("verbs", [])) & {"get", "update", "patch", "delete"}:
            check(rule.get("resourceNames") == [lease_id],
                  f"{r['metadata']['name']}: lease rule {rule} not limited to the Lease {lease_id}")
for role in ("controller", "agent", "tenant", "tenant-view"):
    check(f"{prefix}-{role}" in names, f"ClusterRole {prefix}-{role} missing")
# The agent reviews tokens (TokenReview, SubjectAccessReview) only for POST /flops/measure, which
# is off by default: the rules exist only when agent.flopsMeasureEndpoint is authenticated.
agent_rules = one("ClusterRole", f"{prefix}-agent").get("rules", [])
review_rules = [r for r in agent_rules
                if set(r.get("resources", [])) & {"tokenreviews", "subjectaccessreviews"}]
if name in ("flops-measure-endpoint", "metrics-secured"):
    for group_name, resource in (("authentication.k8s.io", "tokenreviews"),
                                 ("authorization.k8s.io", "subjectaccessreviews")):
        check({"apiGroups": [group_name], "resources": [resource], "verbs": ["create"]} in agent_rules,
              f"endpoint enabled: agent ClusterRole lacks create on {resource}: {agent_rules}")
    check(len(review_rules) == 2, f"endpoint enabled: review rules {review_rules}")
else:
    check(not review_rules, f"{name}: agent may create token or access reviews though the endpoint is off: {review_rules}")
tenant = one("ClusterRole", f"{prefix}-tenant")
aggregated = tenant.get("metadata", {}).get("labels", {}).get("rbac.authorization.k8s.io/aggregate-to-edit") == "true"
# Off by default (issue 17: an editor of any namespace could ask for the whole fleet); the
# prefix-resources values turn it on.
check(aggregated == (name == "prefix-resources"), "tenant aggregation to edit follows rbac.tenant.aggregateToEdit")
tenant_view = one("ClusterRole", f"{prefix}-tenant-view")
view_aggregated = tenant_view.get("metadata", {}).get("labels", {}).get("rbac.authorization.k8s.io/aggregate-to-view") == "true"
check(view_aggregated == aggregated, "tenant-view aggregation to view follows rbac.tenant.aggregateToEdit")
# ComputeQuotas: tenants read them and never write them; the controller watches them and writes
# only their status.
quota_rules = [(tuple(r.get("resources", [])), set(r.get("verbs", [])))
               for r in tenant.get("rules", []) if set(r.get("resources", [])) & {"computequotas", "computequotas/status"}]
check(quota_rules and all(verbs <= {"get", "list", "watch"} for _, verbs in quota_rules),
      f"tenant may write ComputeQuotas or cannot read them: {quota_rules}")
controller_rules = one("ClusterRole", f"{prefix}-controller").get("rules", [])
check({"apiGroups": ["zhisuan.io"], "resources": ["computequotas"], "verbs": ["get", "list", "watch"]} in controller_rules,
      "controller ClusterRole lacks get/list/watch on computequotas")
check({"apiGroups": ["zhisuan.io"], "resources": ["computequotas/status"], "verbs": ["update", "patch"]} in controller_rules,
      "controller ClusterRole lacks update/patch on computequotas/status")
check(not [r for r in controller_rules if "computequotas" in r.get("resources", [])
           and set(r.get("verbs", [])) - {"get", "list", "watch"}],
      "controller may write ComputeQuota specs")

# Admission policies.
vaps = {o["metadata"]["name"] for o in of_kind("ValidatingAdmissionPolicy")}
bindings = of_kind("ValidatingAdmissionPolicyBinding")
if name == "minimal":
    check(not vaps and not bindings, "minimal: admission policies rendered though disabled")
else:
    check(vaps == {f"{prefix}-agent-own-node", f"{prefix}-pool-toleration", f"{prefix}-pool-binding"},
          f"admission policies {vaps}")
    # Pool binding: every identity but the controller's, on nodes and nodes/status.
    pool_binding = one("ValidatingAdmissionPolicy", f"{prefix}-pool-binding").get("spec", {})
    controller_sa = "system:serviceaccount:{}:{}".format(
        ns, deploy.get("spec", {}).get("template", {}).get("spec", {}).get("serviceAccountName"))
    check([m["expression"] for m in pool_binding.get("matchConditions", [])]
          == [f"request.userInfo.username != '{controller_sa}'"],
          f"pool-binding policy must exempt only the controller ({controller_sa})")
    rules = pool_binding.get("matchConstraints", {}).get("resourceRules", [])
    check(any(set(r["resources"]) >= {"nodes", "nodes/status"} and set(r["operations"]) >= {"CREATE", "UPDATE"}
              for r in rules), f"pool-binding policy must cover CREATE and UPDATE of nodes and nodes/status: {rules}")
    check({b["spec"]["policyName"] for b in bindings} == vaps, "every policy has a binding")
    check(all(b["spec"]["validationActions"] == ["Deny"] for b in bindings), "bindings deny")

# Monitoring.
monitors = of_kind("ServiceMonitor")
rules = of_kind("PrometheusRule")
dashboards = [o for o in of_kind("ConfigMap") if "-dashboard-" in o["metadata"]["name"]]
if name in ("monitoring-on", "metrics-secured"):
    check(len(monitors) == 2, "two ServiceMonitors")
    for sm in monitors:
        endpoint = sm["spec"]["endpoints"][0]
        if sm["metadata"]["name"].endswith("-controller"):
            check(endpoint.get("honorLabels") is True, "controller ServiceMonitor must honor the pools' namespace label")
        else:
            check({"sourceLabels": ["__meta_kubernetes_pod_node_name"], "targetLabel": "node"} in endpoint.get("relabelings", []),
                  "agent ServiceMonitor must copy the node name into `node`")
    check(len(rules) == 1, "one PrometheusRule")
    # The alerts, then the accounting recording rules (monitoring.prometheusRule.recordingRules,
    # on by default), each group verbatim from its file.
    files_dir = os.path.join(os.environ["ZHISUAN_SOURCE_DIR"], "charts/zhisuan/files")
    with open(os.path.join(files_dir, "alerts.yaml")) as f, \
            open(os.path.join(files_dir, "recording_rules.yaml")) as g:
        want_groups = yaml.safe_load(f)["groups"] + yaml.safe_load(g)["groups"]
    check(rules and rules[0]["spec"] == {"groups": want_groups},
          "PrometheusRule spec differs from files/alerts.yaml + files/recording_rules.yaml")
    group_names = [grp["name"] for grp in (rules[0]["spec"].get("groups", []) if rules else [])]
    check(len(group_names) == len(set(group_names)), f"PrometheusRule group names repeat: {group_names}")
    check(len(dashboards) == 4, f"{len(dashboards)} dashboard ConfigMaps, want 4")
    check(any(d["metadata"]["name"].endswith("-dashboard-tenant-usage") for d in dashboards),
          "no tenant-usage dashboard ConfigMap")
    for d in dashboards:
        check(d["metadata"]["labels"].get("grafana_dashboard") == "1", "dashboard sidecar label")
        for key, text in d["data"].items():
            check(json.loads(text).get("schemaVersion") == 39, f"{key} is not a schemaVersion 39 dashboard")
else:
    check(not monitors and not rules and not dashboards, "monitoring objects rendered though disabled")

# /metrics over HTTPS behind token reviews (issue 17 §4; metrics-secured-values.yaml turns it on):
# both binaries get the flags and the Secret as a directory, the probes switch scheme and keep
# their unauthenticated paths, the reviews are granted only then, Prometheus gets a reader role
# (nonResourceURLs /metrics, get) and ServiceMonitors that verify the certificate and send a token.
secured = name == "metrics-secured"
for workload in [deploy] + of_kind("DaemonSet"):
    wname = workload["metadata"]["name"]
    wpod = workload.get("spec", {}).get("template", {}).get("spec", {})
    wc = (wpod.get("containers") or [{}])[0]
    wargs = wc.get("args", [])
    want_args = {"--metrics-auth=kubernetes", "--metrics-tls-cert-file=/etc/zhisuan/metrics-tls/tls.crt",
                 "--metrics-tls-key-file=/etc/zhisuan/metrics-tls/tls.key"} if secured else {"--metrics-auth=none"}
    got_args = {a for a in wargs if a.startswith(("--metrics-auth", "--metrics-tls", "--metrics-client-ca"))}
    check(got_args == want_args, f"{wname}: metrics flags {sorted(got_args)} != {sorted(want_args)}")
    for probe, path in (("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")):
        get = wc.get(probe, {}).get("httpGet", {})
        check(get.get("path") == path and get.get("scheme") == ("HTTPS" if secured else "HTTP"),
              f"{wname}: {probe} {get}")
    tls_volumes = [v for v in wpod.get("volumes", []) if v["name"] == "metrics-tls"]
    tls_mounts = [m for m in wc.get("volumeMounts", []) if m["name"] == "metrics-tls"]
    if secured:
        check(tls_volumes == [{"name": "metrics-tls", "secret": {"secretName": "zhisuan-metrics-tls"}}],
              f"{wname}: metrics-tls volume {tls_volumes}")
        check(tls_mounts == [{"name": "metrics-tls", "mountPath": "/etc/zhisuan/metrics-tls", "readOnly": True}],
              f"{wname}: metrics-tls mount {tls_mounts} (read-only, a directory: rotation reaches the pod)")
    else:
        check(not tls_volumes and not tls_mounts, f"{wname}: metrics-tls mounted though TLS is off")
controller_rules = one("ClusterRole", f"{prefix}-controller").get("rules", [])
controller_reviews = [r for r in controller_rules
                      if set(r.get("resources", [])) & {"tokenreviews", "subjectaccessreviews"}]
check(controller_reviews == ([{"apiGroups": ["authentication.k8s.io"], "resources": ["tokenreviews"], "verbs": ["create"]},
                              {"apiGroups": ["authorization.k8s.io"], "resources": ["subjectaccessreviews"], "verbs": ["create"]}]
                             if secured else []),
      f"{name}: controller review rules {controller_reviews}")
readers = [o for o in of_kind("ClusterRole") if o["metadata"]["name"] == f"{prefix}-metrics-reader"]
reader_bindings = [o for o in of_kind("ClusterRoleBinding") if o["metadata"]["name"] == f"{prefix}-metrics-reader"]
if secured:
    check(len(readers) == 1 and readers[0].get("rules") == [{"nonResourceURLs": ["/metrics"], "verbs": ["get"]}],
          f"metrics reader role {readers}")
    check(len(reader_bindings) == 1 and reader_bindings[0].get("subjects") ==
          [{"kind": "ServiceAccount", "name": "prometheus-k8s", "namespace": "monitoring"}] and
          reader_bindings[0].get("roleRef", {}).get("name") == f"{prefix}-metrics-reader",
          f"metrics reader binding {reader_bindings}")
    for sm in monitors:
        endpoint = sm["spec"]["endpoints"][0]
        component = sm["metadata"]["name"].rsplit("-", 1)[-1]
        check(endpoint.get("scheme") == "https" and endpoint.get("tlsConfig") ==
              {"serverName": f"{prefix}-{component}-metrics.{ns}.svc",
               "ca": {"secret": {"name": "zhisuan-metrics-tls", "key": "ca.crt"}}},
              f"{sm['metadata']['name']}: TLS scrape config {endpoint}")
        check(endpoint.get("bearerTokenFile") == "/var/run/secrets/kubernetes.io/serviceaccount/token",
              f"{sm['metadata']['name']}: no bearer token")
        check("insecureSkipVerify" not in json.dumps(endpoint), "a ServiceMonitor skips verification")
else:
    check(not readers and not reader_bindings, f"{name}: metrics reader role without metrics.auth=kubernetes")
    for sm in monitors:
        check("scheme" not in sm["spec"]["endpoints"][0], f"{name}: https scrape without TLS")

# NetworkPolicy (networkPolicy.enabled, on by default): per component, ingress only on its metrics
# port and only from networkPolicy.metricsFrom; egress not restricted (docs/security.md).
policies = {o["metadata"]["name"]: o for o in of_kind("NetworkPolicy")}
check(set(policies) == {f"{prefix}-controller", f"{prefix}-agent"}, f"NetworkPolicies {sorted(policies)}")
want_from = ([{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}}] if secured else
             [{"namespaceSelector": {}, "podSelector": {"matchLabels": {"app.kubernetes.io/name": "prometheus"}}}])
for component, port in (("controller", 8080), ("agent", 9400)):
    policy = policies.get(f"{prefix}-{component}", {}).get("spec", {})
    check(policy.get("podSelector", {}).get("matchLabels", {}).get("app.kubernetes.io/component") == component,
          f"{component} NetworkPolicy selects {policy.get('podSelector')}")
    check(policy.get("policyTypes") == ["Ingress"], f"{component} NetworkPolicy types {policy.get('policyTypes')}")
    check(policy.get("ingress") == [{"ports": [{"protocol": "TCP", "port": port}], "from": want_from}],
          f"{component} NetworkPolicy ingress {policy.get('ingress')}")

# The post-delete cleanup (cleanupOnUninstall.enabled, on in every values set here): a hook Job
# running the controller image restricted like the controller, its own ServiceAccount and
# least-privilege RBAC, all hooks that Helm deletes once the Job succeeded, the RBAC before the Job.
hook_objects = [o for o in objects if o["metadata"].get("annotations", {}).get("helm.sh/hook")]
check({(o["kind"], o["metadata"]["name"]) for o in hook_objects} ==
      {(kind, f"{prefix}-uninstall-cleanup") for kind in
       ("ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding", "Job")},
      f"hook objects: {[(o['kind'], o['metadata']['name']) for o in hook_objects]}")
for o in hook_objects:
    a = o["metadata"]["annotations"]
    check(a["helm.sh/hook"] == "post-delete", f"{o['kind']} hook {a['helm.sh/hook']}")
    check(a.get("helm.sh/hook-delete-policy") == "before-hook-creation,hook-succeeded",
          f"{o['kind']} {o['metadata']['name']}: hook-delete-policy {a.get('helm.sh/hook-delete-policy')}")
    check(int(a.get("helm.sh/hook-weight", "0")) < 0 if o["kind"] != "Job" else
          a.get("helm.sh/hook-weight") == "0", f"{o['kind']}: hook weight {a.get('helm.sh/hook-weight')}")
cleanup_job = one("Job", f"{prefix}-uninstall-cleanup")
cleanup_pod = cleanup_job.get("spec", {}).get("template", {}).get("spec", {})
cleanup = (cleanup_pod.get("containers") or [{}])[0]
check(cleanup_pod.get("serviceAccountName") == f"{prefix}-uninstall-cleanup", "cleanup Job's ServiceAccount")
controller_pod = deploy.get("spec", {}).get("template", {}).get("spec", {})
controller_container = (controller_pod.get("containers") or [{}])[0]
check(cleanup.get("image") == controller_container.get("image"), "cleanup Job runs the controller image")
check(cleanup.get("securityContext") == controller_container.get("securityContext") and
      cleanup_pod.get("securityContext") == controller_pod.get("securityContext"),
      f"cleanup Job's securityContext differs from the controller's: {cleanup.get('securityContext')}")
cleanup_args = cleanup.get("args", [])
check("--uninstall-cleanup" in cleanup_args and f"--uninstall-pod-namespace={ns}" in cleanup_args and
      any(a.startswith("--uninstall-pod-selector=") and f"app.kubernetes.io/instance=zhisuan" in a and
          "app.kubernetes.io/component in (agent,controller)" in a for a in cleanup_args),
      f"cleanup Job args: {cleanup_args}")
check(f"--leader-election-id={lease_id}" in cleanup_args, f"cleanup deletes another Lease than {lease_id}")
cleanup_rules = sorted((tuple(r.get("apiGroups", [])), tuple(r.get("resources", [])), tuple(r.get("verbs", [])))
                       for k in ("ClusterRole", "Role") for r in one(k, f"{prefix}-uninstall-cleanup").get("rules", []))
check(cleanup_rules == sorted([(("",), ("nodes",), ("get", "list", "patch")),
                               (("zhisuan.io",), ("computenodes",), ("list", "delete")),
                               (("zhisuan.io",), ("computepools",), ("get", "list", "patch")),
                               (("",), ("pods",), ("list",)),
                               (("coordination.k8s.io",), ("leases",), ("delete",))]),
      f"cleanup RBAC is not the least the cleanup needs: {cleanup_rules}")

for e in errors:
    print(f"  {name}: {e}")
sys.exit(1 if errors else 0)
