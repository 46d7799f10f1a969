"""Reviews, review requests, merge variants and pull request life cycle, through PyGithub."""

from __future__ import annotations

import pytest
from github import Auth, Github, GithubException, GithubIntegration

from tests.unit.model.helpers import REQUEST_PATH, REQUEST_TEXT

from .conftest import Scene
from .test_flow import open_request


def test_review_states_requests_and_dismissal(scene: Scene) -> None:
    repo, pr = open_request(scene)
    pr.create_review_request(reviewers=["bob"])
    users, teams = pr.get_review_requests()
    assert [u.login for u in users] == ["bob"] and [t.slug for t in teams] == ["payments-leads"]
    with pytest.raises(GithubException) as author:
        pr.create_review_request(reviewers=["alice"])
    assert author.value.status == 422

    carol = scene.repo_as("carol").get_pull(pr.number)
    carol.create_review(event="REQUEST_CHANGES", body="ticket?")
    carol.create_review(event="COMMENT", body="still looking")
    bob = scene.repo_as("bob").get_pull(pr.number)
    approval = bob.create_review(event="APPROVE")
    assert [u.login for u in repo.get_pull(pr.number).get_review_requests()[0]] == []
    states = [(r.user.login, r.state) for r in pr.get_reviews()]
    assert states == [("carol", "CHANGES_REQUESTED"), ("carol", "COMMENTED"),
                      ("bob", "APPROVED")]

    scene.repo_as("root").get_pull(pr.number).get_review(approval.id).dismiss("stale")
    assert pr.get_review(approval.id).state == "DISMISSED"
    hooks = [r.json for r in scene.receiver.received if r.event == "pull_request_review"]
    assert [(h["action"], h["review"]["state"]) for h in hooks] == [
        ("submitted", "changes_requested"), ("submitted", "commented"),
        ("submitted", "approved"), ("dismissed", "dismissed")]
    with pytest.raises(GithubException) as again:
        scene.repo_as("root").get_pull(pr.number).get_review(approval.id).dismiss("x")
    assert again.value.status == 422


def test_squash_conflict_and_stale_sha(scene: Scene) -> None:
    repo, pr = open_request(scene)
    # Someone changes the same file on main: the PR no longer merges cleanly.
    repo.create_file(REQUEST_PATH, "conflicting", "other\n", branch="main")
    assert scene.sim.wait_for_test_merges()  # GitHub's background mergeability job
    pr = repo.get_pull(pr.number)
    assert pr.mergeable is False and pr.mergeable_state == "dirty"
    with pytest.raises(GithubException) as conflict:
        scene.repo_as("root").get_pull(pr.number).merge()
    assert conflict.value.status == 405

    scene.sim.push(scene.repo, "req-2", {"requests/prod/payments/b.yaml": REQUEST_TEXT},
                   author="alice", message="b")
    pr2 = repo.create_pull(base="main", head="req-2", title="b")
    with pytest.raises(GithubException) as stale:
        pr2.merge(sha="0" * 40)
    assert stale.value.status == 409
    result = pr2.merge(merge_method="squash")
    squash = repo.get_commit(result.sha)
    assert len(squash.parents) == 1 and squash.commit.message.startswith("b (#2)")
    assert repo.get_pull(pr2.number).merge_commit_sha == result.sha


def test_close_reopen_edit_and_draft(scene: Scene) -> None:
    repo, pr = open_request(scene)
    pr.edit(title="Access: payments (INC-1234)")
    pr.edit(state="closed")
    pr.edit(state="open")
    actions = [r.json["action"] for r in scene.receiver.received if r.event == "pull_request"]
    assert actions == ["opened", "review_requested", "edited", "closed", "reopened"]
    requested = [r.json for r in scene.receiver.received if r.event == "pull_request"][1]
    assert requested["requested_team"]["slug"] == "payments-leads"
    edited = [r.json for r in scene.receiver.received if r.event == "pull_request"][2]
    assert edited["changes"] == {"title": {"from": "Access: payments"}}
    scene.sim.push(scene.repo, "wip", {"requests/prod/payments/c.yaml": REQUEST_TEXT},
                   author="alice", message="c")
    draft = repo.create_pull(base="main", head="wip", title="wip", draft=True)
    assert draft.draft and draft.get_review_requests()[1].totalCount == 0
    with pytest.raises(GithubException) as draft_merge:
        scene.repo_as("root").get_pull(draft.number).merge()
    assert draft_merge.value.status == 405


