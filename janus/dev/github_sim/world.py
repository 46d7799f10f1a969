"""The simulated GitHub's state and rules: who may do what, and what each action changes.

Both the REST layer and the Python control API call these methods, so a merge done through
PyGithub, through ``sim.merge(...)`` or through the review page follows the same rules and
emits the same webhooks. Every method runs under one re-entrant lock. Webhook payloads are
built under the lock (a snapshot of that moment) and put into :attr:`World.outbox`; delivery
happens after the lock is released (see :mod:`.delivery`), so a receiver that calls back into
the simulator while handling a delivery cannot deadlock it.
"""

from __future__ import annotations

import itertools
import secrets
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import codeowners
from .errors import ApiError, not_found, unprocessable, validation_failed
from .gitstore import GitRepo, MergeConflict, Person
from .model import (
    Account,
    App,
    CheckRun,
    Comment,
    CommitStatus,
    Hook,
    Installation,
    Label,
    Org,
    Protection,
    Pull,
    Repo,
    Review,
    Team,
    Token,
    perm_rank,
)

OPINIONATED = ("APPROVED", "CHANGES_REQUESTED")


@dataclass(frozen=True)
class Outgoing:
    """One event for one hook, payload frozen at the moment it happened."""

    repo: str
    hook_id: int
    event: str
    payload: dict[str, Any]
    app_id: int | None = None  # set when the target is a GitHub App's webhook


def now_iso(ts: float | None = None) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts if ts is not None else time.time()))


