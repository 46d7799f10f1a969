"""`janus audit` on a clone of a repository whose history the real pieces made: request PRs
merged on the GitHub simulator, the ledger written by janus.gitops.ledger_writer as the App."""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from janus.cli import main
from janus.dev.github_sim import GitHubSimulator
from janus.gitops.ledger_writer import LedgerWriter
from tests.audit.sim_flow import REPO, Flow, start


@pytest.fixture
def flow() -> Iterator[Flow]:
    with GitHubSimulator.start() as sim:
        yield start(sim)


def clone(flow: Flow, target: Path) -> Path:
    subprocess.run(["git", "clone", "-q", str(flow.sim.git_dir(REPO)), str(target)],
                   check=True, capture_output=True)
    return target


def bots(flow: Flow) -> list[str]:
    """``--bot`` options naming the App. GitHub writes an App's API commits as ``janus[bot]
    <id+janus[bot]@users.noreply.github.com>``; the simulator (for now) as ``janus
    <janus@users.noreply.example>``, so its display name is accepted too."""
    return ["--bot", flow.bot, "--bot", flow.bot.removesuffix("[bot]")]


def audit(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict]:
    code = main(["audit", *args, "--format", "json"])
    out, err = capsys.readouterr()
    return code, json.loads(out) if out else {"stderr": err}


def test_audit_answers_from_the_history_the_receiver_wrote(capsys, flow: Flow,
                                                            tmp_path: Path) -> None:
    alice = flow.grant("alice", "payments", "INC-7: stuck worker")
    bob = flow.grant("bob", "orders", "INC-8: orders")
    flow.end("alice", "revoked", by="root", reason="done", via="web")
    carol = flow.merge_request("carol", "web", "deploy check")  # merged, never recorded
    assert flow.sim.read_file(REPO, alice.request.path) is None  # the end removed it

    repo = clone(flow, tmp_path / "clone")
    code, answer = audit(capsys, "--repo", str(repo), "--at", "now")
    assert code == 0, answer
    found = {(r["kind"], r["state"], r["requester"]) for r in answer["rows"]}
    assert found == {("access", "active", "bob"), ("pending", "merged", "carol")}
    carol_row = next(r for r in answer["rows"] if r["requester"] == "carol")
    assert carol_row["requestFile"]["commit"] == carol.merge.commit

    code, answer = audit(capsys, "--repo", str(repo), "--since", "-1h")
    assert code == 0
    by_user = {r["requester"]: r for r in answer["rows"]}
    assert set(by_user) == {"alice", "bob", "carol"}
    entry = by_user["alice"]["entry"]
    assert entry["end"]["how"] == "revoked" and entry["end"]["by"] == "root"
    assert entry["merge"]["commit"] == alice.merge.commit
    assert by_user["bob"]["ledgerEntry"] == bob.path

    code, report = audit(capsys, "verify", "--repo", str(repo), *bots(flow))
    assert code == 0, report
    assert report["checked"]["entries"] == 2 and report["checked"]["removedFiles"] == 1
    assert report["checked"]["ledgerWriters"]  # the App's commits, counted

    # Someone edits bob's entry through the API as themselves: verify names the commit.
    edited = flow.sim.read_file(REPO, bob.path).replace(b"INC-8: orders", b"routine")
    sha = flow.sim.push(REPO, "main", {bob.path: edited}, "mallory", "tidy the ledger")
    subprocess.run(["git", "-C", str(repo), "pull", "-q", "--ff-only"], check=True,
                   capture_output=True)
    code, report = audit(capsys, "verify", "--repo", str(repo), *bots(flow))
    assert code == 1
    assert [(f["check"], f["commit"]) for f in report["findings"]] == [("foreign-commit", sha)]


def test_an_old_instant_sees_what_was_live_then(capsys, flow: Flow, tmp_path: Path) -> None:
    granted = flow.grant("alice", "payments", "INC-7: stuck worker")
    time.sleep(1.1)  # times are whole seconds: the end falls in a later one
    ended = flow.end("alice", "expired", via="controller")
    assert ended.end is not None and granted.granted_at is not None
    repo = clone(flow, tmp_path / "clone")
    for at, expected in ((granted.granted_at, [("access", "expired")]), (ended.end.at, [])):
        code, answer = audit(capsys, "--repo", str(repo), "--at", at)
        assert code == 0
        assert [(r["kind"], r["state"]) for r in answer["rows"]] == expected


def test_a_dedicated_ledger_branch(capsys, flow: Flow, tmp_path: Path) -> None:
    """With the ledger on its own branch, request files stay on main: --ledger-ref names it."""
    flow.writer = LedgerWriter(flow.git, "janus-ledger", remove_requests=False,
                               base_branch="main")
    flow.grant("alice", "payments", "INC-7: stuck worker")
    flow.grant("bob", "orders", "INC-8: orders")
    flow.end("alice", "expired", via="controller")
    repo = clone(flow, tmp_path / "clone")
    code, answer = audit(capsys, "--repo", str(repo), "--ref", "origin/main",
                         "--ledger-ref", "origin/janus-ledger", "--at", "now")
    assert code == 0, answer
    # alice's file is still on main, but her entry records it (ended): not pending.
    assert [(r["kind"], r["state"], r["requester"]) for r in answer["rows"]] == [
        ("access", "active", "bob")]
    code, report = audit(capsys, "verify", "--repo", str(repo), "--ref", "origin/main",
                         "--ledger-ref", "origin/janus-ledger", *bots(flow))
    assert code == 0, report
    assert report["checked"]["entries"] == 2
    # Without --ledger-ref there is no ledger on main: bob's file is merged, unrecorded.
    code, answer = audit(capsys, "--repo", str(repo), "--at", "now")
    assert {(r["kind"], r["state"]) for r in answer["rows"]} == {("pending", "merged")}
