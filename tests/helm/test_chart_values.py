"""The chart's values schema, standard labels, optional objects and monitoring, by the pinned helm.

tests/helm/test_chart.py covers what the default and production installs render; this file the
values contract (values.schema.json: a misspelt key or a wrong type fails helm) and the optional
objects of tests/helm/values-everything.yaml. The API server judges all of them in
tests/helm/test_chart_apiserver.py.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

import janus
from tests.helm.chart import (
    CHART,
    NAMESPACE,
    PRODUCTION_VALUES,
    by_kind,
    find,
    helm,
    load_values,
    render,
)

REPO = CHART.parents[1]
EVERYTHING_VALUES = Path(__file__).with_name("values-everything.yaml")
SCHEMA = json.loads((CHART / "values.schema.json").read_text(encoding="utf-8"))
STANDARD_LABELS = ("name", "instance", "version", "component", "part-of", "managed-by")
# The metric names each component exports (janus/controller/metrics.py; janus/gitops/metrics.py
# prefixes the receiver's counters with janus_), and the ledger's gauge of issue 10.
LEDGER_GAUGE = "janus_ledger_pending"


@pytest.fixture(scope="module")
def everything() -> list[dict[str, Any]]:
    return render(PRODUCTION_VALUES, EVERYTHING_VALUES)


# ---- values.schema.json ---------------------------------------------------------------------


def test_schema_is_draft7_and_accepts_the_shipped_values() -> None:
    assert SCHEMA["$schema"] == "http://json-schema.org/draft-07/schema#"
    jsonschema.Draft7Validator.check_schema(SCHEMA)
    validator = jsonschema.Draft7Validator(SCHEMA)
    for path in (CHART / "values.yaml", PRODUCTION_VALUES, EVERYTHING_VALUES):
        errors = [f"{list(e.path)}: {e.message}" for e in validator.iter_errors(load_values(path))]
        assert not errors, (path.name, errors)


def _walk(node: dict[str, Any], where: str = "") -> list[tuple[str, dict[str, Any]]]:
    out = [(where, node)]
    for key, sub in node.get("properties", {}).items():
        out += _walk(sub, f"{where}.{key}")
    return out


def test_schema_closes_every_object_the_chart_owns() -> None:
    """An object with declared properties is the chart's own: unknown keys are refused there."""
    owned = [(where, node) for where, node in _walk(SCHEMA) if "properties" in node]
    assert len(owned) > 25
    for where, node in owned:
        assert node.get("additionalProperties") is False, f"{where or '<root>'} is open"


def test_schema_covers_every_key_of_values_yaml() -> None:
    def keys(values: Any, schema: dict[str, Any], where: str) -> None:
        if not isinstance(values, dict) or "properties" not in schema:
            return
        for k, v in values.items():
            assert k in schema["properties"], f"{where}.{k} is not in values.schema.json"
            keys(v, schema["properties"][k], f"{where}.{k}")

    keys(load_values(CHART / "values.yaml"), SCHEMA, "")


def _template(*args: str) -> Any:
    return helm("template", "janus", str(CHART), "--namespace", NAMESPACE, *args, check=False)


@pytest.mark.parametrize(("setting", "wrong"), [
    ("imagee.tag=1.0", "imagee"),  # misspelt top-level key
    ("web.replica=2", "replica"),  # misspelt nested key
    ("controller.metrics.enabeld=true", "enabeld"),
    ("monitoring.serviceMonitor.intervall=1m", "intervall"),
    ("webhook.ingress.hosts=x", "hosts"),
])
def test_a_misspelt_key_fails_helm_template(setting: str, wrong: str) -> None:
    proc = _template("--set", setting)
    assert proc.returncode != 0, setting
    assert "schema" in proc.stderr and f"'{wrong}' not allowed" in proc.stderr, proc.stderr


