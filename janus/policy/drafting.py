"""Drafting a request: from the fields a person fills in to request files and PR text, judged.

The web form (``janus.web.request_form``) and ``janus request`` (``janus.cli.request``) both draft
requests; this module is what they share, so a file from either differs only in its first comment
line (the *origin*) and reviewers see one PR format:

* :class:`RequestForm` — the fields (cluster, namespaces, role, duration, reason, ticket);
* :func:`render_request_yaml` — one request file, written the way a human would write it
  (docs/design.md §3);
* :func:`judge_request_file` — that exact text read by the judge (``janus.model.load_request`` +
  :func:`janus.policy.evaluate`), the same checks the receiver runs after merge, so neither
  front end can open a PR that could never be granted;
* :class:`PreparedRequest`, :func:`pr_title`, :func:`pr_body` — the drafted files and their PR.

How a request is *named* differs between the two front ends and stays with each of them. Pure:
no I/O, no clock (the caller passes what it needs).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import yaml

from janus.model import PolicySet, Problem, load_request
from janus.policy.break_glass import describe as describe_break_glass
from janus.policy.evaluate import evaluate
from janus.policy.membership import Membership

MAX_NAMESPACES = 10  # one approval round should stay reviewable
REQUEST_API_VERSION = "janus.dev/v1alpha1"  # of a request file (the JSON Schema's const)

_NAMESPACE_SPLIT = re.compile(r"[\s,]+")


@dataclass(frozen=True)
class RequestForm:
    """What a person asks for; one request file is drafted per namespace."""

    cluster: str
    namespaces: tuple[str, ...]
    role: str
    duration: str
    reason: str
    ticket: str
    # Ask for break-glass (``breakGlass: true``): merged by Janus and granted at once where a
    # policy allows it, reviewed afterwards (janus.policy.break_glass).
    break_glass: bool = False


@dataclass
class PreparedRequest:
    """The drafted files of one request, and what judging them found."""

    name: str
    files: dict[str, str]                 # path -> YAML text
    origin: str                           # "Opened with <origin>": the web form, `janus request`
    problems: list[Problem] = field(default_factory=list)
    approvals: list[str] = field(default_factory=list)  # what each file needs, for the PR body


def split_namespaces(text: str) -> tuple[str, ...]:
    """Namespaces separated by commas or white space, order kept, duplicates dropped."""
    seen: dict[str, None] = {}
    for part in _NAMESPACE_SPLIT.split(text.strip()):
        if part:
            seen.setdefault(part, None)
    return tuple(seen)


def request_path(cluster: str, namespace: str, name: str) -> str:
    return f"requests/{cluster}/{namespace}/{name}.yaml"


def render_request_yaml(
    name: str,
    requester: str,
    cluster: str,
    namespace: str,
    form: RequestForm,
    origin: str,
) -> str:
    """The request file for one namespace: keys in the order a human writes them."""
    spec: dict[str, str | bool] = {
        "requester": requester,
        "cluster": cluster,
        "namespace": namespace,
        "role": form.role,
        "duration": form.duration,
        "reason": form.reason,
    }
    if form.ticket:
        spec["ticket"] = form.ticket
    if form.break_glass:
        spec["breakGlass"] = True
    document = {
        "apiVersion": REQUEST_API_VERSION,
        "kind": "AccessRequest",
        "metadata": {"name": name},
        "spec": spec,
    }
    body = yaml.safe_dump(
        document, sort_keys=False, default_flow_style=False, allow_unicode=True, width=100
    )
    return f"# Opened with {origin} by {requester}.\n{body}"


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
    if decision.break_glass is not None and decision.policy:
        return [], f"`{path}`: {describe_break_glass(decision.policy, decision.break_glass)}"
    if decision.approval is not None:
        return [], f"`{path}`: {decision.approval.describe()}"
    return [], None


def pr_title(requester: str, form: RequestForm) -> str:
    scope = ", ".join(f"{form.cluster}/{ns}" for ns in form.namespaces)
    if form.break_glass:
        return f"BREAK-GLASS access: {requester} → {scope} ({form.role}, {form.duration})"
    return f"Access request: {requester} → {scope} ({form.role}, {form.duration})"


def pr_body(requester: str, form: RequestForm, prepared: PreparedRequest) -> str:
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
    if form.break_glass:
        lines[:0] = ["**⚠ BREAK-GLASS:** Janus merges this pull request itself and grants at "
                     "once, without approval; the reviewers below are asked to review it "
                     "afterwards.", ""]
    if prepared.approvals:
        heading = "**Break-glass:**" if form.break_glass else "**Approvals needed:**"
        lines += ["", heading, *(f"- {a}" for a in prepared.approvals)]
    footer = ("Reviewed after the grant." if form.break_glass
              else "Approve by reviewing this pull request.")
    lines += ["", f"_Opened with {prepared.origin}. {footer}_"]
    return "\n".join(lines)
