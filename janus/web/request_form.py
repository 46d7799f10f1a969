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
import json
import re
from dataclasses import dataclass

from janus.model import PolicySet, Problem, format_duration, parse_duration
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
from janus.policy.guidance import ClusterGuidance, guidance_for
from janus.policy.membership import Membership

__all__ = [
    "FORM_FIELDS",
    "MAX_NAMESPACES",
    "WEB_FORM",
    "ClusterGuidance",
    "FieldError",
    "PreparedRequest",
    "RequestForm",
    "duration_choices",
    "field_errors",
    "guidance_context",
    "guidance_for",
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


# -- errors next to their fields, in plain words -------------------------------------------------

FORM_FIELDS = ("cluster", "namespaces", "role", "duration", "reason", "ticket")


@dataclass(frozen=True)
class FieldError:
    """One problem shown under its form field. ``rule`` stays (as a data attribute) for
    support and tests; ``text`` is what the person reads."""

    field: str  # one of FORM_FIELDS, or "form" for what belongs to no single field
    rule: str
    text: str


def field_errors(problems: list[Problem], form: RequestForm,
                 guidance: ClusterGuidance | None) -> dict[str, list[FieldError]]:
    """field -> its errors, worded for the form (not the request file's ``spec.ticket``)."""
    out: dict[str, list[FieldError]] = {}
    for problem in problems:
        error = _plain(problem, form, guidance)
        bucket = out.setdefault(error.field, [])
        if error.text not in {e.text for e in bucket}:
            bucket.append(error)
    return out


def _plain(problem: Problem, form: RequestForm, g: ClusterGuidance | None) -> FieldError:
    rule, message = problem.rule, problem.message
    namespaces = ", ".join(g.namespaces) if g else ""
    ticket_form = g.ticket_hint if g and g.ticket_hint else ""
    if rule == "ticket.required":
        text = "A ticket is required for this request" + (
            f": {ticket_form}." if ticket_form else ".")
        return FieldError("ticket", rule, text)
    if rule == "ticket.pattern":
        text = f"“{form.ticket}” is not in the expected form" + (
            f": {ticket_form}." if ticket_form else ".")
        return FieldError("ticket", rule, text)
    if rule == "duration.policy-max":
        most = g.max_duration_text if g else message.rsplit("at most ", 1)[-1].split(" ")[0]
        return FieldError("duration", rule,
                          f"{form.duration} is longer than you may ask for on {form.cluster}: "
                          f"at most {most}.")
    if rule == "duration.bounds":
        return FieldError("duration", rule, "Choose one of the durations offered.")
    if rule in ("policy.no-match", "namespace.excluded", "form.namespace"):
        if rule == "form.namespace":
            return FieldError("namespaces", rule, message[:1].upper() + message[1:] + ".")
        allowed = f" You may request: {namespaces}." if namespaces else ""
        what = ("can never be granted" if rule == "namespace.excluded"
                else f"is not open to requests on {form.cluster}")
        name = _quoted(message) or "This namespace"
        return FieldError("namespaces", rule, f"{name} {what}.{allowed}")
    if rule == "requester.not-eligible":
        allowed = f" You may request: {namespaces}." if namespaces else (
            f" No policy lets you request access on {form.cluster}.")
        return FieldError("namespaces", rule,
                          f"You may not request {form.role} there.{allowed}")
    if rule in ("role.unknown", "policy.role") or message.startswith("spec.role:"):
        # A name of the wrong shape (schema) is as unusable as an unknown one: same field.
        roles = ", ".join(g.roles) if g else ""
        return FieldError("role", rule, f"{form.role} cannot be granted there" + (
            f"; choose one of: {roles}." if roles else "."))
    if rule == "cluster.unknown":
        return FieldError("cluster", rule, f"There is no cluster called “{form.cluster}”.")
    if rule.startswith("break-glass."):
        # The judge's own words: they name the accepted break-glass requesters and maximum,
        # and say that the normal button asks for approval instead.
        field = "duration" if rule == "break-glass.max-duration" else "form"
        return FieldError(field, rule, "Break glass refused: " + message)
    lowered = f"{rule} {message}".lower()
    if "reason" in lowered:
        return FieldError("reason", rule, "Give a reason of 10 to 500 characters.")
    if "ticket" in lowered:
        return FieldError("ticket", rule, "Check the ticket" + (
            f": {ticket_form}." if ticket_form else "."))
    if "duration" in lowered:
        return FieldError("duration", rule, "Choose one of the durations offered.")
    if "github" in rule:
        return FieldError("form", rule, message[:1].upper() + message[1:] + ".")
    return FieldError("form", rule, message)


def _quoted(message: str) -> str:
    m = re.search(r"namespace '([^']+)'", message)
    return f"Namespace “{m.group(1)}”" if m else ""


# -- what the form shows for the chosen cluster ---------------------------------------------------


def guidance_context(policies: PolicySet | None, requester: str, membership: Membership,
                     form: RequestForm | None) -> dict[str, object]:
    """Template values for the form's guidance: per cluster (as JSON for the page's script,
    which follows the cluster picker) and, rendered on the server, for the cluster chosen (the
    submitted one, else the first the requester may use), with the durations that fit it."""
    if policies is None:
        return {"guidance": {}, "guidance_json": "{}", "chosen": None, "duration_seconds": {}}
    guidance = guidance_for(policies, requester, membership)
    clusters = list(policies.config.clusters)
    chosen_name = form.cluster if form and form.cluster in clusters else next(
        (c for c in clusters if c in guidance), clusters[0] if clusters else "")
    chosen = guidance.get(chosen_name)
    seconds = {d: int(parse_duration(d).total_seconds()) for d in duration_choices(policies)}
    return {
        "guidance": guidance,
        # An attribute value (the template escapes it): the CSP allows no inline script.
        "guidance_json": json.dumps({c: g.to_json() for c, g in guidance.items()}),
        "chosen": chosen,
        "chosen_cluster": chosen_name,
        "duration_seconds": seconds,
    }