class World:
    """All simulated accounts and repositories. Logins and repo names are case-insensitive."""

    def __init__(self, root: Path | None = None) -> None:
        self.lock = threading.RLock()
        self._tmp = None
        if root is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="janus-github-sim-")
            root = Path(self._tmp.name)
        self.root = Path(root)
        self._ids = itertools.count(1001)
        self.accounts: dict[str, Account] = {}
        self.tokens: dict[str, Token] = {}
        self.orgs: dict[str, Org] = {}
        self.repos: dict[str, Repo] = {}
        self.apps: dict[int, App] = {}
        self.installations: dict[int, Installation] = {}
        # Events waiting to be handed to the deliverer.
        self.outbox: list[Outgoing] = []
        # Set by the server: builds webhook payloads (needs the renderer, hence late-bound).
        self.payloads: Any = None

    def close(self) -> None:
        if self._tmp is not None:
            self._tmp.cleanup()

    def next_id(self) -> int:
        return next(self._ids)

    # -- accounts -------------------------------------------------------------------------------

    def account(self, login: str) -> Account:
        acc = self.accounts.get(login.lower())
        if acc is None:
            raise not_found()
        return acc

    def add_user(self, login: str, name: str | None = None, email: str | None = None,
                 type_: str = "User") -> str:
        with self.lock:
            if login.lower() in self.accounts:
                raise ValueError(f"account {login!r} exists")
            self.accounts[login.lower()] = Account(
                login=login, id=self.next_id(), type=type_, name=name,
                email=email or f"{login.replace('[bot]', '')}@users.noreply.example",
                created_at=now_iso(),
            )
            return self.issue_token(login)

    def issue_token(self, login: str, installation_id: int | None = None,
                    ttl: float | None = None) -> str:
        prefix = "ghs_" if installation_id else "ghp_"
        token = prefix + secrets.token_urlsafe(27).replace("-", "a").replace("_", "b")[:36]
        self.tokens[token] = Token(
            login=self.account(login).login, installation_id=installation_id,
            expires_at=time.time() + ttl if ttl else None,
        )
        return token

    def add_org(self, login: str, admins: list[str] | None = None) -> None:
        with self.lock:
            self.accounts[login.lower()] = Account(
                login=login, id=self.next_id(), type="Organization", created_at=now_iso()
            )
            org = Org(account=self.accounts[login.lower()])
            for admin in admins or []:
                org.members[self.account(admin).login] = "admin"
            self.orgs[login.lower()] = org

    def org(self, login: str) -> Org:
        org = self.orgs.get(login.lower())
        if org is None:
            raise not_found()
        return org

    def add_team(self, org: str, slug: str, members: list[str] | None = None,
                 maintainers: list[str] | None = None, name: str | None = None) -> Team:
        with self.lock:
            o = self.org(org)
            team = Team(id=self.next_id(), org=o.account.login, slug=slug, name=name or slug,
                        created_at=now_iso())
            for login in members or []:
                team.members[self.account(login).login] = "member"
                o.members.setdefault(self.account(login).login, "member")
            for login in maintainers or []:
                team.members[self.account(login).login] = "maintainer"
                o.members.setdefault(self.account(login).login, "member")
            o.teams[slug.lower()] = team
            return team

    def team(self, org: str, slug: str) -> Team:
        team = self.org(org).teams.get(slug.lower())
        if team is None:
            raise not_found()
        return team

    def team_by_id(self, team_id: int) -> Team:
        for org in self.orgs.values():
            for team in org.teams.values():
                if team.id == team_id:
                    return team
        raise not_found()

    def set_team_members(self, org: str, slug: str, members: list[str]) -> None:
        with self.lock:
            team = self.team(org, slug)
            team.members = {self.account(m).login: "member" for m in members}

    # -- repositories ---------------------------------------------------------------------------

    def repo(self, full_name: str) -> Repo:
        repo = self.repos.get(full_name.lower())
        if repo is None:
            raise not_found()
        return repo

    def create_repo(
        self, owner: str, name: str, files: dict[str, bytes | str] | None = None,
        default_branch: str = "main", collaborators: dict[str, str] | None = None,
        teams: dict[str, str] | None = None, private: bool = False,
        description: str | None = None,
    ) -> Repo:
        with self.lock:
            owner_acc = self.account(owner)
            full = f"{owner_acc.login}/{name}"
            if full.lower() in self.repos:
                raise ValueError(f"repository {full} exists")
            git = GitRepo(self.root / "repos" / f"{owner_acc.login}__{name}.git")
            repo = Repo(id=self.next_id(), owner=owner_acc.login, name=name, git=git,
                        default_branch=default_branch, private=private, created_at=now_iso(),
                        description=description)
            repo.pushed_at = repo.created_at
            for login, perm in (collaborators or {}).items():
                repo.collaborators[self.account(login).login] = perm
            for team, perm in (teams or {}).items():
                org, _, slug = team.partition("/")
                self.team(org, slug)
                repo.team_permissions[f"{org}/{slug}".lower()] = perm
            if files:
                sha = git.commit_changes(
                    None, _as_bytes(files), "Initial commit", self._person(owner_acc.login)
                )
                git.update_ref(f"refs/heads/{default_branch}", sha)
            self.repos[full.lower()] = repo
            return repo

    def _person(self, login: str) -> Person:
        acc = self.account(login)
        return Person(acc.name or acc.login, acc.email or f"{acc.login}@users.noreply.example",
                      int(time.time()))

    # -- permissions ----------------------------------------------------------------------------

    def permission(self, repo: Repo, login: str | None) -> str:
        """The effective permission of *login* on *repo*: none|read|triage|write|maintain|admin."""
        base = "none" if repo.private else "read"
        if login is None:
            return base
        acc = self.accounts.get(login.lower())
        if acc is None:
            return base
        if acc.type == "Bot":
            for inst in self.installations.values():
                app = self.apps[inst.app_id]
                if app.bot_login == acc.login and repo.full_name in inst.repos:
                    return "write"
            return base
        if acc.login.lower() == repo.owner.lower():
            return "admin"
        best = base
        org = self.orgs.get(repo.owner.lower())
        if org is not None:
            role = org.members.get(acc.login)
            if role == "admin":
                return "admin"
            if role is not None:
                best = _max_perm(best, "read")
            for key, perm in repo.team_permissions.items():
                o, _, slug = key.partition("/")
                team = self.orgs.get(o) and self.orgs[o].teams.get(slug)
                if team and acc.login in team.members:
                    best = _max_perm(best, perm)
        for login_, perm in repo.collaborators.items():
            if login_.lower() == acc.login.lower():
                best = _max_perm(best, perm)
        return best

    def require(self, repo: Repo, login: str | None, needed: str) -> None:
        have = self.permission(repo, login)
        if perm_rank(have) >= perm_rank(needed):
            return
        if perm_rank(have) == 0:
            raise not_found()  # GitHub hides private repositories from outsiders
        if login is None:
            raise ApiError(401, "Requires authentication")
        raise ApiError(403, "Resource not accessible by personal access token"
                       if not self._is_bot(login) else "Resource not accessible by integration")

    def _is_bot(self, login: str) -> bool:
        acc = self.accounts.get(login.lower())
        return acc is not None and acc.type == "Bot"

    # -- git: refs and commits ------------------------------------------------------------------

    def resolve(self, repo: Repo, rev: str | None) -> str:
        sha = repo.git.resolve(rev or repo.default_branch)
        if sha is None:
            raise ApiError(404, f"No commit found for the ref {rev}")
        return sha

    def push(self, full_name: str, branch: str, files: dict[str, bytes | str | None],
             author: str, message: str, base: str | None = None) -> str:
        """Commit *files* on *branch* (created from *base* or the default branch) as *author*."""
        with self.lock:
            repo = self.repo(full_name)
            ref = f"refs/heads/{branch}"
            before = repo.git.ref(ref)
            parent = before or (repo.git.resolve(base or repo.default_branch))
            sha = repo.git.commit_changes(parent, _as_bytes(files), message, self._person(author))
            repo.git.update_ref(ref, sha, before or "0" * 40)
            self.after_ref_update(repo, ref, before, sha, author)
            return sha

    def create_ref(self, repo: Repo, ref: str, sha: str, actor: str | None) -> None:
        self.require(repo, actor, "write")
        if not ref.startswith("refs/") or ref.count("/") < 2:
            raise ApiError(422, "Reference name must start with 'refs/' and have at least two "
                           "slashes.")
        if repo.git.ref(ref) is not None:
            raise ApiError(422, "Reference already exists")
        if repo.git.object_type(sha) != "commit":
            raise ApiError(422, "Object does not exist")
        repo.git.update_ref(ref, sha, "0" * 40)
        self.after_ref_update(repo, ref, None, sha, actor or repo.owner)

    def update_ref(self, repo: Repo, ref: str, sha: str, force: bool, actor: str | None) -> None:
        self.require(repo, actor, "write")
        before = repo.git.ref(ref)
        if before is None:
            raise ApiError(422, "Reference does not exist")
        if repo.git.object_type(sha) != "commit":
            raise ApiError(422, "Object does not exist")
        if not force and not repo.git.is_ancestor(before, sha):
            raise ApiError(422, "Update is not a fast forward")
        repo.git.update_ref(ref, sha, before)
        self.after_ref_update(repo, ref, before, sha, actor or repo.owner)

    def delete_ref(self, repo: Repo, ref: str, actor: str | None) -> None:
        self.require(repo, actor, "write")
        before = repo.git.ref(ref)
        if before is None:
            raise ApiError(422, "Reference does not exist")
        repo.git.delete_ref(ref)
        self.after_ref_update(repo, ref, before, None, actor or repo.owner)

    def after_ref_update(self, repo: Repo, ref: str, before: str | None, after: str | None,
                         pusher: str) -> None:
        """What GitHub does after a push: webhook, PR head sync, stale-review dismissal."""
        repo.pushed_at = now_iso()
        self.emit(repo, "push", lambda p: p.push(repo, ref, before, after, pusher))
        if not ref.startswith("refs/heads/") or after is None:
            return
        branch = ref.removeprefix("refs/heads/")
        for pr in repo.pulls.values():
            if pr.state != "open":
                continue
            if pr.base_ref == branch:
                pr.base_sha = after
                self._refresh_test_merge(repo, pr)
            if pr.head_ref == branch and pr.head_sha != after:
                old_head = pr.head_sha
                pr.head_sha = after
                pr.updated_at = now_iso()
                self._refresh_test_merge(repo, pr)
                self.emit(repo, "pull_request",
                          lambda p, pr=pr, old=old_head: p.pull_request(
                              repo, pr, "synchronize", pusher, before=old, after=after))
                self._dismiss_stale(repo, pr, old_head, pusher)

    def _dismiss_stale(self, repo: Repo, pr: Pull, old_head: str, pusher: str) -> None:
        rules = repo.protection.get(pr.base_ref)
        if rules is None or not rules.dismiss_stale_reviews:
            return
        if not repo.git.diff(old_head, pr.head_sha):
            return  # an empty push leaves the diff unchanged; GitHub keeps approvals then
        for review in pr.reviews:
            if review.state == "APPROVED" and review.commit_id != pr.head_sha:
                review.state = "DISMISSED"
                self.emit(repo, "pull_request_review",
                          lambda p, r=review: p.review(repo, pr, r, "dismissed", pusher))

    # -- contents -------------------------------------------------------------------------------

    def put_file(self, repo: Repo, path: str, content: bytes, message: str, branch: str | None,
                 sha: str | None, actor: str) -> tuple[str, str]:
        """Create or update one file; returns (commit sha, blob sha). GitHub's 409/422 rules."""
        self.require(repo, actor, "write")
        branch = branch or repo.default_branch
        ref = f"refs/heads/{branch}"
        before = repo.git.ref(ref)
        if before is None and branch != repo.default_branch:
            raise ApiError(404, f"Branch {branch} not found")
        existing = repo.git.entry_at(before, path) if before else None
        if existing is not None and existing.type != "blob":
            raise ApiError(422, "path is a directory")
        if existing is not None and sha is None:
            raise validation_failed("Content", "missing_field", "sha",
                                    '"sha" wasn\'t supplied.')
        if existing is not None and sha != existing.sha:
            raise ApiError(409, f"{path} does not match {sha}")
        if existing is None and sha is not None:
            raise ApiError(409, f"{path} does not match {sha}")
        commit = repo.git.commit_changes(before, {path: content}, message, self._person(actor))
        repo.git.update_ref(ref, commit, before or "0" * 40)
        self.after_ref_update(repo, ref, before, commit, actor)
        entry = repo.git.entry_at(commit, path)
        assert entry is not None
        return commit, entry.sha

    def delete_file(self, repo: Repo, path: str, message: str, branch: str | None, sha: str,
                    actor: str) -> str:
        self.require(repo, actor, "write")
        branch = branch or repo.default_branch
        ref = f"refs/heads/{branch}"
        before = repo.git.ref(ref)
        if before is None:
            raise ApiError(404, f"Branch {branch} not found")
        existing = repo.git.entry_at(before, path)
        if existing is None:
            raise not_found()
        if existing.sha != sha:
            raise ApiError(409, f"{path} does not match {sha}")
        commit = repo.git.commit_changes(before, {path: None}, message, self._person(actor))
        repo.git.update_ref(ref, commit, before)
        self.after_ref_update(repo, ref, before, commit, actor)
        return commit

    # -- pull requests --------------------------------------------------------------------------

    def pull(self, repo: Repo, number: int) -> Pull:
        pr = repo.pulls.get(number)
        if pr is None:
            raise not_found()
        return pr

    def create_pull(self, repo: Repo, title: str | None, head: str, base: str,
                    body: str | None, draft: bool, actor: str,
                    maintainer_can_modify: bool = False) -> Pull:
        self.require(repo, actor, "read")
        if ":" in head:
            owner, _, head = head.partition(":")
            if owner.lower() != repo.owner.lower():
                raise validation_failed("PullRequest", "invalid", "head")
        if not title:
            raise validation_failed("PullRequest", "missing_field", "title")
        head_sha = repo.git.ref(f"refs/heads/{head}")
        base_sha = repo.git.ref(f"refs/heads/{base}")
        if base_sha is None:
            raise validation_failed("PullRequest", "invalid", "base")
        if head_sha is None:
            raise validation_failed("PullRequest", "invalid", "head")
        for other in repo.pulls.values():
            if other.state == "open" and other.head_ref == head and other.base_ref == base:
                raise ApiError(422, "Validation Failed", [{
                    "resource": "PullRequest", "code": "custom",
                    "message": f"A pull request already exists for {repo.owner}:{head}."}])
        if not repo.git.commits_between(base_sha, head_sha):
            raise ApiError(422, "Validation Failed", [{
                "resource": "PullRequest", "code": "custom",
                "message": f"No commits between {base} and {head}"}])
        stamp = now_iso()
        pr = Pull(number=repo.next_number, id=self.next_id(), title=title, body=body,
                  user=self.account(actor).login, head_ref=head, head_sha=head_sha,
                  base_ref=base, base_sha=base_sha, created_at=stamp, updated_at=stamp,
                  draft=draft, maintainer_can_modify=maintainer_can_modify)
        repo.next_number += 1
        repo.pulls[pr.number] = pr
        self._refresh_test_merge(repo, pr)
        self.emit(repo, "pull_request", lambda p: p.pull_request(repo, pr, "opened", actor))
        if not draft:  # GitHub asks code owners right after opening, never for drafts
            self._request_code_owners(repo, pr)
        return pr

    def _refresh_test_merge(self, repo: Repo, pr: Pull) -> None:
        # GitHub keeps a test merge at refs/pull/N/merge; its sha is the open PR's
        # merge_commit_sha. A conflict leaves it unset (mergeable: false).
        try:
            tree = repo.git.merge_trees(pr.base_sha, pr.head_sha)
        except MergeConflict:
            pr.test_merge_sha = None
            return
        pr.test_merge_sha = repo.git.commit_tree(
            tree, [pr.base_sha, pr.head_sha], f"Merge {pr.head_sha} into {pr.base_sha}",
            Person("GitHub", "noreply@github.com", int(time.time())),
        )
        repo.git.update_ref(f"refs/pull/{pr.number}/head", pr.head_sha)
        repo.git.update_ref(f"refs/pull/{pr.number}/merge", pr.test_merge_sha)

    def mergeable(self, pr: Pull) -> bool | None:
        if pr.merged or pr.state != "open":
            return None
        return pr.test_merge_sha is not None

    def changed_paths(self, repo: Repo, pr: Pull) -> list[str]:
        base = repo.git.merge_base(pr.base_sha, pr.head_sha) or pr.base_sha
        return [c.path for c in repo.git.diff(base, pr.head_sha)] + [
            c.previous_path for c in repo.git.diff(base, pr.head_sha) if c.previous_path
        ]

    def code_owners_for(self, repo: Repo, pr: Pull) -> dict[str, list[str]]:
        """Owners of each changed path, per CODEOWNERS on the base branch."""
        text = codeowners.read_codeowners(repo.git, pr.base_sha)
        resolve = codeowners.owners_resolver(text)
        return {path: resolve(path) for path in self.changed_paths(repo, pr)}

    def eligible_owner(self, repo: Repo, owner: str) -> bool:
        """GitHub ignores owners without write access (teams: explicitly granted write)."""
        name = owner.lstrip("@")
        if "/" in name:
            perm = repo.team_permissions.get(name.lower(), "none")
            return perm_rank(perm) >= perm_rank("write")
        return perm_rank(self.permission(repo, name)) >= perm_rank("write")

    def _request_code_owners(self, repo: Repo, pr: Pull) -> None:
        for owners in self.code_owners_for(repo, pr).values():
            for owner in owners:
                if not self.eligible_owner(repo, owner):
                    continue  # GitHub silently ignores owners without write access
                name = owner.lstrip("@")
                if "/" in name:
                    self._add_requested_team(repo, pr, self.team(*name.split("/", 1)), pr.user)
                elif name.lower() != pr.user.lower() and name.lower() in self.accounts:
                    self._add_requested_user(repo, pr, self.account(name).login, pr.user)

    def request_reviewers(self, repo: Repo, pr: Pull, users: list[str], teams: list[str],
                          actor: str) -> None:
        self.require(repo, actor, "triage")
        for login in users:
            acc = self.account(login) if login.lower() in self.accounts else None
            if acc is None:
                raise unprocessable(f"Reviews may only be requested from collaborators. One or "
                                    f"more of the users or teams you specified is not a "
                                    f"collaborator of the {repo.full_name} repository.")
            if acc.login.lower() == pr.user.lower():
                raise unprocessable("Review cannot be requested from pull request author.")
            self._add_requested_user(repo, pr, acc.login, actor)
        for slug in teams:
            self._add_requested_team(repo, pr, self.team(repo.owner, slug), actor)

    def _add_requested_user(self, repo: Repo, pr: Pull, login: str, actor: str) -> None:
        if login in pr.requested_reviewers:
            return
        pr.requested_reviewers.append(login)
        self.emit(repo, "pull_request", lambda p: p.pull_request(
            repo, pr, "review_requested", actor,
            extra={"requested_reviewer": p.render.user(login)}))

    def _add_requested_team(self, repo: Repo, pr: Pull, team: Team, actor: str) -> None:
        key = f"{team.org}/{team.slug}"
        if key.lower() in (t.lower() for t in pr.requested_teams):
            return
        pr.requested_teams.append(key)
        self.emit(repo, "pull_request", lambda p: p.pull_request(
            repo, pr, "review_requested", actor, extra={"requested_team": p.render.team(team)}))

    def remove_requested(self, repo: Repo, pr: Pull, users: list[str], teams: list[str],
                         actor: str) -> None:
        self.require(repo, actor, "triage")
        pr.requested_reviewers = [u for u in pr.requested_reviewers
                                  if u.lower() not in {x.lower() for x in users}]
        pr.requested_teams = [t for t in pr.requested_teams
                              if t.split("/")[-1].lower() not in {x.lower() for x in teams}]

    def edit_pull(self, repo: Repo, pr: Pull, changes: dict[str, Any], actor: str) -> None:
        if actor.lower() != pr.user.lower():
            self.require(repo, actor, "triage")
        before = {"title": pr.title, "body": pr.body, "base": pr.base_ref}
        edited: dict[str, Any] = {}
        if "title" in changes and changes["title"] != pr.title:
            edited["title"] = {"from": pr.title}
            pr.title = changes["title"]
        if "body" in changes and changes["body"] != pr.body:
            edited["body"] = {"from": pr.body or ""}
            pr.body = changes["body"]
        if "base" in changes and changes["base"] != pr.base_ref:
            base_sha = repo.git.ref(f"refs/heads/{changes['base']}")
            if base_sha is None:
                raise validation_failed("PullRequest", "invalid", "base")
            edited["base"] = {"ref": {"from": pr.base_ref}, "sha": {"from": pr.base_sha}}
            pr.base_ref, pr.base_sha = changes["base"], base_sha
            self._refresh_test_merge(repo, pr)
        pr.updated_at = now_iso()
        if edited and pr.state == "open":
            self.emit(repo, "pull_request",
                      lambda p: p.pull_request(repo, pr, "edited", actor, changes=edited))
        del before
        state = changes.get("state")
        if state == "closed" and pr.state == "open":
            pr.state = "closed"
            pr.closed_at = now_iso()
            self.emit(repo, "pull_request", lambda p: p.pull_request(repo, pr, "closed", actor))
        elif state == "open" and pr.state == "closed" and not pr.merged:
            if repo.git.ref(f"refs/heads/{pr.head_ref}") is None:
                raise unprocessable("Cannot reopen: the head branch was deleted")
            pr.state = "open"
            pr.closed_at = None
            self._refresh_test_merge(repo, pr)
            self.emit(repo, "pull_request",
                      lambda p: p.pull_request(repo, pr, "reopened", actor))

    # -- reviews --------------------------------------------------------------------------------

    def create_review(self, repo: Repo, pr: Pull, event: str | None, body: str | None,
                      commit_id: str | None, actor: str) -> Review:
        self.require(repo, actor, "read")
        login = self.account(actor).login
        states = {"APPROVE": "APPROVED", "REQUEST_CHANGES": "CHANGES_REQUESTED",
                  "COMMENT": "COMMENTED", None: "PENDING", "": "PENDING"}
        if event not in states:
            raise unprocessable(f"Unknown review event {event}")
        state = states[event]
        if login.lower() == pr.user.lower() and state == "APPROVED":
            raise unprocessable("Can not approve your own pull request")
        if login.lower() == pr.user.lower() and state == "CHANGES_REQUESTED":
            raise unprocessable("Can not request changes on your own pull request")
        if state in ("CHANGES_REQUESTED", "COMMENTED") and not body:
            raise unprocessable(f"Review Cannot {event.lower().replace('_', ' ')} "
                                "without a body" if event else "Body is required")
        commit = commit_id or pr.head_sha
        if commit_id and commit_id not in repo.git.commits_between(pr.base_sha, pr.head_sha):
            raise unprocessable("Commit is not part of the pull request")
        review = Review(id=self.next_id(), user=login, state=state, body=body or "",
                        commit_id=commit, submitted_at=now_iso())
        pr.reviews.append(review)
        if state != "PENDING":
            pr.requested_reviewers = [u for u in pr.requested_reviewers if u != login]
            self.emit(repo, "pull_request_review",
                      lambda p: p.review(repo, pr, review, "submitted", login))
        return review

    def review(self, pr: Pull, review_id: int) -> Review:
        for review in pr.reviews:
            if review.id == review_id:
                return review
        raise not_found()

    def dismiss_review(self, repo: Repo, pr: Pull, review: Review, message: str,
                       actor: str) -> None:
        self.require(repo, actor, "write")
        if review.state not in OPINIONATED:
            raise unprocessable(f"Can not dismiss a {review.state.lower()} pull request review")
        review.state = "DISMISSED"
        self.emit(repo, "pull_request_review",
                  lambda p: p.review(repo, pr, review, "dismissed", actor))
        del message

    def latest_opinions(self, repo: Repo, pr: Pull) -> dict[str, Review]:
        latest: dict[str, Review] = {}
        for review in pr.reviews:
            if review.state in (*OPINIONATED, "DISMISSED"):
                latest[review.user] = review
        return latest

    # -- merge ----------------------------------------------------------------------------------

    def merge(self, repo: Repo, pr: Pull, actor: str, method: str = "merge",
              sha: str | None = None, title: str | None = None,
              message: str | None = None) -> str:
        self.require(repo, actor, "write")
        if pr.merged or pr.state != "open":
            raise ApiError(405, "Pull Request is not mergeable")
        if sha and sha != pr.head_sha:
            raise ApiError(409, "Head branch was modified. Review and try the merge again.")
        if pr.draft:
            raise ApiError(405, "Pull Request is still a draft")
        self._check_protection(repo, pr, actor)
        base_tip = repo.git.ref(f"refs/heads/{pr.base_ref}")
        assert base_tip is not None
        try:
            tree = repo.git.merge_trees(base_tip, pr.head_sha)
        except MergeConflict:
            raise ApiError(405, "Pull Request is not mergeable") from None
        person = self._person(actor)
        if method == "merge":
            text = title or f"Merge pull request #{pr.number} from {repo.owner}/{pr.head_ref}"
            text += f"\n\n{message if message is not None else pr.title}\n"
            commit = repo.git.commit_tree(tree, [base_tip, pr.head_sha], text, person)
        elif method == "squash":
            text = (title or f"{pr.title} (#{pr.number})") + (f"\n\n{message}\n" if message
                                                               else "\n")
            commit = repo.git.commit_tree(tree, [base_tip], text, person)
        else:
            raise ApiError(405, "Rebase merges are not allowed on this repository.")
        repo.git.update_ref(f"refs/heads/{pr.base_ref}", commit, base_tip)
        pr.merged, pr.merged_by, pr.merged_at = True, self.account(actor).login, now_iso()
        pr.merge_commit_sha = commit
        pr.state, pr.closed_at, pr.updated_at = "closed", pr.merged_at, pr.merged_at
        pr.base_sha = base_tip
        self.after_ref_update(repo, f"refs/heads/{pr.base_ref}", base_tip, commit, actor)
        self.emit(repo, "pull_request", lambda p: p.pull_request(repo, pr, "closed", actor))
        return commit

    def _check_protection(self, repo: Repo, pr: Pull, actor: str) -> None:
        rules = repo.protection.get(pr.base_ref)
        if rules is None:
            return
        if self.permission(repo, actor) == "admin" and not rules.enforce_admins:
            return  # admins bypass classic protection unless it is enforced for them
        writers = {
            login: r for login, r in self.latest_opinions(repo, pr).items()
            if perm_rank(self.permission(repo, login)) >= perm_rank("write")
        }
        if any(r.state == "CHANGES_REQUESTED" for r in writers.values()):
            raise ApiError(405, "Changes must be made through a pull request. Changes have "
                           "been requested.")
        approvers = [login for login, r in writers.items() if r.state == "APPROVED"]
        if len(approvers) < rules.required_approvals:
            n = rules.required_approvals
            raise ApiError(405, f"At least {n} approving review{'s' if n > 1 else ''} "
                           f"{'are' if n > 1 else 'is'} required by reviewers with write access.")
        if rules.require_code_owner_reviews:
            for path, owners in self.code_owners_for(repo, pr).items():
                if owners and not any(self._owns(repo, o, a) for o in owners for a in approvers):
                    raise ApiError(405, f"Waiting on code owner review from "
                                   f"{', '.join(owners)} for {path}.")

    def _owns(self, repo: Repo, owner: str, login: str) -> bool:
        name = owner.lstrip("@")
        if "/" in name:
            org, _, slug = name.partition("/")
            try:
                team = self.team(org, slug)
            except ApiError:
                return False
            return login in team.members and self.eligible_owner(repo, owner)
        return name.lower() == login.lower()

    def set_protection(self, full_name: str, branch: str, **rules: Any) -> Protection:
        with self.lock:
            repo = self.repo(full_name)
            repo.protection[branch] = Protection(**rules)
            return repo.protection[branch]

    # -- issue comments and labels --------------------------------------------------------------

    def create_comment(self, repo: Repo, number: int, body: str, actor: str) -> Comment:
        self.require(repo, actor, "read")
        pr = self.pull(repo, number)
        if not body:
            raise validation_failed("IssueComment", "missing_field", "body")
        stamp = now_iso()
        comment = Comment(id=self.next_id(), issue_number=number, user=self.account(actor).login,
                          body=body, created_at=stamp, updated_at=stamp)
        repo.comments[comment.id] = comment
        self.emit(repo, "issue_comment",
                  lambda p: p.issue_comment(repo, pr, comment, "created", actor))
        return comment

    def comment(self, repo: Repo, comment_id: int) -> Comment:
        comment = repo.comments.get(comment_id)
        if comment is None:
            raise not_found()
        return comment

    def edit_comment(self, repo: Repo, comment: Comment, body: str, actor: str) -> None:
        if actor.lower() != comment.user.lower():
            self.require(repo, actor, "triage")
        old = comment.body
        comment.body, comment.updated_at = body, now_iso()
        pr = self.pull(repo, comment.issue_number)
        self.emit(repo, "issue_comment", lambda p: p.issue_comment(
            repo, pr, comment, "edited", actor, changes={"body": {"from": old}}))

    def delete_comment(self, repo: Repo, comment: Comment, actor: str) -> None:
        if actor.lower() != comment.user.lower():
            self.require(repo, actor, "triage")
        del repo.comments[comment.id]

    def label(self, repo: Repo, name: str) -> Label:
        label = repo.labels.get(name.lower())
        if label is None:
            label = Label(id=self.next_id(), name=name)
            repo.labels[name.lower()] = label
        return label

    def add_labels(self, repo: Repo, pr: Pull, names: list[str], actor: str,
                   replace: bool = False) -> None:
        self.require(repo, actor, "triage")
        if replace:
            pr.labels = []
        for name in names:
            label = self.label(repo, name)
            if label.name not in pr.labels:
                pr.labels.append(label.name)
                self.emit(repo, "pull_request", lambda p, lb=label: p.pull_request(
                    repo, pr, "labeled", actor, extra={"label": p.render.label(repo, lb)}))

    def remove_label(self, repo: Repo, pr: Pull, name: str, actor: str) -> None:
        self.require(repo, actor, "triage")
        for existing in pr.labels:
            if existing.lower() == name.lower():
                pr.labels.remove(existing)
                label = self.label(repo, existing)
                self.emit(repo, "pull_request", lambda p, lb=label: p.pull_request(
                    repo, pr, "unlabeled", actor, extra={"label": p.render.label(repo, lb)}))
                return
        raise ApiError(404, "Label does not exist")

    # -- checks and statuses --------------------------------------------------------------------

    def app_of(self, login: str) -> App | None:
        for app in self.apps.values():
            if app.bot_login.lower() == login.lower():
                return app
        return None

    def create_check_run(self, repo: Repo, fields: dict[str, Any], actor: str) -> CheckRun:
        app = self.app_of(actor)
        if app is None:
            raise ApiError(403, "You must authenticate via a GitHub App.")
        self.require(repo, actor, "write")
        if not fields.get("name"):
            raise validation_failed("CheckRun", "missing_field", "name")
        head = str(fields.get("head_sha") or "")
        if repo.git.object_type(head) != "commit":
            raise validation_failed("CheckRun", "invalid", "head_sha",
                                    f"No commit found for SHA: {head}")
        suite = next((r.suite_id for r in repo.check_runs.values()
                      if r.head_sha == head and r.app_id == app.id), None) or self.next_id()
        run = CheckRun(id=self.next_id(), suite_id=suite, name=fields["name"], head_sha=head,
                       app_id=app.id)
        self._apply_check_fields(run, fields)
        repo.check_runs[run.id] = run
        self.emit(repo, "check_run", lambda p: p.check_run(repo, run, "created", actor))
        if run.status == "completed":
            self.emit(repo, "check_run", lambda p: p.check_run(repo, run, "completed", actor))
            self._maybe_complete_suite(repo, run, actor)
        return run

    def update_check_run(self, repo: Repo, run: CheckRun, fields: dict[str, Any],
                         actor: str) -> None:
        app = self.app_of(actor)
        if app is None or app.id != run.app_id:
            raise ApiError(403, "Resource not accessible by integration")
        was_completed = run.status == "completed"
        self._apply_check_fields(run, fields)
        if run.status == "completed" and not was_completed:
            self.emit(repo, "check_run", lambda p: p.check_run(repo, run, "completed", actor))
            self._maybe_complete_suite(repo, run, actor)

    def _maybe_complete_suite(self, repo: Repo, run: CheckRun, actor: str) -> None:
        suite = [r for r in repo.check_runs.values() if r.suite_id == run.suite_id]
        if all(r.status == "completed" for r in suite):
            self.emit(repo, "check_suite",
                      lambda p: p.check_suite(repo, run, "completed", actor))

    @staticmethod
    def _apply_check_fields(run: CheckRun, fields: dict[str, Any]) -> None:
        for key in ("name", "details_url", "external_id", "started_at", "completed_at"):
            if key in fields:
                setattr(run, key, fields[key])
        if "status" in fields:
            if fields["status"] not in ("queued", "in_progress", "completed"):
                raise validation_failed("CheckRun", "invalid", "status")
            run.status = fields["status"]
        if fields.get("conclusion"):
            valid = ("action_required", "cancelled", "failure", "neutral", "success",
                     "skipped", "timed_out")
            if fields["conclusion"] not in valid:
                raise validation_failed("CheckRun", "invalid", "conclusion")
            run.conclusion = fields["conclusion"]
            run.status = "completed"  # giving a conclusion completes the run, as on GitHub
        if run.status == "completed" and run.conclusion is None:
            raise validation_failed("CheckRun", "missing_field", "conclusion")
        if run.status == "completed" and run.completed_at is None:
            run.completed_at = now_iso()
        if run.status != "queued" and run.started_at is None:
            run.started_at = now_iso()
        if fields.get("output"):
            output = dict(fields["output"])
            if "title" not in output or "summary" not in output:
                raise validation_failed("CheckRun", "missing_field", "output")
            run.output = output

    def create_status(self, repo: Repo, sha: str, fields: dict[str, Any],
                      actor: str) -> CommitStatus:
        self.require(repo, actor, "write")
        if repo.git.object_type(sha) != "commit":
            raise validation_failed("Status", "invalid", "sha", f"No commit found for SHA: {sha}")
        if fields.get("state") not in ("error", "failure", "pending", "success"):
            raise validation_failed("Status", "custom", "state")
        status = CommitStatus(id=self.next_id(), sha=sha, state=fields["state"],
                              context=fields.get("context") or "default",
                              description=fields.get("description"),
                              target_url=fields.get("target_url"),
                              creator=self.account(actor).login, created_at=now_iso())
        repo.statuses.append(status)
        return status

    # -- hooks and apps -------------------------------------------------------------------------

    def add_hook(self, full_name: str, url: str, secret: str | None,
                 events: list[str]) -> Hook:
        with self.lock:
            repo = self.repo(full_name)
            hook = Hook(id=self.next_id(), url=url, secret=secret, events=list(events),
                        created_at=now_iso())
            repo.hooks[hook.id] = hook
            self.emit(repo, "ping", lambda p: p.ping(repo, hook), hook_id=hook.id)
            return hook

    def create_app(self, slug: str, owner: str, public_key_pem: bytes,
                   events: list[str]) -> App:
        with self.lock:
            app = App(id=self.next_id(), slug=slug, name=slug, owner=self.account(owner).login,
                      public_key_pem=public_key_pem, bot_login=f"{slug}[bot]",
                      created_at=now_iso(), events=list(events))
            self.add_user(app.bot_login, name=app.name, type_="Bot")
            self.apps[app.id] = app
            return app

    def set_app_hook(self, app_id: int, url: str, secret: str | None) -> Hook:
        with self.lock:
            app = self.apps[app_id]
            app.hook = Hook(id=self.next_id(), url=url, secret=secret, events=app.events,
                            created_at=now_iso())
            return app.hook

    def install_app(self, app_id: int, full_names: list[str]) -> Installation:
        with self.lock:
            app = self.apps[app_id]
            repos = [self.repo(n).full_name for n in full_names]
            account = self.repo(repos[0]).owner if repos else app.owner
            for inst in self.installations.values():
                if inst.app_id == app_id and inst.account.lower() == account.lower():
                    inst.repos.extend(r for r in repos if r not in inst.repos)
                    return inst
            inst = Installation(id=self.next_id(), app_id=app_id, account=account,
                                repos=repos, created_at=now_iso())
            self.installations[inst.id] = inst
            return inst

    def installation_for(self, repo: Repo, app_id: int) -> Installation:
        for inst in self.installations.values():
            if inst.app_id == app_id and repo.full_name in inst.repos:
                return inst
        raise not_found()

    # -- events ---------------------------------------------------------------------------------

    def emit(self, repo: Repo, event: str, build: Callable[[Any], dict[str, Any]],
             hook_id: int | None = None) -> None:
        """Queue *event* for the repo's hooks that subscribe to it (payload built now)."""
        if self.payloads is None:
            return
        targets = [h for h in repo.hooks.values() if h.active and (
            (hook_id is not None and h.id == hook_id)
            or (hook_id is None and (event in h.events or "*" in h.events)))]
        apps = [] if hook_id is not None else [
            (inst, self.apps[inst.app_id]) for inst in self.installations.values()
            if repo.full_name in inst.repos and self.apps[inst.app_id].hook is not None
            and event in self.apps[inst.app_id].events]
        if not targets and not apps:
            return
        payload = build(self.payloads)
        for hook in targets:
            self.outbox.append(Outgoing(repo.full_name, hook.id, event, payload))
        for inst, app in apps:
            assert app.hook is not None
            installed = payload | {"installation": {"id": inst.id,
                                                    "node_id": f"MDIzOkluc3RhbGxhdGlvbj{inst.id}"}}
            self.outbox.append(Outgoing(repo.full_name, app.hook.id, event, installed, app.id))

    def take_outbox(self) -> list[Outgoing]:
        with self.lock:
            items, self.outbox = self.outbox, []
            return items


def _as_bytes(files: dict[str, Any]) -> dict[str, bytes | None]:
    return {p: (d.encode() if isinstance(d, str) else d) for p, d in files.items()}


def _max_perm(a: str, b: str) -> str:
    return a if perm_rank(a) >= perm_rank(b) else b
