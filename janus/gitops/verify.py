"""docs/design.md §5: approval verified again at merge, one function per step.

Nothing from the webhook payload is trusted: the PR, its files, its reviews, its commits and the
policies and CODEOWNERS of the base commit are all read from the API here, through a
:class:`janus.gitops.merge_facts.MergeSource` (GraphQL at merge, REST before merge and as the
benchmarks' baseline); the steps and their checks are the same whichever source answers.
Each step either passes or raises :class:`StepFailed` naming itself; those names appear
verbatim in the PR comment, the log line and the ``verification_failures_total{step=...}``
counter:

1. ``merged-into-default-branch`` — merged, into the configured repository's default branch.
1a. ``same-repository`` — the PR's head branch lives in the access repository itself, not in a
   fork: a fork is governed by none of the access repository's settings (no ruleset reserves
   its branches, its owner rewrites it at will), so a fork PR never grants.
1b. ``within-list-limits`` — the PR has at most ``MAX_PR_COMMITS`` commits and
   ``MAX_PR_FILES`` changed files, and GitHub listed every one of them; no commit of it
   changes more than ``MAX_PR_FILES`` files (checked in step 2, which reads them). GitHub
   cuts a PR's commit list at 250 and its file list, and each commit's, at 3,000 without
   saying so in the list; the checks below read those lists, so a longer PR could hide a
   commit, or a file of a commit, from them. A real request PR is a handful of commits and
   files; anything bigger is refused, never judged in part.
2. ``only-request-files`` — every changed file is under ``requests/``, in the net diff AND in
   every commit of the PR (a file changed and changed back inside the PR is still refused: a
   rebase merge replays each commit, so the base read in step 3 can be one of them).
3. ``policies-at-base-commit`` — policies and CODEOWNERS read from the base commit (the merge
   commit's first parent) load cleanly. The PR's own versions are never used.
4. ``request-valid`` — each added or modified request file, read at the merge commit, is valid
   and allowed by those policies.
5. ``requester-is-author`` — the requester is the PR author, or Janus opened the PR and every
   commit on it is Janus's: signed by GitHub (``verification.verified``) with the App as
   committer, which only the commits the App makes through the API are. The same rule
   (:func:`requester_problems`) decides the PR check.
6. ``approvals`` — per file, enough latest APPROVED reviews on the final head commit by writers
   who are neither author nor requester, approvers of the deciding policy and code owners of
   the file.

6'. ``break-glass`` — instead of step 6 when a request file asks for ``breakGlass: true``:
   every request file of the PR does, each is allowed as break-glass by the base commit's
   policies (checked in step 4: requester listed by ``breakGlass``, within its maxDuration),
   the Janus App merged the PR (after judging it, :mod:`janus.gitops.break_glass`), and no file
   existed before the merge (break-glass never extends or changes a request: that needs
   approval). :func:`check_break_glass`.

A deleted request file is a revocation: it needs step 1 only (taking access away is always
allowed), and it takes effect even when a grant in the same PR is refused.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from github.PullRequest import PullRequest
from github.Repository import Repository

from janus import errors
from janus.gitops import sources
from janus.gitops.graphql_source import GraphQLSource
from janus.gitops.merge_facts import (
    ChangedFile,
    MergeSource,
    PullFacts,
    RestSource,
    pull_facts_of,
    rest_commit_trust,
    rest_files,
    rest_permissions,
    rest_reviews,
)
from janus.model import ConfigError, PolicySet, Problem, Request, load_request
from janus.policy import Decision, Membership, evaluate
from janus.policy.approval import APPROVED, Review, latest_reviews, verify_approvals
from janus.policy.codeowners import CodeOwners

log = logging.getLogger("janus.gitops.verify")

STEP_MERGED = "merged-into-default-branch"
STEP_SAME_REPO = "same-repository"
STEP_LIMITS = "within-list-limits"
STEP_FILES = "only-request-files"
STEP_POLICIES = "policies-at-base-commit"
STEP_VALID = "request-valid"
STEP_REQUESTER = "requester-is-author"
STEP_APPROVALS = "approvals"
# Replaces STEP_APPROVALS for a PR of break-glass requests (janus.gitops.break_glass).
STEP_BREAK_GLASS = "break-glass"
# Where merge verification reads GitHub when no source is given: "graphql" (three queries,
# janus.gitops.graphql_source) or "rest" (one request per question, janus.gitops.merge_facts:
# the REST-only baseline bench/merge.py measures against). Process-wide; Janus keeps the default.
MERGE_API = "graphql"
STEPS = (STEP_MERGED, STEP_SAME_REPO, STEP_LIMITS, STEP_FILES, STEP_POLICIES, STEP_VALID,
         STEP_REQUESTER, STEP_APPROVALS, STEP_BREAK_GLASS)

WRITE_PERMISSIONS = frozenset({"admin", "maintain", "write"})
# A request PR's size limits (documented in docs/security.md): far below GitHub's list caps
# (250 commits, 3,000 files of a PR or of a commit), so every list Janus reads is complete.
MAX_PR_COMMITS = 100
MAX_PR_FILES = 300
# File statuses GitHub reports for a PR; renames are a removal plus an addition.
_CHANGED = frozenset({"added", "modified", "changed", "copied", "renamed"})


class StepFailed(errors.Refused):
    """A verification step refused the merge: nothing is granted from it."""

    def __init__(self, step: str, summary: str, details: list[str] | None = None) -> None:
        super().__init__(f"{step}: {summary}")
        self.step = step
        self.summary = summary
        self.details = details or []


@dataclass(frozen=True)
class VerifiedFile:
    """A verified request file: create the CR, or extend the existing one."""

    request: Request
    path: str
    blob_sha: str
    approvers: tuple[str, ...]
    policy: str


@dataclass(frozen=True)
class Revocation:
    path: str
    cluster: str
    namespace: str
    name: str


@dataclass
class MergeVerdict:
    """What a merged PR amounts to. ``failure`` set means: no grant at all from this PR."""

    repo: str
    number: int
    merge_commit: str
    merged_by: str
    merged_at: dt.datetime | None
    author: str
    grants: list[VerifiedFile] = field(default_factory=list)
    revocations: list[Revocation] = field(default_factory=list)
    failure: StepFailed | None = None


@dataclass(frozen=True)
class JudgedFile:
    """One request file read at a commit and evaluated against the policies."""

    path: str
    blob_sha: str
    request: Request | None
    decision: Decision | None
    problems: list[Problem]

    @property
    def allowed(self) -> bool:
        return self.request is not None and self.decision is not None and self.decision.allowed


@dataclass(frozen=True)
class Context:
    """Everything read once from the API and shared by the steps. *source* answers the
    steps' questions; without one, :data:`MERGE_API` says which API does."""

    repo: Repository
    pull: PullRequest
    default_branch: str
    app_login: str | None
    membership_for: Callable[[PolicySet, CodeOwners | None], Membership]
    source: MergeSource = None  # type: ignore[assignment]  # set in __post_init__

    def __post_init__(self) -> None:
        if self.source is None:
            source: MergeSource = (
                RestSource(self.repo, self.pull, self.membership_for) if MERGE_API == "rest"
                else GraphQLSource(self.repo, self.pull, self.membership_for))
            object.__setattr__(self, "source", source)


