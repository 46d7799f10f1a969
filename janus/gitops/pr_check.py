"""Before merge: the ``janus/policy`` check run and the plan comment of an open request PR.

The same judge as at merge (:mod:`janus.gitops.verify`), but on the PR head against the
policies of the PR's base commit, and without the approval step (reviews come later; the check
says which approvals will be needed; under a policy with approval groups it also reports each
group's tally so far, :mod:`janus.gitops.approval_status`). A PR that changes no request file at
all (an admin's policy PR) is not a request PR: the check passes with a note and no plan comment
is written.

Check runs need GitHub App auth; with a plain token GitHub answers 403, and Janus falls back to a
commit status of the same name (pin the required check to the App in production).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from github import GithubException
from github.CheckRun import CheckRun
from github.PaginatedList import PaginatedList
from github.PullRequest import PullRequest
from github.Repository import Repository

from janus import names
from janus.gitops import comments, render, sources
from janus.gitops.approval_status import approval_tallies
from janus.gitops.ratelimit import classify
from janus.gitops.verify import (
    STEP_LIMITS,
    STEP_SAME_REPO,
    JudgedFile,
    StepFailed,
    classify_files,
    fork_problem,
    judge_file,
    load_base_policies,
    requester_problems,
    size_problem,
)
from janus.logs import event
from janus.model import PolicySet, Problem
from janus.policy import Membership
from janus.policy.codeowners import CodeOwners
from janus.policy.plan import plan_objects, role_lines

log = logging.getLogger("janus.gitops.pr_check")

CHECK_NAME = "janus/policy"
PLAN_KEY = "plan"
MAX_ANNOTATIONS = 50  # per request, GitHub's limit


@dataclass(frozen=True)
class CheckResult:
    conclusion: str  # "success" | "failure"
    title: str
    summary: str
    problems: list[Problem]
    # The judged request files (notifications name the deciding policy's approvers).
    judged: tuple[JudgedFile, ...] = ()
    # path -> the approval groups' tally on the head (grouped policies only; empty otherwise).
    tallies: dict[str, str] = field(default_factory=dict)


def evaluate_pull(
    repo: Repository,
    pull: PullRequest,
    membership_for: Callable[[PolicySet, CodeOwners | None], Membership],
    janus_login: str | None = None,
) -> tuple[CheckResult, str | None]:
    """The check result and the plan comment body (None: not a request PR)."""
    head, base = pull.head.sha, pull.base.sha
    changes = classify_files(pull)
    if not changes.changed and not changes.removed:
        return CheckResult("success", "Not a request PR",
                           "No file under requests/ changes; Janus has nothing to judge.",
                           []), None
    try:
        policy_set, codeowners = load_base_policies(repo, base)
    except StepFailed as failure:
        problems = [Problem("policies", None, None, failure.step, d) for d in failure.details]
        summary = f"{failure.summary}.\n\n" + "\n".join(f"- {d}" for d in failure.details)
        return CheckResult("failure", "Policies do not load", summary, problems), None
    membership = membership_for(policy_set, codeowners)
    judged = [judge_file(repo, p, head, policy_set, membership) for p in changes.changed]
    problems = [p for j in judged for p in j.problems]
    # Problems of the PR as a whole: in the plan and the summary, not line annotations.
    pull_problems: list[Problem] = []
    fork = fork_problem(pull) if changes.changed else None
    if fork is not None:
        pull_problems.append(Problem(f"PR #{pull.number}", None, None, STEP_SAME_REPO,
                                     f"{fork}; on merge nothing would be granted"))
    too_big = size_problem(pull) if changes.changed else None
    if too_big is not None:
        pull_problems.append(Problem(f"PR #{pull.number}", None, None, STEP_LIMITS, too_big))
    for p in requester_problems(pull, judged, janus_login):
        # A file's problem is annotated on its line; a commit's belongs to the PR as a whole.
        (problems if p.path in changes.changed else pull_problems).append(p)
    plans = {j.path: plan_objects(j.request, policy_set.config)
             for j in judged if j.allowed and j.request is not None}
    messages = [p.format() for p in pull_problems + problems]
    removed = [(path, names.access_request_name(*parts)) for path in changes.removed
               if (parts := sources.request_path_parts(path)) is not None]
    grants = {j.path: role_lines(j.request, policy_set.config)
              for j in judged if j.allowed and j.request is not None}
    tallies = approval_tallies(repo, pull, judged, codeowners, membership)
    plan = render.plan_comment(judged, messages, changes.outside, plans, head, removed, grants,
                               tallies)
    ok = not problems and not pull_problems and not changes.outside
    if ok:
        title = f"{len(judged)} request file(s) valid" if judged else "Revocation only"
    else:
        title = f"{len(pull_problems) + len(problems) + len(changes.outside)} problem(s)"
    summary = plan if len(plan) < 60000 else plan[:60000] + "\n…"
    outside_problems = [Problem(p, None, None, "files.outside-requests",
                                "a request PR may change only files under requests/")
                        for p in changes.outside]
    return CheckResult("success" if ok else "failure", title, summary,
                       problems + outside_problems, tuple(judged), tallies), plan


def check_annotations(problems: list[Problem]) -> list[dict[str, str | int]]:
    """The check run's line annotations (at most MAX_ANNOTATIONS, GitHub's limit per request).

    Not named ``annotations``: that name is the module's ``from __future__`` feature."""
    out: list[dict[str, str | int]] = []
    for p in problems[:MAX_ANNOTATIONS]:
        line = p.line or 1
        out.append({
            "path": p.path,
            "start_line": line,
            "end_line": line,
            "annotation_level": "failure",
            "title": p.rule,
            "message": p.message,
        })
    return out


