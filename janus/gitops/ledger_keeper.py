"""From AccessRequests to ledger transitions, the ``janus.dev/ledger`` finalizer, and the
"applied once, ever" lookup (docs/design.md §5, §11).

The receiver watches AccessRequests (:mod:`janus.gitops.status_watch`); every view it sees goes
through :meth:`LedgerKeeper.observe`:

* a CR of this repository without an end: its entry is recorded (applied, then active with its
  times; an extension — a newer merge in its provenance — is appended to the entry of the grant
  it extends, whose path the CR carries in the annotation ``janus.dev/ledger-entry``), and the
  finalizer ``janus.dev/ledger`` is put on it;
* a CR that ended (Expired/Revoked/Failed) or is being deleted: its end is recorded (a CR deleted
  while live is recorded as ``deleted``; the controller's own finalizer removes the access), and
  only once that commit is on the branch is the finalizer removed — so deleting a CR can never
  erase a grant from the record, and a deleted CR can never be mistaken for "never applied".

:meth:`LedgerKeeper.recorded` answers "was this merge (merge commit + request path) ever
applied?" from the ledger (and the writes still pending), for every path that creates
AccessRequests: delivery, redelivery, replay, reconcile.

Whether the ledger is being written is on the CR too, as the annotation ``janus.dev/ledger``
(``pending`` / ``recorded``) rather than a status condition: status belongs to the controller,
and a merge patch of ``status.conditions`` would replace the controller's whole list.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from typing import TYPE_CHECKING

from janus import names
from janus.gitops.ledger_git import LedgerGit
from janus.gitops.ledger_writer import LedgerWriter, Transition
from janus.logs import event
from janus.model import ledger
from janus.model.ledger import End, Entry, Extension, LedgerError, MergeRecord, RequestRecord
from janus.resource import AccessRequestError, AccessRequestView

if TYPE_CHECKING:
    from github import Github

    from janus.gitops.crs import AccessRequests

log = logging.getLogger("janus.gitops.ledger")

FINALIZER = "janus.dev/ledger"
ENTRY_ANNOTATION = names.ANNOTATION_LEDGER_ENTRY
STATE_ANNOTATION = "janus.dev/ledger"
VIA_ANNOTATION = "janus.dev/revoked-via"
RECONCILER = "janus-reconcile"


# ---- pure: a CR as ledger facts ----------------------------------------------------------------


def _t(moment: dt.datetime | None) -> str | None:
    return None if moment is None else ledger.fmt_time(moment)


def merge_of(view: AccessRequestView) -> MergeRecord | None:
    p = view.provenance
    if p is None or not p.merge_commit or not p.pull_request or p.merged_at is None:
        return None
    return MergeRecord(repo=p.repo, pull_request=p.pull_request, commit=p.merge_commit,
                       merged_at=ledger.fmt_time(p.merged_at), merged_by=p.merged_by or None,
                       approvers=tuple(p.approvers))


def entry_of(view: AccessRequestView) -> Entry | None:
    """The entry this CR's current provenance would start (None: not made from a merge)."""
    merge, p = merge_of(view), view.provenance
    if merge is None or p is None or not p.path or not p.blob_sha:
        return None
    request = RequestRecord(path=p.path, blob_sha=p.blob_sha, name=view.request_name,
                            requester=view.requester, cluster=view.cluster,
                            namespace=view.namespace, role=view.role, duration=view.duration,
                            reason=ledger.clean_text(view.reason) or "", ticket=view.ticket)
    return ledger.entry_for(request, merge, view.name, granted_at=_t(view.granted_at),
                            expires_at=_t(view.expires_at))


def _via(view: AccessRequestView, by: str | None, reason: str | None) -> str | None:
    noted = view.meta.annotations.get(VIA_ANNOTATION)
    if noted in ledger.END_VIAS:
        return noted
    if by == RECONCILER:
        return "reconcile"
    text = reason or ""
    if "deleted by PR #" in text:
        return "file-deletion"
    if "/janus revoke" in text:
        return "pr-comment"
    return None