# ---- step 1 -------------------------------------------------------------------------------------

def check_merged_into_default_branch(ctx: Context) -> None:
    pull = ctx.source.pull()
    if not pull.merged or not pull.merge_commit:
        raise StepFailed(STEP_MERGED, f"PR #{pull.number} is not merged")
    base_repo = pull.base_repo
    if base_repo.lower() != ctx.repo.full_name.lower():
        raise StepFailed(STEP_MERGED, f"PR #{pull.number} belongs to {base_repo}, "
                                      f"not {ctx.repo.full_name}")
    if pull.base_ref != ctx.default_branch:
        raise StepFailed(STEP_MERGED, f"PR #{pull.number} was merged into "
                                      f"{pull.base_ref!r}, not the default branch "
                                      f"{ctx.default_branch!r}; nothing is granted")


# ---- step 1a ------------------------------------------------------------------------------------

def fork_problem(pull: PullRequest | PullFacts) -> str | None:
    """Why *pull* is not a same-repository PR (None when it is). Shared with the PR check."""
    facts = pull if isinstance(pull, PullFacts) else pull_facts_of(pull)
    if facts.head_repo_id is None:
        return (f"PR #{facts.number} comes from a repository that no longer exists (a deleted "
                "fork); requests come only from branches of the access repository")
    if facts.head_repo_id != facts.base_repo_id:
        return (f"PR #{facts.number} comes from the fork {facts.head_repo}; requests come "
                "only from branches of the access repository itself, never from a fork")
    return None


