"""The simulator's POST /graphql: Janus's own queries, answered from the simulator's state and
executed against GitHub's public schema (@octokit/graphql-schema); GitHub's rules the schema
cannot state (pagination bounds, NOT_FOUND, bots without "[bot]"); and a query that does not fit
the schema is refused *and* counted as a contract violation (which fails the test that sent it:
tests/conftest.py)."""

from __future__ import annotations

from typing import Any

import pytest

from janus.dev.github_sim.graphql_api import STATS, schema
from janus.gitops import graphql_source as gq
from tests.unit.model.helpers import REQUEST_TEXT

from .conftest import Scene


def ask(scene: Scene, login: str, query: str, variables: dict[str, Any]) -> dict[str, Any]:
    gh = scene.gh(login)
    _, body = gh.requester.requestJsonAndCheck(
        "POST", gh.requester.graphql_url, input={"query": query, "variables": variables})
    return body


def merged_request(scene: Scene) -> tuple[int, str]:
    sim = scene.sim
    sim.push(scene.repo, "req", {"requests/prod/payments/a.yaml": REQUEST_TEXT},
             author="alice", message="request")
    sim.push(scene.repo, "req", {"requests/prod/payments/a.yaml": REQUEST_TEXT + "# more\n"},
             author="alice", message="again")
    number = sim.create_pull(scene.repo, "req", "access please", "alice")
    sim.review(scene.repo, number, "mallory", "COMMENT", body="looks fine")
    sim.review(scene.repo, number, "bob", "APPROVE")
    return number, sim.merge(scene.repo, number, "root")


def test_janus_merge_query_answers_from_state(scene: Scene) -> None:
    number, merge = merged_request(scene)
    owner, name = scene.repo.split("/")
    body = ask(scene, "root", gq.PULL_QUERY, {"owner": owner, "name": name, "number": number})
    assert "errors" not in body
    pr = body["data"]["repository"]["pullRequest"]
    facts = gq.pull_facts(pr)
    rest = scene.repo_as("root").get_pull(number)
    assert (facts.merged, facts.merge_commit, facts.base_ref, facts.head_sha) == \
        (True, merge, "main", rest.head.sha)
    assert (facts.author, facts.merged_by, facts.commits, facts.changed_files) == \
        ("alice", "root", 2, 1)
    assert facts.base_repo_id == facts.head_repo_id == scene.repo_as("root").id
    assert pr["mergeCommit"]["parents"]["nodes"][0]["oid"] == \
        scene.repo_as("root").get_commit(merge).parents[0].sha
    assert gq.changed_files(pr["files"]["nodes"])[0].filename == "requests/prod/payments/a.yaml"
    # Each commit's root tree against its parent's: only requests/ moved; one file each.
    assert all(not gq._root_changes(n["commit"]) for n in pr["commits"]["nodes"])
    assert [n["commit"]["changedFilesIfAvailable"] for n in pr["commits"]["nodes"]] == [1, 1]
    reviews = gq.reviews_of(pr["reviews"]["nodes"])
    assert [(r.user, r.state) for r in reviews] == [("mallory", "COMMENTED"), ("bob", "APPROVED")]
    assert all(r.commit_id == rest.head.sha for r in reviews)
    # mallory reads, bob writes through the leads team: what REST's permission said.
    assert gq.push_access(pr["reviews"]["nodes"]) == {"mallory": gq.NO_WRITE, "bob": "write"}
    assert body["data"]["rateLimit"]["remaining"] < 5000