def end_of(view: AccessRequestView, now: dt.datetime | None = None) -> End | None:
    """How the grant ended, or None while it has not (pure)."""
    now = now or dt.datetime.now(dt.UTC)
    rev = view.revocation
    if view.phase == "Expired":
        return ledger.end_from("expired", ledger.fmt_time(view.expires_at or now),
                               via="controller")
    if view.phase == "Revoked" or (view.meta.deleting and rev is not None):
        by = view.revoked_by or (rev.by if rev else None)
        reason = view.revoked_reason or (rev.reason if rev else None)
        at = view.revoked_at or (rev.requested_at if rev else None) or now
        return ledger.end_from("revoked", ledger.fmt_time(at), by=by, reason=reason,
                               via=_via(view, by, reason))
    if view.phase == "Failed":
        return ledger.end_from("failed", ledger.fmt_time(now), message=view.message,
                               via="controller")
    if view.meta.deleting:
        return ledger.end_from("deleted", ledger.fmt_time(view.meta.deletion_timestamp or now),
                               reason="the AccessRequest was deleted while the grant was live",
                               via="kubernetes")
    return None


# ---- the keeper ---------------------------------------------------------------------------------


class LedgerKeeper:
    def __init__(self, crs: AccessRequests, repo_name: str, git: LedgerGit,
                 writer: LedgerWriter, branch: str) -> None:
        self.crs = crs
        self.repo_name = repo_name
        self.git = git
        self.writer = writer
        self.branch = branch
        self._seen: dict[str, tuple[str, ...]] = {}
        self._lock = threading.Lock()

    # ---- applied once, ever -------------------------------------------------------------------

    def recorded(self, merge_commit: str, request_path: str, merged_at: dt.datetime | str,
                 pull_request: int) -> Entry | None:
        """The entry that already applied this merge of *request_path*, or None. Looks at
        pending writes, the entry the merge would have made, and the entries of the same
        AccessRequest name (an extension is recorded in the entry it extended)."""
        cr = ledger.access_request_of(request_path)
        if cr is None or not merge_commit:
            return None
        for t in self.writer.pending():
            if t.entry.records(merge_commit, request_path) or (
                    t.extension is not None and t.extension.merge.commit == merge_commit
                    and t.entry.request.path == request_path):
                return t.entry
        head = self.git.head(self.branch)
        if head is None:
            return None
        direct = ledger.entry_path(merged_at, pull_request, cr)
        candidates = [direct] + [p for p in self.git.list_dir(head.tree, ledger.LEDGER_DIR)
                                 if p.endswith(f"-{cr}.yaml") and p != direct]
        for path in candidates:
            found = self.git.read(head.tree, path)
            if found is None:
                continue
            try:
                entry = ledger.loads(path, found[0])
            except LedgerError:
                # A broken entry still says "something was applied here": refuse rather
                # than grant again (janus audit verify names the file).
                if path == direct:
                    raise
                continue
            if entry.records(merge_commit, request_path):
                return entry
        return None

    # ---- transitions from the watch -------------------------------------------------------------

    def forget(self, view: AccessRequestView) -> None:
        """The CR is gone (a DELETED event): drop what was remembered of it."""
        with self._lock:
            self._seen.pop(view.meta.uid, None)

    def ours(self, view: AccessRequestView) -> bool:
        p = view.provenance
        return p is not None and p.repo.lower() == self.repo_name.lower()

    def observe(self, view: AccessRequestView) -> None:
        """Record what *view* says (idempotent: a relist or a second replica re-submits
        nothing new, and the writer's plan skips what is already on the branch)."""
        if not self.ours(view):
            if view.meta.deleting and FINALIZER in view.meta.finalizers:
                self._release(view.name)  # nothing of ours to record: never hold it
            return
        base = entry_of(view)
        if base is None:
            return
        path = view.meta.annotations.get(ENTRY_ANNOTATION) or base.path
        end = end_of(view)
        if (end is not None and FINALIZER not in view.meta.finalizers
                and view.meta.annotations.get(STATE_ANNOTATION) == "recorded"):
            return  # ended, written and released: nothing to read again after a restart
        state = (view.meta.uid, base.merge.commit or "", view.phase, view.expires_at_text,
                 end.how if end else "", str(view.meta.deleting))
        with self._lock:
            if self._seen.get(view.meta.uid) == state:
                return
            self._seen[view.meta.uid] = state
        if end is None:
            self._record_live(view, base, path)
            return
        name, uid = view.name, view.meta.uid
        self._submit(Transition("ended", base, path, end=end,
                                on_written=lambda: self._ended_written(name, uid)), view)
        if view.meta.annotations.get(STATE_ANNOTATION) != "recorded":
            self.crs.set_annotation(name, STATE_ANNOTATION, "pending", view.resource_version)

    def _record_live(self, view: AccessRequestView, base: Entry, path: str) -> None:
        if path != base.path and base.request.blob_sha:  # a later merge: an extension
            ext = Extension(merge=base.merge, blob_sha=base.request.blob_sha,
                            duration=base.request.duration, expires_at=base.expires_at)
            self._submit(Transition("extended", base, path, extension=ext), view)
        else:
            kind = "active" if view.phase == "Active" else "applied"
            self._submit(Transition(kind, base, path), view)
        if ENTRY_ANNOTATION not in view.meta.annotations:
            self.crs.set_annotation(view.name, ENTRY_ANNOTATION, path, view.resource_version)
        if FINALIZER not in view.meta.finalizers and not view.meta.deleting:
            try:
                self.crs.client.set_finalizer(view.name, FINALIZER, True)
            except AccessRequestError as exc:
                event(log, "ledger.finalizer_failed", request=view.name, error=str(exc),
                      level=logging.WARNING)

    def _submit(self, t: Transition, view: AccessRequestView) -> None:
        self.writer.submit(t)
        event(log, "ledger.submitted", request=view.name, kind=t.kind, entry=t.path)

    def _ended_written(self, name: str, uid: str) -> None:
        current = self.crs.get(name)
        if current is None or current.meta.uid != uid:
            return
        self.crs.set_annotation(name, STATE_ANNOTATION, "recorded", current.resource_version)
        self._release(name)

    def _release(self, name: str) -> None:
        try:
            self.crs.client.set_finalizer(name, FINALIZER, False)
        except AccessRequestError as exc:
            event(log, "ledger.finalizer_failed", request=name, error=str(exc),
                  level=logging.WARNING)


