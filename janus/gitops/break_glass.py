"""Break-glass on GitHub: Janus merges an allowed break-glass PR itself, grants at once, alerts
the reviewers and opens the retrospective review (docs/requests-and-policies.md#break-glass).

The path, each part here:

* :func:`merge_if_break_glass` — after the PR check of an open PR: when every request file of it
  asks for break-glass and the check passed (same judge as at merge, on the PR head against the
  base commit's policies, so the policy's ``breakGlass`` lists the requester and the duration is
  within its ``maxDuration``), Janus merges the PR, pinned to the judged head commit. The App
  must be a bypass actor of the ruleset that demands reviews
  (docs/requests-and-policies.md#break-glass-setup).
* The merge is verified by :func:`janus.gitops.verify.verify_merge` like any other, with the
  approval step replaced by the ``break-glass`` step
  (:func:`janus.gitops.verify.check_break_glass`).
* :func:`after_grants` — for each break-glass grant just created: a loud PR comment mentioning
  every reviewer, and a retrospective review: an issue assigned to the reviewers, labelled
  ``janus-break-glass``.
* :func:`handle_ack` — ``/janus ack <comment>`` on that issue by a reviewer closes it; the
  requester can never acknowledge their own, nor can anyone who is not a reviewer (each refused
  with a reply).
* :func:`flag_overdue` — run by the reconcile loop: a review still open past ``reviewWithin``
  gets the ``janus-break-glass-overdue`` label, a comment, a metric and a log line.
* The ledger (docs/design.md §11) records each break-glass fact in the grant's entry, in its
  ``breakGlass`` block: how the grant came about (a PR Janus merged, or an outage grant — its
  own entry, ``pullRequest: 0``, recorded once GitHub answers again), the review's issue and due
  time, when it was flagged overdue, and who acknowledged it, when, with what comment. Each fact
  is set once (the first value stands), so replays, restarts and replicas record it once.

Nothing in an issue is trusted: the issue body only points at a merge commit and a request file
(``<!-- janus:break-glass-review ... -->``); the requester, the reviewers and the deadline are
derived again from git (the request file at the merge commit, the policies at its first parent)
and the API (the PR's merge time, team membership now).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from github import GithubException
from github.Issue import Issue
from github.PullRequest import PullRequest

from janus import names
from janus.gitops import comments, sources
from janus.gitops.ledger_keeper import end_of, entry_of
from janus.gitops.ledger_writer import Transition
from janus.gitops.membership import GitHubMembership
from janus.logs import event
from janus.model import BreakGlass, ConfigError, Request, format_duration, ledger, load_request
from janus.policy import evaluate
from janus.resource import AccessRequestView
from janus.resource.admission import ADMIN_ANNOTATION

if TYPE_CHECKING:
    from janus.gitops.pr_check import CheckResult
    from janus.gitops.service import GitOps
    from janus.gitops.verify import MergeVerdict

log = logging.getLogger("janus.gitops.break_glass")

LABEL_REVIEW = "janus-break-glass"
LABEL_OVERDUE = "janus-break-glass-overdue"
LABEL_ACKED = "janus-break-glass-acknowledged"
ACK = re.compile(r"^\s*/janus\s+ack(?:[ \t]+(?P<comment>[^\r\n]*))?\s*$", re.MULTILINE)
_POINTER = re.compile(r"<!-- janus:break-glass-review (\{[^\n]*\}) -->")
MIN_ACK_TEXT = 10  # "/janus ack ok" says nothing an auditor can use
# On the AccessRequest (PR-path grants; the admin view shows it). The admission rules let the
# receiver write annotations only on grants with provenance, so outage grants carry none.
REVIEW_ANNOTATION = names.ANNOTATION_BREAK_GLASS_REVIEW
# An outage grant no policy's breakGlass covers is reviewed by the admins within this.
OUTAGE_REVIEW_WITHIN = dt.timedelta(hours=24)


# ---- before merge: Janus merges an allowed break-glass PR ----------------------------------------

def merge_if_break_glass(ops: GitOps, pull: PullRequest, result: CheckResult) -> str | None:
    """Merge *pull* when it is an allowed break-glass PR; returns what happened (None: not a
    break-glass PR). Called under the PR's lock, right after its check."""
    judged = [j for j in result.judged if j.request is not None]
    if not any(j.request is not None and j.request.break_glass for j in judged):
        return None
    allowed = [j for j in judged if j.allowed and j.decision is not None
               and j.decision.break_glass is not None]
    existing = [j.path for j in allowed
                if sources.read_file(ops.repo, j.path, pull.base.sha) is not None]
    if existing:
        outcome, text = "refused", (
            "Janus did **not** merge this break-glass request: "
            + ", ".join(f"`{p}`" for p in existing) + " already exists on the default branch. "
            "Break-glass never extends or changes a request; remove `breakGlass: true` and "
            "ask for approval (an extension of a break-glass grant needs normal approval).")
    elif result.conclusion != "success" or len(allowed) != len(judged) \
            or len(judged) != len(result.judged):
        outcome, text = "refused", (
            "Janus did **not** merge this break-glass request: the `janus/policy` check lists "
            "what is wrong. Only a PR whose every request file is an allowed break-glass request "
            "(the policy's `breakGlass` lists the requester, within its `maxDuration`) is "
            "merged by Janus; otherwise remove `breakGlass: true` and ask for approval.")
    else:
        try:
            pull.merge(commit_title=f"Break-glass: {pull.title} (#{pull.number})",
                       merge_method="merge", sha=pull.head.sha)
            outcome, text = "merged", None
        except GithubException as exc:
            outcome = "merge-failed"
            text = ("Janus could not merge this break-glass request: GitHub answered "
                    f"{exc.status} ({_message(exc)}). The Janus App must be a bypass actor of "
                    "the ruleset that requires reviews "
                    "(docs/requests-and-policies.md#break-glass-setup).")
    ops.counters.inc("break_glass_total", outcome=outcome)
    event(log, "break_glass.merge", pull=pull.number, head=pull.head.sha, outcome=outcome,
          level=logging.INFO if outcome == "merged" else logging.WARNING)
    if text is not None:
        comments.upsert(pull, f"break-glass:{pull.head.sha}", text, author=ops.janus_login)
    return outcome


