"""CODEOWNERS as the simulator applies it: base branch, review requests, errors endpoint."""

from __future__ import annotations

from janus.dev.github_sim import GitHubSimulator

from .conftest import github


def test_owners_from_base_branch_and_errors_endpoint(sim: GitHubSimulator) -> None:
    for login in ("owner", "lead", "reader", "dev"):
        sim.add_user(login)
    repo = sim.create_repo(
        "owner", "r",
        files={"CODEOWNERS": "* @lead\n/docs/ @reader @ghost\n!neg @lead\n"},
        collaborators={"lead": "write", "reader": "read", "dev": "write"})
    # The PR tries to make itself the owner; GitHub (and the simulator) use the base file.
    sim.push(repo, "take-over", {"CODEOWNERS": "* @dev\n", "docs/a.md": "x"}, author="dev",
             message="mine now")
    number = sim.create_pull(repo, "take-over", "take over", author="dev")
    pr = sim.pull(repo, number)
    # @reader lacks write and @ghost does not exist: only @lead is asked.
    assert [u["login"] for u in pr["requested_reviewers"]] == ["lead"]

    gh = github(sim, sim.token("dev"))
    _, body = gh.requester.requestJsonAndCheck("GET", f"/repos/{repo}/codeowners/errors")
    kinds = {(e["line"], e["kind"]) for e in body["errors"]}
    assert (2, "Unknown owner") in kinds and (3, "Invalid pattern") in kinds
    assert all(e["path"] == "CODEOWNERS" for e in body["errors"])
