"""Disruption budgets and spread for several replicas (issue 15 item 1), rendered by the pinned
helm: a PodDisruptionBudget (policy/v1) for each component running more than one replica and
none for a single one (minAvailable 1 on one pod would block every node drain); budgets no
eviction could satisfy are refused; replicas are spread softly over nodes and zones unless the
operator gives their own constraints. The API server judges the same objects in
tests/helm/test_chart_apiserver.py (values-replicas.yaml)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.helm.chart import CHART, NAMESPACE, PRODUCTION_VALUES, by_kind, find, helm, render

REPLICAS_VALUES = Path(__file__).with_name("values-replicas.yaml")
RECEIVER_ON_POSTGRES = ("webhook.replicas=2", "webhook.database.existingSecret=janus-webhook-db")


def _budgets(docs: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {d["metadata"]["name"]: d for d in by_kind(docs, "PodDisruptionBudget")}


def _pod_spec(docs: list[dict[str, Any]], component: str) -> dict[str, Any]:
    return find(docs, "Deployment", f"janus-{component}", NAMESPACE)["spec"]["template"]["spec"]


def _refused(*sets: str) -> str:
    args = ["template", "janus", str(CHART), "--namespace", NAMESPACE]
    for s in sets:
        args += ["--set", s]
    proc = helm(*args, check=False)
    assert proc.returncode != 0, sets
    return proc.stderr


def test_one_replica_has_no_budget_and_no_spread() -> None:
    docs = render(sets=("controller.replicas=1",))
    assert _budgets(docs) == {}
    for component in ("controller", "webhook", "web"):
        assert "topologySpreadConstraints" not in _pod_spec(docs, component)


def test_several_receivers_get_a_budget_that_selects_exactly_their_pods() -> None:
    docs = render(sets=RECEIVER_ON_POSTGRES)
    budget = _budgets(docs)["janus-webhook"]
    assert budget["apiVersion"] == "policy/v1"
    assert budget["metadata"]["namespace"] == NAMESPACE
    assert budget["spec"]["minAvailable"] == 1 and "maxUnavailable" not in budget["spec"]
    deployment = find(docs, "Deployment", "janus-webhook", NAMESPACE)
    selector = budget["spec"]["selector"]["matchLabels"]
    assert selector == deployment["spec"]["selector"]["matchLabels"]
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert selector.items() <= labels.items()
    # ...and no other component's pods (each selector names its component).
    for other in ("controller", "web"):
        pod_labels = find(docs, "Deployment", f"janus-{other}", NAMESPACE)[
            "spec"]["template"]["metadata"]["labels"]
        assert not selector.items() <= pod_labels.items()


def test_budget_per_component_follows_its_replicas() -> None:
    docs = render(PRODUCTION_VALUES, REPLICAS_VALUES)
    budgets = _budgets(docs)
    assert set(budgets) == {"janus-controller", "janus-webhook", "janus-web"}
    assert budgets["janus-web"]["spec"].get("maxUnavailable") == 1
    assert "minAvailable" not in budgets["janus-web"]["spec"]  # maxUnavailable replaces it
    assert budgets["janus-controller"]["spec"]["minAvailable"] == 1


@pytest.mark.parametrize("value", ["50%", "2"])
def test_min_available_as_percentage_or_count(value: str) -> None:
    docs = render(sets=("web.replicas=3", f"web.pdb.minAvailable={value}"))
    assert str(_budgets(docs)["janus-web"]["spec"]["minAvailable"]) == value


def test_budget_can_be_switched_off() -> None:
    docs = render(sets=(*RECEIVER_ON_POSTGRES, "webhook.pdb.enabled=false",
                        "controller.pdb.enabled=false"))
    assert _budgets(docs) == {}


@pytest.mark.parametrize(("sets", "message"), [
    (("web.replicas=2", "web.pdb.minAvailable=2"),
     "web.pdb.minAvailable is 2 with web.replicas 2: no pod could ever be evicted"),
    (("controller.pdb.minAvailable=5",), "controller.pdb.minAvailable is 5"),
    (("web.replicas=3", "web.pdb.maxUnavailable=0"), "web.pdb.maxUnavailable is 0"),
    (("web.replicas=3", "web.pdb.maxUnavailable=0%"), "web.pdb.maxUnavailable is 0%"),
])
def test_a_budget_no_eviction_could_meet_is_refused(sets: tuple[str, ...],
                                                    message: str) -> None:
    assert message in _refused(*sets)


def test_several_replicas_are_spread_softly_over_nodes_and_zones() -> None:
    docs = render(PRODUCTION_VALUES, REPLICAS_VALUES)
    for component in ("controller", "webhook", "web"):
        constraints = _pod_spec(docs, component)["topologySpreadConstraints"]
        assert [c["topologyKey"] for c in constraints] == [
            "kubernetes.io/hostname", "topology.kubernetes.io/zone"]
        for c in constraints:
            # Soft: a cluster of one node or one zone still schedules every replica.
            assert c["whenUnsatisfiable"] == "ScheduleAnyway" and c["maxSkew"] == 1
            assert c["labelSelector"]["matchLabels"]["app.kubernetes.io/component"] == component


def test_own_spread_constraints_replace_the_default_and_spread_can_be_off() -> None:
    own = ('web.topologySpreadConstraints[0].maxSkew=1',
           'web.topologySpreadConstraints[0].topologyKey=topology.kubernetes.io/zone',
           'web.topologySpreadConstraints[0].whenUnsatisfiable=DoNotSchedule',
           'web.topologySpreadConstraints[0].labelSelector.matchLabels.app=x')
    docs = render(sets=("web.replicas=2", *own, "controller.spreadReplicas=false"))
    web = _pod_spec(docs, "web")["topologySpreadConstraints"]
    assert web == [{"maxSkew": 1, "topologyKey": "topology.kubernetes.io/zone",
                    "whenUnsatisfiable": "DoNotSchedule",
                    "labelSelector": {"matchLabels": {"app": "x"}}}]
    assert "topologySpreadConstraints" not in _pod_spec(docs, "controller")
