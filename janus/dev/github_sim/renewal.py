"""Test merges renewed in the background, after the push that made them stale has answered.

GitHub keeps a test merge (``refs/pull/N/merge``) for every open pull request. A push to the
base makes all of them stale; GitHub does not recompute them inside the push but in a
background job, and until that job is done the pull request's ``mergeable`` is ``null`` (REST,
``mergeable_state: "unknown"``). The simulator does the same: the push marks the PRs onto the
branch stale (``Pull.test_merge_stale``, cheap, inside its exclusive hold) and hands them to
:class:`TestMergeRenewer`; the push answers at once, and one worker thread renews them after.

Coalesced: a PR is queued once however many pushes made it stale, and is renewed against the
base *at the moment the worker reaches it*; a renewal that a newer push overtook while its git
ran is thrown away (the world checks the base and head it started from), and the PR is queued
again. :meth:`TestMergeRenewer.wait_idle` lets a test wait until nothing is stale.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from .model import Pull, Repo

log = logging.getLogger(__name__)


class TestMergeRenewer:
    """One worker thread renewing the stale test merges it is given, oldest first."""

    __test__ = False  # not a pytest test class, despite the name

    def __init__(self, renew: Callable[[Repo, Pull], None]) -> None:
        self._renew = renew
        self._cond = threading.Condition(threading.Lock())
        # (repo id, PR number) -> what to renew; insertion-ordered, one entry per PR.
        self._pending: dict[tuple[int, int], tuple[Repo, Pull]] = {}
        self._busy = 0
        self._closed = False
        self._thread: threading.Thread | None = None

    def schedule(self, repo: Repo, prs: list[Pull]) -> None:
        """Queue *prs* (already marked stale by the caller) for renewal."""
        if not prs:
            return
        with self._cond:
            if self._closed:
                return
            for pr in prs:
                self._pending[(repo.id, pr.number)] = (repo, pr)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, daemon=True,
                                                name="github-sim-test-merges")
                self._thread.start()
            self._cond.notify_all()

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._pending and not self._closed:
                    self._cond.wait()
                if self._closed:
                    return
                key = next(iter(self._pending))
                repo, pr = self._pending.pop(key)
                self._busy += 1
            try:
                self._renew(repo, pr)
            except Exception:  # a worker that died would leave every later PR unknown forever
                if not self._closed:
                    log.exception("renewing the test merge of %s#%d failed", repo.full_name,
                                  pr.number)
            finally:
                with self._cond:
                    self._busy -= 1
                    self._cond.notify_all()

    def idle(self) -> bool:
        with self._cond:
            return not self._pending and not self._busy

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Wait until no renewal is queued or running; False if *timeout* passed first."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._pending or self._busy:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._cond.wait(remaining)
            return True

    def close(self, timeout: float = 10.0) -> None:
        with self._cond:
            self._closed = True
            self._pending.clear()
            self._cond.notify_all()
            thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)