# ---- running it ---------------------------------------------------------------------------------

_CURRENT = frozenset({"LISTED", "ADDED", "MODIFIED"})


def run_watch(keeper: LedgerKeeper, stop: threading.Event, watch_seconds: int = 30) -> None:
    """Observe every AccessRequest listed or changed until *stop*; a relist after any error
    re-observes everything (observe is idempotent), so nothing is missed across restarts."""

    while not stop.is_set():
        try:
            for change in keeper.crs.client.watch(stop=stop, timeout_seconds=watch_seconds):
                if change.type == "DELETED":
                    keeper.forget(change.view)
                elif change.type in _CURRENT:
                    try:
                        keeper.observe(change.view)
                    except Exception:  # one CR's trouble must not stop the others'
                        log.exception("ledger.observe_failed", extra={
                            "event": "ledger.observe_failed", "request": change.view.name,
                            "fields": {}})
        except Exception:
            log.exception("ledger.watch_failed", extra={
                "event": "ledger.watch_failed", "request": None, "fields": {}})
            stop.wait(1)


def build(gh: Github, repo_name: str, crs: AccessRequests, *, default_branch: str,
          ledger_branch: str | None = None, counters: object | None = None,
          batch_seconds: float | None = None) -> LedgerKeeper:
    """The keeper, its writer and git access for *repo_name*. With *ledger_branch* (e.g.
    ``janus-ledger``) the entries go there and request files stay on the default branch."""
    from janus.gitops.ledger_writer import BATCH_SECONDS
    from janus.gitops.metrics import COUNTERS, Counters

    git = LedgerGit(gh, repo_name)
    branch = ledger_branch or default_branch
    writer = LedgerWriter(
        git, branch, remove_requests=branch == default_branch, base_branch=default_branch,
        batch_seconds=BATCH_SECONDS if batch_seconds is None else batch_seconds,
        counters=counters if isinstance(counters, Counters) else COUNTERS)
    return LedgerKeeper(crs, repo_name, git, writer, branch)