def own_check_runs(repo: Repository, head_sha: str, app_id: int | None,
                   janus_login: str | None) -> list[CheckRun]:
    """Janus's own ``janus/policy`` runs on *head_sha*, newest first. Any App installed on the
    repository may create a run of that name; only the Janus App's count: asked by ``app_id``
    (PyGithub's ``get_check_runs`` has no such parameter) and checked again on each run. Without
    an app id, the App is recognised by its bot login (``<slug>[bot]``; slugs are unique)."""
    url = f"{repo.url}/commits/{head_sha}/check-runs"
    params: dict[str, Any] = {"check_name": CHECK_NAME}
    if app_id is not None:
        params["app_id"] = app_id
    runs = PaginatedList(CheckRun, repo.requester, url, params, list_item="check_runs")

    def ours(run: CheckRun) -> bool:
        if run.app is None:
            return False
        if app_id is not None:
            return run.app.id == app_id
        return janus_login is not None and f"{run.app.slug}[bot]".lower() == janus_login.lower()

    return [run for run in runs if ours(run)]


def publish_check(repo: Repository, head_sha: str, result: CheckResult,
                  app_id: int | None = None, janus_login: str | None = None) -> str:
    """Create or update the Janus App's check run on *head_sha*; returns "check-run" or
    "status"."""
    output: dict[str, str | list[dict[str, str | int]]] = {
        "title": result.title, "summary": result.summary,
        "annotations": check_annotations(result.problems),
    }
    try:
        existing = own_check_runs(repo, head_sha, app_id, janus_login)
        if existing:
            existing[0].edit(status="completed", conclusion=result.conclusion, output=output)
        else:
            repo.create_check_run(CHECK_NAME, head_sha, status="completed",
                                  conclusion=result.conclusion, output=output)
        return "check-run"
    except GithubException as exc:
        # A 403 without the checks permission falls back to a commit status; a 403 that is a
        # rate limit is no such thing (the status would be refused too, and stay behind).
        if exc.status != 403 or classify(exc) is not None:
            raise
    state = "success" if result.conclusion == "success" else "failure"
    repo.get_commit(head_sha).create_status(state, description=result.title[:140],
                                            context=CHECK_NAME)
    return "status"


def run_pr_check(
    repo: Repository,
    pull: PullRequest,
    membership_for: Callable[[PolicySet, CodeOwners | None], Membership],
    janus_login: str | None,
    *,
    app_id: int | None = None,
) -> CheckResult:
    result, plan = evaluate_pull(repo, pull, membership_for, janus_login)
    how = publish_check(repo, pull.head.sha, result, app_id, janus_login)
    if plan is not None:
        comments.upsert(pull, PLAN_KEY, plan, author=janus_login)
    event(log, "pr.checked", pull=pull.number, head=pull.head.sha,
          conclusion=result.conclusion, problems=len(result.problems), via=how)
    return result


def refresh_tallies(
    repo: Repository,
    pull: PullRequest,
    membership_for: Callable[[PolicySet, CodeOwners | None], Membership],
    janus_login: str | None,
    *,
    app_id: int | None = None,
) -> bool:
    """A review was submitted or dismissed: publish the check run and the plan comment again
    when they show approval-group tallies (which the review may have changed); True if done.

    Nothing is published for a PR whose files show no tally (old-style policies: the check
    does not depend on reviews), and nobody is notified again (that is the PR check's job
    when the request changes)."""
    if pull.state != "open":
        return False
    result, plan = evaluate_pull(repo, pull, membership_for, janus_login)
    if not result.tallies or plan is None:
        return False
    how = publish_check(repo, pull.head.sha, result, app_id, janus_login)
    comments.upsert(pull, PLAN_KEY, plan, author=janus_login)
    event(log, "pr.tally_refreshed", pull=pull.number, head=pull.head.sha, via=how,
          tallies=len(result.tallies))
    return True