def test_app_opens_the_pull_request_as_its_bot(scene: Scene) -> None:
    auth = Auth.AppAuth(scene.app_id, scene.private_key)
    integration = GithubIntegration(auth=auth, base_url=scene.sim.base_url)
    token = integration.get_access_token(scene.installation_id)
    assert token.token.startswith("ghs_") and token.expires_at is not None
    bot = Github(auth=Auth.Token(token.token), base_url=scene.sim.base_url, retry=None,
                 seconds_between_requests=None, seconds_between_writes=None)
    assert bot.get_repo(scene.repo).get_collaborator_permission("janus-app[bot]") == "write"
    repo = bot.get_repo(scene.repo)
    repo.create_git_ref("refs/heads/janus/req-9", repo.get_branch("main").commit.sha)
    repo.create_file(REQUEST_PATH, "Request via form", REQUEST_TEXT, branch="janus/req-9")
    pr = repo.create_pull(base="main", head="janus/req-9", title="Access for alice",
                          body="requested-by: alice")
    assert repo.get_branch("janus/req-9").commit.sha == pr.head.sha  # slash in the name
    assert pr.user.login == "janus-app[bot]" and pr.user.type == "Bot"
    commit = repo.get_commit(pr.head.sha)
    assert commit.author.login == "janus-app[bot]"
    # The human requester is not the PR author, so GitHub lets them approve (Janus must not).
    alice = scene.repo_as("alice").get_pull(pr.number)
    assert alice.create_review(event="APPROVE").state == "APPROVED"


def test_bad_jwt_and_expired_tokens(scene: Scene) -> None:
    other_app, other_key = scene.sim.create_app("other-app", owner="acme")
    forged = Auth.AppAuth(scene.app_id, other_key)  # right id, wrong key
    integration = GithubIntegration(auth=forged, base_url=scene.sim.base_url)
    with pytest.raises(GithubException) as bad:
        integration.get_access_token(scene.installation_id)
    assert bad.value.status == 401
    wrong_app = GithubIntegration(auth=Auth.AppAuth(other_app, other_key),
                                  base_url=scene.sim.base_url)
    with pytest.raises(GithubException) as not_installed:
        wrong_app.get_access_token(scene.installation_id)
    assert not_installed.value.status == 404
    expired = scene.sim.installation_token(scene.installation_id, ttl=-1)
    gh = Github(auth=Auth.Token(expired), base_url=scene.sim.base_url, retry=None,
                seconds_between_requests=None, seconds_between_writes=None)
    with pytest.raises(GithubException) as old:
        gh.get_repo(scene.repo)
    assert old.value.status == 401


def test_rate_limit_exhaustion(scene: Scene) -> None:
    gh = scene.gh("bob")
    assert gh.get_rate_limit().resources.core.limit == 5000
    scene.sim.exhaust_rate_limit("bob")
    with pytest.raises(GithubException) as limited:
        gh.get_repo(scene.repo)
    assert limited.value.status == 403
    assert limited.value.headers["x-ratelimit-remaining"] == "0"


def test_reconcile_style_listing_labels_and_commits(scene: Scene) -> None:
    repo = scene.repo_as("alice")
    for i in range(3):
        scene.sim.push(scene.repo, f"r{i}", {f"requests/r{i}.yaml": "x"}, author="alice",
                       message=f"r{i}")
        scene.sim.create_pull(scene.repo, f"r{i}", f"r{i}", author="alice")
    scene.sim.review(scene.repo, 1, "bob", "APPROVE")
    scene.sim.merge(scene.repo, 1, "root")
    closed = list(repo.get_pulls(state="closed", sort="updated", direction="desc"))
    assert [p.number for p in closed] == [1] and closed[0].merged
    assert [p.number for p in repo.get_pulls(state="all")] == [3, 2, 1]
    assert [p.number for p in repo.get_pulls(state="all", direction="asc")] == [1, 2, 3]
    label = repo.create_label("policy:ok", "0e8a16", "Janus policy check passed")
    assert repo.get_label("policy:ok").color == label.color == "0e8a16"
    assert list(repo.get_pull(2).get_review_comments()) == []
    newest = repo.get_commits(sha="main")[0]
    assert len(newest.parents) == 2
    assert newest.sha in [c.sha for c in repo.get_commits(since=newest.commit.committer.date)]