def check_same_repository(ctx: Context) -> None:
    problem = fork_problem(ctx.source.pull())
    if problem is not None:
        raise StepFailed(STEP_SAME_REPO, problem)


# ---- step 1b ------------------------------------------------------------------------------------

def size_problem(pull: PullRequest | PullFacts) -> str | None:
    """Why *pull* is too big to be judged from GitHub's lists (None when it is not). Uses the
    PR's own counts, which GitHub does not cap. Shared with the PR check."""
    if pull.commits > MAX_PR_COMMITS or pull.changed_files > MAX_PR_FILES:
        return (f"PR #{pull.number} has {pull.commits} commits and {pull.changed_files} "
                f"changed files; a request PR may have at most {MAX_PR_COMMITS} commits and "
                f"{MAX_PR_FILES} files (GitHub lists only part of a longer PR, and Janus "
                "judges nothing in part): open the request again from a fresh branch")
    return None


def check_within_limits(pull: PullRequest | PullFacts) -> None:
    problem = size_problem(pull)
    if problem is not None:
        raise StepFailed(STEP_LIMITS, problem)


# ---- step 2 -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class FileChanges:
    changed: list[str]          # added or modified request files (judged as new requests)
    removed: list[str]          # deleted request files (revocations)
    outside: list[str]          # files outside requests/ (refused)


def classify_files(pull: PullRequest) -> FileChanges:
    return classify_changes(rest_files(pull))


def classify_changes(files: list[ChangedFile]) -> FileChanges:
    changed: list[str] = []
    removed: list[str] = []
    outside: list[str] = []
    for f in files:
        paths = [f.filename]
        if f.status == "renamed" and f.previous_filename:
            paths.append(f.previous_filename)
        for path in paths:
            if not path.startswith(f"{sources.REQUESTS_DIR}/"):
                outside.append(path)
        if f.status == "removed":
            if sources.is_request_path(f.filename):
                removed.append(f.filename)
        elif f.status in _CHANGED:
            if sources.is_request_path(f.filename):
                changed.append(f.filename)
            if f.status == "renamed" and f.previous_filename and \
                    sources.is_request_path(f.previous_filename):
                removed.append(f.previous_filename)
    return FileChanges(sorted(set(changed)), sorted(set(removed)), sorted(set(outside)))


def files_outside_requests_in_commits(source: MergeSource) -> list[str]:
    """Files outside requests/ touched by any single commit of the PR, even if a later commit
    of the PR undoes the change (so the net diff is clean).

    This is what makes step 3 sound for rebase merges: GitHub then replays each PR commit on the
    base branch and reports the last one as ``merge_commit_sha``, whose first parent is the PR's
    previous commit. Without this check, a PR that rewrote CODEOWNERS or a policy in commit 1 and
    restored it in commit 2 would be judged by its own commit 1.
    """
    outside: set[str] = set()
    listed = 0
    for commit in source.commit_files(MAX_PR_FILES):
        listed += 1
        if commit.over_limit:
            # GitHub lists at most 3,000 of a commit's files and gives no count of them,
            # so a commit past MAX_PR_FILES (far below that cap) is never judged: what
            # it changes past the cap would go unseen.
            raise StepFailed(STEP_LIMITS, f"commit {commit.sha[:12]} of the PR changes "
                                          f"more than {MAX_PR_FILES} files; a request PR "
                                          "cannot be judged from part of a commit")
        outside.update(commit.outside)
    expected = source.pull().commits
    if listed != expected:
        # Never judge from a partial list, whatever GitHub's cap happens to be.
        raise StepFailed(STEP_LIMITS, f"GitHub listed {listed} of the PR's {expected} "
                                      "commits; a PR cannot be judged from part of its history")
    return sorted(outside)


def check_only_request_files(changes: FileChanges, source: MergeSource | None = None) -> None:
    if changes.outside:
        raise StepFailed(
            STEP_FILES,
            "the PR changes files outside requests/; a request PR may change nothing else "
            "(policies and CODEOWNERS change in their own PRs, reviewed by admins)",
            [f"`{p}`" for p in changes.outside],
        )
    if source is not None and changes.changed:
        in_history = files_outside_requests_in_commits(source)
        if in_history:
            raise StepFailed(
                STEP_FILES,
                "a commit of the PR changes files outside requests/ (even if a later commit "
                "changes them back); open the request again from a clean branch",
                [f"`{p}`" for p in in_history],
            )


