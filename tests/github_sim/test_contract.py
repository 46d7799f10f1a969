"""The contract checker itself: it must catch real deviations, and the flow must cover the
operations Janus uses (every response of every test is validated by the `sim` fixture)."""

from __future__ import annotations

import copy

from janus.dev.github_sim import specs
from janus.dev.github_sim.contract import RestContract, WebhookContract

from .conftest import Scene
from .test_flow import open_request

# The REST operations Janus's GitOps code calls through PyGithub.
JANUS_OPERATIONS = {
    ("GET", "/repos/{owner}/{repo}"),
    ("GET", "/repos/{owner}/{repo}/git/ref/{ref}"),
    ("POST", "/repos/{owner}/{repo}/git/refs"),
    ("GET", "/repos/{owner}/{repo}/branches/{branch}"),
    ("GET", "/repos/{owner}/{repo}/contents/{path}"),
    ("PUT", "/repos/{owner}/{repo}/contents/{path}"),
    ("GET", "/repos/{owner}/{repo}/git/trees/{tree_sha}"),
    ("POST", "/repos/{owner}/{repo}/pulls"),
    ("GET", "/repos/{owner}/{repo}/pulls"),
    ("GET", "/repos/{owner}/{repo}/pulls/{pull_number}"),
    ("PATCH", "/repos/{owner}/{repo}/pulls/{pull_number}"),
    ("GET", "/repos/{owner}/{repo}/pulls/{pull_number}/files"),
    ("GET", "/repos/{owner}/{repo}/pulls/{pull_number}/commits"),
    ("GET", "/repos/{owner}/{repo}/pulls/{pull_number}/reviews"),
    ("POST", "/repos/{owner}/{repo}/pulls/{pull_number}/reviews"),
    ("PUT", "/repos/{owner}/{repo}/pulls/{pull_number}/merge"),
    ("POST", "/repos/{owner}/{repo}/issues/{issue_number}/comments"),
    ("GET", "/repos/{owner}/{repo}/issues/{issue_number}/comments"),
    ("PATCH", "/repos/{owner}/{repo}/issues/comments/{comment_id}"),
    ("POST", "/repos/{owner}/{repo}/issues/{issue_number}/labels"),
    ("GET", "/repos/{owner}/{repo}/commits/{ref}"),
    ("GET", "/repos/{owner}/{repo}/commits/{commit_sha}/pulls"),
    ("GET", "/repos/{owner}/{repo}/compare/{basehead}"),
    ("POST", "/repos/{owner}/{repo}/check-runs"),
    ("PATCH", "/repos/{owner}/{repo}/check-runs/{check_run_id}"),
    ("GET", "/repos/{owner}/{repo}/commits/{ref}/check-runs"),
    ("GET", "/repos/{owner}/{repo}/collaborators/{username}/permission"),
    ("GET", "/user"),
    ("GET", "/users/{username}"),
    ("GET", "/orgs/{org}"),
    ("GET", "/orgs/{org}/teams/{team_slug}"),
    ("GET", "/teams/{team_id}/members"),
    ("GET", "/teams/{team_id}/members/{username}"),
    ("GET", "/teams/{team_id}/memberships/{username}"),
    ("GET", "/repos/{owner}/{repo}/installation"),
    ("POST", "/app/installations/{installation_id}/access_tokens"),
}


def test_descriptions_come_from_the_versioned_npm_cache() -> None:
    rest, hooks = specs.rest_description(), specs.webhooks_description()
    assert f"octokit-openapi-{specs.OPENAPI_VERSION}" in str(rest) and rest.exists()
    assert f"octokit-openapi-webhooks-{specs.WEBHOOKS_VERSION}" in str(hooks)


def test_checker_catches_a_missing_required_field(scene: Scene,
                                                  contracts: tuple[RestContract,
                                                                   WebhookContract]) -> None:
    rest, _ = contracts
    _, pr = open_request(scene)
    good = scene.sim.pull(scene.repo, pr.number)
    assert rest.check("GET", "/repos/acme/access/pulls/1", 200, good) == []
    bad = copy.deepcopy(good)
    del bad["head"]["sha"]
    problems = rest.check("GET", "/repos/acme/access/pulls/1", 200, bad)
    assert problems and "'sha' is a required property" in str(problems[0])
    assert "$.head" in str(problems[0])
    assert rest.check("GET", "/repos/acme/access/nonsense/1", 200, {})
    assert rest.check("POST", "/repos/acme/access/pulls", 299, {})  # undocumented success


