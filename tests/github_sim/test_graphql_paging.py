"""GraphQLSource against the simulator: connections past one page (GitHub's 100) are paged to
the end, and the facts equal what REST says about the same pull request."""

from __future__ import annotations

from janus.gitops.graphql_source import GraphQLSource
from janus.gitops.merge_facts import RestSource
from tests.unit.model.helpers import REQUEST_TEXT

from .conftest import Scene


def test_files_and_reviews_past_a_page_are_all_read(scene: Scene) -> None:
    sim = scene.sim
    files: dict[str, bytes | str | None] = {
        f"requests/prod/payments/r{i:03d}.yaml": REQUEST_TEXT for i in range(150)}
    sim.push(scene.repo, "many", files, author="alice", message="150 requests")
    number = sim.create_pull(scene.repo, "many", "many", "alice")
    for i in range(101):
        sim.review(scene.repo, number, "carol", "COMMENT", body=f"note {i}")
    sim.review(scene.repo, number, "bob", "APPROVE")
    sim.merge(scene.repo, number, "root")

    repo = scene.repo_as("root")
    pull = repo.get_pull(number)
    gql = GraphQLSource(repo, pull, lambda *_: None)  # type: ignore[arg-type]
    rest = RestSource(repo, pull, lambda *_: None)  # type: ignore[arg-type]
    assert len(gql.files()) == 150 and len(gql.reviews()) == 102
    # One query for the pull request, one more page of files, one more of reviews.
    assert gql.queries == 3
    assert sorted(gql.files(), key=lambda f: f.filename) == \
        sorted(rest.files(), key=lambda f: f.filename)
    assert gql.reviews() == rest.reviews()
    assert gql.pull() == rest.pull()
    assert gql.permissions({"bob", "carol"}) == {"bob": "write", "carol": "write"}
    assert [c.outside for c in gql.commit_files(300)] == [()]
    assert gql.rate_limit["cost"] == 1 and gql.rate_limit["remaining"] > 0


def test_a_commit_outside_requests_is_named_over_rest(scene: Scene) -> None:
    sim = scene.sim
    sim.push(scene.repo, "sneaky", {".github/CODEOWNERS": "* @mallory\n"}, author="alice",
             message="mine now")
    sim.push(scene.repo, "sneaky", {".github/CODEOWNERS": (
        "*                          @acme/sre\n"
        "/requests/prod/payments/   @acme/payments-leads\n"
        "/policies/                 @acme/sre\n"),
        "requests/prod/payments/a.yaml": REQUEST_TEXT}, author="alice", message="restore")
    number = sim.create_pull(scene.repo, "sneaky", "sneaky", "alice")
    repo = scene.repo_as("root")
    pull = repo.get_pull(number)
    gql = GraphQLSource(repo, pull, lambda *_: None)  # type: ignore[arg-type]
    rest = RestSource(repo, pull, lambda *_: None)  # type: ignore[arg-type]
    outside = [c.outside for c in gql.commit_files(300)]
    assert outside == [c.outside for c in rest.commit_files(300)]
    assert (".github/CODEOWNERS",) in outside
