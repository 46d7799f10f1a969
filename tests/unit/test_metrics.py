"""Every component's Prometheus metrics: prometheus_client registries with HELP/TYPE,
``janus_build_info`` in each, and no metric name meaning two things in two components.

The components are separate processes with a registry each: the controller (prometheus_client's
default registry), the webhook receiver (``janus.gitops.metrics.Counters``) and the web app
(``janus.web.metrics.REGISTRY``). A dashboard or an alert that says ``janus_x`` must mean one
thing whichever pod it was scraped from.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import prometheus_client

import janus
from janus.controller import metrics as controller_metrics
from janus.gitops import metrics as gitops_metrics
from janus.web import metrics as web_metrics

ROOT = Path(__file__).resolve().parents[2]
# Names that several components export on purpose, meaning the same everywhere.
SHARED = re.compile(r"^(janus_build|process_.*|python_.*)$")


def _families(registry: Any) -> dict[str, tuple[str, str]]:
    """family name (as registered, e.g. janus_grants for janus_grants_total) -> (type, HELP)."""
    return {m.name: (m.type, m.documentation) for m in registry.collect()}


def components() -> dict[str, dict[str, tuple[str, str]]]:
    return {
        controller_metrics.COMPONENT: _families(prometheus_client.REGISTRY),
        gitops_metrics.COMPONENT: _families(gitops_metrics.Counters().registry),
        web_metrics.COMPONENT: _families(web_metrics.REGISTRY),
    }


def test_every_component_has_build_info_with_the_version() -> None:
    registries = {"controller": prometheus_client.REGISTRY,
                  "webhook": gitops_metrics.Counters().registry, "web": web_metrics.REGISTRY}
    for component, registry in registries.items():
        value = registry.get_sample_value("janus_build_info", {"version": janus.__version__})
        assert value == 1.0, component


def test_every_metric_has_help_and_a_janus_or_standard_name() -> None:
    for component, families in components().items():
        for name, (kind, doc) in families.items():
            assert doc.strip(), f"{component}: {name} has no HELP"
            assert kind in {"counter", "gauge", "histogram", "info", "summary"}, (name, kind)
            assert SHARED.match(name) or name.startswith("janus_"), (component, name)


def test_no_name_means_two_things_in_two_components() -> None:
    seen: dict[str, tuple[str, tuple[str, str]]] = {}
    for component, families in components().items():
        for name, described in families.items():
            if name not in seen:
                seen[name] = (component, described)
                continue
            first, first_described = seen[name]
            assert SHARED.match(name), (
                f"{name} is exported by both {first} and {component}: give one of them its own "
                "name (or, if it truly means the same, add it to SHARED)")
            assert described == first_described, f"{name}: different TYPE/HELP in {first} " \
                                                 f"and {component}"


def test_the_receiver_text_has_help_and_type() -> None:
    counters = gitops_metrics.Counters()
    counters.inc("webhook_deliveries_total", outcome="accepted")
    counters.set("ledger_pending", 3)
    text = counters.render()
    assert "# HELP janus_webhook_deliveries_total " in text
    assert "# TYPE janus_webhook_deliveries_total counter" in text
    assert 'janus_webhook_deliveries_total{outcome="accepted"} 1.0' in text
    assert "# TYPE janus_ledger_pending gauge" in text and "janus_ledger_pending 3.0" in text
    assert counters.get("webhook_deliveries_total", outcome="accepted") == 1
    assert counters.get("ledger_pending") == 3
    assert counters.get("webhook_deliveries_total", outcome="never") == 0


def test_every_counter_name_used_in_janus_is_declared() -> None:
    used: set[str] = set()
    pattern = re.compile(r"counters\.(?:inc|set)\(\s*\"([a-z_]+)\"", re.IGNORECASE)
    for path in (ROOT / "janus").rglob("*.py"):
        used |= set(pattern.findall(path.read_text()))
    assert used, "no counter use found: the pattern is stale"
    undeclared = used - set(gitops_metrics.CATALOGUE)
    assert not undeclared, f"add to janus.gitops.metrics.CATALOGUE: {sorted(undeclared)}"


def test_web_route_label_is_the_template_never_the_path() -> None:
    class Route:
        path = "/terminal/{name}"

    assert web_metrics.route_of({"route": Route(), "path": "/terminal/alice-x"}) == \
        "/terminal/{name}"
    assert web_metrics.route_of({"path": "/static/vendor/x.js"}) == "/static"
    assert web_metrics.route_of({"path": "/wp-admin/alice"}) == web_metrics.UNMATCHED