def _message(exc: GithubException) -> str:
    data = exc.data if isinstance(exc.data, dict) else {}
    return str(data.get("message") or "no message")[:200]


# ---- after the grant: alert the reviewers, open the retrospective review ----------------------

@dataclass(frozen=True)
class ReviewFacts:
    """A break-glass grant's review, derived from git and the API (never from the issue)."""

    pull: int
    merge_commit: str
    path: str
    cr_name: str
    requester: str
    policy: str
    rule: BreakGlass
    due: dt.datetime
    summary: str  # "alice → prod/payments (pod-exec, 1h)"
    started: dt.datetime | None = None  # the merge (PR path) or the CR's creation (outage)

    def reviewers_mention(self) -> str:
        return self.rule.reviewers_text()


def review_facts(ops: GitOps, pull_number: int, merge_commit: str,
                 path: str) -> ReviewFacts | None:
    """Re-derive the review of *path* merged by *merge_commit* in PR *pull_number*; None when
    that is not a break-glass grant Janus merged (a forged or stale pointer)."""
    pull = ops.repo.get_pull(pull_number)
    if not pull.merged or pull.merge_commit_sha != merge_commit or pull.merged_at is None:
        return None
    found = sources.read_file(ops.repo, path, merge_commit)
    if found is None:
        return None
    request, _ = load_request(path, found.data)
    if request is None or not request.break_glass:
        return None
    parents = ops.repo.get_commit(merge_commit).parents
    if not parents:
        return None
    try:
        policy_set, codeowners = sources.load_policies_and_codeowners(ops.repo, parents[0].sha)
    except ConfigError:
        return None
    decision = evaluate(request, policy_set, ops.membership_for(policy_set, codeowners))
    if not decision.allowed or decision.break_glass is None or not decision.policy:
        return None
    merged_at = pull.merged_at if pull.merged_at.tzinfo else pull.merged_at.replace(
        tzinfo=dt.UTC)
    return ReviewFacts(
        pull=pull_number, merge_commit=merge_commit, path=path,
        cr_name=names.access_request_name(request.cluster, request.namespace, request.name),
        requester=request.requester, policy=decision.policy, rule=decision.break_glass,
        due=merged_at + decision.break_glass.review_within,
        summary=(f"{request.requester} → {request.cluster}/{request.namespace} "
                 f"({request.role}, {format_duration(request.duration)})"),
        started=merged_at,
    )


