"""The replica's poll of open pull requests (janus.web.pull_watch) with the real event feed:
what counts as a change, one poll however many pages listen, none without listeners, the
same-second rule for GitHub's whole-second ``updated_at``, and the list as a conditional
request (a loopback server answering as GitHub does with ETags and 304)."""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

from janus.web.pull_watch import PullMark, PullWatch, changed
from janus.web.pulls import OpenPullLister
from janus.web.terminal.live import PULLS_CHANGED, GrantFeed

T0 = dt.datetime(2026, 11, 30, 5, 0, 0, tzinfo=dt.UTC)


def _mark(number: int, sha: str = "a", at: dt.datetime = T0) -> PullMark:
    return PullMark(number, sha, at)


def test_what_counts_as_a_change() -> None:
    later = T0.timestamp() + 10
    base = [_mark(1), _mark(2)]
    assert not changed(base, list(base), later)
    assert changed(base, [_mark(1)], later), "a PR no longer open (merged, closed)"
    assert changed(base, [*base, _mark(3)], later), "a PR opened"
    assert changed(base, [_mark(1, "b"), _mark(2)], later), "a new head commit"
    moved = T0 + dt.timedelta(seconds=5)
    assert changed(base, [_mark(1, at=moved), _mark(2)], later), "a review or a comment"
    # The same list, but updated at or after the previous poll (less the slack): said again,
    # since a second change within the same second leaves updated_at as it was.
    assert changed(base, list(base), T0.timestamp())
    assert changed(None, base, T0.timestamp()), "first poll: updated just before it started"
    assert not changed(None, base, later)


class _GitHub:
    """Stands in for the list call only: the open PRs as a test sets them, and a count."""

    def __init__(self) -> None:
        self.marks: list[PullMark] = [_mark(1)]
        self.calls = 0

    def list_open(self) -> list[PullMark]:
        self.calls += 1
        return list(self.marks)


async def _drain(queue: asyncio.Queue[Any]) -> list[Any]:
    out = []
    while not queue.empty():
        out.append(queue.get_nowait())
    return out


async def _until(predicate: Any, what: str, seconds: float = 10.0) -> None:
    """Poll *predicate* on the loop until it holds (a busy machine may be slow)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while not predicate():
        assert loop.time() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.01)


def test_one_poll_for_all_pages_and_each_page_hears_each_change() -> None:
    github = _GitHub()
    clock = [T0.timestamp() + 100]

    async def scenario() -> tuple[list[list[Any]], int, float]:
        feed = GrantFeed()
        watch = PullWatch(github.list_open, feed.announce_pulls, lambda: feed.subscribers,
                          interval=0.02, clock=lambda: clock[0])
        loop = asyncio.get_running_loop()
        with feed.subscribe() as a, feed.subscribe() as b, feed.subscribe() as c:
            for _ in range(3):
                watch.wake()          # every stream wakes it; one task polls
            tasks = [t for t in asyncio.all_tasks() if t.get_name() == "pull-watch"]
            assert len(tasks) == 1, tasks
            await _until(lambda: watch.polls >= 2, "two polls")
            quiet = [await _drain(q) for q in (a, b, c)]
            assert quiet == [[], [], []], "nothing changed: nothing announced"
            started, polls_before = loop.time(), github.calls
            github.marks = [_mark(1), _mark(2, at=T0 + dt.timedelta(seconds=90))]
            await _until(lambda: all(not q.empty() for q in (a, b, c)), "the announcement")
            await _until(lambda: github.calls >= polls_before + 3, "three more polls")
            heard = [await _drain(q) for q in (a, b, c)]
            elapsed = loop.time() - started
            polls = github.calls - polls_before
        await watch.stop()
        return heard, polls, elapsed

    heard, polls, elapsed = asyncio.run(scenario())
    assert all(got == [PULLS_CHANGED] for got in heard), heard
    # One poller for three pages: at most one poll per interval (three pollers would make
    # three times as many).
    assert polls <= elapsed / 0.02 + 2, (polls, elapsed)


def test_no_listener_no_poll_and_it_stops_after_the_linger() -> None:
    github = _GitHub()

    async def scenario() -> tuple[bool, int]:
        feed = GrantFeed()
        watch = PullWatch(github.list_open, feed.announce_pulls, lambda: feed.subscribers,
                          interval=0.01, linger=0.1)
        with feed.subscribe():
            watch.wake()
            await _until(lambda: watch.polls >= 1, "a poll")
        await _until(lambda: not watch.running, "the watch to stop after the linger")
        calls = github.calls
        await asyncio.sleep(0.1)
        return watch.running, github.calls - calls

    running, later_calls = asyncio.run(scenario())
    assert not running
    assert later_calls == 0


def test_a_second_change_within_the_same_second_is_still_announced() -> None:
    """updated_at counts whole seconds: a review in the same second as the poll that saw the
    PR's previous change leaves it as it was; the next poll says it again, then no more."""
    github = _GitHub()
    # The first poll runs at .7 of a second in which the PR was updated (updated_at: the
    # second's start); a review later in that second leaves updated_at as it was.
    now = T0.timestamp() + 100.7
    github.marks = [_mark(1, at=dt.datetime.fromtimestamp(int(now), dt.UTC))]
    # The clock each poll reads (before it lists): now, 3 s later, then long after.
    times = [now, now + 3, now + 30, now + 31]

    async def scenario() -> int:
        feed = GrantFeed()
        watch = PullWatch(github.list_open, feed.announce_pulls, lambda: feed.subscribers,
                          interval=0.01, clock=lambda: times[min(github.calls, 3)])
        with feed.subscribe() as queue:
            watch.wake()
            await _until(lambda: watch.polls >= 4, "four polls")
            announced = len(await _drain(queue))
        await watch.stop()
        return announced

    # The first poll (updated just now) and the second (within the slack of the first).
    assert asyncio.run(scenario()) == 2