@pytest.mark.parametrize(("setting", "flag"), [
    ("web.replicas=two", "--set"),
    ("controller.metrics.enabled=yes", "--set"),
    ("webhook.port=99999", "--set"),
    ("image.digest=latest", "--set"),
    ("web.authMode=ldap", "--set"),
    ("controller.replicas=3", "--set-string"),  # a string where an integer belongs
    ("github.repo=not-a-repo", "--set"),
])
def test_a_wrong_type_or_value_fails_helm_template(setting: str, flag: str) -> None:
    proc = _template(flag, setting)
    assert proc.returncode != 0, setting
    assert "schema" in proc.stderr, proc.stderr


def test_a_misspelt_key_in_a_values_file_fails(tmp_path: Path) -> None:
    values = tmp_path / "values.yaml"
    values.write_text("web:\n  replicas: 2\n  publicURL: https://janus.example.com\n")
    proc = _template("--values", str(values))
    assert proc.returncode != 0 and "publicURL" in proc.stderr, proc.stderr


def test_helm_install_refuses_invalid_values_before_touching_a_cluster(tmp_path: Path) -> None:
    """`helm install` validates against the schema first (client-side dry run: no cluster)."""
    for setting in ("web.replica=2", "web.replicas=two"):
        proc = helm("install", "janus", str(CHART), "--namespace", NAMESPACE,
                    "--dry-run=client", "--set", setting, check=False)
        assert proc.returncode != 0 and "schema" in proc.stderr, (setting, proc.stderr)
    ok = helm("install", "janus", str(CHART), "--namespace", NAMESPACE, "--dry-run=client")
    assert "STATUS: pending-install" in ok.stdout


# ---- labels on every object -----------------------------------------------------------------


@pytest.mark.parametrize("variant", ["default", "everything"])
def test_every_object_has_the_standard_labels(variant: str,
                                              everything: list[dict[str, Any]]) -> None:
    docs = render() if variant == "default" else everything
    generated = 0
    for doc in docs:
        if doc["kind"] == "CustomResourceDefinition":
            continue  # crds/ is applied as written (Helm does not template it)
        labels = doc["metadata"].get("labels", {})
        what = f"{doc['kind']} {doc['metadata']['name']}"
        for key in STANDARD_LABELS:
            assert f"app.kubernetes.io/{key}" in labels, (what, key)
        assert labels["app.kubernetes.io/name"] == "janus", what
        assert labels["app.kubernetes.io/instance"] == "janus", what
        assert labels["app.kubernetes.io/version"] == janus.__version__, what
        assert labels["app.kubernetes.io/part-of"] == "janus", what
        assert labels["app.kubernetes.io/managed-by"] == "Helm", what
        generated += doc["kind"] in ("ClusterRole", "ValidatingAdmissionPolicy")
    assert generated >= 3  # the generated files' objects are among them
    for dep in by_kind(docs, "Deployment"):
        pod_labels = dep["spec"]["template"]["metadata"]["labels"]
        assert pod_labels["app.kubernetes.io/part-of"] == "janus"
        assert pod_labels["app.kubernetes.io/component"] == dep["metadata"]["labels"][
            "app.kubernetes.io/component"]


# ---- pod annotations, extra env, ServiceAccount annotations --------------------------------


def test_pod_annotations_extra_env_and_service_account_annotations(
    everything: list[dict[str, Any]],
) -> None:
    def pod(name: str) -> dict[str, Any]:
        return find(everything, "Deployment", name, NAMESPACE)["spec"]["template"]

    ctrl, web, hook = pod("janus-controller"), pod("janus-web"), pod("janus-webhook")
    # The component's annotation wins over the chart-wide one; checksums stay.
    assert ctrl["metadata"]["annotations"]["example.com/team"] == "access"
    assert web["metadata"]["annotations"]["example.com/team"] == "platform"
    assert "checksum/policies" in web["metadata"]["annotations"]

    def env(template: dict[str, Any]) -> list[dict[str, Any]]:
        return template["spec"]["containers"][0].get("env", [])

    assert {"name": "TZ", "value": "UTC"} in env(ctrl)
    assert any(e["name"] == "HTTPS_PROXY" and "valueFrom" in e for e in env(ctrl))
    assert [e["name"] for e in env(web)][-2:] == ["TZ", "PYTHONWARNINGS"]
    assert {"name": "TZ", "value": "UTC"} in env(hook)
    assert any(e["name"] == "JANUS_GITHUB_APP_ID" for e in env(hook))  # kept

    sa = find(everything, "ServiceAccount", "janus-controller", NAMESPACE)
    assert sa["metadata"]["annotations"] == {
        "eks.amazonaws.com/role-arn": "arn:aws:iam::123456789012:role/janus-controller"}
    assert "annotations" not in find(everything, "ServiceAccount", "janus-web", NAMESPACE)[
        "metadata"]