def outage_facts(ops: GitOps, cr: AccessRequestView) -> ReviewFacts | None:
    """The review of a break-glass grant a cluster admin created while GitHub was away
    (``janus break-glass``): the requester from the AccessRequest (only the admin path creates
    one without provenance), the reviewers from the default branch's policies now; when no
    policy's ``breakGlass`` covers it, the JanusConfig admins review it within 24h."""
    if cr.provenance is not None or cr.meta.labels.get(names.LABEL_BREAK_GLASS) != "true":
        return None
    created = cr.meta.created_at or dt.datetime.now(dt.UTC)
    if created.tzinfo is None:
        created = created.replace(tzinfo=dt.UTC)
    rule, policy = _admins_review(ops), "(none: JanusConfig admins review it)"
    try:
        policy_set, codeowners = sources.load_policies_and_codeowners(ops.repo,
                                                                      ops.default_branch)
        request = _request_of(cr)
        decision = evaluate(request, policy_set, ops.membership_for(policy_set, codeowners))
        if decision.allowed and decision.break_glass is not None and decision.policy:
            rule, policy = decision.break_glass, decision.policy
    except (ConfigError, ValueError):
        pass
    return ReviewFacts(
        pull=0, merge_commit="", path="", cr_name=cr.name, requester=cr.requester,
        policy=policy, rule=rule, due=created + rule.review_within,
        summary=f"{cr.requester} → {cr.cluster}/{cr.namespace} ({cr.role}, {cr.duration}), "
                "created by a cluster admin while GitHub was away",
        started=created)


def _admins_review(ops: GitOps) -> BreakGlass:
    config = ops.config
    return BreakGlass(frozenset(), frozenset(), config.duration_max, OUTAGE_REVIEW_WITHIN,
                      config.admin_users, config.admin_teams)


def _request_of(cr: AccessRequestView) -> Request:
    from janus.model import parse_duration

    return Request(name=cr.request_name, requester=cr.requester, cluster=cr.cluster,
                   namespace=cr.namespace, role=cr.role, duration=parse_duration(cr.duration),
                   reason=cr.reason, ticket=cr.ticket, path=f"requests/{cr.cluster}/"
                   f"{cr.namespace}/{cr.request_name}.yaml", break_glass=True)


def reconcile(ops: GitOps, crs: list[AccessRequestView], now: dt.datetime | None = None,
              seen: set[tuple[str, ...]] | None = None) -> None:
    """Run by each reconcile pass: open the review of every outage grant (once) and record the
    grant in the ledger, then flag the overdue reviews. *seen* (kept by the caller across
    passes): what this process already submitted to the ledger, not submitted again each pass
    (after a restart it is submitted once more; the writer finds it recorded and commits
    nothing). Never breaks the pass: GitHub trouble is logged and tried next time."""
    seen = set() if seen is None else seen
    try:
        for cr in crs:
            facts = outage_facts(ops, cr)
            if facts is not None:
                issue = open_review(ops, facts, cr.meta.uid)
                end = end_of(cr, now)
                state = ("outage", cr.meta.uid, cr.phase, cr.expires_at_text,
                         end.how if end else "")
                if state not in seen:
                    base = outage_entry(ops, cr, facts, issue.number)
                    if base is not None and record(ops, base, base.break_glass, end=end):
                        seen.add(state)
        flag_overdue(ops, now, seen)
    except GithubException as exc:
        event(log, "break_glass.reconcile_failed", status=exc.status, level=logging.WARNING)


