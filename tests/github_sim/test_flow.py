"""The GitOps flow Janus runs, end to end through PyGithub against the simulator."""

from __future__ import annotations

import subprocess

import pytest
from github import Auth, Github, GithubException, GithubIntegration, InputGitAuthor

from tests.unit.model.helpers import REQUEST_PATH, REQUEST_TEXT

from .conftest import Scene


def open_request(scene: Scene, login: str = "alice", branch: str = "req-1"):
    repo = scene.repo_as(login)
    main = repo.get_git_ref("heads/main")
    repo.create_git_ref(f"refs/heads/{branch}", main.object.sha)
    repo.create_file(REQUEST_PATH, "Request access to payments", REQUEST_TEXT, branch=branch)
    return repo, repo.create_pull(base="main", head=branch, title="Access: payments",
                                  body="INC-1234")


def test_open_review_merge_and_find_pr_of_merge_commit(scene: Scene) -> None:
    repo, pr = open_request(scene)
    assert pr.number == 1 and pr.state == "open" and pr.user.login == "alice"
    assert [f.filename for f in pr.get_files()] == [REQUEST_PATH]
    assert [f.status for f in pr.get_files()] == ["added"]
    assert len(list(pr.get_commits())) == 1
    # CODEOWNERS (from the base branch) asked the owning team for review.
    assert [t.slug for t in pr.get_review_requests()[1]] == ["payments-leads"]

    bob_pr = scene.repo_as("bob").get_pull(pr.number)
    review = bob_pr.create_review(event="APPROVE", body="ok")
    assert review.state == "APPROVED" and review.commit_id == pr.head.sha
    reviews = list(pr.get_reviews())
    assert [(r.user.login, r.state, r.commit_id) for r in reviews] == [
        ("bob", "APPROVED", pr.head.sha)]

    result = scene.repo_as("carol").get_pull(pr.number).merge()
    assert result.merged
    merged = repo.get_pull(pr.number)
    assert merged.merged and merged.merged_by.login == "carol" and merged.state == "closed"
    assert merged.merge_commit_sha == result.sha

    # A real merge commit with two parents, on main, in a real git repository.
    commit = repo.get_commit(result.sha)
    assert [p.sha for p in commit.parents] == [merged.base.sha, pr.head.sha]
    assert repo.get_branch("main").commit.sha == result.sha
    out = subprocess.run(["git", "--git-dir", str(scene.sim.git_dir(scene.repo)), "log",
                          "--format=%P", "-1", "main"], capture_output=True, text=True,
                         check=True)
    assert out.stdout.split() == [merged.base.sha, pr.head.sha]
    assert [p.number for p in commit.get_pulls()] == [pr.number]
    content = repo.get_contents(REQUEST_PATH, ref=result.sha)
    assert content.decoded_content.decode() == REQUEST_TEXT

    # The receiver saw the whole story, in order, signed.
    events = scene.receiver.events()
    assert ("pull_request", "opened") in events
    assert ("pull_request_review", "submitted") in events
    closed = [r.json for r in scene.receiver.received
              if r.event == "pull_request" and r.json["action"] == "closed"]
    assert closed and closed[0]["pull_request"]["merged"] is True
    assert closed[0]["pull_request"]["merge_commit_sha"] == result.sha
    review_hook = next(r.json for r in scene.receiver.received if r.event ==
                       "pull_request_review")
    assert review_hook["review"]["state"] == "approved"  # lower-case in webhooks


