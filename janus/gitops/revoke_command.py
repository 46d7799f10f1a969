"""``/janus revoke [reason]`` as a comment on a merged request PR.

Allowed for the requester of a grant and for admins (JanusConfig ``admins``; team membership
through the API). The comment is re-read from the API (the payload is only a pointer), Janus's
own comments are ignored, and every answer is a reply comment keyed by the command's comment id,
so a replayed delivery never answers or revokes twice.
"""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING, Any

from janus import names
from janus.gitops import comments, sources
from janus.logs import event

if TYPE_CHECKING:
    from janus.gitops.service import GitOps

log = logging.getLogger("janus.gitops.revoke")

COMMAND = re.compile(r"^\s*/janus\s+revoke(?:[ \t]+(?P<reason>[^\r\n]*))?\s*$", re.MULTILINE)


def parse_revoke(body: str) -> str | None:
    """The reason ("" if none) when *body* holds a ``/janus revoke`` line, else None."""
    match = COMMAND.search(body or "")
    if match is None:
        return None
    return (match.group("reason") or "").strip()[:400]


def handle_revoke_comment(ops: GitOps, payload: dict[str, Any]) -> None:
    issue = payload.get("issue") or {}
    comment_id = int((payload.get("comment") or {}).get("id", 0))
    if not issue.get("pull_request") or not comment_id:
        return
    # Most comments are not commands (Janus's own plan and status comments come back as
    # deliveries too): skip those without an API call. Acting still re-reads the comment.
    hinted = str((payload.get("comment") or {}).get("body", ""))
    if parse_revoke(hinted) is None:
        return
    number = int(issue["number"])
    with ops.lock_for(number):
        pull = ops.repo.get_pull(number)
        comment = pull.get_issue_comment(comment_id)  # fresh: the payload is only a hint
        if comment.user is None:
            return  # the account was deleted since ("ghost"): nobody to act for
        login = comment.user.login
        if ops.janus_login and login.lower() == ops.janus_login.lower():
            return
        reason = parse_revoke(comment.body)
        if reason is None:
            return
        key = f"reply:{comment_id}"
        if comments.find(pull, key, ops.janus_login) is not None:
            return  # answered already (a replayed delivery)
        reply = _revoke(ops, pull, login, reason)
        comments.upsert(pull, key, f"@{login} {reply}", author=ops.janus_login, edit=False)


def _revoke(ops: GitOps, pull: Any, login: str, reason: str) -> str:
    if not pull.merged:
        return "`/janus revoke` works on merged request PRs only; this one is not merged."
    targets = []
    for f in pull.get_files():
        parts = sources.request_path_parts(f.filename)
        if parts is not None and f.status != "removed":
            targets.append((f.filename, names.access_request_name(*parts)))
    live = [(path, name, cr) for path, name in targets
            if (cr := ops.crs.get(name)) is not None]
    if not live:
        return "this PR has no AccessRequest to revoke."
    admin = None
    refused = []
    for path, _name, cr in live:
        if cr.belongs_to(login):
            continue
        if admin is None:
            admin = ops.is_admin(login)
        if not admin:
            refused.append(path)
    if refused:
        ops.counters.inc("revocations_total", source="comment", outcome="refused")
        event(log, "revoke.refused", pull=pull.number, by=login, files=refused,
              level=logging.WARNING)
        return ("only the requester or a Janus admin may revoke; nothing was revoked "
                f"({', '.join(f'`{p}`' for p in refused)}).")
    lines = []
    for path, name, _ in live:
        result = ops.crs.revoke(name, by=login, reason=reason or f"/janus revoke on PR "
                                                                 f"#{pull.number}",
                                via="pr-comment")
        ops.counters.inc("revocations_total", source="comment", outcome=result)
        event(log, "grant.revoke_requested", request=name, pull=pull.number, by=login,
              outcome=result, source="comment")
        lines.append(f"- `{path}` → `{name}`: {result}")
    return "revocation requested:\n\n" + "\n".join(lines) + "\n"
