"""Forks: a fork is a repository of its own; a PR from it into the parent is cross-repository
(``head.repo`` is the fork, ``fork: true``) and a check run's ``pull_requests`` leaves it out,
as on GitHub. Every response and delivery is checked against GitHub's descriptions by the `sim`
fixture."""

from __future__ import annotations

from .conftest import Scene


def test_fork_pull_request_has_the_fork_as_head_repo(scene: Scene) -> None:
    parent = scene.repo_as("mallory")  # read access is enough to fork
    fork = parent.create_fork()
    assert fork.full_name == "mallory/access" and fork.fork
    assert fork.parent.full_name == scene.repo and fork.source.full_name == scene.repo
    scene.sim.push(fork.full_name, "evil", {"requests/prod/payments/m.yaml": "x: 1\n"},
                   author="mallory", message="request from a fork")
    pull = parent.create_pull(base="main", head="mallory:evil", title="from a fork")
    assert pull.head.repo.full_name == "mallory/access" and pull.head.repo.fork
    assert pull.head.label == "mallory:evil" and pull.head.user.login == "mallory"
    assert pull.base.repo.full_name == scene.repo
    assert [f.filename for f in pull.get_files()] == ["requests/prod/payments/m.yaml"]
    # The head commit is readable through the base repository, as on GitHub.
    assert parent.get_contents("requests/prod/payments/m.yaml", ref=pull.head.sha)
    found = list(parent.get_pulls(state="open", head="mallory:evil"))
    assert [p.number for p in found] == [pull.number]
    opened = [r.json for r in scene.receiver.received
              if r.event == "pull_request" and r.json["action"] == "opened"]
    assert opened[-1]["pull_request"]["head"]["repo"]["fork"] is True
    # A later push to the fork's branch moves the PR's head and sends `synchronize`.
    new_head = scene.sim.push(fork.full_name, "evil", {"requests/prod/payments/m.yaml": "x: 2\n"},
                              author="mallory", message="again")
    assert parent.get_pull(pull.number).head.sha == new_head
    assert any(r.event == "pull_request" and r.json["action"] == "synchronize"
               for r in scene.receiver.received)


def test_check_run_on_a_fork_pr_lists_no_pull_requests(scene: Scene) -> None:
    from github import Auth, Github

    fork = scene.sim.fork(scene.repo, "alice")
    scene.sim.push(fork, "req", {"requests/a.yaml": "a\n"}, author="alice", message="r")
    number = scene.sim.create_pull(scene.repo, head="alice:req", title="fork", author="alice")
    head = scene.sim.pull(scene.repo, number)["head"]["sha"]
    bot = Github(auth=Auth.Token(scene.sim.installation_token(scene.installation_id)),
                 base_url=scene.sim.base_url, retry=None, seconds_between_requests=None,
                 seconds_between_writes=None)
    run = bot.get_repo(scene.repo).create_check_run("janus/policy", head, conclusion="success",
                                                    output={"title": "t", "summary": "s"})
    assert run.pull_requests == []


def test_renamed_repository_keeps_its_id_and_deliveries_carry_the_new_name(scene: Scene) -> None:
    repo = scene.repo_as("root")
    old_id = repo.id
    repo.edit(name="access-requests")
    fresh = scene.gh("root").get_repo("acme/access-requests")
    assert fresh.id == old_id and fresh.full_name == "acme/access-requests"
    scene.sim.push("acme/access-requests", "main", {"requests/x.yaml": "x\n"}, author="root",
                   message="after the rename")
    push = [r.json for r in scene.receiver.received if r.event == "push"][-1]
    assert push["repository"]["id"] == old_id
    assert push["repository"]["full_name"] == "acme/access-requests"