# ---- the ledger ---------------------------------------------------------------------------------

def outage_entry(ops: GitOps, cr: AccessRequestView, facts: ReviewFacts,
                 issue: int) -> ledger.Entry | None:
    """The ledger entry of an outage grant: no PR (``pullRequest: 0``), no merge commit, no
    request file; the cluster admin and their reason from the AccessRequest's
    ``janus.dev/created-by-admin`` annotation (written by ``janus break-glass``, allowed only
    on the admission rules' admin path), its creation as the start."""
    if ops.ledger is None or facts.started is None:
        return None
    by, _, reason = cr.meta.annotations.get(ADMIN_ANNOTATION, "").partition(": ")
    started = ledger.fmt_time(facts.started)
    request = ledger.RequestRecord(
        path=f"{sources.REQUESTS_DIR}/{cr.cluster}/{cr.namespace}/{cr.request_name}.yaml",
        blob_sha=None, name=cr.request_name, requester=cr.requester, cluster=cr.cluster,
        namespace=cr.namespace, role=cr.role, duration=cr.duration,
        reason=ledger.clean_text(cr.reason) or "", ticket=cr.ticket)
    merge = ledger.MergeRecord(repo=ops.ledger.repo_name, pull_request=0, commit=None,
                               merged_at=started, merged_by=None)
    granted = cr.granted_at
    return ledger.Entry(
        request=request, merge=merge, access_request=cr.name,
        granted_at=None if granted is None else ledger.fmt_time(granted),
        expires_at=None if cr.expires_at is None else ledger.fmt_time(cr.expires_at),
        break_glass=ledger.BreakGlass(
            via="outage", review_due=ledger.fmt_time(facts.due), review_issue=issue,
            by=ledger.clean_text(by.strip(), 100) or None,
            reason=ledger.clean_text(reason.strip(), 500) or None, at=started))


def _base_entry(ops: GitOps, facts: ReviewFacts, issue: int) -> ledger.Entry | None:
    """The entry a review's fact goes into: the grant as the AccessRequest tells it, or (the CR
    gone: its end is recorded before the ledger finalizer lets it go) the entry on the branch."""
    keeper = ops.ledger
    if keeper is None:
        return None
    cr = ops.crs.get(facts.cr_name)
    if not facts.pull:
        return None if cr is None else outage_entry(ops, cr, facts, issue)
    if cr is not None and cr.provenance is not None \
            and cr.provenance.merge_commit == facts.merge_commit:
        base = entry_of(cr)
        if base is not None:
            return base
    if facts.started is None:
        return None
    head = keeper.git.head(keeper.branch)
    path = ledger.entry_path(facts.started, facts.pull, facts.cr_name)
    found = None if head is None else keeper.git.read(head.tree, path)
    return None if found is None else ledger.loads(path, found[0])


def record(ops: GitOps, base: ledger.Entry, fact: ledger.BreakGlass | None, *,
           end: ledger.End | None = None) -> bool:
    """Submit one break-glass fact of *base*'s grant to the ledger writer (batched, CAS,
    retried; a fact already recorded changes nothing, so makes no commit)."""
    if ops.ledger is None or fact is None:
        return False
    ops.ledger.writer.submit(Transition("break-glass", base, base.path, end=end,
                                        break_glass=fact))
    event(log, "break_glass.ledger_submitted", request=base.access_request, entry=base.path,
          via=fact.via, overdue=fact.overdue_at is not None,
          acknowledged=fact.acknowledged is not None)
    return True


def _record_fact(ops: GitOps, facts: ReviewFacts, issue: int, **fact: Any) -> bool:
    try:
        base = _base_entry(ops, facts, issue)
    except ledger.LedgerError as exc:  # a broken entry is never replaced (audit verify names it)
        event(log, "break_glass.ledger_unreadable", request=facts.cr_name, error=str(exc),
              level=logging.WARNING)
        return False
    if base is None:
        event(log, "break_glass.ledger_no_entry", request=facts.cr_name, issue=issue,
              level=logging.WARNING)
        return False
    via = "pull-request" if facts.pull else "outage"
    return record(ops, base, ledger.BreakGlass(
        via=via, review_due=ledger.fmt_time(facts.due), review_issue=issue, **fact))


