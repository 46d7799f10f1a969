"""The web app's metrics in the chart (`janus web --metrics-port`, issue 12 item 8): a port, a
Service, a NetworkPolicy and a ServiceMonitor of their own, never the public port the
Ingress/HTTPRoute expose; off by default."""

from __future__ import annotations

from tests.helm.chart import NAMESPACE, PRODUCTION_VALUES, by_kind, find, render

ON = ("web.metrics.enabled=true", "web.metrics.port=9292",
      "web.metrics.namespaceSelector.matchLabels.monitoring=yes",
      "monitoring.serviceMonitor.enabled=true")


def _web_container(docs: list[dict]) -> dict:
    dep = find(docs, "Deployment", "janus-web", NAMESPACE)
    return dep["spec"]["template"]["spec"]["containers"][0]


def test_web_metrics_have_their_own_port_service_policy_and_monitor() -> None:
    docs = render(PRODUCTION_VALUES, sets=ON)
    container = _web_container(docs)
    assert "--metrics-port=9292" in container["args"]
    assert {"name": "metrics", "containerPort": 9292} in container["ports"]
    svc = find(docs, "Service", "janus-web-metrics", NAMESPACE)
    assert svc["spec"]["ports"] == [{"name": "metrics", "port": 9292, "targetPort": "metrics"}]
    public = find(docs, "Service", "janus-web", NAMESPACE)
    assert [p["name"] for p in public["spec"]["ports"]] == ["http"]
    pol = find(docs, "NetworkPolicy", "janus-web-metrics", NAMESPACE)
    (rule,) = pol["spec"]["ingress"]
    assert rule["ports"] == [{"protocol": "TCP", "port": 9292}]
    assert rule["from"] == [{"namespaceSelector": {"matchLabels": {"monitoring": "yes"}}}]
    # The UI's own policy still admits only the public port.
    ui = find(docs, "NetworkPolicy", "janus-web-ingress", NAMESPACE)
    assert all(p["port"] != 9292 for r in ui["spec"]["ingress"] for p in r["ports"])
    monitor = next(m for m in by_kind(docs, "ServiceMonitor")
                   if m["metadata"]["name"] == "janus-web")
    assert monitor["spec"]["endpoints"][0]["port"] == "metrics"
    assert monitor["spec"]["selector"]["matchLabels"]["app.kubernetes.io/component"] == "web"


def test_web_metrics_off_by_default() -> None:
    docs = render()
    assert not any(a.startswith("--metrics-port") for a in _web_container(docs)["args"])
    assert "janus-web-metrics" not in {d["metadata"]["name"] for d in docs}