# ---- step 3 -------------------------------------------------------------------------------------

def base_commit_of_merge(source: MergeSource, merge_commit: str) -> str:
    """The default branch just before the merge: the merge commit's first parent.

    For a merge commit that is the base side; for a squash merge the single parent is the base
    tip. (For a rebase merge of several commits it is the PR's previous commit, whose policies
    equal the base's, since step 2 refuses any PR that changes them.)
    """
    parent = source.base_commit(merge_commit)
    if not parent:
        raise StepFailed(STEP_POLICIES, f"merge commit {merge_commit[:12]} has no parent")
    return parent


def load_base_policies(repo: Repository | MergeSource,
                       ref: str) -> tuple[PolicySet, CodeOwners | None]:
    try:
        if isinstance(repo, Repository):
            return sources.load_policies_and_codeowners(repo, ref)
        return repo.policies(ref)
    except ConfigError as exc:
        raise StepFailed(
            STEP_POLICIES,
            f"the policies at base commit {ref[:12]} do not load; nothing can be judged",
            [p.format() for p in exc.problems],
        ) from None


# ---- step 4 -------------------------------------------------------------------------------------

def judge_file(
    repo: Repository | MergeSource, path: str, ref: str, policy_set: PolicySet,
    membership: Membership,
) -> JudgedFile:
    """Read *path* at *ref* and evaluate it (shared with the pre-merge check run)."""
    try:
        found = (sources.read_file(repo, path, ref) if isinstance(repo, Repository)
                 else repo.read_file(path, ref))
    except sources.UnreadableFile as exc:
        problem = Problem(path, None, None, "file.too-large", str(exc))
        return JudgedFile(path, exc.blob_sha, None, None, [problem])
    if found is None:
        problem = Problem(path, None, None, "file.missing", f"{path} is not present at {ref[:12]}")
        return JudgedFile(path, "", None, None, [problem])
    request, problems = load_request(path, found.data)
    if request is None:
        return JudgedFile(path, found.blob_sha, None, None, problems)
    decision = evaluate(request, policy_set, membership)
    return JudgedFile(path, found.blob_sha, request, decision, problems + decision.problems)


def check_requests_valid(judged: list[JudgedFile]) -> None:
    bad = [j for j in judged if not j.allowed]
    if bad:
        raise StepFailed(
            STEP_VALID,
            "request files are invalid or not allowed by the policies of the base commit",
            [p.format() for j in bad for p in j.problems] or [f"`{j.path}`" for j in bad],
        )


# ---- step 5 -------------------------------------------------------------------------------------

def untrusted_commits(pull: PullRequest | MergeSource, app_login: str) -> list[str]:
    """The commits of a PR the Janus App opened that are not provably the App's ([] if none).

    A commit's author and committer name and e-mail prove nothing: anyone who can push writes
    what they like there, and GitHub maps the e-mail to an account. What a pusher cannot make
    is GitHub's own signature: commits an App creates through the API (``open_request_pr``
    writes files with the contents API) are signed by GitHub, ``verification.verified`` is
    true and the committer is the App's bot account. Every commit must be such a commit.
    """
    strangers = []
    trust = rest_commit_trust(pull) if isinstance(pull, PullRequest) else pull.commit_trust()
    for c in trust:
        committer, verified = c.committer, c.verified
        if verified and committer is not None and committer.lower() == app_login.lower():
            continue
        strangers.append(f"commit {c.sha[:12]}: committer {committer or 'unknown'}, "
                         + ("signed by GitHub" if verified else "not signed by GitHub"))
    return strangers


def _author(pull: PullRequest | MergeSource) -> str | None:
    if isinstance(pull, PullRequest):
        return pull.user.login if pull.user is not None else None
    return pull.pull().author


def opened_by_janus(pull: PullRequest | MergeSource, app_login: str | None) -> bool:
    author = _author(pull)
    return app_login is not None and author is not None and author.lower() == app_login.lower()


