"""Live pages: the grant watcher's AccessRequest events, fanned out to browsers as server-sent
events (``GET /events/grants``).

The pages ("My access", the admin view, the terminal) update from the SAME watch that cuts
terminals on a revoke (janus.web.terminal.watcher), so every replica tells its own browsers
within milliseconds of the change, with no message bus between replicas. An event carries what
a page needs to say where the grant stands — phase, expiry, and for an ended grant how it ended,
by whom and why — never a token (the watch reads AccessRequests only).

Only the user's own grants are sent; an admin gets every grant. The same stream carries
``pulls`` events, with no content, when the access repository's open pull requests change
(janus.web.pull_watch: one poll of GitHub per replica, running while a stream is open); the
pages that list PRs re-read them with the user's own rights. The stream needs the session
(a signed-in user) and, since EventSource cannot send headers, the session's CSRF token in the
query string, and a same-origin request (``Origin``/``Sec-Fetch-Site``), so another site cannot
read a user's grants through their cookies.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import StreamingResponse

from janus.resource import AccessRequestView, standing, timefmt
from janus.web.auth import User, csrf_token, require_user
from janus.web.pull_watch import PullWatch
from janus.web.pulls import OpenPullLister
from janus.web.settings import WebSettings

router = APIRouter()

HEARTBEAT_SECONDS = 10.0
# A stream ends after this long and the browser reconnects (``retry``): uvicorn waits for open
# responses before it shuts down, so an endless stream would hold a replica's shutdown.
STREAM_SECONDS = 20.0
RETRY_MILLISECONDS = 1000
QUEUE_LIMIT = 256
MAX_NAMES = 20
# Queued (this very object) when the open pull requests changed; sent as an empty ``pulls``.
PULLS_CHANGED: dict[str, Any] = {"pulls": "changed"}


@dataclass(frozen=True)
class Ending:
    """How a grant ended, as a person reads it."""

    how: str            # revoked | relinquished | expired | failed | deleted
    by: str | None
    why: str | None
    text: str           # one sentence: "Revoked by root: INC-7 closed."


def ending_of(grant: AccessRequestView, *, deleted: bool = False) -> Ending | None:
    """How *grant* ended (None while it is in force). A relinquish is a revocation by the
    requester themself, told apart because it reads differently."""
    if not (grant.ended or deleted):
        return None
    if grant.revocation_requested or grant.phase == "Revoked":
        by, why = standing.who_revoked(grant), standing.why_revoked(grant)
        how = "relinquished" if by and by == grant.requester else "revoked"
        text = ("Relinquished by " if how == "relinquished" else "Revoked by ") + (by or "someone")
        return Ending(how, by, why, text + (f": {why}" if why else "") + ".")
    if grant.phase == "Expired":
        when = f" at {timefmt.fmt(grant.expires_at)}" if grant.expires_at else ""
        return Ending("expired", None, None, f"Expired{when}.")
    if grant.phase == "Failed":
        return Ending("failed", None, grant.message,
                      "Failed" + (f": {grant.message}" if grant.message else "") + ".")
    return Ending("deleted", None, None, "The grant no longer exists.")


def payload(grant: AccessRequestView, *, deleted: bool = False) -> dict[str, Any]:
    """The event body sent to browsers (no token, nothing beyond what the pages show)."""
    ending = ending_of(grant, deleted=deleted)
    return {
        "name": grant.name,
        "requester": grant.requester,
        "phase": "Deleted" if deleted else grant.phase,
        "expiresAt": timefmt.fmt(grant.expires_at) if grant.expires_at else None,
        "ended": ending is not None,
        "how": ending.how if ending else None,
        "by": ending.by if ending else None,
        "why": ending.why if ending else None,
        "text": ending.text if ending else None,
        "pullRequest": grant.pull_request,
    }


class GrantFeed:
    """Fan-out of AccessRequest changes to this replica's open event streams."""

    def __init__(self) -> None:
        self._queues: set[asyncio.Queue[dict[str, Any] | None]] = set()
        # The latest body of every grant, so a (re)connecting page hears where its grants
        # stand now, not only what changes next.
        self._latest: dict[str, dict[str, Any]] = {}

    def remember(self, grant: AccessRequestView) -> None:
        """The watcher's (re)list: current state, nothing to announce."""
        self._latest[grant.name] = payload(grant)

    def latest(self, name: str) -> dict[str, Any] | None:
        return self._latest.get(name)

    def publish(self, grant: AccessRequestView, *, deleted: bool = False) -> None:
        """Called by the watcher, on the event loop, for every AccessRequest event."""
        body = payload(grant, deleted=deleted)
        if deleted:
            self._latest.pop(grant.name, None)
        else:
            self._latest[grant.name] = body
        for queue in list(self._queues):
            # A stream that stopped reading may not grow without bound; its page re-reads
            # its lists on the next event it does take, so a skipped one is not lost.
            if queue.qsize() >= QUEUE_LIMIT:
                continue
            queue.put_nowait(body)

    def announce_pulls(self) -> None:
        """The open pull requests changed (janus.web.pull_watch); on the event loop."""
        for queue in list(self._queues):
            if queue.qsize() < QUEUE_LIMIT:
                queue.put_nowait(PULLS_CHANGED)

    def close(self) -> None:
        """Server shutdown: every stream ends."""
        for queue in list(self._queues):
            queue.put_nowait(None)

    @contextlib.contextmanager
    def subscribe(self) -> Iterator[asyncio.Queue[dict[str, Any] | None]]:
        queue: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue()
        self._queues.add(queue)
        try:
            yield queue
        finally:
            self._queues.discard(queue)

    @property
    def subscribers(self) -> int:
        return len(self._queues)


