"""The admin view's filters, PR links and approvers (janus.web.admin_view), without a cluster."""

from __future__ import annotations

from typing import Any

from janus.resource import AccessRequestView
from janus.web.admin_view import AdminFilter, approvers, pr_url
from janus.web.ledger_source import PastGrant


def _view(requester: str = "alice", cluster: str = "prod", namespace: str = "pay",
          phase: str = "Active", **spec: Any) -> AccessRequestView:
    return AccessRequestView.from_cr({
        "metadata": {"name": f"{cluster}-{namespace}"},
        "spec": {"requester": requester, "cluster": cluster, "namespace": namespace, **spec},
        "status": {"phase": phase}})


def _past(outcome: str, requester: str = "bob") -> PastGrant:
    return PastGrant(name="x", requester=requester, cluster="prod", namespace="orders",
                     role="pod-exec", reason="r", outcome=outcome, granted_at=None, ended_at=None)


def test_empty_filter_matches_everything() -> None:
    everything = AdminFilter.from_query({})
    assert not everything.active and everything.query() == ""
    assert everything.live(_view()) and everything.ended(_past("expired"))


def test_filters_are_exact_and_case_insensitive() -> None:
    chosen = AdminFilter.from_query({"user": " Alice ", "cluster": "PROD", "phase": "active"})
    assert chosen.active
    assert chosen.live(_view())
    assert not chosen.live(_view(requester="alicia"))
    assert not chosen.live(_view(cluster="staging"))
    assert not chosen.live(_view(phase="Approved"))
    assert AdminFilter(namespace="pay").live(_view())
    assert not AdminFilter(namespace="pa").live(_view())


def test_phase_filter_on_ended_grants_counts_a_pending_revocation_as_revoked() -> None:
    revoked = AdminFilter(phase="revoked")
    assert revoked.ended(_past("revoked"))
    assert revoked.ended(_past("active (revoking)"))
    assert not revoked.ended(_past("expired"))
    assert AdminFilter(user="bob", phase="expired").ended(_past("expired"))
    assert not AdminFilter(user="alice").ended(_past("expired"))


def test_query_round_trip_drops_anything_else() -> None:
    chosen = AdminFilter.from_query({"user": "alice", "phase": "Active", "next": "//evil"})
    assert chosen.query() == "user=alice&phase=Active"
    assert AdminFilter.from_query({"user": "x" * 500}).user == "x" * 100


def test_pr_link_and_approvers_from_provenance() -> None:
    grant = _view(provenance={"repo": "acme/access", "pullRequest": 42,
                              "approvers": ["bob", "carol"]})
    assert pr_url(grant, "https://github.example/") == "https://github.example/acme/access/pull/42"
    assert approvers(grant) == ("bob", "carol")
    assert pr_url(_view(), "https://github.com") is None and approvers(_view()) == ()
