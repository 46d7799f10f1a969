"""Reading what a request's timeline is made of (blocking; sync routes): the PR with its checks
and reviews (GitHub, through the web's own access), a grant's ledger entry (the access
repository, read-only with the app's token) and its terminal sessions (the web database).
:mod:`janus.web.timeline` turns them into events."""

from __future__ import annotations

import logging
from typing import Any

from github import GithubException
from github.PullRequest import PullRequest
from github.Repository import Repository
from sqlalchemy import select

from janus import errors
from janus.gitops import sources
from janus.gitops.ledger_keeper import ENTRY_ANNOTATION
from janus.gitops.verify import fetch_reviews
from janus.logs import event
from janus.model import ledger
from janus.web import db
from janus.web.github_access import NoGitHubCredentials, app_repo
from janus.web.inbox_source import read_checks
from janus.web.settings import WebSettings
from janus.web.timeline import CheckFact, PullFacts

log = logging.getLogger("janus.web.timeline")

# Set on the AccessRequest by the receiver's ledger keeper: where the grant's entry lives.
LEDGER_ENTRY_ANNOTATION = ENTRY_ANNOTATION
MAX_SESSIONS = 200


def _checks(repo: Repository, sha: str) -> tuple[CheckFact, ...]:
    return tuple(CheckFact(c.check.name, c.check.conclusion or c.check.status, c.at)
                 for c in read_checks(repo, sha))


def pull_facts(repo: Repository, pull: PullRequest) -> PullFacts:
    merged = bool(pull.merged)
    return PullFacts(
        number=pull.number, title=pull.title, url=pull.html_url,
        author=pull.user.login if pull.user else "",
        state="merged" if merged else pull.state, head_sha=pull.head.sha,
        opened_at=pull.created_at,
        merged_at=pull.merged_at if merged else None,
        merged_by=pull.merged_by.login if merged and pull.merged_by else None,
        closed_at=pull.closed_at,
        checks=_checks(repo, pull.head.sha),
        reviews=tuple(fetch_reviews(pull)),
    )


def ledger_entry(settings: WebSettings, path: str | None) -> ledger.Entry | None:
    """The grant's ledger entry at the head of the ledger branch; None when there is none or
    it cannot be read now (the timeline then tells what the cluster knows)."""
    if not path:
        return None
    try:
        repo = app_repo(settings)
        branch = settings.ledger_branch or repo.default_branch
        found = sources.read_file(repo, path, branch)
        return None if found is None else ledger.loads(path, found.data)
    except (NoGitHubCredentials, GithubException, OSError, errors.JanusError,
            ledger.LedgerError) as exc:
        event(log, "timeline.ledger_unreadable", level=logging.WARNING, path=path,
              error=f"{type(exc).__name__}: {exc}"[:300])
        return None


def sessions_of(store: Any, cr_name: str) -> tuple[db.SessionRow, ...]:
    """The grant's terminal sessions in the web database (every replica shares it)."""
    if store is None:
        return ()
    table = db.terminal_sessions
    with store.engine.connect() as conn:
        rows = conn.execute(select(table).where(table.c.cr_name == cr_name)
                            .order_by(table.c.id).limit(MAX_SESSIONS))
        return tuple(db.SessionRow(**row._asdict()) for row in rows)
