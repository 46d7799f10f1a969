"""The request form: from form fields to request files, judged before any PR is opened.

The drafting itself — the form's fields, the YAML written the way a human would write it
(docs/design.md §3), the judge, the PR text — is :mod:`janus.policy.drafting`, shared with
``janus request``; this module adds what only the web form does: its request names, drafting
all files at once (:func:`prepare`) and the duration hints of the form. The shared names are
re-exported here for the form's pages.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re

from janus.model import PolicySet, Problem, format_duration
from janus.policy.drafting import (
    MAX_NAMESPACES,
    PreparedRequest,
    RequestForm,
    judge_request_file,
    pr_body,
    pr_title,
    render_request_yaml,
    request_path,
    split_namespaces,
)
from janus.policy.membership import Membership

__all__ = [
    "MAX_NAMESPACES",
    "WEB_FORM",
    "PreparedRequest",
    "RequestForm",
    "duration_choices",
    "max_duration_for",
    "pr_body",
    "pr_title",
    "prepare",
    "request_name",
    "split_namespaces",
]

_DNS_NOT = re.compile(r"[^a-z0-9-]+")
WEB_FORM = "the Janus web form"


def request_name(requester: str, form: RequestForm, today: dt.date) -> str:
    """``<login>-<ticket>-<yyyymmdd>-<hash>``: readable, a DNS label, and the same on a retry."""
    digest = hashlib.sha256(
        "\n".join(
            [requester.lower(), form.cluster, *form.namespaces, form.role, form.duration,
             form.reason, form.ticket, today.isoformat()]
        ).encode()
    ).hexdigest()[:6]
    parts = [requester.lower()]
    ticket = _DNS_NOT.sub("-", form.ticket.lower()).strip("-")
    if ticket:
        parts.append(ticket[:20].rstrip("-"))
    parts.append(today.strftime("%Y%m%d"))
    head = "-".join(parts)[: 63 - 7].rstrip("-")
    return f"{head}-{digest}"


def prepare(
    requester: str,
    form: RequestForm,
    policies: PolicySet,
    membership: Membership,
    today: dt.date,
) -> PreparedRequest:
    """Write the request files and judge each; ``problems`` is empty when all are allowed."""
    name = request_name(requester, form, today)
    prepared = PreparedRequest(name=name, files={}, origin=WEB_FORM)
    if not form.namespaces:
        prepared.problems.append(Problem("form", None, None, "form.namespace",
                                         "at least one namespace is required"))
        return prepared
    if len(form.namespaces) > MAX_NAMESPACES:
        prepared.problems.append(Problem("form", None, None, "form.namespace",
                                         f"at most {MAX_NAMESPACES} namespaces per request"))
        return prepared
    for namespace in form.namespaces:
        path = request_path(form.cluster, namespace, name)
        text = render_request_yaml(name, requester, form.cluster, namespace, form, WEB_FORM)
        prepared.files[path] = text
        problems, approval = judge_request_file(path, text, policies, membership)
        prepared.problems += problems
        if approval is not None:
            prepared.approvals.append(approval)
    return prepared


def max_duration_for(
    policies: PolicySet, requester: str, membership: Membership
) -> dict[str, str]:
    """Per cluster, the longest duration any policy lets *requester* ask for (for the form)."""
    teams = membership.teams_of(requester)
    login = requester.lower()
    config = policies.config
    out: dict[str, str] = {}
    for cluster in config.clusters:
        limits = [
            p.max_duration
            for p in policies.policies
            if cluster in p.clusters
            and (login in p.requester_users or teams & p.requester_teams)
        ]
        if limits:
            out[cluster] = format_duration(min(max(limits), config.duration_max))
    return out


def duration_choices(policies: PolicySet) -> list[str]:
    """Common durations inside the global bounds, shortest first."""
    config = policies.config
    candidates = [dt.timedelta(minutes=m) for m in (10, 15, 30, 60, 90, 120, 240, 480, 720, 1440)]
    chosen = [c for c in candidates if config.duration_min <= c <= config.duration_max]
    for bound in (config.duration_min, config.duration_default, config.duration_max):
        if bound not in chosen:
            chosen.append(bound)
    return [format_duration(c) for c in sorted(set(chosen))]