def after_grants(ops: GitOps, pull: PullRequest, verdict: MergeVerdict) -> None:
    """For each break-glass file of a merge whose grants were applied: the loud PR comment and
    the retrospective review issue (each found again by its marker first: idempotent)."""
    for grant in verdict.grants:
        if not grant.request.break_glass:
            continue
        facts = review_facts(ops, verdict.number, verdict.merge_commit, grant.path)
        if facts is None:
            continue
        issue = open_review(ops, facts)
        _record_fact(ops, facts, issue.number)
        if issue.state != "closed":
            mark(ops, facts.cr_name, f"open: review #{issue.number}, due "
                                     f"{facts.due:%Y-%m-%dT%H:%M:%SZ}", first=True)
        comments.upsert(pull, f"break-glass-alert:{facts.merge_commit}:{facts.path}",
                        _alert_text(facts, issue.number), author=ops.janus_login, edit=False)


def mark(ops: GitOps, cr_name: str, value: str, *, first: bool = False) -> None:
    """Write the review's state on the grant (best effort: the issue is the record); *first*:
    only when it has none yet (a replay never turns "acknowledged" back into "open")."""
    for _ in range(3):
        cr = ops.crs.get(cr_name)
        if cr is None or cr.provenance is None \
                or cr.meta.annotations.get(REVIEW_ANNOTATION) == value \
                or (first and REVIEW_ANNOTATION in cr.meta.annotations):
            return
        if ops.crs.set_annotation(cr_name, REVIEW_ANNOTATION, value, cr.meta.resource_version):
            return


def _alert_text(facts: ReviewFacts, issue: int) -> str:
    return (f"## 🚨 BREAK-GLASS: access granted without approval\n\n"
            f"**{facts.summary}** was granted at once under policy `{facts.policy}`.\n\n"
            f"Reviewers {facts.reviewers_mention()}: please review this access now. The "
            f"retrospective review is #{issue}; acknowledge it there with "
            f"`/janus ack <what you checked>` by **{facts.due:%Y-%m-%d %H:%M} UTC** "
            f"(within {format_duration(facts.rule.review_within)}), or it is flagged overdue. "
            f"@{facts.requester} cannot acknowledge their own break-glass.\n")


def _pointer(facts: ReviewFacts, uid: str = "") -> str:
    data: dict[str, Any] = ({"pull": facts.pull, "merge": facts.merge_commit, "path": facts.path}
                            if facts.pull else {"cr": facts.cr_name, "uid": uid})
    return f"<!-- janus:break-glass-review {json.dumps(data, sort_keys=True)} -->"


def _facts_of(ops: GitOps, pointer: dict[str, Any]) -> ReviewFacts | None:
    """The facts an issue's pointer leads to, derived again (never read from the issue)."""
    if "cr" in pointer:
        cr = ops.crs.get(str(pointer["cr"]))
        if cr is None or cr.meta.uid != pointer.get("uid"):
            return None
        return outage_facts(ops, cr)
    return review_facts(ops, int(pointer["pull"]), str(pointer["merge"]), str(pointer["path"]))


