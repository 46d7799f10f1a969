"""Git Database writes (blobs, trees, commits, compare-and-swap ref updates) and repository
rulesets with bypass actors, through PyGithub; every response is checked against GitHub's
OpenAPI description by the `sim` fixture."""

from __future__ import annotations

import pytest
from github import Auth, Github, GithubException, InputGitTreeElement

from .conftest import Scene
from .test_flow import open_request


def _bot(scene: Scene) -> Github:
    return Github(auth=Auth.Token(scene.sim.installation_token(scene.installation_id)),
                  base_url=scene.sim.base_url, retry=None, seconds_between_requests=None,
                  seconds_between_writes=None)


def _commit_files(repo, files: dict[str, str | None], message: str = "janus: ledger") -> str:
    """One commit on main of *files* (None deletes), by tree + commit + CAS ref update."""
    ref = repo.get_git_ref("heads/main")
    head = repo.get_git_commit(ref.object.sha)
    elements = [InputGitTreeElement(path, "100644", "blob", sha=None) if content is None
                else InputGitTreeElement(path, "100644", "blob", content=content)
                for path, content in files.items()]
    tree = repo.create_git_tree(elements, base_tree=head.tree)
    commit = repo.create_git_commit(message, tree, [head])
    ref.edit(commit.sha, force=False)
    return commit.sha


def test_one_commit_of_many_files_with_a_deletion(scene: Scene) -> None:
    repo = _bot(scene).get_repo(scene.repo)
    blob = repo.create_git_blob("hello\n", "utf-8")
    assert len(blob.sha) == 40
    sha = _commit_files(repo, {f"ledger/2026/11/30/e{i}.yaml": f"n: {i}\n" for i in range(5)}
                        | {"requests/README.md": None})
    assert scene.sim.head(scene.repo) == sha
    assert scene.sim.read_file(scene.repo, "ledger/2026/11/30/e3.yaml") == b"n: 3\n"
    assert scene.sim.read_file(scene.repo, "requests/README.md") is None
    assert scene.sim.read_file(scene.repo, "policies/janus.yaml") is not None  # base kept
    commit = repo.get_commit(sha)
    # Made through the API without a custom committer: GitHub signs it.
    assert commit.commit.verification.verified is True
    assert commit.commit.message == "janus: ledger"


def test_ref_update_is_compare_and_swap(scene: Scene) -> None:
    repo = _bot(scene).get_repo(scene.repo)
    ref = repo.get_git_ref("heads/main")
    head = repo.get_git_commit(ref.object.sha)
    tree = repo.create_git_tree([InputGitTreeElement("ledger/a.yaml", "100644", "blob",
                                                     content="a\n")], base_tree=head.tree)
    mine = repo.create_git_commit("janus: a", tree, [head])
    # Someone else moves main first (a request merge racing the ledger commit).
    scene.sim.push(scene.repo, "main", {"requests/x.yaml": "x\n"}, author="root",
                   message="racing")
    with pytest.raises(GithubException) as lost:
        ref.edit(mine.sha, force=False)
    assert lost.value.status == 422 and "fast forward" in lost.value.data["message"]
    assert scene.sim.read_file(scene.repo, "requests/x.yaml") == b"x\n"  # nothing lost


def test_ruleset_refuses_direct_writes_without_bypass(scene: Scene) -> None:
    admin = scene.repo_as("root")
    made = admin._requester.requestJsonAndCheck(
        "POST", f"{admin.url}/rulesets", input={
            "name": "main", "target": "branch", "enforcement": "active",
            "conditions": {"ref_name": {"include": ["~DEFAULT_BRANCH"], "exclude": []}},
            "rules": [{"type": "pull_request"}, {"type": "non_fast_forward"},
                      {"type": "deletion"}],
            "bypass_actors": [{"actor_id": scene.app_id, "actor_type": "Integration",
                               "bypass_mode": "always"}]})[1]
    assert made["enforcement"] == "active" and made["bypass_actors"][0]["actor_id"] == \
        scene.app_id
    rules = admin._requester.requestJsonAndCheck(
        "GET", f"{admin.url}/rules/branches/main")[1]
    assert {r["type"] for r in rules} == {"pull_request", "non_fast_forward", "deletion"}

    # An admin without bypass: refs API 422, contents API 409, git push GH013.
    with pytest.raises(GithubException) as refused:
        _commit_files(admin, {"ledger/by-root.yaml": "x\n"})
    assert refused.value.status == 422
    assert refused.value.data["message"].startswith("Repository rule violations found")
    assert "Changes must be made through a pull request." in refused.value.data["message"]
    with pytest.raises(GithubException) as contents:
        admin.create_file("ledger/c.yaml", "c", "c\n", branch="main")
    assert contents.value.status == 409
    with pytest.raises(Exception, match="GH013"):
        scene.sim.push(scene.repo, "main", {"x": "y"}, author="root", message="direct")

    # The App, a bypass actor, may commit directly.
    sha = _commit_files(_bot(scene).get_repo(scene.repo), {"ledger/by-app.yaml": "a\n"})
    assert scene.sim.head(scene.repo) == sha
    # Pull requests still merge (the rules are about direct writes).
    _, pr = open_request(scene)
    scene.repo_as("bob").get_pull(pr.number).create_review(event="APPROVE")
    assert scene.repo_as("carol").get_pull(pr.number).merge().merged


def test_bypass_only_for_pull_requests_is_no_bypass_for_a_direct_commit(scene: Scene) -> None:
    scene.sim.world.add_ruleset(scene.repo, "main", ["update"], bypass=[
        {"actor_id": scene.app_id, "actor_type": "Integration", "bypass_mode": "pull_request"}])
    with pytest.raises(GithubException) as refused:
        _commit_files(_bot(scene).get_repo(scene.repo), {"ledger/x.yaml": "x\n"})
    assert refused.value.status == 422
    assert "Cannot update this protected ref." in refused.value.data["message"]


def test_ruleset_on_another_branch_leaves_main_alone(scene: Scene) -> None:
    scene.sim.world.add_ruleset(scene.repo, "ledger", ["update"],
                                include=["refs/heads/janus-ledger"])
    sha = _commit_files(scene.repo_as("root"), {"ledger/ok.yaml": "ok\n"})
    assert scene.sim.head(scene.repo) == sha
    admin = scene.repo_as("root")
    admin.create_git_ref("refs/heads/janus-ledger", sha)  # creation is a rule of its own
    with pytest.raises(GithubException) as refused:
        admin.get_git_ref("heads/janus-ledger").edit(scene.sim.head(scene.repo), force=True)
    assert refused.value.status == 422
    assert "Cannot update this protected ref." in refused.value.data["message"]
