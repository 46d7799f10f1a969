"""Terminal sessions into the ledger: TerminalSessions in, ``sessions`` transitions out
(docs/design.md §11).

The web app reports each terminal session as a TerminalSession (:mod:`janus.resource.sessions`):
created when the shell opens, its status written once when it closes. The receiver — the only
writer of git — watches them; each closed session is submitted to the ledger writer as a
``sessions`` transition of its grant's entry (found by the entry path the web app copied from
the AccessRequest, else by the AccessRequest, else by its name among the entries), and once
that commit is on the branch the TerminalSession is deleted. Until then it stays: a receiver
restart or a GitHub outage loses nothing (the relist submits it again; the writer's plan skips
what the branch already has). A session closing after its grant ended is merged into the ended
entry (by session id).

A session the web app never closed (its replica died) would stay open for ever: once its grant's
end has been in the ledger for :data:`STALE_SECONDS`, it is recorded as it is — opened, never
reported closed, ``closeReason: not-reported`` — and its report deleted.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import threading

from janus.gitops.ledger_keeper import ENTRY_ANNOTATION, LedgerKeeper, entry_of
from janus.gitops.ledger_writer import Transition
from janus.logs import event
from janus.model import ledger
from janus.model.ledger import Entry, LedgerError
from janus.resource import AccessRequestError
from janus.resource.sessions import SessionRecord, TerminalSessions

log = logging.getLogger("janus.gitops.ledger")

# How long after its grant's recorded end a session still open is recorded as never closed (the
# web app closes sessions within seconds of an end; this is for a replica that died).
STALE_SECONDS = 600.0
NOT_REPORTED = "not-reported"


class SessionRecorder:
    def __init__(self, keeper: LedgerKeeper, sessions: TerminalSessions) -> None:
        self.keeper = keeper
        self.sessions = sessions
        self._submitted: set[str] = set()  # uids handed to the writer, not yet deleted
        self._lock = threading.Lock()

    def observe(self, record: SessionRecord) -> bool:
        """Submit *record* if it is closed (or stale) and not submitted yet; True when
        submitted."""
        with self._lock:
            if record.uid in self._submitted:
                return False
        if not record.closed and not self._maybe_stale(record):
            return False
        target = self.target(record)
        if target is None:
            event(log, "ledger.session_unplaced", request=record.access_request,
                  session=record.session_id, level=logging.WARNING)
            return False
        entry, path = target
        session = record.to_ledger()
        if not record.closed:
            if not _stale(entry, dt.datetime.now(dt.UTC)):
                return False
            session = dataclasses.replace(session, close_reason=NOT_REPORTED)
            event(log, "ledger.session_not_reported", request=record.access_request,
                  session=record.session_id, level=logging.WARNING)
        with self._lock:
            self._submitted.add(record.uid)
        self.keeper.writer.submit(Transition(
            "sessions", entry, path, sessions=(session,),
            on_written=lambda: self._written(record)))
        event(log, "ledger.submitted", request=record.access_request, kind="sessions",
              entry=path, session=record.session_id)
        return True

    def _maybe_stale(self, record: SessionRecord) -> bool:
        """Cheap first look at an open session: its grant is over (or gone) and it was opened
        longer than STALE_SECONDS ago. The ledger's end time decides (:func:`_stale`)."""
        age = (dt.datetime.now(dt.UTC) - record.opened_at).total_seconds()
        if age < STALE_SECONDS:
            return False
        view = self.keeper.crs.get(record.access_request)
        return view is None or view.ended

    def forget(self, record: SessionRecord) -> None:
        with self._lock:
            self._submitted.discard(record.uid)

    def _written(self, record: SessionRecord) -> None:
        try:
            self.sessions.delete(record)
        except AccessRequestError as exc:  # kept: the next relist submits it again (a no-op)
            event(log, "ledger.session_delete_failed", request=record.access_request,
                  session=record.session_id, error=str(exc)[:300], level=logging.WARNING)
            self.forget(record)

    # ---- where the session belongs ------------------------------------------------------------

    def target(self, record: SessionRecord) -> tuple[Entry, str] | None:
        """(the grant's entry as known now, the path of its entry), or None when unknown."""
        cr = record.access_request
        for t in self.keeper.writer.pending():  # not on the branch yet
            if t.path == record.ledger_entry or t.entry.access_request == cr:
                return t.entry, t.path
        paths = [record.ledger_entry] if record.ledger_entry else []
        view = self.keeper.crs.get(cr)
        base = None
        if view is not None and self.keeper.ours(view):
            base = entry_of(view)
            noted = view.meta.annotations.get(ENTRY_ANNOTATION)
            paths += [p for p in (noted, base.path if base else None) if p and p not in paths]
        head = self.keeper.git.head(self.keeper.branch)
        if head is not None:
            if not paths:  # the AccessRequest is gone: its entry is named after it
                paths = [p for p in self.keeper.git.list_dir(head.tree, ledger.LEDGER_DIR)
                         if p.endswith(f"-{cr}.yaml")]
            for path in paths:
                found = self.keeper.git.read(head.tree, path)
                if found is None:
                    continue
                try:
                    return ledger.loads(path, found[0]), path
                except LedgerError:
                    continue  # the writer refuses to touch it anyway; janus audit verify says
        if base is not None:
            return base, paths[0] if paths else base.path
        return None


def _stale(entry: Entry, now: dt.datetime) -> bool:
    """The grant's end has been recorded for longer than STALE_SECONDS."""
    if entry.end is None:
        return False
    return (now - ledger.parse_time(entry.end.at)).total_seconds() >= STALE_SECONDS


def run(recorder: SessionRecorder, stop: threading.Event, watch_seconds: int = 30) -> None:
    """Watch TerminalSessions until *stop*; every relist re-observes the ones still there."""
    while not stop.is_set():
        try:
            for kind, record in recorder.sessions.watch(stop, timeout_seconds=watch_seconds):
                if kind == "DELETED":
                    recorder.forget(record)
                    continue
                try:
                    recorder.observe(record)
                except Exception:  # one session's trouble must not stop the others'
                    log.exception("ledger.session_failed", extra={
                        "event": "ledger.session_failed", "request": record.access_request,
                        "fields": {}})
        except Exception:
            log.exception("ledger.session_watch_failed", extra={
                "event": "ledger.session_watch_failed", "request": None, "fields": {}})
            stop.wait(1)


def build(keeper: LedgerKeeper) -> SessionRecorder:
    """The recorder for *keeper*'s repository, reading TerminalSessions where its
    AccessRequests live."""
    return SessionRecorder(keeper, TerminalSessions(keeper.crs.api_client, keeper.crs.namespace))
