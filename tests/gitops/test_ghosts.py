"""Nulls GitHub really sends do not crash Janus (simulator, real GitOps, real API server):

* a deleted account's comment has ``user: null`` — the plan comment is still found and edited,
  and a ``/janus revoke`` whose author was deleted before Janus re-read it is ignored;
* a commit whose e-mail maps to no account has ``author: {}`` / ``committer: {}`` (PyGithub
  cannot even read ``.login`` of such a user) — a PR Janus opened with such a commit is refused
  at ``requester-is-author``, never a crash of the check or the merge.
"""

from __future__ import annotations

import uuid

import pytest

from janus.gitops.crs import AccessRequests
from janus.gitops.request_pr import open_request_pr as janus_opens
from tests.gitops import harness
from tests.gitops.harness import (
    cr_name,
    granted_request,
    open_request_pr,
    request_name,
    request_path,
)

pytestmark = pytest.mark.k8s_real


def _ghost(bed) -> str:
    login = f"ghost-{uuid.uuid4().hex[:6]}"
    bed.sim.add_user(login)
    bed.sim.set_collaborator(bed.repo, login, "write")
    return login


def test_comment_of_a_deleted_account_does_not_break_the_plan_comment(bed, gitops) -> None:
    """Someone posts a comment carrying Janus's hidden plan marker (the author check keeps
    Janus from editing it) and deletes the account: the comment's user is null, and reading
    its login crashed every check of the PR, so the required check never reported."""
    name = request_name()
    number = open_request_pr(bed.sim, bed.repo, name)
    ghost = _ghost(bed)
    bed.sim.comment(bed.repo, number, ghost, "<!-- janus:plan -->\nAll good, merge it.")
    bed.sim.delete_user(ghost)
    gitops.check_pull(number)  # looks for its own plan comment among all comments
    head = bed.sim.pull(bed.repo, number)["head"]["sha"]
    runs = [r for r in bed.sim.world.repo(bed.repo).check_runs.values()
            if r.head_sha == head and r.app_id == bed.app_id]
    assert [r.conclusion for r in runs] == ["success"]
    plans = [b for b in harness.comments_of(bed.sim, bed.repo, number)
             if b.startswith("<!-- janus:plan -->\n### Janus plan")]
    assert len(plans) == 1, plans


def test_revoke_command_whose_author_was_deleted_is_ignored(bed, gitops, kube) -> None:
    name, number = granted_request(bed, gitops)
    ghost = _ghost(bed)
    comment_id = bed.sim.comment(bed.repo, number, ghost, "/janus revoke")
    bed.sim.delete_user(ghost)  # between the delivery and Janus re-reading the comment
    gitops.handle_comment({"action": "created",
                           "issue": {"number": number, "pull_request": {"url": "x"}},
                           "comment": {"id": comment_id, "body": "/janus revoke"},
                           "repository": {"full_name": bed.repo}})
    assert "revocation" not in harness.raw_cr(kube, cr_name(name))["spec"]


def test_janus_pr_with_a_commit_of_no_account_is_refused_not_crashed(bed, gitops,
                                                                      kube) -> None:
    name = request_name()
    files = {request_path(name): harness.request_yaml(name)}
    number = janus_opens(gitops.repo, "alice", files, f"Access request {name}", "by Janus").number
    branch = bed.sim.pull(bed.repo, number)["head"]["ref"]
    ghost = _ghost(bed)
    bed.sim.push(bed.repo, branch, {request_path(name): harness.request_yaml(name,
                                                                             duration="4h")},
                 author=ghost, message="longer")
    bed.sim.delete_user(ghost)  # the commit's e-mail now maps to no account: author {}
    gitops.check_pull(number)
    plans = [b for b in harness.comments_of(bed.sim, bed.repo, number) if "janus:plan" in b]
    assert plans and "committer unknown" in plans[0], plans
    bed.sim.review(bed.repo, number, "bob", "APPROVE")
    bed.sim.merge(bed.repo, number, actor="root")
    verdict = gitops.process_merge(number)
    assert verdict is not None and verdict.failure is not None
    assert verdict.failure.step == "requester-is-author", verdict.failure
    assert AccessRequests(kube).get(cr_name(name)) is None