def _same_origin(request: Request) -> bool:
    settings = request.app.state.settings
    origin = request.headers.get("origin")
    if origin and origin.lower().rstrip("/") != settings.public_origin:
        return False
    return request.headers.get("sec-fetch-site", "same-origin") in ("same-origin", "none")


def _may_see(user: User, body: dict[str, Any]) -> bool:
    return user.is_admin or body.get("requester") == user.login


def _sse(kind: str, body: dict[str, Any] | str) -> bytes:
    data = body if isinstance(body, str) else json.dumps(body, separators=(",", ":"))
    return f"event: {kind}\ndata: {data}\n\n".encode()


@router.get("/events/grants")
async def grant_events(
    request: Request, user: Annotated[User, Depends(require_user)], csrf: str = "",
    names: str = "",
) -> StreamingResponse:
    """The stream; *names* (comma-separated grant names, the terminal's tabs) are sent as they
    stand right after connecting."""
    expected = csrf_token(request)
    if not csrf or not hmac.compare_digest(expected, csrf) or not _same_origin(request):
        raise HTTPException(status_code=403, detail="missing or wrong CSRF token")
    runtime = getattr(request.app.state, "terminal", None)
    watcher = getattr(runtime, "watcher", None)
    feed: GrantFeed | None = getattr(watcher, "feed", None)
    if feed is None:
        raise HTTPException(status_code=503, detail="live updates are not available")

    wanted = [n for n in names.split(",") if n][:MAX_NAMES]
    loop = asyncio.get_running_loop()
    pull_watch = pull_watch_of(request.app.state, feed)

    async def stream() -> AsyncIterator[bytes]:
        with feed.subscribe() as queue:
            if pull_watch is not None:
                pull_watch.wake()
            # Tell the page it is connected (tests and the page's "live" marker use it).
            yield f"retry: {RETRY_MILLISECONDS}\n".encode() + _sse("ready", {"login": user.login})
            for name in wanted:
                current = feed.latest(name)
                if current is not None and _may_see(user, current):
                    yield _sse("grant", current)
            deadline = loop.time() + STREAM_SECONDS
            while True:
                left = deadline - loop.time()
                if left <= 0:
                    return
                try:
                    body = await asyncio.wait_for(queue.get(), min(HEARTBEAT_SECONDS, left))
                except TimeoutError:
                    if await request.is_disconnected():
                        return
                    yield b": keep-alive\n\n"
                    continue
                if body is None:
                    return
                if body is PULLS_CHANGED:
                    yield _sse("pulls", {})
                elif _may_see(user, body):
                    yield _sse("grant", body)

    return StreamingResponse(
        stream(), media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


def pull_watch_of(state: Any, feed: GrantFeed) -> PullWatch | None:
    """This app's poll of the open pull requests, made at the first stream; None without a
    repository and the app's own GitHub token (nothing to poll with)."""
    watch: PullWatch | None = getattr(state, "pull_watch", None)
    if watch is not None:
        return watch
    settings: WebSettings = state.settings
    if not (settings.repo and settings.github_token):
        return None
    lister = OpenPullLister(settings.github_api_url, settings.repo, settings.github_token)
    watch = PullWatch(lister, feed.announce_pulls, lambda: feed.subscribers)
    state.pull_watch = watch
    return watch