def test_probes_mean_ready_not_just_alive() -> None:
    for dep in by_kind(render(), "Deployment"):
        c = dep["spec"]["template"]["spec"]["containers"][0]
        assert c["livenessProbe"]["httpGet"]["path"] == "/healthz"
        ready = c["readinessProbe"]["httpGet"]["path"]
        # The controller: kopf's health endpoint; web and webhook: API server + database.
        expected = "/healthz" if dep["metadata"]["name"] == "janus-controller" else "/readyz"
        assert ready == expected, dep["metadata"]["name"]


# ---- Ingress and HTTPRoute -------------------------------------------------------------------


def test_no_ingress_or_route_unless_enabled() -> None:
    kinds = {d["kind"] for d in render(PRODUCTION_VALUES)}
    assert not kinds & {"Ingress", "HTTPRoute", "ServiceMonitor", "PrometheusRule"}


def test_ingress_routes_the_web_ui_and_only_the_webhook_path(
    everything: list[dict[str, Any]],
) -> None:
    web = find(everything, "Ingress", "janus-web", NAMESPACE)["spec"]
    assert web["ingressClassName"] == "nginx"
    (rule,) = web["rules"]
    assert rule["host"] == "janus.prod.example.com"  # from web.publicUrl
    assert [(p["path"], p["pathType"]) for p in rule["http"]["paths"]] == [("/", "Prefix")]
    assert rule["http"]["paths"][0]["backend"]["service"] == {
        "name": "janus-web", "port": {"name": "http"}}

    hook = find(everything, "Ingress", "janus-webhook", NAMESPACE)["spec"]
    (rule,) = hook["rules"]
    # The receiver's /metrics and probes are never routed from outside.
    assert [(p["path"], p["pathType"]) for p in rule["http"]["paths"]] == [
        ("/webhooks/github", "Exact")]
    assert hook["tls"] == [{"secretName": "janus-webhook-tls",
                            "hosts": ["hooks.prod.example.com"]}]


def test_httproutes(everything: list[dict[str, Any]]) -> None:
    web = find(everything, "HTTPRoute", "janus-web", NAMESPACE)["spec"]
    assert web["hostnames"] == ["janus.prod.example.com"]
    assert web["parentRefs"] == [{"name": "public", "namespace": "gateways",
                                  "sectionName": "https"}]
    assert web["rules"][0]["matches"] == [{"path": {"type": "PathPrefix", "value": "/"}}]
    hook = find(everything, "HTTPRoute", "janus-webhook", NAMESPACE)["spec"]
    assert hook["rules"] == [{
        "matches": [{"path": {"type": "Exact", "value": "/webhooks/github"}, "method": "POST"}],
        "backendRefs": [{"name": "janus-webhook", "port": 80}]}]


def test_route_without_parent_or_host_is_refused() -> None:
    proc = _template("--set", "web.httpRoute.enabled=true")
    assert proc.returncode != 0 and "parentRefs is required" in proc.stderr
    proc = _template("--set", "webhook.ingress.enabled=true")
    assert proc.returncode != 0 and "webhook.ingress.host is required" in proc.stderr


# ---- monitoring ------------------------------------------------------------------------------


