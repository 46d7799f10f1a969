"""Ended grants for "Past grants" and the admin view, read from the ledger (docs/design.md §11).

The ledger in the access repository is the record: an AccessRequest can be deleted, its entry
cannot (silently). So the pages list ended grants from ``ledger/`` on the ledger branch, read
through the GitHub API with the web app's token (read-only: the web app never writes the
ledger), and link each to its pull request and to its entry at the commit it was read from.

Reading is cheap after the first time. The branch head is asked at most once per ``ttl``
seconds (30); when it has not moved the last answer stands, keyed by the head's SHA. When it
has, the newest entries are read by walking ``ledger/YYYY/MM/DD/`` newest first — trees and
blobs are immutable, so they are cached by SHA and only what changed costs API calls (one
ledger commit: about five). The first read costs one call per entry, so it looks at the newest
``recent`` entries (100) only.

Ended AccessRequests that the ledger does not have yet (the receiver writes it a few seconds
after the end, or later while GitHub is away) are still shown, marked as not recorded yet, so
nothing vanishes between the two; :func:`past_grants` merges both.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from github import GithubException

from janus import errors
from janus.gitops.ledger_git import LedgerGit
from janus.logs import event
from janus.model import ledger
from janus.resource import AccessRequestView, standing
from janus.web.github_access import app_client
from janus.web.settings import WebSettings

log = logging.getLogger("janus.web.ledger")

TTL_SECONDS = 30.0
RECENT_ENTRIES = 100


class LedgerUnreadable(errors.Unavailable):
    """The ledger cannot be read now (GitHub away, refused, or not configured)."""


@dataclass(frozen=True)
class PastGrant:
    """One ended grant as the pages show it: from a ledger entry, or from an AccessRequest
    whose end is not in the ledger yet (``in_ledger`` False)."""

    name: str                      # the AccessRequest name
    requester: str
    cluster: str
    namespace: str
    role: str
    reason: str
    outcome: str                   # expired | revoked | failed | deleted (or the CR's phase)
    granted_at: dt.datetime | None
    ended_at: dt.datetime | None
    ended_by: str | None = None
    end_reason: str | None = None
    pull_request: int | None = None
    pr_url: str | None = None
    entry_path: str | None = None
    entry_url: str | None = None
    sessions: int = 0
    in_ledger: bool = True
    approvers: tuple[str, ...] = ()  # who approved the merge that made the grant

    def belongs_to(self, login: str) -> bool:
        return self.requester.lower() == login.lower()

    @classmethod
    def from_entry(cls, entry: ledger.Entry, path: str, commit: str, github_url: str
                   ) -> PastGrant:
        end = entry.end
        base = github_url.rstrip("/")
        repo = entry.merge.repo
        return cls(
            name=entry.access_request, requester=entry.request.requester,
            cluster=entry.request.cluster, namespace=entry.request.namespace,
            role=entry.request.role, reason=entry.request.reason,
            outcome=end.how if end else "active",
            granted_at=ledger.parse_time(entry.granted_at) if entry.granted_at else None,
            ended_at=ledger.parse_time(end.at) if end else None,
            ended_by=end.by if end else None,
            end_reason=(end.reason or end.message) if end else None,
            # An outage break-glass grant has no PR (pullRequest 0): no link to one.
            pull_request=entry.merge.pull_request or None,
            pr_url=(f"{base}/{repo}/pull/{entry.merge.pull_request}"
                    if entry.merge.pull_request else None),
            entry_path=path, entry_url=f"{base}/{repo}/blob/{commit}/{path}",
            sessions=len(entry.sessions), approvers=tuple(entry.merge.approvers))

    @classmethod
    def from_view(cls, view: AccessRequestView, github_url: str) -> PastGrant:
        provenance = view.provenance
        pr = provenance.pull_request if provenance is not None else None
        repo = provenance.repo if provenance is not None else ""
        outcome = view.phase
        if view.revocation_requested and view.phase != "Revoked":
            outcome = f"{view.phase} (revoking)"
        return cls(
            name=view.name, requester=view.requester, cluster=view.cluster,
            namespace=view.namespace, role=view.role, reason=view.reason,
            outcome=outcome.lower(), granted_at=view.granted_at,
            # Until the controller records the end, the revocation's request time stands.
            ended_at=view.revoked_at or (view.revocation.requested_at
                                         if view.revocation is not None else None),
            ended_by=standing.who_revoked(view), end_reason=standing.why_revoked(view),
            pull_request=pr,
            pr_url=f"{github_url.rstrip('/')}/{repo}/pull/{pr}" if pr and repo else None,
            in_ledger=False,
            approvers=provenance.approvers if provenance is not None else ())


def past_grants(recorded: Sequence[PastGrant] | None, crs: Iterable[AccessRequestView],
                github_url: str, login: str | None = None) -> list[PastGrant]:
    """Ended grants, newest end first: the ledger's (*recorded*; None when it could not be
    read) and the AccessRequests no longer in force whose end it does not have yet. With
    *login*, only that requester's."""
    rows = [g for g in recorded or () if login is None or g.belongs_to(login)]
    known = {(g.name, g.pull_request) for g in recorded or ()}
    for view in crs:
        if standing.in_force(view) or (login is not None and not view.belongs_to(login)):
            continue
        pr = view.provenance.pull_request if view.provenance is not None else None
        if (view.name, pr) not in known:
            rows.append(PastGrant.from_view(view, github_url))
    epoch = dt.datetime.min.replace(tzinfo=dt.UTC)
    rows.sort(key=lambda g: (g.ended_at or g.granted_at or epoch, g.name), reverse=True)
    return rows


