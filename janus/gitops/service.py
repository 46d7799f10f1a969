"""What Janus does with each GitHub event, once the receiver has queued it.

``janus.webhook.dispatch`` picks the handler for a stored delivery (``check_pull``,
``process_merge``, ``handle_comment``, or a reconcile request on a push). Every handler re-reads
state from the API; the delivery only says which PR to look at. Work on one PR is serialised (a
per-PR lock), so a replayed or concurrent delivery for the same PR waits and then finds
everything already done (deterministic CR names, comments found by marker).
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections import defaultdict
from typing import TYPE_CHECKING, Any

from github import Github
from github.PullRequest import PullRequest
from github.Repository import Repository

from janus import names, testhooks
from janus.gitops import break_glass, comments, render, sources
from janus.gitops.crs import AccessRequests, GrantEndedBeforeMerge
from janus.gitops.membership import GitHubMembership
from janus.gitops.metrics import COUNTERS, Counters
from janus.gitops.pr_check import run_pr_check
from janus.gitops.ratelimit import RateLimitWatch
from janus.gitops.verify import Context, MergeVerdict, StepFailed, classify_files, verify_merge
from janus.logs import event
from janus.model import JanusConfig, PolicySet, format_duration
from janus.notify import Notifier
from janus.policy import Membership
from janus.policy.codeowners import CodeOwners
from janus.resource import AccessRequestView, Provenance

if TYPE_CHECKING:
    from janus.gitops.ledger_keeper import LedgerKeeper
    from janus.gitops.verify import VerifiedFile

log = logging.getLogger("janus.gitops")

STEP_EXISTING = "existing-grant-compatible"

# One line of the merge comment: (request file, AccessRequest name, what happened to it).
_Outcome = tuple[str, str, str]


class GitOps:
    def __init__(
        self,
        gh: Github,
        repo_name: str,
        access_requests: AccessRequests,
        config: JanusConfig,
        *,
        janus_login: str | None,
        app_id: int | None = None,
        counters: Counters = COUNTERS,
        ledger: LedgerKeeper | None = None,
    ) -> None:
        self.gh = gh
        self.repo_name = repo_name
        self.crs = access_requests
        self.config = config
        self.janus_login = janus_login
        # The Janus App's id: its own `janus/policy` runs are found by it (another App may
        # create a run of the same name). None with token auth (no check runs then).
        self.app_id = app_id
        self.counters = counters
        self._repo: Repository | None = None
        self._former_names: set[str] = set()  # lower-case names the repository had here
        self._locks: defaultdict[int, threading.Lock] = defaultdict(threading.Lock)
        self._locks_guard = threading.Lock()
        self.reconcile_requested = threading.Event()
        # The ledger (issue 10): what was applied once is never applied again.
        self.ledger = ledger
        # Notifications (issue 14): off unless the receiver was given a notifications file.
        self.notifier = Notifier.off()
        # GitHub's rate limits as this process meets them: metrics, readiness, when to wait.
        self.rate_limits = RateLimitWatch(counters).attach(gh)

    # ---- plumbing ------------------------------------------------------------------------------

    @property
    def repo(self) -> Repository:
        if self._repo is None:
            self._repo = self.gh.get_repo(self.repo_name)
        return self._repo

    @property
    def default_branch(self) -> str:
        return self.repo.default_branch

    @property
    def repo_id(self) -> int:
        """The access repository's id: deliveries are matched on it, not on its name."""
        return self.repo.id

    @property
    def repo_names(self) -> set[str]:
        """Every name (lower case) this repository has had here: grants record the name at
        their merge, and a renamed repository's older grants are still this repository's."""
        return {self.repo_name.lower(), self.repo.full_name.lower(), *self._former_names}

    def follow_rename(self, full_name: str) -> None:
        """A delivery with our repository id under another name: the repository was renamed
        (or transferred). Re-read it under the new name — kept only if it is the same
        repository, by id — so the handlers' API calls reach it."""
        if not full_name or full_name.lower() == self.repo.full_name.lower():
            return
        fresh = self.gh.get_repo(full_name)
        if fresh.id != self.repo.id:
            return
        event(log, "webhook.repo_renamed", old=self.repo.full_name, new=fresh.full_name,
              level=logging.WARNING)
        self._former_names.add(self.repo.full_name.lower())
        self._repo = fresh

    def lock_for(self, number: int) -> threading.Lock:
        with self._locks_guard:
            return self._locks[number]

    def membership_for(self, policy_set: PolicySet, codeowners: CodeOwners | None) -> Membership:
        return GitHubMembership(self.gh, sources.teams_named(policy_set, codeowners))

    def is_admin(self, login: str) -> bool:
        if login.lower() in self.config.admin_users:
            return True
        membership = GitHubMembership(self.gh, self.config.admin_teams)
        return bool(membership.teams_of(login) & self.config.admin_teams)

    # ---- before merge --------------------------------------------------------------------------

    def check_pull(self, number: int) -> None:
        with self.lock_for(number):
            pull = self.repo.get_pull(number)
            if pull.state != "open":
                return
            result = run_pr_check(self.repo, pull, self.membership_for, self.janus_login,
                                  app_id=self.app_id)
            if break_glass.merge_if_break_glass(self, pull, result) is not None:
                return  # break-glass: merged by Janus (or refused, said on the PR)
            if result.conclusion == "success" and self.notifier.enabled:  # ask the approvers
                self.notifier.request_opened(self.repo.full_name, number, pull.html_url,
                                             pull.user.login, result.judged)

    def check_commit(self, sha: str) -> None:
        """The PR check for every open PR whose head is *sha*: a check run or suite of a PR from
        a fork lists no pull requests (GitHub's rule), so it is found by its commit."""
        for pull in self.repo.get_commit(sha).get_pulls():
            if pull.state == "open" and pull.head.sha == sha:
                self.check_pull(pull.number)

    # ---- at merge ------------------------------------------------------------------------------

    def process_merge(self, number: int) -> MergeVerdict | None:
        with self.lock_for(number):
            pull = self.repo.get_pull(number)
            if not pull.merged:
                event(log, "pr.closed_unmerged", pull=number)
                return None
            if self._already_applied(pull):
                event(log, "merge.already_applied", pull=number, merge=pull.merge_commit_sha)
                self._restore_merge_comment(pull)
                return MergeVerdict(self.repo.full_name, number, pull.merge_commit_sha or "",
                                    "", pull.merged_at, pull.user.login)
            ctx = Context(self.repo, pull, self.default_branch, self.janus_login,
                          self.membership_for)
            verdict = verify_merge(ctx)
            self._apply(pull, verdict)
            return verdict

    def busy(self, number: int) -> bool:
        """True while a worker holds PR *number* (the reconcile then leaves it to that worker)."""
        return self.lock_for(number).locked()

    def _already_applied(self, pull: PullRequest) -> bool:
        """Every request file of this merge already has its CR from *this* merge commit (only
        Janus writes provenance, after verification), and every deleted one is revoked or
        gone: a replay, or the reconcile and the delivery racing. Skips a full re-verification
        (about twenty API calls) at the cost of one."""
        changes = classify_files(pull)
        if changes.outside or not (changes.changed or changes.removed):
            return False
        for path in changes.changed:
            parts = sources.request_path_parts(path)
            cr = self.crs.get(names.access_request_name(*parts)) if parts else None
            if cr is None or cr.provenance is None \
                    or cr.provenance.merge_commit != pull.merge_commit_sha:
                return False
        for path in changes.removed:
            parts = sources.request_path_parts(path)
            cr = self.crs.get(names.access_request_name(*parts)) if parts else None
            if cr is not None and not cr.ended:
                return False
        return True

    def restore_merge_comment(self, number: int) -> None:
        """The reconcile's way to the same repair, under the PR's lock: for a merge whose
        delivery is gone with the receiver's store (nothing will replay it)."""
        with self.lock_for(number):
            pull = self.repo.get_pull(number)
            if pull.merged and self._already_applied(pull):
                self._restore_merge_comment(pull)

    def _restore_merge_comment(self, pull: PullRequest) -> None:
        """A merge applied before whose comment is missing: the process that applied it died
        (or GitHub failed it) between creating the CRs and posting. Said now from the CRs
        themselves, once: the comment is looked up by its marker first. Costs one listing of the
        PR's comments on a replay (replays are rare); nothing on the first pass."""
        merge = pull.merge_commit_sha or ""
        key = f"merge:{merge or pull.number}"
        if comments.find(pull, key, self.janus_login) is not None:
            return
        changes = classify_files(pull)
        outcomes: list[_Outcome] = []
        for path in changes.removed:
            parts = sources.request_path_parts(path)
            cr_name = names.access_request_name(*parts) if parts else path
            cr = self.crs.get(cr_name) if parts else None
            outcomes.append((path, cr_name, "revoked" if cr is not None and cr.ended
                             else "no live grant"))
        for path in changes.changed:
            parts = sources.request_path_parts(path)
            if parts is None:
                continue
            cr_name = names.access_request_name(*parts)
            cr = self.crs.get(cr_name)
            approvers = ", ".join(cr.provenance.approvers) if cr and cr.provenance else ""
            outcomes.append((path, cr_name, f"applied (approved by {approvers})"))
        body = render.merge_comment(merge, outcomes, None)
        if comments.upsert(pull, key, body, author=self.janus_login, edit=False) == "created":
            event(log, "merge.comment_restored", pull=pull.number, merge=merge)

    def _apply(self, pull: PullRequest, verdict: MergeVerdict) -> None:
        """Act on a verified merge: revocations always, grants only when nothing was refused;
        then say what happened in one comment on the PR."""
        # Revocations first and unconditionally: taking access away is always allowed, even
        # when a grant in the same PR is refused.
        outcomes = self._apply_revocations(verdict)
        failure = self._refusal(verdict)
        if failure is None:
            outcomes += self._apply_grants(verdict)
            break_glass.after_grants(self, pull, verdict)  # alert reviewers, open the review
        else:
            self._report_refusal(pull, verdict, failure)
        if not outcomes and failure is None:
            return  # a merge that touched no request file: nothing to say
        body = render.merge_comment(
            verdict.merge_commit, outcomes,
            None if failure is None else (failure.step, failure.summary, failure.details),
        )
        testhooks.crash_point("merge-comment")  # tests only: die between the CRs and the comment
        comments.upsert(pull, f"merge:{verdict.merge_commit or pull.number}", body,
                        author=self.janus_login, edit=False)

    def _apply_revocations(self, verdict: MergeVerdict) -> list[_Outcome]:
        """Revoke the grant of each request file the merge deleted, unless it is back."""
        outcomes: list[_Outcome] = []
        for rev in verdict.revocations:
            cr_name = names.access_request_name(rev.cluster, rev.namespace, rev.name)
            if self._head_blob(rev.path) is not None:
                # The file is back on the default branch (added again by a later PR): this is
                # an old deletion replayed, and the later grant stands.
                outcomes.append((rev.path, cr_name, "superseded by a later change on "
                                                    f"{self.default_branch}; nothing done"))
                continue
            result = self.crs.revoke(cr_name, by=verdict.author,
                                     reason=f"{rev.path} deleted by PR #{verdict.number}",
                                     via="file-deletion")
            outcomes.append((rev.path, cr_name, {
                "revoked": "revoked", "absent": "no grant existed",
                "already-revoked": "already revoked", "ended": "already ended",
            }[result]))
            self.counters.inc("revocations_total", source="file-deleted", outcome=result)
            event(log, "grant.revoke_requested", request=cr_name, pull=verdict.number,
                  outcome=result, source="file-deleted")
        return outcomes

    def _refusal(self, verdict: MergeVerdict) -> StepFailed | None:
        """The step that refuses this merge's grants: verification's, else the existing-grant
        check (run only for a merge that passed verification)."""
        if verdict.failure is not None:
            return verdict.failure
        try:
            self._check_existing(verdict)
        except StepFailed as exc:
            return exc
        return None

    def _apply_grants(self, verdict: MergeVerdict) -> list[_Outcome]:
        """Create or extend the AccessRequest of each verified request file, in order."""
        return [self._apply_grant(verdict, grant) for grant in verdict.grants]

    def _apply_grant(self, verdict: MergeVerdict, grant: VerifiedFile) -> _Outcome:
        """One verified file: skipped when it must not be applied (again) or was superseded,
        otherwise written as a CR carrying the merge's provenance."""
        cr_name = names.access_request_name(grant.request.cluster,
                                            grant.request.namespace, grant.request.name)
        refusal = self._not_again(verdict, grant)
        if refusal is not None:
            self.counters.inc("merged_requests_total", outcome=refusal[0])
            event(log, "grant.not_applied", request=cr_name, pull=verdict.number,
                  outcome=refusal[0], merge_commit=verdict.merge_commit)
            return (grant.path, cr_name, refusal[1])
        if self._head_blob(grant.path) != grant.blob_sha:
            # The file changed or went away on the default branch after this merge: an old
            # delivery replayed must neither re-grant a revoked request nor roll an extension
            # back. The later merge decides.
            self.counters.inc("merged_requests_total", outcome="superseded")
            return (grant.path, cr_name, "superseded by a later change on "
                                         f"{self.default_branch}; nothing done")
        provenance = Provenance(
            repo=verdict.repo, pull_request=verdict.number,
            merge_commit=verdict.merge_commit, path=grant.path,
            blob_sha=grant.blob_sha, approvers=grant.approvers,
            merged_by=verdict.merged_by, merged_at=verdict.merged_at,
        )
        try:
            result = self.crs.apply_grant(grant.request, provenance)
        except GrantEndedBeforeMerge as exc:  # an extension that came after the end
            self.counters.inc("merged_requests_total", outcome="grant-ended")
            event(log, "grant.not_applied", request=cr_name, pull=verdict.number,
                  outcome="grant-ended", merge_commit=verdict.merge_commit)
            return (grant.path, cr_name, str(exc))
        approved_by = ", ".join(grant.approvers)
        said = {
            "created": f"created (approved by {approved_by})",
            "recreated": f"created again (approved by {approved_by})",
            "extended": f"extended to {format_duration(grant.request.duration)} "
                        f"(approved by {approved_by})",
            "unchanged": "already applied",
        }[result]
        self.counters.inc("merged_requests_total", outcome=result)
        event(log, "grant.applied", request=cr_name, pull=verdict.number,
              outcome=result, approvers=list(grant.approvers), policy=grant.policy)
        return (grant.path, cr_name, said)

    def _report_refusal(self, pull: PullRequest, verdict: MergeVerdict,
                        failure: StepFailed) -> None:
        """Count, log and (when configured) notify a refused merge; the comment follows."""
        self.counters.inc("verification_failures_total", step=failure.step)
        event(log, "merge.refused", pull=verdict.number, step=failure.step,
              summary=failure.summary, details=failure.details[:20],
              merge_commit=verdict.merge_commit, level=logging.WARNING)
        if self.notifier.enabled:
            self.notifier.merge_refused(verdict.repo, verdict.number, pull.html_url,
                                        verdict.merge_commit, verdict.author,
                                        failure.step, failure.summary)

    def _not_again(self, verdict: MergeVerdict, grant: VerifiedFile,
                   now: dt.datetime | None = None) -> tuple[str, str] | None:
        """(outcome, what the PR comment says) when this merge of this file must not be
        applied, on every path (delivery, redelivery, replay, reconcile): the ledger already
        records it, or its window has passed (merged longer ago than the requested duration)."""
        merged_at = verdict.merged_at
        if merged_at is not None and merged_at.tzinfo is None:
            merged_at = merged_at.replace(tzinfo=dt.UTC)
        if self.ledger is not None and merged_at is not None:
            entry = self.ledger.recorded(verdict.merge_commit, grant.path, merged_at,
                                         verdict.number)
            if entry is not None:
                return ("already-recorded",
                        f"not applied again: this merge was applied once already (ledger "
                        f"entry `{entry.path}`); a merge is never applied twice")
        now = now or dt.datetime.now(dt.UTC)
        if merged_at is not None and merged_at + grant.request.duration < now:
            return ("window-passed",
                    f"not granted: merged at {merged_at:%Y-%m-%dT%H:%M:%SZ}, longer ago than "
                    f"its duration ({format_duration(grant.request.duration)}); its window "
                    "has passed")
        return None

    def _head_blob(self, path: str) -> str | None:
        try:
            found = sources.read_file(self.repo, path, self.default_branch)
        except sources.UnreadableFile as exc:
            return exc.blob_sha  # present; only its content is not sent
        return None if found is None else found.blob_sha

    def _check_existing(self, verdict: MergeVerdict) -> None:
        """All-or-nothing: refuse before creating anything if one file cannot be applied."""
        problems = []
        for grant in verdict.grants:
            r = grant.request
            cr = self.crs.get(names.access_request_name(r.cluster, r.namespace, r.name))
            if cr is None or cr.ended:
                continue
            problems += _identity_changes(grant.path, cr, r.requester, r.role)
        if problems:
            raise StepFailed(STEP_EXISTING, "a live grant's requester or role cannot change; "
                             "delete the file (revoke) and request again under a new name",
                             problems)

    # ---- reviews (notifications only) -----------------------------------------------------------

    def review_submitted(self, number: int, review_id: int) -> None:
        """A review was submitted: changes requested are told to the requester. The review is
        re-read from the API (the delivery only says which one); nothing else is done."""
        if not self.notifier.enabled:
            return
        pull = self.repo.get_pull(number)
        review = pull.get_review(review_id)
        if review.state == "CHANGES_REQUESTED":
            self.notifier.changes_requested(self.repo.full_name, number, pull.html_url,
                                            pull.user.login, review.user.login, review.id,
                                            review.body or "")

    # ---- /janus revoke -------------------------------------------------------------------------

    def handle_comment(self, payload: dict[str, Any]) -> None:
        from janus.gitops.revoke_command import handle_revoke_comment

        handle_revoke_comment(self, payload)
        break_glass.handle_ack(self, payload)


def _identity_changes(path: str, live: AccessRequestView, requester: str, role: str) -> list[str]:
    """What a merged file would change of a live grant's identity (requester, role)."""
    return [f"`{path}`: {key} of the live grant is {old}, the file says {new}"
            for key, old, new in (("requester", live.requester, requester),
                                  ("role", live.role, role))
            if old.lower() != new.lower()]