def test_checker_rejects_upper_case_review_state_in_webhooks(
        scene: Scene, contracts: tuple[RestContract, WebhookContract]) -> None:
    _, hooks = contracts
    _, pr = open_request(scene)
    review = scene.repo_as("bob").get_pull(pr.number).create_review(event="APPROVE")
    scene.repo_as("root").get_pull(pr.number).get_review(review.id).dismiss("stale")
    payload = next(r.json for r in scene.receiver.received
                   if r.event == "pull_request_review" and r.json["action"] == "dismissed")
    assert hooks.check("pull_request_review", payload) == []
    payload["review"]["state"] = "DISMISSED"  # the REST spelling is wrong in a webhook
    assert "is not one of" in str(hooks.check("pull_request_review", payload)[0])
    delivery = next(d for d in scene.sim.deliveries if d.event == "pull_request_review")
    assert hooks.check(delivery.event, delivery.payload, delivery.headers) == []
    headers = {k: v for k, v in delivery.headers.items() if k != "X-GitHub-Hook-ID"}
    assert "X-Github-Hook-Id" in str(hooks.check(delivery.event, delivery.payload, headers))


def janus_scenario(scene: Scene) -> None:
    """One pass over everything Janus does with GitHub, the way its code does it."""
    from github import Auth, Github, GithubIntegration

    repo, pr = open_request(scene)
    repo.get_branch("main")
    repo.get_contents("requests")
    repo.get_git_tree(pr.head.sha, recursive=True)
    list(repo.get_pulls(state="open", head="acme:req-1", base="main"))
    [f.filename for f in pr.get_files()]
    list(pr.get_commits())
    pr.edit(body="INC-1234, updated")
    pr.add_to_labels("access-request")
    comment = pr.create_issue_comment("Janus: checking")
    comment.edit("Janus: ok")
    list(pr.get_issue_comments())

    auth = Auth.AppAuth(scene.app_id, scene.private_key)
    inst = GithubIntegration(auth=auth, base_url=scene.sim.base_url).get_repo_installation(
        "acme", "access")
    bot = Github(auth=auth.get_installation_auth(inst.id), base_url=scene.sim.base_url,
                 retry=None, seconds_between_requests=None, seconds_between_writes=None)
    bot_repo = bot.get_repo(scene.repo)
    run = bot_repo.create_check_run("janus-policy", pr.head.sha, status="in_progress")
    run.edit(conclusion="success", output={"title": "ok", "summary": "plan"})
    list(bot_repo.get_commit(pr.head.sha).get_check_runs())

    scene.repo_as("bob").get_pull(pr.number).create_review(event="APPROVE")
    merged = scene.repo_as("root").get_pull(pr.number).merge()

    # What the receiver does after `pull_request.closed`:
    gh = bot
    repo = gh.get_repo(scene.repo)
    pr = repo.get_pull(pr.number)
    list(repo.get_commit(merged.sha).get_pulls())
    assert [(r.user.login, r.state) for r in pr.get_reviews()] == [("bob", "APPROVED")]
    assert repo.compare(pr.base.sha, pr.head.sha).files
    repo.get_contents(".github/CODEOWNERS", ref=pr.base.sha)
    repo.get_contents("requests/prod/payments/alice-payments-inc1234.yaml",
                      ref=pr.merge_commit_sha)
    team = gh.get_organization("acme").get_team_by_slug("payments-leads")
    list(team.get_members())
    team.has_in_members(gh.get_user("bob"))
    team.get_team_membership("bob")
    repo.get_collaborator_permission("bob")
    assert scene.gh("alice").get_user().login == "alice"


def test_janus_scenario_covers_every_operation_janus_uses(
        scene: Scene, contracts: tuple[RestContract, WebhookContract]) -> None:
    rest, _ = contracts
    janus_scenario(scene)
    seen = {(ex.method, rest.template_for(ex.path, ex.method))
            for ex in scene.sim.recorder.exchanges}
    assert JANUS_OPERATIONS - seen == set()
    # (the `sim` fixture then validates each of these responses and every delivery)