def _exported_metrics() -> set[str]:
    """prometheus_client metrics declared anywhere in janus/, and the receiver's counters."""
    names: set[str] = set()
    for path in (REPO / "janus").rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        names |= set(re.findall(r'(?:Counter|Gauge|Histogram|Summary)\(\s*"(janus_\w+)"', text))
        names |= {f"janus_{n}" for n in re.findall(r'\.inc\(\s*"(\w+)"', text)}
    return names


def _metrics_in(expr: str) -> set[str]:
    found = set(re.findall(r"\bjanus_\w+", expr))
    # A histogram's series: name_bucket / _sum / _count.
    return {re.sub(r"_(bucket|sum|count)$", "", m) for m in found}


def test_service_monitors(everything: list[dict[str, Any]]) -> None:
    monitors = {d["metadata"]["name"]: d for d in by_kind(everything, "ServiceMonitor")}
    assert set(monitors) == {"janus-controller", "janus-webhook"}
    for name, port in (("janus-controller", "metrics"), ("janus-webhook", "metrics")):
        spec = monitors[name]["spec"]
        assert spec["endpoints"][0]["port"] == port and spec["endpoints"][0]["path"] == "/metrics"
        component = name.removeprefix("janus-")
        assert spec["selector"]["matchLabels"]["app.kubernetes.io/component"] == component
        svc = next(s for s in by_kind(everything, "Service")
                   if s["metadata"]["labels"]["app.kubernetes.io/component"] == component
                   and any(p["name"] == port for p in s["spec"]["ports"]))
        assert all(svc["metadata"]["labels"][k] == v
                   for k, v in spec["selector"]["matchLabels"].items())
        assert monitors[name]["metadata"]["labels"]["release"] == "kube-prometheus-stack"
    # Without controller metrics only the receiver is scraped; with neither, nothing can be.
    docs = render(sets=("monitoring.serviceMonitor.enabled=true", "webhook.metrics.enabled=true"))
    assert [d["metadata"]["name"] for d in by_kind(docs, "ServiceMonitor")] == ["janus-webhook"]
    proc = _template("--set", "monitoring.serviceMonitor.enabled=true")
    assert proc.returncode != 0 and "needs controller.metrics.enabled" in proc.stderr


def test_receiver_metrics_have_their_own_port_service_and_policy(
    everything: list[dict[str, Any]],
) -> None:
    """`janus webhook --metrics-port`: never on the public port an Ingress/HTTPRoute exposes."""
    values = {**load_values(CHART / "values.yaml")["webhook"]["metrics"],
              **load_values(PRODUCTION_VALUES)["webhook"]["metrics"]}
    dep = find(everything, "Deployment", "janus-webhook", NAMESPACE)
    container = dep["spec"]["template"]["spec"]["containers"][0]
    assert f"--metrics-port={values['port']}" in container["args"]
    assert {"name": "metrics", "containerPort": values["port"]} in container["ports"]
    svc = find(everything, "Service", "janus-webhook-metrics", NAMESPACE)
    assert svc["spec"]["ports"] == [{"name": "metrics", "port": values["port"],
                                     "targetPort": "metrics"}]
    public = find(everything, "Service", "janus-webhook", NAMESPACE)
    assert [p["name"] for p in public["spec"]["ports"]] == ["http"]
    pol = find(everything, "NetworkPolicy", "janus-webhook-metrics", NAMESPACE)
    (rule,) = pol["spec"]["ingress"]
    assert rule["ports"] == [{"protocol": "TCP", "port": values["port"]}]
    assert rule["from"] == [{"namespaceSelector": values["namespaceSelector"]}]
    # Off by default: no flag, no port, no Service.
    default = render()
    args = find(default, "Deployment", "janus-webhook", NAMESPACE)["spec"]["template"]["spec"][
        "containers"][0]["args"]
    assert not any(a.startswith("--metrics-port") for a in args)
    assert "janus-webhook-metrics" not in {d["metadata"]["name"] for d in default}


