"""Plain issues: open, edit (title, body, state, labels, assignees), list. Pull requests are
issues too on GitHub and share the number sequence; comments and labels on either live in
:mod:`.rules_pulls`. Janus opens break-glass retrospective reviews as issues."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .errors import not_found, validation_failed
from .model import Issue, Repo, now_iso, perm_rank
from .rules_pulls import PullRules

if TYPE_CHECKING:
    from .payloads import Payloads


class IssueRules(PullRules):
    def create_issue(self, repo: Repo, title: str, body: str | None, actor: str,
                     labels: list[str] | None = None,
                     assignees: list[str] | None = None) -> Issue:
        self.require(repo, actor, "read")
        if not title:
            raise validation_failed("Issue", "missing_field", "title")
        stamp = now_iso()
        issue = Issue(number=repo.next_number, id=self.next_id(), title=title, body=body,
                      user=self.account(actor).login, created_at=stamp, updated_at=stamp)
        repo.next_number += 1
        # On GitHub, labels and assignees set by someone without triage are silently dropped.
        may_triage = self._may(repo, actor, "triage")
        for name in (labels or []) if may_triage else []:
            issue.labels.append(self.label(repo, name).name)
        issue.assignees = self._assignable(repo, assignees or []) if may_triage else []
        repo.issues[issue.number] = issue
        self.emit(repo, "issues", lambda p: p.issues(repo, issue, "opened", actor))
        for login in issue.assignees:
            self._assigned(repo, issue, login, actor)
        return issue

    def issue(self, repo: Repo, number: int) -> Issue:
        issue = repo.issues.get(number)
        if issue is None:
            raise not_found()
        return issue

    def edit_issue(self, repo: Repo, issue: Issue, changes: dict[str, Any], actor: str) -> None:
        """PATCH semantics: title and body by the author or a triager; state, labels and
        assignees by a triager (the author may close and reopen their own issue)."""
        is_author = actor.lower() == issue.user.lower()
        if not is_author or set(changes) - {"title", "body", "state", "state_reason"}:
            self.require(repo, actor, "triage")
        edited: dict[str, Any] = {}
        for key in ("title", "body"):
            if key in changes and changes[key] != getattr(issue, key):
                edited[key] = {"from": getattr(issue, key)}
                setattr(issue, key, changes[key])
        if "labels" in changes:
            self.add_labels(repo, issue, [str(n) for n in changes["labels"] or []], actor,
                            replace=True)
        if "assignees" in changes:
            self.set_assignees(repo, issue, list(changes["assignees"] or []), actor)
        issue.updated_at = now_iso()
        if edited:
            self.emit(repo, "issues", lambda p: p.issues(
                repo, issue, "edited", actor, extra={"changes": edited}))
        state = changes.get("state")
        if state is not None and state not in ("open", "closed"):
            raise validation_failed("Issue", "invalid", "state")
        if state and state != issue.state:
            issue.state = state
            if state == "closed":
                issue.closed_at = now_iso()
                issue.state_reason = changes.get("state_reason") or "completed"
            else:
                issue.closed_at, issue.state_reason = None, "reopened"
            self.emit(repo, "issues", lambda p: p.issues(
                repo, issue, "closed" if state == "closed" else "reopened", actor))

    def set_assignees(self, repo: Repo, issue: Issue, logins: list[str], actor: str,
                      add_only: bool = False) -> None:
        self.require(repo, actor, "triage")
        wanted = self._assignable(repo, logins)
        before = list(issue.assignees)
        issue.assignees = sorted(set(before) | set(wanted)) if add_only else wanted
        for login in issue.assignees:
            if login not in before:
                self._assigned(repo, issue, login, actor)

    def _assigned(self, repo: Repo, issue: Issue, login: str, actor: str) -> None:
        def build(p: Payloads) -> dict[str, Any]:
            return p.issues(repo, issue, "assigned", actor,
                            extra={"assignee": p.render.user(login)})

        self.emit(repo, "issues", build)

    def _assignable(self, repo: Repo, logins: list[str]) -> list[str]:
        """GitHub assigns only people with access to the repository and ignores the rest."""
        out: list[str] = []
        for login in logins:
            if login.lower() in self.accounts and self.permission(repo, login) != "none":
                name = self.account(login).login
                if name not in out:
                    out.append(name)
        return out

    def _may(self, repo: Repo, login: str, needed: str) -> bool:
        return perm_rank(self.permission(repo, login)) >= perm_rank(needed)
