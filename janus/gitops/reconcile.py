"""Reconcile: git's ``requests/`` on the default branch against the AccessRequest CRs.

Runs periodically and on every ``push`` to the default branch, so a lost webhook delays a grant
but never loses one:

* a request file on the default branch without a CR: find the PR that merged it (the latest
  commit touching the file, then that commit's pull requests) and run the *same* verification
  as the webhook path (:meth:`GitOps.process_merge`) — reconcile never grants what verification
  refuses. A file whose window has already passed (merged longer ago than its duration) is not
  granted late: the CR it had may simply have been cleaned up after expiry.
* a live CR of this repository whose file is gone from the default branch: revoked — never on a
  tree listing GitHub marked ``truncated`` (logged, counted, no revocation that pass) — through
  the merged PR that deleted the file when there is one (recorded as its author's revocation,
  exactly as the merge worker would; a pass that outruns the PR's own delivery cannot steal
  it), in the reconcile's own name (``janus-reconcile``) after a direct push.
* an open request PR older than ``pendingTimeout``: closed with a comment.

The CRs are listed *before* the tree is read, so a grant created meanwhile by a webhook worker
(whose file is necessarily already on the branch) is never mistaken for an orphan. The other way
round, a listing is stale by the time a decision is made on it: every decision taken on "no CR"
(or "this CR is live") re-reads that CR first. A merge worker that creates the CR and gets its
``applied`` entry committed between the listing and the ledger lookup would otherwise make a
live grant look like "recorded, CR gone" — and be recorded as ended, its file removed.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from itertools import islice
from typing import TYPE_CHECKING

from github import GithubException

from janus import names
from janus.gitops import break_glass, comments, sources
from janus.gitops.ratelimit import classify
from janus.logs import event
from janus.model import format_duration, ledger, load_request
from janus.model.ledger import Entry

if TYPE_CHECKING:
    from github.PullRequest import PullRequest

    from janus.gitops.service import GitOps
    from janus.resource import AccessRequestView

log = logging.getLogger("janus.gitops.reconcile")

RECONCILER = "janus-reconcile"
# Closing stale PRs lists every open PR: not on every push-triggered pass.
STALE_SCAN_EVERY = dt.timedelta(minutes=5)
# A burst of merges is a burst of pushes: wait this long after a push, then reconcile once.
PUSH_DEBOUNCE_SECONDS = 3.0
# Merges this recent whose comment is checked once per process: a receiver that died between
# the CR and the comment, with its delivery store lost, leaves no delivery to replay.
COMMENT_CHECK_WINDOW = dt.timedelta(hours=24)


@dataclass
class ReconcileReport:
    granted: list[str] = field(default_factory=list)       # CR names created
    refused: list[int] = field(default_factory=list)       # PR numbers refused by verification
    revoked: list[str] = field(default_factory=list)       # CR names revoked (file gone)
    closed: list[int] = field(default_factory=list)        # stale PRs closed
    stale: list[str] = field(default_factory=list)         # files whose window has passed
    problems: list[str] = field(default_factory=list)      # files GitHub sent without content
    truncated: bool = False                                # the tree listing was partial
    repaired: list[str] = field(default_factory=list)      # files the ledger says are done


class Reconciler:
    def __init__(self, ops: GitOps, debounce: float = PUSH_DEBOUNCE_SECONDS) -> None:
        self.ops = ops
        self.debounce = debounce
        # Merge commits verification refused: not re-verified on every pass (restart clears it).
        self._refused: set[str] = set()
        # (path, blob) of request files the ledger says ended (they stay on the default branch
        # when the ledger has a branch of its own): not looked up again on every pass.
        self._ended_files: set[tuple[str, str]] = set()
        self._lock = threading.Lock()
        self._last_stale_scan: dt.datetime | None = None
        # Merge commits whose merge comment this process has seen (or posted): not again.
        self._commented: set[str] = set()
        # Break-glass facts this process submitted to the ledger (outage grants, overdue flags).
        self._break_glass_seen: set[tuple[str, ...]] = set()

    def run(self, now: dt.datetime | None = None) -> ReconcileReport:
        with self._lock:
            return self._run(now or dt.datetime.now(dt.UTC))

    def _run(self, now: dt.datetime) -> ReconcileReport:
        ops, report = self.ops, ReconcileReport()
        crs = {cr.name: cr for cr in ops.crs.list()}
        repo, branch = ops.repo, ops.default_branch
        head = repo.get_branch(branch).commit.sha
        tree = repo.get_git_tree(head, recursive=True)
        files = {
            entry.path: parts for entry in tree.tree
            if entry.type == "blob"
            and (parts := sources.request_path_parts(entry.path)) is not None
        }
        blobs = {entry.path: entry.sha for entry in tree.tree if entry.path in files}
        for path in sorted(files):
            cr_name = names.access_request_name(*files[path])
            if (path, blobs.get(path, "")) in self._ended_files:
                continue
            if cr_name not in crs:
                try:
                    self._grant_missing(path, cr_name, head, now, report)
                except sources.UnreadableFile as exc:
                    report.problems.append(path)
                    ops.counters.inc("reconcile_unreadable_files_total")
                    event(log, "reconcile.unreadable_file", request=cr_name, path=path,
                          size=exc.size, level=logging.WARNING)
        if tree.truncated:
            # GitHub cut the listing (too many entries): a file missing from it may well be on
            # the branch. Grants above were each verified; revoking on a partial listing is not.
            report.truncated = True
            ops.counters.inc("reconcile_truncated_listings_total")
            event(log, "reconcile.tree_truncated", head=head, listed=len(tree.tree),
                  level=logging.WARNING)
            crs = {}
        for cr_name, cr in sorted(crs.items()):
            if cr.provenance is None or cr.provenance.repo.lower() not in ops.repo_names:
                continue  # another access repository's grant
            path = cr.provenance.path
            if path and path not in files and not cr.ended:
                if not self._still_live(cr_name, path):
                    continue
                through_pull = self._revoke_through_pull(path, cr_name, head)
                if through_pull == "revoked":
                    report.revoked.append(cr_name)
                    continue
                if through_pull == "busy":
                    continue  # the merge worker is revoking it right now, as the PR's author
                outcome = ops.crs.revoke(cr_name, by=RECONCILER,
                                         reason=f"{path} is no longer on {branch}",
                                         via="reconcile")
                if outcome == "revoked":
                    report.revoked.append(cr_name)
                    ops.counters.inc("revocations_total", source="reconcile", outcome=outcome)
                    event(log, "grant.revoke_requested", request=cr_name, source="reconcile",
                          path=path)
        self._restore_comments(crs, now)
        # Break-glass: reviews of outage grants opened, overdue reviews flagged.
        break_glass.reconcile(ops, list(crs.values()), now, self._break_glass_seen)
        if self._last_stale_scan is None or now - self._last_stale_scan >= STALE_SCAN_EVERY:
            self._close_stale_pulls(now, report)
            self._last_stale_scan = now
        event(log, "reconcile.done", files=len(files), crs=len(crs), granted=report.granted,
              refused=report.refused, revoked=report.revoked, closed=report.closed,
              repaired=report.repaired, problems=report.problems, truncated=report.truncated)
        return report

    def _grant_missing(self, path: str, cr_name: str, head: str, now: dt.datetime,
                       report: ReconcileReport) -> None:
        ops = self.ops
        pull = self._merging_pull(path, head)
        if pull is None:
            event(log, "reconcile.no_pull", request=cr_name, path=path, level=logging.WARNING)
            return
        if pull.merge_commit_sha in self._refused or ops.busy(pull.number):
            return  # refused before, or a worker is verifying it right now
        if ops.ledger is not None and pull.merge_commit_sha and pull.merged_at is not None:
            entry = ops.ledger.recorded(pull.merge_commit_sha, path, pull.merged_at,
                                        pull.number)
            if entry is not None:  # applied once already: never again, whatever the CRs say
                # The ledger records a merge only after its CR exists: a CR there now is live
                # (created after the pass listed the CRs, or held by the ledger finalizer while
                # its end is written) — not a half-done write to repair.
                if ops.crs.get(cr_name) is not None:
                    event(log, "reconcile.created_meanwhile", request=cr_name, path=path,
                          entry=entry.path)
                    return
                self._repair(path, cr_name, entry, now, report)
                return
        found = sources.read_file(ops.repo, path, head)
        request, _ = load_request(path, found.data) if found else (None, [])
        merged_at = pull.merged_at
        if request is not None and merged_at is not None:
            if merged_at.tzinfo is None:
                merged_at = merged_at.replace(tzinfo=dt.UTC)
            if merged_at + request.duration < now:
                report.stale.append(path)
                event(log, "reconcile.stale", request=cr_name, path=path, pull=pull.number,
                      duration=format_duration(request.duration))
                return
        event(log, "reconcile.missing_grant", request=cr_name, path=path, pull=pull.number)
        verdict = ops.process_merge(pull.number)
        if verdict is None:
            return
        if verdict.failure is not None:
            self._refused.add(pull.merge_commit_sha)
            report.refused.append(pull.number)
        elif ops.crs.get(cr_name) is not None:
            report.granted.append(cr_name)
            ops.counters.inc("reconcile_grants_total")

    def _restore_comments(self, crs: dict[str, AccessRequestView], now: dt.datetime) -> None:
        """Each live grant of a recent merge: its merge comment is there, or posted now (once,
        found by marker) — two API calls per merge, once per process."""
        ops = self.ops
        for cr in crs.values():
            prov = cr.provenance
            if prov is None or cr.ended or prov.repo.lower() not in ops.repo_names \
                    or prov.pull_request is None or not prov.merge_commit \
                    or prov.merge_commit in self._commented:
                continue
            merged_at = prov.merged_at
            if merged_at is not None and merged_at.tzinfo is None:
                merged_at = merged_at.replace(tzinfo=dt.UTC)
            if merged_at is None or now - merged_at > COMMENT_CHECK_WINDOW \
                    or ops.busy(prov.pull_request):
                continue
            ops.restore_merge_comment(prov.pull_request)
            self._commented.add(prov.merge_commit)

    def _still_live(self, cr_name: str, path: str) -> bool:
        """The listed CR, read again right before it is revoked: still there, not ended, and
        still granted by *path* (a merge since the listing may have ended or replaced it)."""
        current = self.ops.crs.get(cr_name)
        return (current is not None and not current.ended and current.provenance is not None
                and current.provenance.path == path)

    def _revoke_through_pull(self, path: str, cr_name: str, head: str) -> str:
        """Revoke a grant whose file is gone the way its deleting PR would: by that PR's
        author, through the same :meth:`GitOps.process_merge` the merge worker runs (under the
        same per-PR lock), so a push-triggered pass that runs before the PR's own delivery —
        or instead of a lost one — records who really revoked. Returns "revoked" (done, by the
        PR), "busy" (a worker holds the PR: leave it) or "none" (no merged PR deleted the file,
        e.g. a direct push: the reconcile revokes in its own name)."""
        ops = self.ops
        pull = self._deleting_pull(path, head)
        if pull is None:
            return "none"
        if ops.busy(pull.number):
            return "busy"
        event(log, "reconcile.missing_revocation", request=cr_name, path=path, pull=pull.number)
        ops.process_merge(pull.number)
        current = ops.crs.get(cr_name)
        return "revoked" if current is None or current.ended else "none"

    def _deleting_pull(self, path: str, head: str) -> PullRequest | None:
        """The merged PR (into the default branch) whose merge removed *path*: the pull
        requests of the latest commit touching it (None for a direct push)."""
        repo, branch = self.ops.repo, self.ops.default_branch
        # islice, not [:1]: PyGithub types a PaginatedList's slice without its item type.
        for commit in islice(repo.get_commits(sha=head, path=path), 1):
            pull = _last_merged_into(branch, commit.get_pulls())
            if pull is not None:
                return pull
        return None

    def _repair(self, path: str, cr_name: str, entry: Entry, now: dt.datetime,
                report: ReconcileReport) -> None:
        """A request file whose merge the ledger already records, without a CR: the end is
        recorded (as ``deleted`` if the ledger has none: the CR went without its finalizer)
        and the file removed — the half-done write of an earlier pass, finished."""
        from janus.gitops.ledger_writer import Transition

        ledger_keeper = self.ops.ledger
        assert ledger_keeper is not None
        end = entry.end or ledger.end_from(
            "deleted", ledger.fmt_time(now), via="reconcile",
            reason="the AccessRequest is gone and its end was not in the ledger")
        ledger_keeper.writer.submit(Transition("ended", entry, entry.path, end=end))
        if not ledger_keeper.writer.remove_requests:
            self._ended_files.update((path, blob) for blob in (
                entry.request.blob_sha, *(e.blob_sha for e in entry.extensions)) if blob)
        report.repaired.append(path)
        event(log, "reconcile.ledger_repair", request=cr_name, path=path, entry=entry.path,
              ended=entry.end is not None)

    def _merging_pull(self, path: str, head: str) -> PullRequest | None:
        """The merged PR (into the default branch) that last changed *path*."""
        repo, branch = self.ops.repo, self.ops.default_branch
        # islice, not [:3]: PyGithub types a PaginatedList's slice without its item type.
        for commit in islice(repo.get_commits(sha=head, path=path), 3):
            pull = _last_merged_into(branch, commit.get_pulls())
            if pull is not None:
                return pull
        return None

    def _close_stale_pulls(self, now: dt.datetime, report: ReconcileReport) -> None:
        ops = self.ops
        timeout = ops.config.pending_timeout
        for pull in ops.repo.get_pulls(state="open", base=ops.default_branch):
            created = pull.created_at
            if created.tzinfo is None:
                created = created.replace(tzinfo=dt.UTC)
            if now - created <= timeout:
                continue
            if not any(f.filename.startswith(f"{sources.REQUESTS_DIR}/")
                       for f in pull.get_files()):
                continue
            with ops.lock_for(pull.number):
                comments.upsert(pull, "pending-timeout", (
                    f"Janus: this request has waited longer than the pending timeout "
                    f"({format_duration(timeout)}) and is closed. Open a new request if access "
                    "is still needed.\n"), author=ops.janus_login, edit=False)
                try:
                    pull.edit(state="closed")
                except GithubException as exc:
                    event(log, "reconcile.close_failed", pull=pull.number, status=exc.status,
                          level=logging.WARNING)
                    continue
            report.closed.append(pull.number)
            event(log, "pr.closed_pending_timeout", pull=pull.number)


def run_forever(reconciler: Reconciler, interval: float | None, stop: threading.Event) -> None:
    """Reconcile at start, every *interval* seconds (None: never on a timer), and at once when a
    push asks for it."""
    trigger = reconciler.ops.reconcile_requested
    limits = reconciler.ops.rate_limits
    while not stop.is_set():
        wait = interval
        pause = limits.paused_for()
        try:
            if pause > 0:  # GitHub asked us to wait: no pass (the next one after the reset)
                event(log, "reconcile.deferred", wait_seconds=round(pause, 1))
                wait = pause if interval is None else min(pause, interval)
            else:
                reconciler.run()
        except Exception as exc:  # keep the loop alive: the next pass retries
            if stop.is_set():
                return  # shutting down: GitHub or the cluster may already be gone
            limited = classify(exc)
            if limited is not None:  # logged and counted once by the watch, not as a failure
                pause = limits.record(limited, "reconcile")
                wait = pause if interval is None else min(pause, interval)
            else:
                log.exception("reconcile.failed", extra={"event": "reconcile.failed",
                                                         "request": None, "fields": {}})
        if trigger.wait(wait) and not stop.is_set():
            stop.wait(reconciler.debounce)  # let the merge's own delivery go first
        trigger.clear()
        if stop.is_set():
            return


def _last_merged_into(branch: str, pulls: Iterable[PullRequest]) -> PullRequest | None:
    """Of *pulls*, the one merged into *branch* last (None: none was)."""
    merged = [(p.merged_at, p) for p in pulls
              if p.merged_at is not None and p.base.ref == branch]
    return max(merged, key=lambda m: m[0])[1] if merged else None