def test_contents_tree_compare_and_update_delete(scene: Scene) -> None:
    repo = scene.repo_as("alice")
    listing = repo.get_contents("requests")
    assert [c.path for c in listing] == ["requests/README.md"]
    root = repo.get_contents("")
    assert {c.path for c in root} == {".github", "policies", "requests"}
    created = repo.create_file("requests/x.yaml", "add", "a: 1\n", branch="main")
    sha = created["content"].sha
    with pytest.raises(GithubException) as conflict:
        repo.update_file("requests/x.yaml", "upd", "a: 2\n", "0" * 40, branch="main")
    assert conflict.value.status == 409
    updated = repo.update_file("requests/x.yaml", "upd", "a: 2\n", sha, branch="main",
                               author=InputGitAuthor("Alice", "alice@example.com"))
    assert repo.get_contents("requests/x.yaml").decoded_content == b"a: 2\n"
    tree = repo.get_git_tree(updated["commit"].sha, recursive=True)
    paths = {e.path for e in tree.tree}
    assert {"requests/x.yaml", ".github/CODEOWNERS", "requests"} <= paths
    repo.delete_file("requests/x.yaml", "rm", updated["content"].sha, branch="main")
    with pytest.raises(GithubException) as gone:
        repo.get_contents("requests/x.yaml")
    assert gone.value.status == 404

    first = repo.get_commits()[0].sha  # newest first
    base = repo.get_commit(first).parents[0].sha
    cmp = repo.compare(base, first)
    assert cmp.status == "ahead" and cmp.ahead_by == 1
    assert [f.filename for f in cmp.files] == ["requests/x.yaml"]
    back = repo.compare(first, base)
    assert back.status == "behind" and back.behind_by == 1


def test_errors_are_githubs(scene: Scene) -> None:
    repo, pr = open_request(scene)
    with pytest.raises(GithubException) as exists:
        repo.create_git_ref("refs/heads/req-1", pr.head.sha)
    assert exists.value.status == 422 and exists.value.data["message"] == \
        "Reference already exists"
    with pytest.raises(GithubException) as own:
        pr.create_review(event="APPROVE")
    assert own.value.status == 422
    assert own.value.data["errors"] == ["Can not approve your own pull request"]
    with pytest.raises(GithubException) as missing:
        repo.get_pull(99)
    assert missing.value.status == 404
    bad = Github(auth=Auth.Token("ghp_nope"), base_url=scene.sim.base_url, retry=None,
                 seconds_between_requests=None, seconds_between_writes=None)
    with pytest.raises(GithubException) as denied:
        bad.get_repo(scene.repo)
    assert denied.value.status == 401
    with pytest.raises(GithubException) as readonly:
        scene.repo_as("mallory").get_pull(pr.number).merge()
    assert readonly.value.status == 403
    with pytest.raises(GithubException) as dup:
        repo.create_pull(base="main", head="req-1", title="again")
    assert dup.value.status == 422


def test_push_changes_head_and_dismisses_stale_approvals(scene: Scene) -> None:
    scene.sim.protect_branch(scene.repo, "main", required_approvals=1,
                             require_code_owner_reviews=True, dismiss_stale_reviews=True)
    repo, pr = open_request(scene)
    first_head = pr.head.sha
    scene.repo_as("bob").get_pull(pr.number).create_review(event="APPROVE")
    new_head = scene.sim.push(scene.repo, "req-1", {REQUEST_PATH: REQUEST_TEXT.replace("1h", "8h")},
                              author="alice", message="longer")
    pr = repo.get_pull(pr.number)
    assert pr.head.sha == new_head != first_head
    states = [(r.state, r.commit_id) for r in pr.get_reviews()]
    assert states == [("DISMISSED", first_head)]
    assert ("pull_request", "synchronize") in scene.receiver.events()
    assert ("pull_request_review", "dismissed") in scene.receiver.events()
    # An empty commit leaves the PR's diff alone: a fresh approval survives it.
    scene.repo_as("carol").get_pull(pr.number).create_review(event="APPROVE")
    scene.sim.push(scene.repo, "req-1", {}, author="alice", message="empty")
    assert [r.state for r in repo.get_pull(pr.number).get_reviews()][-1] == "APPROVED"
    scene.sim.dismiss_review(scene.repo, pr.number,
                             list(repo.get_pull(pr.number).get_reviews())[-1].id, actor="root")
    # Protection now blocks a writer's merge ...
    with pytest.raises(GithubException) as blocked:
        scene.repo_as("carol").get_pull(pr.number).merge()
    assert blocked.value.status == 405
    # ... a non-owner's approval is not enough for code-owner review ...
    scene.sim.set_collaborator(scene.repo, "mallory", "write")
    scene.repo_as("mallory").get_pull(pr.number).create_review(event="APPROVE")
    with pytest.raises(GithubException) as owners:
        scene.repo_as("carol").get_pull(pr.number).merge()
    assert "code owner" in owners.value.data["message"]
    # ... but an admin bypasses it, as on GitHub (which is why Janus re-verifies).
    merged = scene.repo_as("root").get_pull(pr.number).merge()
    assert merged.merged


