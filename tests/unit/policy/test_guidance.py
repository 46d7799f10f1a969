"""Request form guidance (pure): per cluster the namespaces, longest duration, ticket in plain
words and approvers a requester's policies give; field errors worded for the form."""

from __future__ import annotations

import datetime as dt

import pytest

from janus.model import load_policy_set_from_files
from janus.policy.guidance import guidance_for, ticket_in_words
from janus.policy.membership import StaticMembership
from janus.web.request_form import RequestForm, field_errors, prepare

CONFIG = b"""\
apiVersion: janus.dev/v1alpha1
kind: JanusConfig
metadata: {name: janus}
spec:
  clusters: [prod, staging]
  excludedNamespaces: [kube-system, janus, janus-tokens]
  duration: {min: 10m, max: 8h, default: 1h}
  roles:
    pod-exec: {clusterRole: janus-pod-exec}
  admins: {teams: [acme/sre], users: []}
  pendingTimeout: 24h
"""
PROD = b"""\
apiVersion: janus.dev/v1alpha1
kind: AccessPolicy
metadata: {name: payments-prod}
spec:
  clusters: [prod]
  namespaces: [payments, "payments-*"]
  roles: [pod-exec]
  requesters: {users: [], teams: [acme/payments-devs]}
  approvers: {users: [], teams: [acme/payments-leads], required: 1}
  maxDuration: 4h
  ticketPattern: "^INC-[0-9]+$"
"""
POLICIES = load_policy_set_from_files({"policies/janus.yaml": CONFIG,
                                       "policies/payments-prod.yaml": PROD})
MEMBERS = StaticMembership({"acme/payments-devs": ["alice"]})


@pytest.mark.parametrize(("pattern", "words"), [
    ("^INC-[0-9]+$", '"INC-" followed by digits, e.g. INC-1234'),
    ("^[A-Z]+-[0-9]+$", 'capital letters followed by "-" followed by digits, e.g. ABC-1234'),
    (r"JIRA-\d{4}", '"JIRA-" followed by 4 digits, e.g. JIRA-1234'),
    ("SEC[0-9]{3,6}", '"SEC" followed by 3 to 6 digits, e.g. SEC123'),
    ("^(INC|CHG)-[0-9]+$", "an identifier in the form your team uses for tickets"),
])
def test_ticket_patterns_in_plain_words(pattern: str, words: str) -> None:
    assert ticket_in_words(pattern) == words


def test_guidance_for_a_team_member_and_nobody_else() -> None:
    mine = guidance_for(POLICIES, "alice", MEMBERS)
    assert set(mine) == {"prod"}  # no policy lets alice ask on staging
    prod = mine["prod"]
    assert prod.namespaces == ("payments", "payments-*")
    assert prod.max_duration == dt.timedelta(hours=4) and prod.max_duration_text == "4h"
    assert prod.ticket_required and prod.ticket_hint.startswith('"INC-" followed by digits')
    assert prod.approvers == ("1 approval from @acme/payments-leads (not you)",)
    assert guidance_for(POLICIES, "mallory", MEMBERS) == {}


def test_field_errors_are_plain_words_next_to_their_field() -> None:
    form = RequestForm(cluster="prod", namespaces=("payments",), role="pod-exec",
                       duration="8h", reason="checkout pods restart", ticket="1234")
    prepared = prepare("alice", form, POLICIES, MEMBERS, dt.date(2026, 11, 30))
    errors = field_errors(prepared.problems, form, guidance_for(POLICIES, "alice", MEMBERS)["prod"])
    assert set(errors) == {"duration", "ticket"}
    assert errors["duration"][0].text == "8h is longer than you may ask for on prod: at most 4h."
    assert errors["ticket"][0].rule == "ticket.pattern"
    assert "spec." not in errors["ticket"][0].text and "^INC" not in errors["ticket"][0].text

    no_ticket = RequestForm(cluster="prod", namespaces=("billing",), role="pod-exec",
                            duration="1h", reason="checkout pods restart", ticket="")
    prepared = prepare("alice", no_ticket, POLICIES, MEMBERS, dt.date(2026, 11, 30))
    errors = field_errors(prepared.problems, no_ticket,
                          guidance_for(POLICIES, "alice", MEMBERS)["prod"])
    assert errors["namespaces"][0].text == (
        "Namespace “billing” is not open to requests on prod. You may request: payments, "
        "payments-*.")