def requester_problems(pull: PullRequest | MergeSource, judged: list[JudgedFile],
                       app_login: str | None) -> list[Problem]:
    """The one rule for "who may ask", shared by the PR check and merge verification: the
    requester of every file is the PR author, or the Janus App opened the PR (for the
    requester, whose identity the App wrote into the file) and every commit is the App's own
    (:func:`untrusted_commits`). Empty when the rule holds."""
    if opened_by_janus(pull, app_login):
        assert app_login is not None
        number = pull.number if isinstance(pull, PullRequest) else pull.pull().number
        return [Problem(f"PR #{number}", None, None, "requester.author",
                        f"{stranger}; in a PR Janus opened, only Janus's own commits (signed "
                        "by GitHub, committed by the App) may carry the requester's identity")
                for stranger in untrusted_commits(pull, app_login)]
    author = _author(pull) or "(unknown)"
    return [Problem(j.path, j.request.line_of.get("requester"), None, "requester.author",
                    f"requester {j.request.requester} is not the PR author {author}; open the "
                    "PR as the requester")
            for j in judged
            if j.request is not None and j.request.requester.lower() != author.lower()]


def check_requester_is_author(ctx: Context, judged: list[JudgedFile]) -> None:
    problems = requester_problems(ctx.source, judged, ctx.app_login)
    if not problems:
        return
    if opened_by_janus(ctx.source, ctx.app_login):
        raise StepFailed(
            STEP_REQUESTER,
            f"the PR was opened by Janus ({ctx.app_login}) but has commits that are not "
            "Janus's own; only commits GitHub signed as the App's are trusted to carry the "
            "requester's identity",
            [p.message.split(";", 1)[0] for p in problems],
        )
    author = ctx.source.pull().author or "(unknown)"
    raise StepFailed(
        STEP_REQUESTER,
        f"the requester must be the PR author ({author}); open the PR as the requester",
        [f"`{p.path}`: {p.message.split(' is not the PR author', 1)[0]}" for p in problems],
    )


# ---- step 6 -------------------------------------------------------------------------------------

def fetch_reviews(pull: PullRequest) -> list[Review]:
    return rest_reviews(pull)


def writers_only(
    repo: Repository | MergeSource, reviews: list[Review], author: str
) -> tuple[list[Review], list[str], list[str]]:
    """Split reviews by the reviewer's repository permission, as GitHub does.

    Returns (reviews of writers, reasons for ignored non-writer approvals, writers whose latest
    review requests changes — those block the merge on GitHub and block the grant here).
    """
    latest = [r for r in latest_reviews(reviews) if r.user.lower() != author.lower()]
    logins = {r.user.lower() for r in latest}
    permission = (rest_permissions(repo, logins) if isinstance(repo, Repository)
                  else repo.permissions(logins))
    kept = [r for r in reviews if permission.get(r.user.lower(), "write") in WRITE_PERMISSIONS]
    ignored = [f"{r.user}: has {permission[r.user.lower()]!r} access to the repository, "
               "not write, so the approval does not count"
               for r in latest
               if r.state == APPROVED and permission[r.user.lower()] not in WRITE_PERMISSIONS]
    blocking = [r.user for r in latest
                if r.state == "CHANGES_REQUESTED"
                and permission[r.user.lower()] in WRITE_PERMISSIONS]
    return kept, ignored, blocking


def check_approvals(
    ctx: Context,
    judged: list[JudgedFile],
    codeowners: CodeOwners | None,
    membership: Membership,
) -> dict[str, tuple[str, ...]]:
    """Approvers per file; raises when any file lacks enough valid approvals."""
    facts = ctx.source.pull()
    head = facts.head_sha
    author = facts.author or ""
    reviews, writer_reasons, blocking = writers_only(ctx.source, ctx.source.reviews(), author)
    approvers: dict[str, tuple[str, ...]] = {}
    details: list[str] = [f"{login}: requested changes (latest review); resolve and re-approve"
                          for login in blocking]
    for j in judged:
        # A real check, not an assert (python -O strips those): only allowed files, each with
        # the approval its deciding policy demands, are ever counted.
        if j.request is None or j.decision is None or not j.decision.allowed \
                or j.decision.approval is None:
            raise StepFailed(STEP_VALID, "a request file is not allowed by the policies",
                             [f"`{j.path}`"])
        owners = codeowners.owners_for(j.path) if codeowners is not None else None
        result = verify_approvals(reviews, head, author, j.request.requester,
                                  j.decision.approval, owners, membership)
        if result.ok:
            approvers[j.path] = result.approvers
        else:
            details += [f"`{j.path}`: {reason}" for reason in writer_reasons + result.reasons]
    if details:
        raise StepFailed(STEP_APPROVALS, "not enough valid approvals", details)
    return approvers