def test_poke_announces_at_once_from_a_worker_thread() -> None:
    github = _GitHub()

    async def scenario() -> list[Any]:
        feed = GrantFeed()
        watch = PullWatch(github.list_open, feed.announce_pulls, lambda: feed.subscribers,
                          interval=60)
        with feed.subscribe() as queue:
            watch.wake()
            await _until(lambda: watch.polls >= 1, "the first poll")
            await _drain(queue)
            await asyncio.to_thread(watch.poke)
            await _until(lambda: not queue.empty(), "the poke's announcement")
            got = await _drain(queue)
        await watch.stop()
        return got

    assert asyncio.run(scenario()) == [PULLS_CHANGED]


class _ConditionalPulls(BaseHTTPRequestHandler):
    """GET /repos/acme/access/pulls as GitHub answers it: the list with an ETag, and
    304 Not Modified (no body) to a request that names the current one."""

    pulls: ClassVar[list[dict[str, Any]]] = []
    seen: ClassVar[list[tuple[str, str | None, str | None]]] = []

    def do_GET(self) -> None:
        body = json.dumps(self.pulls).encode()
        etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
        match = self.headers.get("If-None-Match")
        self.seen.append((self.path, self.headers.get("Authorization"), match))
        if match == etag:
            self.send_response(304)
            self.send_header("ETag", etag)
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("ETag", etag)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


def _pull(number: int, sha: str, updated: str) -> dict[str, Any]:
    return {"number": number, "head": {"sha": sha}, "updated_at": updated}


def test_the_list_is_a_conditional_request_and_a_304_keeps_the_last_list() -> None:
    """Unchanged lists cost no rate limit on GitHub (304); a changed one is read again."""
    _ConditionalPulls.pulls = [_pull(7, "abc", "2026-11-30T05:00:00Z")]
    _ConditionalPulls.seen = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _ConditionalPulls)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        lister = OpenPullLister(f"http://127.0.0.1:{server.server_address[1]}", "acme/access",
                                "app-token")
        first = lister()
        assert first == [PullMark(7, "abc", dt.datetime(2026, 11, 30, 5, 0, tzinfo=dt.UTC))]
        assert lister() == first and lister() == first
        assert lister.not_modified == 2
        _ConditionalPulls.pulls = [_pull(7, "abc", "2026-11-30T05:00:09Z"),
                                   _pull(8, "def", "2026-11-30T05:00:09Z")]
        changed_list = lister()
        assert [m.number for m in changed_list] == [7, 8]
        assert changed(first, changed_list, 0)
        assert lister.not_modified == 2
    finally:
        server.shutdown()
        server.server_close()
    paths = {path for path, _, _ in _ConditionalPulls.seen}
    assert paths == {"/repos/acme/access/pulls?state=open&sort=updated&direction=desc"
                     "&per_page=100"}
    assert {auth for _, auth, _ in _ConditionalPulls.seen} == {"Bearer app-token"}
    assert [match is not None for _, _, match in _ConditionalPulls.seen] == [
        False, True, True, True]