def open_review(ops: GitOps, facts: ReviewFacts, uid: str = "") -> Issue:
    """The retrospective review issue of *facts*, opened once (found by its pointer first)."""
    pointer = _pointer(facts, uid)
    for issue in ops.repo.get_issues(state="all", labels=[LABEL_REVIEW]):
        if pointer in (issue.body or "") and _by_janus(ops, issue.user):
            return issue
    body = "\n".join([
        pointer,
        f"## Break-glass review: {facts.summary}",
        "",
        (f"- Pull request: #{facts.pull} (merged by Janus as break-glass, commit "
         f"`{facts.merge_commit[:12]}`)" if facts.pull else
         "- No pull request: created with `janus break-glass` by a cluster admin (see the "
         "AccessRequest's `janus.dev/created-by-admin` annotation for who and why)"),
        f"- Request file: `{facts.path or '(none)'}` → AccessRequest `{facts.cr_name}`",
        f"- Policy: `{facts.policy}`; reviewers: {facts.reviewers_mention()}",
        f"- Review due: **{facts.due:%Y-%m-%dT%H:%M:%SZ}**",
        "",
        "A reviewer closes this review with a comment `/janus ack <what you checked>`. "
        f"The requester (@{facts.requester}) cannot acknowledge their own break-glass.",
    ])
    issue = ops.repo.create_issue(
        title=f"Break-glass review: {facts.summary}"
              + (f" (PR #{facts.pull})" if facts.pull else ""), body=body,
        labels=[LABEL_REVIEW], assignees=_assignees(ops, facts))
    ops.counters.inc("break_glass_reviews_total", outcome="opened")
    event(log, "break_glass.review_opened", pull=facts.pull, issue=issue.number,
          request=facts.cr_name, requester=facts.requester, due=facts.due.isoformat())
    return issue


def _by_janus(ops: GitOps, user: Any) -> bool:
    return user is not None and ops.janus_login is not None \
        and user.login.lower() == ops.janus_login.lower()


def _assignees(ops: GitOps, facts: ReviewFacts) -> list[str]:
    """The reviewers as people (teams expanded), never the requester; GitHub takes ten."""
    people = set(facts.rule.reviewer_users)
    for team in sorted(facts.rule.reviewer_teams):
        org, slug = team.split("/", 1)
        try:
            people |= {m.login.lower() for m in
                       ops.gh.get_organization(org).get_team_by_slug(slug).get_members()}
        except GithubException as exc:
            event(log, "break_glass.team_unreadable", team=team, status=exc.status,
                  level=logging.WARNING)
    people.discard(facts.requester.lower())
    return sorted(people)[:10]


# ---- /janus ack ---------------------------------------------------------------------------------

def parse_ack(body: str) -> str | None:
    """The acknowledgement text ("" if none) when *body* holds a ``/janus ack`` line."""
    match = ACK.search(body or "")
    return None if match is None else (match.group("comment") or "").strip()[:500]


def handle_ack(ops: GitOps, payload: dict[str, Any]) -> None:
    """``/janus ack <comment>`` on a retrospective review issue (delivery ``issue_comment``)."""
    issue_data = payload.get("issue") or {}
    comment_id = int((payload.get("comment") or {}).get("id", 0))
    if issue_data.get("pull_request") or not comment_id:
        return
    if parse_ack(str((payload.get("comment") or {}).get("body", ""))) is None:
        return
    number = int(issue_data["number"])
    with ops.lock_for(number):
        issue = ops.repo.get_issue(number)
        match = _POINTER.search(issue.body or "")
        if match is None or not _by_janus(ops, issue.user):
            return  # not a review Janus opened
        comment = issue.get_comment(comment_id)  # fresh: the payload is only a hint
        if comment.user is None or _by_janus(ops, comment.user):
            return
        text = parse_ack(comment.body)
        if text is None:
            return
        key = f"reply:{comment_id}"
        if _find(issue, key, ops.janus_login):
            return  # answered already (a replayed delivery)
        facts = _facts_of(ops, json.loads(match.group(1)))
        login = comment.user.login
        reply, outcome = _judge_ack(ops, issue, facts, login, text)
        issue.create_comment(f"{comments.marker(key)}\n@{login} {reply}")
        ops.counters.inc("break_glass_reviews_total", outcome=outcome)
        event(log, "break_glass.ack", issue=number, by=login, outcome=outcome,
              level=logging.INFO if outcome == "acknowledged" else logging.WARNING)


def _find(issue: Issue, key: str, author: str | None) -> bool:
    needle = comments.marker(key)
    return any(needle in (c.body or "") and c.user is not None and author is not None
               and c.user.login.lower() == author.lower() for c in issue.get_comments())