@dataclass(frozen=True)
class _Snapshot:
    commit: str
    grants: tuple[PastGrant, ...]
    checked_at: float


class LedgerSource:
    """The ledger's ended grants, cached by branch head. Blocking: use from sync routes."""

    def __init__(self, open_git: Callable[[], LedgerGit] | None, *, repo: str,
                 github_url: str, branch: str = "", ttl: float = TTL_SECONDS,
                 recent: int = RECENT_ENTRIES,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._open_git = open_git
        self._git: LedgerGit | None = None
        self.repo = repo
        self.github_url = github_url
        self._branch = branch
        self.ttl = ttl
        self.recent = recent
        self._clock = clock
        self._snapshot: _Snapshot | None = None
        self._lock = threading.Lock()  # one refresh at a time; the others wait for its answer

    @property
    def enabled(self) -> bool:
        return self._open_git is not None

    def ended(self) -> tuple[PastGrant, ...]:
        """The ended grants among the newest entries, newest end first; LedgerUnreadable when
        the ledger cannot be read (the pages then show the AccessRequests alone)."""
        if self._open_git is None:
            raise LedgerUnreadable("no access repository and token are configured")
        with self._lock:
            snapshot = self._snapshot
            if snapshot is not None and self._clock() - snapshot.checked_at < self.ttl:
                return snapshot.grants
            try:
                self._snapshot = self._refresh(snapshot)
            except (errors.JanusError, GithubException, OSError, ledger.LedgerError) as exc:
                event(log, "ledger.read_failed", level=logging.WARNING, repo=self.repo,
                      error=f"{type(exc).__name__}: {exc}"[:300])
                raise LedgerUnreadable(f"the ledger of {self.repo} cannot be read now") from None
            return self._snapshot.grants

    def _refresh(self, snapshot: _Snapshot | None) -> _Snapshot:
        if self._git is None:
            assert self._open_git is not None
            self._git = self._open_git()
        git = self._git
        if not self._branch:
            self._branch = git.gh.get_repo(self.repo).default_branch
        head = git.head(self._branch)
        if head is None:
            raise errors.NotFound(f"branch {self._branch} does not exist")
        now = self._clock()
        if snapshot is not None and snapshot.commit == head.commit:
            return _Snapshot(head.commit, snapshot.grants, now)
        grants = []
        for path, sha in self._newest_entries(git, head.tree):
            try:
                entry = ledger.loads(path, git.blob(sha))
            except ledger.LedgerError as exc:
                event(log, "ledger.entry_invalid", level=logging.WARNING, path=path,
                      error=str(exc)[:300])
                continue  # `janus audit verify` names it; the page shows the others
            if entry.ended:
                grants.append(PastGrant.from_entry(entry, path, head.commit, self.github_url))
        grants.sort(key=lambda g: (g.ended_at, g.name), reverse=True)
        return _Snapshot(head.commit, tuple(grants), now)

    def _newest_entries(self, git: LedgerGit, root: str) -> list[tuple[str, str]]:
        """(path, blob sha) of the newest ``recent`` entries: ``ledger/YYYY/MM/DD/`` walked
        newest first (entry names start with the merge time, so names sort by time)."""
        found: list[tuple[str, str]] = []
        top = git.tree(root).get(ledger.LEDGER_DIR)
        if top is None or top.type != "tree":
            return found
        stack = [(ledger.LEDGER_DIR, top.sha, 0)]
        while stack and len(found) < self.recent:
            prefix, sha, depth = stack.pop()
            items = sorted(git.tree(sha).values(), key=lambda i: i.path)
            if depth < 3:  # year, month, day folders; pushed oldest first, popped newest first
                stack += [(f"{prefix}/{i.path}", i.sha, depth + 1) for i in items
                          if i.type == "tree"]
                continue
            for item in reversed(items):
                path = f"{prefix}/{item.path}"
                if item.type == "blob" and ledger.parse_entry_path(path) is not None:
                    found.append((path, item.sha))
                    if len(found) >= self.recent:
                        break
        return found


def ledger_source_for(settings: WebSettings,
                      clock: Callable[[], float] = time.monotonic) -> LedgerSource:
    """The source for the web settings: the access repo with the app's token; disabled (the
    pages fall back to AccessRequests) without ``repo`` and ``github_token``."""
    if not settings.repo or not settings.github_token:
        return LedgerSource(None, repo=settings.repo, github_url=settings.github_url)
    return LedgerSource(lambda: LedgerGit(app_client(settings), settings.repo),
                        repo=settings.repo, github_url=settings.github_url,
                        branch=settings.ledger_branch, clock=clock)
