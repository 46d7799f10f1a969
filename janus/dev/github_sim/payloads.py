"""Webhook payloads, shaped like GitHub's (``@octokit/openapi-webhooks`` is the contract).

Differences from the REST shapes that matter to receivers: review ``state`` is lower-case in
webhooks (``approved``), ``merged`` is not an action (``closed`` + ``pull_request.merged``), and
the ``push`` event's repository carries ``pushed_at``/``created_at`` as epoch integers.
"""

from __future__ import annotations

import calendar
import time
from typing import Any

from .gitstore import EMPTY_TREE
from .model import CheckRun, CheckSuite, Comment, Hook, Issue, Pull, Repo, Review
from .render import Renderer

ZERO = "0" * 40


def _epoch(iso: str) -> int:
    return calendar.timegm(time.strptime(iso, "%Y-%m-%dT%H:%M:%SZ"))


class Payloads:
    def __init__(self, render: Renderer) -> None:
        self.render = render
        self.world = render.world

    def _common(self, repo: Repo, sender: str) -> dict[str, Any]:
        data: dict[str, Any] = {"repository": self.render.repo(repo),
                                "sender": self.render.user(sender)}
        if repo.owner.lower() in self.world.orgs:
            org = self.render.org(repo.owner)
            data["organization"] = org
        return data

    def pull_request(self, repo: Repo, pr: Pull, action: str, sender: str,
                     before: str | None = None, after: str | None = None,
                     changes: dict[str, Any] | None = None,
                     extra: dict[str, Any] | None = None) -> dict[str, Any]:
        data: dict[str, Any] = {"action": action, "number": pr.number}
        if action == "synchronize":
            data |= {"before": before, "after": after}
        if changes is not None:
            data["changes"] = changes
        data |= extra or {}
        pull = self.render.pull(repo, pr)
        data["pull_request"] = pull
        return data | self._common(repo, sender)

    def review(self, repo: Repo, pr: Pull, review: Review, action: str,
               sender: str) -> dict[str, Any]:
        body = self.render.review(repo, pr, review)
        body["state"] = review.state.lower()  # webhooks use lower case, REST upper case
        if action == "dismissed":
            body["submitted_at"] = review.submitted_at
        pull = self.render.pull(repo, pr, full=False)
        return {"action": action, "review": body, "pull_request": pull} | self._common(
            repo, sender)

    def issues(self, repo: Repo, issue: Issue, action: str, sender: str,
               extra: dict[str, Any] | None = None) -> dict[str, Any]:
        """The ``issues`` event of a plain issue (opened, edited, closed, labeled, assigned)."""
        data: dict[str, Any] = {"action": action, "issue": self.render.issue(repo, issue)}
        return data | (extra or {}) | self._common(repo, sender)

    def issue_comment(self, repo: Repo, pr: Pull | Issue, comment: Comment, action: str,
                      sender: str, changes: dict[str, Any] | None = None) -> dict[str, Any]:
        data: dict[str, Any] = {"action": action, "issue": self.render.issue(repo, pr),
                                "comment": self.render.comment(repo, comment)}
        if changes is not None:
            data["changes"] = changes
        return data | self._common(repo, sender)

    def check_run(self, repo: Repo, run: CheckRun, action: str, sender: str) -> dict[str, Any]:
        body = self.render.check_run(repo, run)
        suite = self.render.check_suite(repo, repo.check_suites[run.suite_id])
        body["check_suite"] = {k: v for k, v in suite.items() if k not in (
            "head_commit", "repository", "latest_check_runs_count", "check_runs_url",
            "rerequestable", "runs_rerequestable", "node_id")}
        return {"action": action, "check_run": body} | self._common(repo, sender)

    def check_suite(self, repo: Repo, suite: CheckSuite, action: str,
                    sender: str) -> dict[str, Any]:
        body = self.render.check_suite(repo, suite)
        body.pop("repository", None)
        return {"action": action, "check_suite": body} | self._common(repo, sender)

    def ping(self, repo: Repo, hook: Hook) -> dict[str, Any]:
        hook_body = self.render.hook(repo, hook)
        return {"zen": "Keep it logically awesome.", "hook_id": hook.id,
                "hook": hook_body} | self._common(repo, repo.owner)

    def push(self, repo: Repo, ref: str, before: str | None, after: str | None,
             pusher: str) -> dict[str, Any]:
        git = repo.git
        shas = git.commits_between(before, after) if after else []
        if after and before is None:
            # A new branch: like GitHub, list only commits not already on another branch.
            others = [s for n, s in git.refs("refs/heads/").items() if n != ref]
            shas = [s for s in shas if not any(git.is_ancestor(s, o) for o in others)]
        commits = [self._push_commit(repo, s) for s in shas[-20:]]
        head = self._push_commit(repo, after) if after else None
        u = f"{self.render.web}/{repo.full_name}"
        compare = (f"{u}/compare/{(before or ZERO)[:12]}...{(after or ZERO)[:12]}"
                   if before and after else f"{u}/commit/{after}" if after else
                   f"{u}/compare/{(before or ZERO)[:12]}...000000000000")
        acc = self.world.account(pusher)
        repository = self.render.repo(repo) | {
            "pushed_at": _epoch(repo.pushed_at), "created_at": _epoch(repo.created_at),
            "stargazers": 0, "master_branch": repo.default_branch,
        }
        if "organization" in repository:  # the push event names the org by login only
            repository["organization"] = repo.owner
        data: dict[str, Any] = {
            "ref": ref, "before": before or ZERO, "after": after or ZERO,
            "created": before is None, "deleted": after is None,
            "forced": bool(before and after and not git.is_ancestor(before, after)),
            "base_ref": None, "compare": compare, "commits": commits, "head_commit": head,
            "pusher": {"name": acc.login, "email": acc.email},
        }
        common = self._common(repo, pusher)
        common["repository"] = repository
        return data | common

    def _push_commit(self, repo: Repo, sha: str) -> dict[str, Any]:
        info = repo.git.commit_info(sha)
        base = info.parents[0] if info.parents else EMPTY_TREE
        changes = repo.git.diff(base, sha)

        def person(p: Any) -> dict[str, Any]:
            login = self.render.login_for_email(p.email)
            out: dict[str, Any] = {"name": p.name, "email": p.email,
                                   "date": time.strftime("%Y-%m-%dT%H:%M:%S+00:00",
                                                         time.gmtime(p.timestamp))}
            if login:
                out["username"] = login
            return out

        return {
            "id": sha, "tree_id": info.tree, "distinct": True,
            "message": info.message.rstrip("\n"),
            "timestamp": time.strftime("%Y-%m-%dT%H:%M:%S+00:00",
                                       time.gmtime(info.committer.timestamp)),
            "url": f"{self.render.web}/{repo.full_name}/commit/{sha}",
            "author": person(info.author), "committer": person(info.committer),
            "added": [c.path for c in changes if c.status == "added"],
            "removed": [c.path for c in changes if c.status == "removed"],
            "modified": [c.path for c in changes if c.status not in ("added", "removed")],
        }