def test_blobs_and_members_queries(scene: Scene) -> None:
    _, merge = merged_request(scene)
    owner, name = scene.repo.split("/")
    base = scene.repo_as("root").get_commit(merge).parents[0].sha
    body = ask(scene, "root", gq.blobs_query(2), {
        "owner": owner, "name": name, "tree": f"{base}:policies",
        "e0": f"{base}:.github/CODEOWNERS", "e1": f"{merge}:requests/prod/payments/a.yaml"})
    assert "errors" not in body
    repo = body["data"]["repository"]
    assert [(e["path"], e["object"]["text"]) for e in repo["tree"]["entries"]] == \
        [("policies/janus.yaml", "kind: JanusConfig\n")]
    assert "@acme/payments-leads" in repo["f0"]["text"]
    assert repo["f1"]["text"] == REQUEST_TEXT + "# more\n"
    missing = ask(scene, "root", gq.blobs_query(1), {
        "owner": owner, "name": name, "tree": f"{base}:nowhere", "e0": f"{base}:CODEOWNERS"})
    assert missing["data"]["repository"] == {"tree": None, "f0": None}

    body = ask(scene, "root", gq.members_query(3), {
        "o0": "acme", "s0": "payments-leads", "q0": "bob",
        "o1": "acme", "s1": "sre", "q1": "bob",
        "o2": "acme", "s2": "no-such-team", "q2": "bob"})
    assert [n["login"] for n in body["data"]["m0"]["team"]["members"]["nodes"]] == ["bob"]
    assert body["data"]["m1"]["team"]["members"]["nodes"] == []
    assert body["data"]["m2"]["team"] is None


def test_bots_are_named_without_the_bot_suffix(scene: Scene) -> None:
    bot = scene.sim.bot_login(scene.app_id)
    token = scene.sim.installation_token(scene.installation_id)
    gh = scene.sim.client(token=token)
    gh.get_repo(scene.repo).create_file("requests/prod/payments/b.yaml", "open",
                                        REQUEST_TEXT, branch="main")
    scene.sim.push(scene.repo, "by-bot", {"requests/prod/payments/c.yaml": REQUEST_TEXT},
                   author="alice", message="c")
    number = gh.get_repo(scene.repo).create_pull(base="main", head="by-bot", title="c").number
    owner, name = scene.repo.split("/")
    body = ask(scene, "root", gq.PULL_QUERY, {"owner": owner, "name": name, "number": number})
    author = body["data"]["repository"]["pullRequest"]["author"]
    assert author == {"__typename": "Bot", "login": bot.removesuffix("[bot]")}
    assert gq.login_of(author) == bot  # REST's spelling again


def test_not_found_is_an_error_with_its_type(scene: Scene) -> None:
    body = ask(scene, "root", gq.PULL_QUERY, {"owner": "acme", "name": "nope", "number": 1})
    assert body["data"]["repository"] is None
    assert body["errors"][0]["type"] == "NOT_FOUND"
    assert body["errors"][0]["path"] == ["repository"]


def test_a_query_outside_the_schema_is_refused_and_counted() -> None:
    # Checked without a server: answer() is what POST /graphql runs.
    from janus.dev.github_sim.graphql_api import answer
    from janus.dev.github_sim.world import World

    world = World()
    try:
        before = len(STATS.violations)
        rate = lambda: {"limit": 5000, "remaining": 4999, "used": 1, "reset": 0}  # noqa: E731
        bad = answer(world, "root", b'{"query": "{ repository(owner: \\"a\\", name: \\"b\\") '
                                    b'{ pullRequest(number: 1) { noSuchField } } }"}', rate)
        unbounded = answer(world, "root", b'{"query": "{ repository(owner: \\"a\\", name: '
                                          b'\\"b\\") { pullRequest(number: 1) { files '
                                          b'{ nodes { path } } } } }"}', rate)
        too_many = answer(world, "root", b'{"query": "{ repository(owner: \\"a\\", name: '
                                         b'\\"b\\") { pullRequest(number: 1) { files(first: '
                                         b'101) { nodes { path } } } } }"}', rate)
        found = STATS.violations[before:]
        del STATS.violations[before:]  # expected here; any other test would fail on them
    finally:
        world.close()
    assert "noSuchField" in bad["errors"][0]["message"] and "data" not in bad
    assert "`first` or `last`" in unbounded["errors"][0]["message"]
    assert "exceeds the `first` limit of 100" in too_many["errors"][0]["message"]
    assert len(found) == 3


@pytest.mark.parametrize("query", [
    gq.PULL_QUERY, gq.more_query("files"), gq.more_query("commits"), gq.more_query("reviews"),
    gq.blobs_query(0), gq.blobs_query(3), gq.BLOB_QUERY, gq.members_query(1),
    gq.members_query(4)])
def test_every_query_janus_sends_validates_against_the_schema(query: str) -> None:
    from graphql import parse, validate

    assert validate(schema(), parse(query)) == []
