"""The ledger writer: transitions in, batched compare-and-swap commits out (docs/design.md §11).

Callers :meth:`LedgerWriter.submit` a :class:`Transition` (a grant applied, active, extended,
ended, sessions seen) and go on; a single thread gathers everything submitted within
``batch_seconds`` and writes it as **one** commit: 200 grants ending in the same second make one
commit, not 200. A write is:

1. read the branch head; for each entry touched, read its current version (cached by blob sha);
2. :func:`plan` (pure): merge each transition into its entry, serialise, and, for an entry that
   now has an end, remove its request file from ``requests/`` — only if the file there is still
   the one this grant applied (a later merge that re-added the file keeps it);
3. one tree + one commit on top of that head, then ``PATCH ref {force: false}``.

If the branch moved meanwhile (a request merge raced us) the whole plan is made again on the new
head — nothing is lost and nothing is overwritten. When GitHub refuses (a ruleset without bypass)
or is away, the transitions stay pending and the write is retried with backoff (1 s doubling to
``max_backoff``); pending writes are visible as the gauge ``janus_ledger_pending``, the counter
``janus_ledger_write_failures_total{reason}`` and a WARNING log line ``ledger.pending``. A
transition's ``on_written`` callback runs only after its commit is on the branch: that is when
the receiver may drop the AccessRequest's ``janus.dev/ledger`` finalizer.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from janus import errors
from janus.gitops.ledger_git import Head, LedgerConflict, LedgerGit, LedgerRefused
from janus.gitops.metrics import COUNTERS, Counters
from janus.gitops.ratelimit import RateLimitWatch, classify
from janus.logs import event
from janus.model import ledger
from janus.model.ledger import BreakGlass, End, Entry, Extension, LedgerError, Session

log = logging.getLogger("janus.gitops.ledger")

BATCH_SECONDS = 5.0  # ≤ 1 commit per 5 s of endings (issue 10 goal); GitHub: ≤ 80 writes/min
MAX_BACKOFF = 30.0
CAS_ATTEMPTS = 8
KINDS = ("applied", "active", "extended", "ended", "sessions", "break-glass")


@dataclass(frozen=True)
class Transition:
    """One fact to record about one grant. ``entry`` is the grant as the receiver knows it now
    (its request, merge, AccessRequest name, times); ``path`` is where its entry lives (the
    original merge's path, also after extensions)."""

    kind: str
    entry: Entry
    path: str
    extension: Extension | None = None
    end: End | None = None
    sessions: tuple[Session, ...] = ()
    # "break-glass": the grant's break-glass facts (how it came about, its review's due time,
    # overdue flag, acknowledgement), merged into the entry field by field, first value stands.
    break_glass: BreakGlass | None = None
    on_written: Callable[[], None] | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown ledger transition {self.kind!r}")


def merge_entry(existing: Entry | None, t: Transition) -> Entry:
    """*existing* (None: not in the ledger yet) with transition *t* applied. Pure; idempotent
    (the same transition twice gives the same entry)."""
    entry = existing or t.entry
    if existing is not None and entry.end is None:
        entry = dataclasses.replace(
            entry,
            granted_at=entry.granted_at or t.entry.granted_at,
            expires_at=t.entry.expires_at or entry.expires_at,
        )
    if t.extension is not None:
        entry = entry.with_extension(t.extension)
    if t.end is not None:
        entry = entry.with_end(t.end)
    if t.sessions:
        entry = entry.with_sessions(t.sessions)
    if t.break_glass is not None:
        entry = entry.with_break_glass(t.break_glass)
    return entry


def _line(kind: str, entry: Entry, t: Transition) -> str:
    if kind == "ended":
        return ledger.message_ended(entry)
    if kind == "extended" and t.extension is not None:
        return ledger.message_extended(entry, t.extension)
    if kind == "sessions":
        return ledger.message_sessions(entry)
    if kind == "break-glass":
        return ledger.message_break_glass(entry)
    return ledger.message_granted(entry)


@dataclass(frozen=True)
class Plan:
    changes: dict[str, bytes | None]
    lines: tuple[str, ...]
    entries: dict[str, Entry]


def plan(transitions: Iterable[Transition], read_entry: Callable[[str], Entry | None],
         read_blob_sha: Callable[[str], str | None], *, remove_requests: bool) -> Plan:
    """What one commit must change for *transitions* (in order), given the branch's current
    entries (*read_entry*) and the blob sha of a file on it (*read_blob_sha*). Pure."""
    before: dict[str, Entry | None] = {}
    after: dict[str, Entry] = {}
    # One line per entry and kind of change: "applied" then "active" in one batch is one
    # "granted" line (the later one, with its expiry).
    lines: dict[tuple[str, str], str] = {}
    for t in transitions:
        path = t.path
        if path not in before:
            before[path] = read_entry(path)
        if before[path] is None and path not in after and t.entry.path != path:
            # The grant's own entry was never written (its CR was extended before the first
            # write): the entry starts from what is known, at the path that matches it.
            path = t.entry.path
            if path not in before:
                before[path] = read_entry(path)
        current = after.get(path, before[path])
        merged = merge_entry(current, t)
        if merged != current:
            group = "granted" if t.kind in ("applied", "active") else t.kind
            key = (path, group if group != "extended" else f"extended:{t.extension}")
            lines.pop(key, None)
            lines[key] = _line(t.kind, merged, t)
        after[path] = merged
    changes: dict[str, bytes | None] = {}
    for path, entry in after.items():
        if entry != before[path]:
            changes[path] = ledger.dump(entry)
        if remove_requests and entry.end is not None:
            applied = {entry.request.blob_sha, *(e.blob_sha for e in entry.extensions)}
            on_branch = read_blob_sha(entry.request.path)
            if on_branch is not None and on_branch in applied:
                changes[entry.request.path] = None
                if entry == before[path]:
                    lines[(path, "removed")] = (f"janus: removed {entry.request.path} "
                                                f"(ended: {entry.end.how})")
    return Plan(changes, tuple(lines.values()), after)


class LedgerWriter:
    """One writer per receiver process (several replicas are safe: every write is a CAS)."""

    def __init__(self, git: LedgerGit, branch: str, *, remove_requests: bool = True,
                 batch_seconds: float = BATCH_SECONDS, max_backoff: float = MAX_BACKOFF,
                 base_branch: str | None = None, counters: Counters = COUNTERS) -> None:
        self.git = git
        self.branch = branch
        # Remove ended request files in the same commit (only when the ledger is on the
        # branch that holds requests/; a separate ledger branch leaves them alone).
        self.remove_requests = remove_requests
        self.base_branch = base_branch  # where a missing ledger branch is started from
        self.batch_seconds = batch_seconds
        self.max_backoff = max_backoff
        self.counters = counters
        self._pending: list[Transition] = []
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._idle = threading.Condition(self._lock)
        self.commits = 0
        self.last_error: str | None = None
        # The receiver's rate-limit watch (set by the runtime): a write that meets a GitHub
        # rate limit records it, and no write is tried until it lifts.
        self.rate_limits: RateLimitWatch | None = None
        counters.set("ledger_pending", 0)

    # ---- submitting ----------------------------------------------------------------------------

    def submit(self, transition: Transition) -> None:
        with self._lock:
            self._pending.append(transition)
            self.counters.set("ledger_pending", len(self._pending))
        self._wake.set()

    def pending(self) -> list[Transition]:
        with self._lock:
            return list(self._pending)

    def pending_for(self, path: str) -> list[Transition]:
        return [t for t in self.pending() if t.path == path]

    def wait_idle(self, timeout: float) -> bool:
        """Wait until nothing is pending (tests, shutdown); False on timeout."""
        deadline = time.monotonic() + timeout
        with self._idle:
            while self._pending:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._idle.wait(min(left, 0.2))
        return True

    # ---- writing ---------------------------------------------------------------------------------

    def _read_entry(self, tree: str, path: str) -> Entry | None:
        found = self.git.read(tree, path)
        if found is None:
            return None
        try:
            return ledger.loads(path, found[0])
        except LedgerError as exc:
            # A hand-edited or broken entry is never silently replaced by a fresh one: refuse
            # to write it (audit verify reports it), keep the transition pending.
            raise LedgerRefused(f"ledger entry {path} is not valid: {exc}") from None

    def _head(self) -> Head:
        head = self.git.head(self.branch)
        if head is not None:
            return head
        if self.base_branch is None:
            raise errors.NotFound(f"branch {self.branch} does not exist")
        base = self.git.head(self.base_branch)
        if base is None:
            raise errors.NotFound(f"branch {self.base_branch} does not exist")
        try:
            self.git.create_branch(self.branch, base.commit)
        except LedgerConflict:
            pass
        return self.git.head(self.branch) or base

    def write_once(self) -> bool:
        """Write everything pending now as one commit; True when written (or nothing to do)."""
        batch = self.pending()
        if not batch:
            return True
        try:
            sha = self._write(batch)
        except Exception as exc:  # kept pending: retried with backoff
            # LedgerGit re-raises GitHub's answer as its own error; the answer is the context.
            limited = classify(exc.__context__) if exc.__context__ is not None else None
            if limited is not None and self.rate_limits is not None:
                self.rate_limits.record(limited, "ledger")
            reason = ("refused" if isinstance(exc, errors.Refused)
                      else "unavailable" if isinstance(exc, errors.Unavailable)
                      else "conflict" if isinstance(exc, errors.Conflict) else "error")
            self.last_error = f"{type(exc).__name__}: {exc}"
            self.counters.inc("ledger_write_failures_total", reason=reason)
            event(log, "ledger.pending", pending=len(batch), reason=reason,
                  error=str(exc)[:300], level=logging.WARNING)
            return False
        with self._lock:
            done = {id(t) for t in batch}
            self._pending = [t for t in self._pending if id(t) not in done]
            self.counters.set("ledger_pending", len(self._pending))
            self._idle.notify_all()
        self.last_error = None
        self.counters.inc("ledger_transitions_recorded_total", len(batch))
        event(log, "ledger.written", transitions=len(batch), commit=sha)
        for t in batch:
            if t.on_written is not None:
                try:
                    t.on_written()
                except Exception:  # e.g. the CR went meanwhile: nothing left to release
                    log.exception("ledger.callback_failed", extra={
                        "event": "ledger.callback_failed", "request": t.entry.access_request,
                        "fields": {}})
        return True

    def _write(self, batch: list[Transition]) -> str | None:
        for _ in range(CAS_ATTEMPTS):
            head = self._head()
            p = plan(batch, functools.partial(self._read_entry, head.tree),
                     functools.partial(_blob_sha, self.git, head.tree),
                     remove_requests=self.remove_requests)
            if not p.changes:
                return None  # all recorded already (a replay, another replica)
            sha = self.git.commit(head, p.changes, ledger.batch_message(p.lines or
                                                                        ("janus: ledger",)))
            try:
                self.git.move(self.branch, sha)
            except LedgerConflict:
                self.counters.inc("ledger_cas_retries_total")
                continue  # someone else moved the branch: plan again on the new head
            self.commits += 1
            self.counters.inc("ledger_commits_total")
            return sha
        raise LedgerConflict(f"{self.branch} kept moving: {CAS_ATTEMPTS} attempts lost")

    def run_forever(self, stop: threading.Event) -> None:
        """Gather for ``batch_seconds`` after the first transition, write, repeat; back off
        while GitHub refuses or is away."""
        backoff = 1.0
        while not stop.is_set():
            if not self._wake.wait(0.5):
                continue
            stop.wait(self.batch_seconds)  # let the burst arrive: one commit for all of it
            self._wake.clear()
            pause = self.rate_limits.paused_for() if self.rate_limits is not None else 0.0
            if pause > 0:  # GitHub asked us to wait: the entries stay pending until then
                stop.wait(pause)
                self._wake.set()
                continue
            if self.write_once():
                backoff = 1.0
                if self.pending():
                    self._wake.set()
                continue
            stop.wait(backoff)
            backoff = min(backoff * 2, self.max_backoff)
            self._wake.set()


def _blob_sha(git: LedgerGit, tree: str, path: str) -> str | None:
    item = git.lookup(tree, path)
    return None if item is None or item.type != "blob" else item.sha