def _judge_ack(ops: GitOps, issue: Issue, facts: ReviewFacts | None, login: str,
               text: str) -> tuple[str, str]:
    if facts is None:
        return ("this review no longer points at a break-glass grant Janus merged; nothing "
                "was acknowledged.", "refused-unknown")
    if login.lower() == facts.requester.lower():
        return ("the requester can never acknowledge their own break-glass; one of "
                f"{facts.reviewers_mention()} must review it.", "refused-self")
    membership = GitHubMembership(ops.gh, facts.rule.reviewer_teams)
    if not facts.rule.lists_reviewer(login, membership.teams_of(login)):
        return (f"only a reviewer of policy `{facts.policy}` ({facts.reviewers_mention()}) "
                "may acknowledge this break-glass; nothing was acknowledged.",
                "refused-not-reviewer")
    if len(text) < MIN_ACK_TEXT:
        return (f"say what you reviewed: `/janus ack <comment>` with at least {MIN_ACK_TEXT} "
                "characters; nothing was acknowledged.", "refused-empty")
    if issue.state == "closed":
        return "this review is already closed.", "already-closed"
    late = dt.datetime.now(dt.UTC) > facts.due
    issue.add_to_labels(LABEL_ACKED)
    issue.edit(state="closed", state_reason="completed")
    said = f"acknowledged the break-glass of {facts.summary}: “{text}”."
    if late:
        said += " It was acknowledged after its due time and stays flagged overdue."
    mark(ops, facts.cr_name, f"acknowledged{' late' if late else ''} by {login} "
                             f"(review #{issue.number})")
    _record_fact(ops, facts, issue.number, acknowledged=ledger.Acknowledgement(
        by=login, at=ledger.fmt_time(dt.datetime.now(dt.UTC)),
        comment=ledger.clean_text(text, 500) or ""))
    return said, "acknowledged-late" if late else "acknowledged"


# ---- overdue ------------------------------------------------------------------------------------

def flag_overdue(ops: GitOps, now: dt.datetime | None = None,
                 seen: set[tuple[str, ...]] | None = None) -> list[int]:
    """Flag every open review past its due time (once) and record it in the ledger; returns
    the issue numbers flagged. A review flagged before (by an earlier process, whose ledger
    write may not have happened) is submitted to the ledger once per process (*seen*): the
    first recorded overdue time stands, so that commits nothing when it was recorded."""
    now = now or dt.datetime.now(dt.UTC)
    seen = set() if seen is None else seen
    flagged: list[int] = []
    for issue in ops.repo.get_issues(state="open", labels=[LABEL_REVIEW]):
        if issue.pull_request is not None or not _by_janus(ops, issue.user):
            continue
        labelled = any(lb.name == LABEL_OVERDUE for lb in issue.labels)
        if labelled and ("overdue", str(issue.number)) in seen:
            continue
        match = _POINTER.search(issue.body or "")
        if match is None:
            continue
        facts = _facts_of(ops, json.loads(match.group(1)))
        if facts is None or now <= facts.due:
            continue
        if labelled:
            if _record_fact(ops, facts, issue.number, overdue_at=ledger.fmt_time(now)):
                seen.add(("overdue", str(issue.number)))
            continue
        issue.add_to_labels(LABEL_OVERDUE)
        issue.create_comment(
            f"{comments.marker(f'overdue:{issue.number}')}\n⚠ **Overdue**: this break-glass "
            f"review was due {facts.due:%Y-%m-%d %H:%M} UTC and nobody acknowledged it. "
            f"{facts.reviewers_mention()}: review it now with `/janus ack <comment>`.")
        ops.counters.inc("break_glass_overdue_total")
        mark(ops, facts.cr_name, f"overdue: review #{issue.number}, due "
                                 f"{facts.due:%Y-%m-%dT%H:%M:%SZ}")
        if _record_fact(ops, facts, issue.number, overdue_at=ledger.fmt_time(now)):
            seen.add(("overdue", str(issue.number)))
        event(log, "break_glass.review_overdue", issue=issue.number, pull=facts.pull,
              request=facts.cr_name, requester=facts.requester, due=facts.due.isoformat(),
              level=logging.WARNING)
        flagged.append(issue.number)
    return flagged
