"""The simulated GitHub's state: accounts, organisations and teams, repositories, permissions,
apps, hooks and the event outbox.

:class:`WorldState` is the base of the rule mixins (:mod:`.rules_git`, :mod:`.rules_pulls`,
:mod:`.rules_checks`); :class:`~.world.World` combines them. The few rules one family calls on
another are declared here as abstract methods, so each mixin is typed against what it really
uses and the combination is checked when ``World`` is built.
"""

from __future__ import annotations

import abc
import itertools
import secrets
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import ApiError, not_found
from .gitstore import GitRepo, Person
from .model import (
    Account,
    App,
    Hook,
    Installation,
    Org,
    Pull,
    Repo,
    Team,
    Token,
    now_iso,
    perm_rank,
)
from .renewal import TestMergeRenewer
from .rwlock import WorldLock

if TYPE_CHECKING:
    from .payloads import Payloads


@dataclass(frozen=True)
class Outgoing:
    """One event for one hook, payload frozen at the moment it happened."""

    repo: str
    hook_id: int
    event: str
    payload: dict[str, Any]
    app_id: int | None = None  # set when the target is a GitHub App's webhook


class WorldState(abc.ABC):
    """All simulated accounts and repositories. Logins and repo names are case-insensitive."""

    def __init__(self, root: Path | None = None) -> None:
        # Exclusive for every change, shared for reads (rwlock.py); re-entrant like an RLock.
        self.lock = WorldLock()
        # The test merges a push to their base makes stale are renewed after the push has
        # answered, as GitHub's background job does (renewal.py).
        self.test_merges = TestMergeRenewer(self._renew_stale_test_merge)
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
        self.payloads: Payloads | None = None
        # GitHub's real limits, lowered by tests to make them bite: a recursive tree listing
        # stops at 100,000 entries (`truncated: true`); the contents API returns a file over
        # 1 MB with `encoding: "none"` and no content.
        self.tree_entries_limit = 100_000
        self.contents_size_limit = 1024 * 1024

    def close(self) -> None:
        self.test_merges.close()
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

    def delete_user(self, login: str) -> None:
        """Delete an account: its tokens stop working, its comments and reviews show
        ``user: null``, and its commits no longer map to an account."""
        with self.lock:
            acc = self.account(login)
            acc.deleted = True
            self.tokens = {t: v for t, v in self.tokens.items()
                           if v.login.lower() != acc.login.lower()}

    def issue_token(self, login: str, installation_id: int | None = None,
                    ttl: float | None = None, oauth: bool = False) -> str:
        prefix = "ghs_" if installation_id else ("gho_" if oauth else "ghp_")
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

    def set_team_members(self, org: str, slug: str, members: list[str],
                         pending: list[str] | None = None) -> None:
        with self.lock:
            team = self.team(org, slug)
            team.members = {self.account(m).login: "member" for m in members}
            team.pending = {self.account(m).login: "member" for m in pending or []}

    # -- repositories ---------------------------------------------------------------------------

    def repo(self, full_name: str) -> Repo:
        repo = self.repos.get(full_name.lower())
        if repo is None:
            raise not_found()
        return repo

    def create_repo(
        self, owner: str, name: str, files: Mapping[str, bytes | str] | None = None,
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
                    None, as_bytes(files), "Initial commit", self._person(owner_acc.login)
                )
                git.update_ref(f"refs/heads/{default_branch}", sha)
            self.repos[full.lower()] = repo
            return repo

    def fork_repo(self, full_name: str, actor: str, name: str | None = None) -> Repo:
        """Fork *full_name* into *actor*'s account (every branch, as GitHub's default).

        Anyone who can read a repository can fork it (GitHub lets an owner switch forking off
        only for private and internal repositories). The fork is a repository of its own,
        owned (and administered) by *actor*; a pull request from it into the parent is a
        cross-repository pull request: ``head.repo`` is the fork."""
        with self.lock:
            parent = self.repo(full_name)
            self.require(parent, actor, "read")
            owner = self.account(actor).login
            fork_name = name or parent.name
            full = f"{owner}/{fork_name}"
            existing = self.repos.get(full.lower())
            if existing is not None and existing.parent == parent.full_name:
                return existing  # GitHub answers an existing fork again
            if existing is not None:
                raise ApiError(422, "Validation Failed", [{
                    "resource": "Repository", "code": "custom", "field": "name",
                    "message": "name already exists on this account"}])
            git = GitRepo(self.root / "repos" / f"{owner}__{fork_name}.git")
            git.fetch(parent.git, "+refs/heads/*:refs/heads/*")
            fork = Repo(id=self.next_id(), owner=owner, name=fork_name, git=git,
                        default_branch=parent.default_branch, private=parent.private,
                        created_at=now_iso(), description=parent.description,
                        parent=parent.full_name)
            fork.pushed_at = fork.created_at
            self.repos[full.lower()] = fork
            return fork

    def rename_repo(self, full_name: str, new_name: str, actor: str) -> Repo:
        """Rename a repository (admin only). Its id stays; webhooks then carry the new
        ``full_name``. (GitHub also redirects the old name; the simulator answers 404 there,
        so a client that keeps the old name notices at once.)"""
        with self.lock:
            repo = self.repo(full_name)
            self.require(repo, actor, "admin")
            new_full = f"{repo.owner}/{new_name}"
            if new_full.lower() in self.repos:
                raise ApiError(422, "Validation Failed", [{
                    "resource": "Repository", "code": "custom", "field": "name",
                    "message": "name already exists on this account"}])
            old_full = repo.full_name
            del self.repos[old_full.lower()]
            repo.name = new_name
            self.repos[new_full.lower()] = repo
            for other in self.repos.values():
                if other.parent == old_full:
                    other.parent = new_full
                for pr in other.pulls.values():
                    if pr.head_repo == old_full:
                        pr.head_repo = new_full
            for inst in self.installations.values():
                inst.repos = [new_full if r == old_full else r for r in inst.repos]
            return repo

    def forks_of(self, repo: Repo) -> list[Repo]:
        return [r for r in self.repos.values() if r.parent == repo.full_name]

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

    def emit(self, repo: Repo, event: str, build: Callable[[Payloads], dict[str, Any]],
             hook_id: int | None = None, app_id: int | None = None) -> None:
        """Queue *event* for the repo's hooks and installed Apps that subscribe to it (payload
        built now). *hook_id* targets one repo hook (``ping``); *app_id* one App only (the
        ``requested``/``rerequested`` check events GitHub sends to the App alone)."""
        if self.payloads is None:
            return
        targets = [] if app_id is not None else [
            h for h in repo.hooks.values() if h.active and (
                (hook_id is not None and h.id == hook_id)
                or (hook_id is None and (event in h.events or "*" in h.events)))]
        apps = [] if hook_id is not None else [
            (inst, self.apps[inst.app_id]) for inst in self.installations.values()
            if repo.full_name in inst.repos and self.apps[inst.app_id].hook is not None
            and event in self.apps[inst.app_id].events
            and (app_id is None or inst.app_id == app_id)]
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

    # -- rules one mixin calls on another -------------------------------------------------------

    @abc.abstractmethod
    def after_ref_update(self, repo: Repo, ref: str, before: str | None, after: str | None,
                         pusher: str) -> None:
        """What GitHub does after a push (:mod:`.rules_git`)."""

    @abc.abstractmethod
    def _refresh_test_merge(self, repo: Repo, pr: Pull) -> None:
        """Recompute the PR's test merge (:mod:`.rules_pulls`)."""

    def renew_test_merges_later(self, repo: Repo, prs: list[Pull]) -> None:
        """Mark the test merges of *prs* stale (``mergeable: null`` until renewed) and queue
        them for the background renewal; the caller holds the world lock exclusive."""
        for pr in prs:
            pr.test_merge_sha, pr.test_merge_stale = None, True
        self.test_merges.schedule(repo, prs)

    @abc.abstractmethod
    def _renew_stale_test_merge(self, repo: Repo, pr: Pull) -> None:
        """Renew one stale test merge from the background worker (:mod:`.rules_pulls`)."""

    @abc.abstractmethod
    def request_check_suites(self, repo: Repo, branch: str, before: str | None, after: str,
                             pusher: str) -> None:
        """Start check suites for a push (:mod:`.rules_checks`)."""


def as_bytes(files: Mapping[str, bytes | str | None]) -> dict[str, bytes | None]:
    """File contents as bytes (text is UTF-8); ``None`` (a deletion) stays ``None``."""
    return {p: (d.encode() if isinstance(d, str) else d) for p, d in files.items()}


def _max_perm(a: str, b: str) -> str:
    return a if perm_rank(a) >= perm_rank(b) else b