def test_prometheus_rule_alerts_on_metrics_that_exist(everything: list[dict[str, Any]]) -> None:
    (rule,) = by_kind(everything, "PrometheusRule")
    rules = rule["spec"]["groups"][0]["rules"]
    alerts = {r["alert"]: r for r in rules}
    assert set(alerts) == {"JanusExpiryLag", "JanusCleanupFailures", "JanusClusterUnreachable",
                           "JanusVerificationFailures", "JanusLedgerWritesPending"}
    exported = _exported_metrics() | {LEDGER_GAUGE}
    for name, r in alerts.items():
        used = _metrics_in(r["expr"])
        assert used and used <= exported, (name, used - exported)
        assert r["labels"]["severity"] in ("warning", "critical")
        assert r["annotations"]["summary"]
        # Prometheus templates survive Helm's rendering.
        assert "{{" in r["annotations"]["description"], name
    assert alerts["JanusExpiryLag"]["expr"].endswith("> 120")
    assert _metrics_in(alerts["JanusLedgerWritesPending"]["expr"]) == {LEDGER_GAUGE}


def test_grafana_dashboard(everything: list[dict[str, Any]]) -> None:
    cm = find(everything, "ConfigMap", "janus-grafana-dashboard", NAMESPACE)
    assert cm["metadata"]["labels"]["grafana_dashboard"] == "1"
    dashboard = json.loads(cm["data"]["janus.json"])
    assert dashboard["uid"] == "janus-overview"
    exprs = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    used = set().union(*(_metrics_in(e) for e in exprs))
    exported = _exported_metrics() | {LEDGER_GAUGE}
    assert used <= exported, used - exported
    # Every metric an alert uses is on the dashboard (new metrics elsewhere may join later).
    (rule,) = by_kind(everything, "PrometheusRule")
    alerting = set().union(*(_metrics_in(r["expr"]) for r in rule["spec"]["groups"][0]["rules"]))
    assert alerting <= used, alerting - used


def test_everything_passes_helm_lint() -> None:
    out = helm("lint", str(CHART), "--strict", "--namespace", NAMESPACE,
               "--values", str(PRODUCTION_VALUES), "--values", str(EVERYTHING_VALUES))
    assert "0 chart(s) failed" in out.stdout


def test_values_yaml_documents_every_new_key() -> None:
    text = (CHART / "values.yaml").read_text(encoding="utf-8")
    for key in ("podAnnotations", "extraEnv", "serviceAccount", "ingress", "httpRoute",
                "serviceMonitor", "prometheusRule", "grafanaDashboard"):
        assert key in text, key
    assert yaml.safe_load(text)["image"]["repository"].startswith("ghcr.io/")


def test_the_packaged_chart_carries_schema_dashboard_and_crds(tmp_path: Path) -> None:
    """What the release workflow pushes (`helm package`) is what these tests judge."""
    helm("package", str(CHART), "--version", janus.__version__, "--app-version",
         janus.__version__, "--destination", str(tmp_path))
    tgz = tmp_path / f"janus-{janus.__version__}.tgz"
    proc = helm("template", "janus", str(tgz), "--namespace", NAMESPACE,
                "--set", "web.replica=2", check=False)
    assert proc.returncode != 0 and "'replica' not allowed" in proc.stderr
    crds = [d for d in yaml.safe_load_all(helm("show", "crds", str(tgz)).stdout) if d]
    shipped = {yaml.safe_load_all(f.read_text()).__next__()["metadata"]["name"]
               for f in (CHART / "crds").glob("*.yaml")}
    assert "accessrequests.janus.dev" in shipped
    assert {d["metadata"]["name"] for d in crds} >= shipped
    docs = [d for d in yaml.safe_load_all(helm(
        "template", "janus", str(tgz), "--namespace", NAMESPACE,
        "--set", "monitoring.grafanaDashboard.enabled=true").stdout) if d]
    assert json.loads(find(docs, "ConfigMap", "janus-grafana-dashboard", NAMESPACE)["data"][
        "janus.json"])["panels"]
