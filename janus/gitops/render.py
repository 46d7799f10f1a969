"""The Markdown Janus posts: plan comments, merge verdicts, status write-back, revoke replies.

Only request specs, policy names, object names and timestamps go in; never a token.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import yaml

from janus.model import format_duration
from janus.policy.break_glass import describe as describe_break_glass
from janus.resource import AccessRequestView, standing


def _list(items: Iterable[str]) -> str:
    return "\n".join(f"- {item}" for item in items)


def _grant_lines(lines: list[str]) -> list[str]:
    """The role's rules as a code block (rule text comes from admins' JanusConfig)."""
    if not lines:
        return []
    return ["The role grants:", "", "```", *lines, "```", ""]


def plan_comment(files: list[Any], problems: list[str], outside: list[str],
                 plans: dict[str, list[dict[str, Any]]], head_sha: str,
                 removed: list[tuple[str, str]] | None = None,
                 grants: dict[str, list[str]] | None = None,
                 tallies: dict[str, str] | None = None) -> str:
    """*files*: JudgedFile objects of the PR head; *plans*: path -> plan_objects(...);
    *removed*: (path, AccessRequest name) of each deleted request file; *grants*: path ->
    role_lines(...), what the requested role grants; *tallies*: path -> the approval groups'
    tally on the head ("SRE: 1/1 ✓, payments-leads: 0/1"), for grouped policies."""
    lines = [f"### Janus plan for `{head_sha[:12]}`", ""]
    if outside:
        lines += ["**Not grantable:** this PR changes files outside `requests/`; on merge it "
                  "would grant nothing.", "", _list(f"`{p}`" for p in outside), ""]
    if problems:
        lines += ["**Problems** (fix them; nothing is granted while any remains):", "",
                  _list(problems), ""]
    for judged in files:
        if not judged.allowed:
            continue
        request, decision = judged.request, judged.decision
        lines += [
            f"#### `{judged.path}`",
            "",
            f"- requester **{request.requester}**, cluster **{request.cluster}**, namespace "
            f"**{request.namespace}**, role **{request.role}**, for "
            f"**{format_duration(request.duration)}**",
            *([f"- ⚠ **{describe_break_glass(decision.policy, decision.break_glass)}**"]
              if decision.break_glass is not None and decision.policy else
              [f"- policy **{decision.policy}**; needs {decision.approval.describe()}, each also "
               "a code owner of the file, on the final commit"]),
            *([f"- approvals so far on `{head_sha[:12]}`: {(tallies or {})[judged.path]}"]
              if judged.path in (tallies or {}) else []),
            "",
            *_grant_lines((grants or {}).get(judged.path, [])),
            "On merge and approval, exactly these objects are created:",
            "",
            "```yaml",
            yaml.safe_dump_all(plans[judged.path], sort_keys=False).rstrip(),
            "```",
            "",
        ]
    if removed:
        lines += ["**On merge, these grants are revoked** (deleting a request file needs no "
                  "approval: taking access away is always allowed):", "",
                  _list(f"`{path}` → AccessRequest `{name}`" for path, name in removed), ""]
    if not files and not outside and not problems and not removed:
        lines.append("No request files in this PR.")
    return "\n".join(lines).rstrip() + "\n"


def refusal_comment(merge_commit: str, step: str, summary: str, details: list[str]) -> str:
    lines = [
        f"### Janus: nothing granted for merge `{merge_commit[:12]}`",
        "",
        f"Verification failed at step **`{step}`**: {summary}.",
    ]
    if details:
        lines += ["", _list(details)]
    lines += ["", "No AccessRequest was created or changed from this PR. Fix the cause and open "
                  "a new PR."]
    return "\n".join(lines) + "\n"


def merge_comment(merge_commit: str, outcomes: list[tuple[str, str, str]],
                  failure: tuple[str, str, list[str]] | None) -> str:
    """*outcomes*: (path, CR name, what happened). *failure*: (step, summary, details)."""
    if failure is not None and not outcomes:
        return refusal_comment(merge_commit, *failure)
    lines = [f"### Janus: merge `{merge_commit[:12]}` verified", ""]
    lines += [_list(f"`{path}` → AccessRequest `{name}`: {what}" for path, name, what in outcomes)]
    if failure is not None:
        step, summary, details = failure
        lines += ["", f"No grant from this PR: verification failed at step **`{step}`**: "
                      f"{summary}.", "", _list(details)]
    return "\n".join(lines) + "\n"


def status_comment(cr: AccessRequestView) -> str:
    """The PR comment for *cr*'s current phase: who, where, until when or why it ended."""
    who = f"**{cr.requester}** in `{cr.cluster}/{cr.namespace}`"
    if cr.phase == "Active":
        text = (f"Access granted: {who} until **{cr.expires_at_text}** "
                f"(role `{cr.role}`, {cr.duration}).")
    elif cr.phase == "Expired":
        text = f"Access expired: {who}; the ServiceAccount, RoleBinding and token are removed."
    elif cr.phase == "Revoked":
        by, reason = standing.who_revoked(cr), standing.why_revoked(cr)
        text = f"Access revoked: {who}, by {by}" + (f": {reason}" if reason else "") + "."
    elif cr.phase == "Failed":
        text = f"Grant failed: {who}: {cr.message or 'see the controller logs'}."
    else:
        text = f"{cr.phase}: {who}."
    return f"Janus — AccessRequest `{cr.name}`: {text}\n"