# ---- step 6': break-glass ----------------------------------------------------------------------

def check_break_glass(
    ctx: Context, judged: list[JudgedFile], base: str
) -> dict[str, tuple[str, ...]]:
    """The ``break-glass`` step, instead of :func:`check_approvals` for a PR with a
    ``breakGlass: true`` file. Returns no approvers per file: nobody approved."""
    glass = [j for j in judged if j.request is not None and j.request.break_glass]
    if len(glass) != len(judged):
        raise StepFailed(STEP_BREAK_GLASS, "a PR with a break-glass request may hold only "
                         "break-glass requests", [f"`{j.path}`: not break-glass" for j in judged
                                                  if j not in glass])
    merged_by = ctx.source.pull().merged_by or ""
    if ctx.app_login is None or merged_by.lower() != ctx.app_login.lower():
        raise StepFailed(STEP_BREAK_GLASS, "a break-glass request is granted only when Janus "
                         "merged it after judging it; this PR was merged by "
                         f"{merged_by or 'unknown'}; remove breakGlass: true and ask for "
                         "approval", [])
    details = []
    for j in judged:
        if j.decision is None or j.decision.break_glass is None:
            details.append(f"`{j.path}`: not allowed as break-glass by the policies")
        elif ctx.source.read_file(j.path, base) is not None:
            details.append(f"`{j.path}`: the file existed before this merge; break-glass never "
                           "extends or changes a request (that needs normal approval: remove "
                           "breakGlass: true)")
    if details:
        raise StepFailed(STEP_BREAK_GLASS, "not a new, allowed break-glass request", details)
    return {j.path: () for j in judged}


# ---- the pipeline -------------------------------------------------------------------------------

def verify_merge(ctx: Context) -> MergeVerdict:
    pull = ctx.source.pull()
    verdict = MergeVerdict(
        repo=ctx.repo.full_name,
        number=pull.number,
        merge_commit=pull.merge_commit or "",
        merged_by=pull.merged_by or "",
        merged_at=pull.merged_at,
        author=pull.author or "",
    )
    try:
        check_merged_into_default_branch(ctx)
    except StepFailed as failure:
        verdict.failure = failure
        return verdict
    changes = classify_changes(ctx.source.files())
    for path in changes.removed:
        parts = sources.request_path_parts(path)
        if parts is not None:
            verdict.revocations.append(Revocation(path, *parts))
    try:
        verdict.grants = _verify_grants(ctx, changes)
    except StepFailed as failure:
        verdict.failure = failure
    return verdict


def _verify_grants(ctx: Context, changes: FileChanges) -> list[VerifiedFile]:
    if changes.changed:
        check_same_repository(ctx)
        check_within_limits(ctx.source.pull())
    check_only_request_files(changes, ctx.source)
    if not changes.changed:
        return []
    merge_commit = ctx.source.pull().merge_commit
    if not merge_commit:
        raise StepFailed(STEP_MERGED, "the pull request has no merge commit", [])
    base = base_commit_of_merge(ctx.source, merge_commit)
    policy_set, codeowners = load_base_policies(ctx.source, base)
    membership = ctx.source.membership(policy_set, codeowners)
    judged = [judge_file(ctx.source, path, merge_commit, policy_set, membership)
              for path in changes.changed]
    check_requests_valid(judged)
    check_requester_is_author(ctx, judged)
    if any(j.request is not None and j.request.break_glass for j in judged):
        approvers = check_break_glass(ctx, judged, base)
    else:
        approvers = check_approvals(ctx, judged, codeowners, membership)
    verified = []
    for j in judged:
        # check_requests_valid let only allowed files through; checked again, not asserted.
        if j.request is None or j.decision is None or not j.decision.allowed:
            raise StepFailed(STEP_VALID, "a request file is not allowed by the policies",
                             [f"`{j.path}`"])
        verified.append(VerifiedFile(j.request, j.path, j.blob_sha, approvers[j.path],
                                     j.decision.policy or ""))
    return verified