def test_comments_labels_checks_and_close(scene: Scene) -> None:
    repo, pr = open_request(scene)
    comment = pr.create_issue_comment("Janus: checking")
    comment.edit("Janus: all good")
    assert [c.body for c in pr.get_issue_comments()] == ["Janus: all good"]
    pr.add_to_labels("access-request", "policy:ok")
    assert [label.name for label in repo.get_pull(pr.number).labels] == [
        "access-request", "policy:ok"]

    # Check runs are for Apps only: through the JWT -> installation token dance.
    app_auth = Auth.AppAuth(scene.app_id, scene.private_key)
    integration = GithubIntegration(auth=app_auth, base_url=scene.sim.base_url)
    installation = integration.get_repo_installation("acme", "access")
    assert installation.id == scene.installation_id
    bot = Github(auth=app_auth.get_installation_auth(installation.id),
                 base_url=scene.sim.base_url, retry=None, seconds_between_requests=None,
                 seconds_between_writes=None)
    bot_repo = bot.get_repo(scene.repo)
    run = bot_repo.create_check_run("janus-policy", pr.head.sha, status="in_progress")
    run.edit(conclusion="success", output={"title": "Allowed", "summary": "plan"})
    events = scene.receiver.events()
    assert ("check_run", "completed") in events and ("check_suite", "completed") in events
    assert events.count(("pull_request", "labeled")) == 2
    runs = list(bot_repo.get_commit(pr.head.sha).get_check_runs())
    assert [(r.name, r.conclusion) for r in runs] == [("janus-policy", "success")]
    assert runs[0].app.slug == "janus-app"
    with pytest.raises(GithubException) as pat:
        repo.create_check_run("spoof", pr.head.sha)
    assert pat.value.status == 403
    bot_comment = bot_repo.get_pull(pr.number).create_issue_comment("from the bot")
    assert bot_comment.user.login == "janus-app[bot]" and bot_comment.user.type == "Bot"

    pr.edit(state="closed")
    closed = repo.get_pull(pr.number)
    assert closed.state == "closed" and not closed.merged
    hook = [r.json for r in scene.receiver.received if r.event == "pull_request"][-1]
    assert hook["action"] == "closed" and hook["pull_request"]["merged"] is False


def test_people_teams_permissions_and_pagination(scene: Scene) -> None:
    gh = scene.gh("bob")
    assert gh.get_user().login == "bob"
    assert gh.get_user("alice").name == "Alice"
    team = gh.get_organization("acme").get_team_by_slug("payments-leads")
    assert sorted(m.login for m in team.get_members()) == ["bob", "carol"]
    assert team.has_in_members(gh.get_user("carol"))
    assert not team.has_in_members(gh.get_user("alice"))
    assert team.get_team_membership("bob").state == "active"
    scene.sim.set_team_members("acme", "payments-leads", ["bob", "carol"], pending=["mallory"])
    assert team.get_team_membership("mallory").state == "pending"
    assert not team.has_in_members(gh.get_user("mallory"))
    repo = gh.get_repo(scene.repo)
    assert repo.get_collaborator_permission("bob") == "write"
    assert repo.get_collaborator_permission("root") == "admin"
    assert repo.get_collaborator_permission("mallory") == "read"
    for i in range(5):
        scene.sim.push(scene.repo, f"b{i}", {f"f{i}.txt": "x"}, author="alice", message="m")
        scene.sim.create_pull(scene.repo, f"b{i}", f"pr {i}", author="alice")
    small = Github(auth=Auth.Token(scene.sim.token("bob")), base_url=scene.sim.base_url,
                   per_page=2, retry=None, seconds_between_requests=None,
                   seconds_between_writes=None)
    pulls = small.get_repo(scene.repo).get_pulls(state="all")
    assert len(list(pulls)) == 5
    assert [p.number for p in repo.get_pulls(head="acme:b3")] == [4]
    assert gh.rate_limiting[0] < 5000
