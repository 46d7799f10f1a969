"""The request form: from form fields to request files, judged before any PR is opened.

The YAML is written the way a human would write the file (docs/design.md §3), and that exact text is
what the judge (``janus.model.load_request`` + ``janus.policy.evaluate``) reads — the same
checks the receiver runs after merge, so the form cannot open a PR that could never be granted.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from dataclasses import dataclass, field

import yaml

from janus.model import PolicySet, Problem, format_duration, load_request
from janus.policy.evaluate import evaluate
from janus.policy.membership import Membership

_NAMESPACE_SPLIT = re.compile(r"[\s,]+")
_DNS_NOT = re.compile(r"[^a-z0-9-]+")
MAX_NAMESPACES = 10


@dataclass(frozen=True)
class RequestForm:
    cluster: str
    namespaces: tuple[str, ...]
    role: str
    duration: str
    reason: str
    ticket: str


@dataclass
class PreparedRequest:
    name: str
    files: dict[str, str]                 # path -> YAML text
    problems: list[Problem] = field(default_factory=list)
    approvals: list[str] = field(default_factory=list)  # what each file needs, for the PR body


def split_namespaces(text: str) -> tuple[str, ...]:
    seen: dict[str, None] = {}
    for part in _NAMESPACE_SPLIT.split(text.strip()):
        if part:
            seen.setdefault(part, None)
    return tuple(seen)


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


def request_path(cluster: str, namespace: str, name: str) -> str:
    return f"requests/{cluster}/{namespace}/{name}.yaml"


WEB_FORM = "the Janus web form"


def render_request_yaml(
    name: str,
    requester: str,
    cluster: str,
    namespace: str,
    form: RequestForm,
    origin: str = WEB_FORM,
) -> str:
    spec: dict[str, str] = {
        "requester": requester,
        "cluster": cluster,
        "namespace": namespace,
        "role": form.role,
        "duration": form.duration,
        "reason": form.reason,
    }
    if form.ticket:
        spec["ticket"] = form.ticket
    document = {
        "apiVersion": "janus.dev/v1alpha1",
        "kind": "AccessRequest",
        "metadata": {"name": name},
        "spec": spec,
    }
    body = yaml.safe_dump(
        document, sort_keys=False, default_flow_style=False, allow_unicode=True, width=100
    )
    return f"# Opened with {origin} by {requester}.\n{body}"


def prepare(
    requester: str,
    form: RequestForm,
    policies: PolicySet,
    membership: Membership,
    today: dt.date,
) -> PreparedRequest:
    """Write the request files and judge each; ``problems`` is empty when all are allowed."""
    name = request_name(requester, form, today)
    prepared = PreparedRequest(name=name, files={})
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
        text = render_request_yaml(name, requester, form.cluster, namespace, form)
        prepared.files[path] = text
        problems, approval = judge_request_file(path, text, policies, membership)
        prepared.problems += problems
        if approval is not None:
            prepared.approvals.append(approval)
    return prepared


def judge_request_file(
    path: str, text: str, policies: PolicySet, membership: Membership
) -> tuple[list[Problem], str | None]:
    """Load a rendered request file and evaluate it exactly as the receiver will after merge.

    Returns its problems (empty when allowed) and, when allowed with an approval requirement,
    the line that describes it for the PR body.
    """
    request, problems = load_request(path, text.encode("utf-8"))
    if request is None:
        return problems, None
    decision = evaluate(request, policies, membership)
    if not decision.allowed:
        return decision.problems, None
    if decision.approval is not None:
        return [], f"`{path}`: {decision.approval.describe()}"
    return [], None


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


def pr_title(requester: str, form: RequestForm) -> str:
    scope = ", ".join(f"{form.cluster}/{ns}" for ns in form.namespaces)
    return f"Access request: {requester} → {scope} ({form.role}, {form.duration})"


def pr_body(
    requester: str, form: RequestForm, prepared: PreparedRequest, origin: str = WEB_FORM
) -> str:
    scope = "\n".join(f"- `{form.cluster}/{ns}`" for ns in form.namespaces)
    quoted_reason = "\n".join(f"> {line}" for line in form.reason.splitlines() or [""])
    lines = [
        f"**Requester:** @{requester}",
        f"**Role:** `{form.role}`",
        f"**Duration:** {form.duration}",
    ]
    if form.ticket:
        lines.append(f"**Ticket:** {form.ticket}")
    lines += ["", "**Scope:**", scope, "", "**Reason:**", quoted_reason]
    if prepared.approvals:
        lines += ["", "**Approvals needed:**", *(f"- {a}" for a in prepared.approvals)]
    lines += ["", f"_Opened with {origin}. Approve by reviewing this pull request._"]
    return "\n".join(lines)
