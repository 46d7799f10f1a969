"""`janus audit` and `janus audit verify` on a real git history (tests/audit/history.py): the
answers at instants and over periods in every format, the filters, the consistency checks, and
every bad input refused with exit 2 and a message saying what is accepted."""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import shutil
import subprocess
from pathlib import Path

import pytest

from janus.audit.render import CSV_COLUMNS
from janus.cli import main
from janus.model import ledger
from tests.audit.history import BOT, PEOPLE, Builder, History, build, t


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> History:
    return build(tmp_path_factory.mktemp("access-repo"))


@pytest.fixture
def clone(history: History, tmp_path: Path) -> Builder:
    """A clone of the history at tag ``clean`` to add commits to (one test's own copy)."""
    target = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", "--branch", "clean", str(history.path), str(target)],
                   check=True, capture_output=True)
    builder = Builder(target, init=False)
    builder.git("checkout", "-q", "-b", "main")
    return builder


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def rows(capsys: pytest.CaptureFixture[str], repo: Path, *args: str) -> list[dict]:
    code, out, err = run(capsys, "audit", "--repo", str(repo), "--format", "json", *args)
    assert code == 0, err
    return json.loads(out)["rows"]


def summary(found: list[dict]) -> set[tuple[str, str, str]]:
    return {(r["kind"], r["state"], r["requester"]) for r in found}


def at(minutes: float) -> str:
    return ledger.fmt_time(t(minutes))


# -- answers ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("minutes", "expected"), [
    (-1, set()),                                            # before anything
    (5.5, {("pending", "expired", "alice")}),               # merged, not granted yet
    (7, {("access", "expired", "alice")}),                  # granted at exactly this second
    (60, {("access", "expired", "alice")}),                 # extended past the first hour
    (125, {("access", "expired", "alice"), ("access", "revoked", "bob")}),
    (127, {("access", "revoked", "bob")}),                  # alice's end is exclusive
    (200, set()),                                           # bob revoked at +3h
    (250, {("pending", "merged", "carol")}),                # merged without an entry
    (290, {("pending", "merged", "carol"), ("pending", "merged", "dave")}),
    (400, {("pending", "merged", "carol")}),                # dave deleted his file at +6h
])
def test_who_had_access_at_an_instant(capsys, history: History, minutes: float,
                                      expected: set) -> None:
    assert summary(rows(capsys, history.path, "--at", at(minutes))) == expected


def test_a_period_lists_every_grant_and_pending_request_that_met_it(capsys, history) -> None:
    found = rows(capsys, history.path, "--since", at(0), "--until", at(600))
    assert summary(found) == {("access", "expired", "alice"), ("access", "revoked", "bob"),
                              ("pending", "merged", "carol"), ("pending", "merged", "dave")}
    dave = next(r for r in found if r["requester"] == "dave")
    assert dave["from"] == at(270) and dave["until"] == at(360)  # added by PR #4, deleted
    assert dave["requestFile"]["commit"] == history.merges[4]
    # A period that only touches the end of bob's grant still lists it; one after it does not.
    assert summary(rows(capsys, history.path, "--since", at(179), "--until", at(185))) == {
        ("access", "revoked", "bob")}
    assert summary(rows(capsys, history.path, "--since", at(180), "--until", at(185))) == set()


def test_filters(capsys, history: History) -> None:
    period = ("--since", at(0), "--until", at(600))
    assert summary(rows(capsys, history.path, *period, "--user", "BOB")) == {
        ("access", "revoked", "bob")}
    assert summary(rows(capsys, history.path, *period, "--cluster", "staging")) == {
        ("pending", "merged", "carol")}
    assert {r["requester"] for r in rows(capsys, history.path, *period,
                                         "--namespace", "payments")} == {"alice", "dave"}
    assert rows(capsys, history.path, *period, "--cluster", "nowhere") == []


def test_json_answers_who_approved_why_how_it_ended_and_sessions(capsys, history) -> None:
    code, out, _ = run(capsys, "audit", "--repo", str(history.path), "--format", "json",
                       "--at", at(125), "--user", "bob")
    assert code == 0
    answer = json.loads(out)
    assert answer["query"] == {"at": at(125), "user": "bob"}
    assert answer["entries"] == 2 and answer["problems"] == []
    (bob,) = answer["rows"]
    assert bob["ledgerEntry"] == history.entries["bob"]
    entry = bob["entry"]
    assert entry["merge"]["approvers"] == ["sam", "lena"]
    assert entry["merge"]["commit"] == history.merges[2] and entry["merge"]["mergedBy"] == "sam"
    assert entry["end"] == {"at": at(180), "by": "root", "how": "revoked", "reason": "done",
                            "via": "web"}
    (session,) = entry["sessions"]
    assert session["user"] == "bob" and session["recording"]["sha256"] == "ab" * 32
    # The hand edit is what the ledger says now (verify is what flags it).
    assert entry["request"]["reason"] == "routine check"

    alice = rows(capsys, history.path, "--at", at(60))[0]["entry"]
    assert [x["merge"]["pullRequest"] for x in alice["extensions"]] == [5]
    assert alice["expiresAt"] == at(127) and alice["end"]["how"] == "expired"


def test_csv_and_table(capsys, history: History) -> None:
    code, out, _ = run(capsys, "audit", "--repo", str(history.path), "--format", "csv",
                       "--since", at(0), "--until", at(600))
    assert code == 0
    reader = csv.DictReader(io.StringIO(out))
    assert tuple(reader.fieldnames or ()) == CSV_COLUMNS
    by_user = {r["requester"]: r for r in reader}
    assert set(by_user) == {"alice", "bob", "carol", "dave"}
    assert by_user["bob"]["ended_by"] == "root" and by_user["bob"]["end_via"] == "web"
    assert by_user["bob"]["approvers"] == "sam lena" and by_user["bob"]["sessions"] == "1"
    assert by_user["bob"]["pull_request"] == "2" and by_user["alice"]["extensions"] == "1"
    assert by_user["carol"]["kind"] == "pending" and by_user["carol"]["ledger_entry"] == ""

    code, out, _ = run(capsys, "audit", "--repo", str(history.path), "--at", at(125))
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split()[:3] == ["KIND", "STATE", "REQUESTER"]
    assert any("revoked by root" in line and "bob" in line for line in lines)
    assert any(line.startswith("access") and "alice" in line for line in lines)

    code, out, err = run(capsys, "audit", "--repo", str(history.path), "--at", at(-1))
    assert code == 0 and out == "" and "nobody had or waited for access" in err


def test_relative_times_and_dates(capsys, history: History) -> None:
    # Everything in the history is long ago, so "-2h" finds nobody (carol's file is pending
    # still: it never left requests/).
    assert summary(rows(capsys, history.path, "--at", "-2h")) == {("pending", "merged", "carol")}
    assert summary(rows(capsys, history.path, "--at", "now")) == {("pending", "merged", "carol")}
    assert len(rows(capsys, history.path, "--since", "2026-11-02", "--until", "2026-11-03")) == 4
    assert len(rows(capsys, history.path, "--since=2026-11-02T11:00:00+01:00",
                    "--until", "2026-11-02T12:30:00+01:00")) == 1  # alice: 10:07Z..12:07Z


def test_the_scan_cache_changes_nothing_but_time(capsys, history: History, tmp_path) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(history.path, copy)
    cache = copy / ".git" / "janus-audit-scan"
    args = ("--since", at(0), "--until", at(600))
    first = rows(capsys, copy, *args)
    lines = cache.read_text().splitlines()
    assert lines[0] == "janus-audit-scan v1" and len(lines) == 3  # the two entries' blobs
    assert {line.split(" ")[1] for line in lines[1:]} == {at(127), at(180)}
    assert rows(capsys, copy, *args) == first                # warm
    assert rows(capsys, copy, *args, "--no-cache") == first  # off
    cache.write_text("garbage\n")                            # ignored, then rewritten
    assert rows(capsys, copy, *args) == first


def test_an_unreadable_entry_is_named_and_the_exit_status_is_1(capsys, clone) -> None:
    path = "ledger/2026/11/02/20261102T130000Z-pr9-prod-x-y-0000000a.yaml"
    clone.commit("janus: granted someone", BOT, t(200), add={path: "version: 1\nkind: what\n"})
    code, out, err = run(capsys, "audit", "--repo", str(clone.path), "--format", "json",
                         "--at", at(250))
    assert code == 1
    assert json.loads(out)["problems"] and path in err and "left out" in err


# -- verify -----------------------------------------------------------------------------------


def test_verify_catches_the_hand_edit_and_the_file_removed_without_entry(capsys, history) -> None:
    code, out, err = run(capsys, "audit", "verify", "--repo", str(history.path),
                         "--format", "json")
    assert code == 1, err
    report = json.loads(out)
    assert not report["ok"]
    found = {(f["check"], f["path"], f["commit"]) for f in report["findings"]}
    assert found == {
        ("foreign-commit", history.entries["bob"], history.commits["hand-edit"]),
        ("removed-unrecorded", "requests/prod/payments/dave-pay.yaml",
         history.commits["dave-delete"]),
    }
    hand = next(f for f in report["findings"] if f["check"] == "foreign-commit")
    assert "mallory" in hand["message"] and "not the App" in hand["message"]
    assert report["checked"]["entries"] == 2 and report["checked"]["merges"] == 3
    assert "2 finding(s)" in err

    code, out, _ = run(capsys, "audit", "verify", "--repo", str(history.path))
    assert code == 1 and "foreign-commit" in out and "removed-unrecorded" in out
    code, out, _ = run(capsys, "audit", "verify", "--repo", str(history.path), "--format", "csv")
    assert code == 1 and len(list(csv.reader(io.StringIO(out)))) == 3


def test_verify_passes_on_a_consistent_history(capsys, history: History) -> None:
    code, out, err = run(capsys, "audit", "--repo", str(history.path), "verify", "--ref", "clean")
    assert code == 0, out
    assert out == "" and "consistent" in err and "janus[bot]" in err
    # Pinning the App's login: the same; another login makes every ledger commit foreign.
    assert run(capsys, "audit", "verify", "--repo", str(history.path), "--ref", "clean",
               "--bot", "janus[bot]")[0] == 0
    code, out, _ = run(capsys, "audit", "verify", "--repo", str(history.path), "--ref", "clean",
                       "--bot", "other[bot]", "--format", "json")
    assert code == 1
    assert {f["check"] for f in json.loads(out)["findings"]} == {"foreign-commit"}


def test_verify_checks_merges_duplicates_and_leftover_files(capsys, clone, history) -> None:
    head = clone.git("rev-parse", "HEAD")
    bob = ledger.loads(history.entries["bob"], (clone.path / history.entries["bob"]).read_bytes())
    # An entry claiming a merge that is not in the history, one whose blob the merge does not
    # have, one recording bob's merge again (applied twice), and carol's grant ended while her
    # file stays in requests/.
    ghost = dataclasses.replace(bob, merge=dataclasses.replace(bob.merge, commit="1" * 40,
                                                               pull_request=90))
    wrong_blob = dataclasses.replace(bob, request=dataclasses.replace(bob.request,
                                                                      blob_sha="2" * 40),
                                     merge=dataclasses.replace(bob.merge, pull_request=91))
    twice = dataclasses.replace(bob, merge=dataclasses.replace(bob.merge, pull_request=92))
    carol_path = "requests/staging/web/carol-web.yaml"
    carol = ledger.Entry(
        ledger.RequestRecord(carol_path, clone.blob(carol_path), "carol-web", "carol",
                             "staging", "web", "pod-exec", "1h", "deploy check"),
        ledger.MergeRecord("acme/access", 3, history.merges[3], at(240), "lena", ("lena",)),
        ledger.access_request_of(carol_path) or "", granted_at=at(241), expires_at=at(301),
        end=ledger.End("expired", at(301)))
    clone.ledger_commit("janus: ledger: 4 recorded", t(400), [ghost, wrong_blob, twice, carol])
    code, out, _ = run(capsys, "audit", "verify", "--repo", str(clone.path), "--format", "json")
    assert code == 1
    found = {(f["check"], f["path"]) for f in json.loads(out)["findings"]}
    assert found == {
        ("merge-missing", ghost.path), ("merge-file", wrong_blob.path),
        ("entry-duplicate", wrong_blob.path),  # it names bob's merge too
        ("entry-duplicate", twice.path), ("ended-still-present", carol_path),
    }
    assert clone.git("rev-parse", "HEAD^") == head


def test_verify_flags_a_squashed_ledger_edit_and_stray_files(capsys, clone) -> None:
    clone.commit("janus: looks like a ledger commit", PEOPLE["mallory"], t(400),
                 add={"ledger/notes.txt": "hello\n"})
    clone.commit("janus: granted", BOT, t(401), add={"policies/extra.yaml": "x: 1\n",
                                                     "ledger/README.md": "edited\n"})
    code, out, _ = run(capsys, "audit", "verify", "--repo", str(clone.path), "--format", "json")
    assert code == 1
    findings = json.loads(out)["findings"]
    assert {(f["check"], f["path"]) for f in findings} == {
        ("stray-file", "ledger/notes.txt"), ("foreign-commit", "ledger/notes.txt")}


# -- bad input --------------------------------------------------------------------------------


@pytest.mark.parametrize(("args", "says"), [
    (("--at", "yesterday"), "is accepted"),
    (("--at", "2026-11-02T10:00:00"), "add Z for UTC"),
    (("--at", "2026-13-40"), "not a real date"),
    (("--at", "-"), "no amount of time"),
    (("--at", "-2x"), "is not a time ago"),
    (("--since", "2026-11-03", "--until", "2026-11-02"), "is before --since"),
    (("--at", "now", "--until", "now"), "--until goes with --since"),
    ((), "--at TIME"),
    (("--at", "now", "--ref", "no-such-branch"), "is not a commit"),
    (("--at", "now", "--ref=--output=x"), "is not a ref"),
])
def test_bad_input_exits_2_saying_what_is_accepted(capsys, history, args, says) -> None:
    code, out, err = run(capsys, "audit", "--repo", str(history.path), *args)
    assert code == 2 and out == ""
    assert says in err and err.startswith("janus audit: ")


def test_a_missing_folder_or_not_a_repository_exits_2(capsys, tmp_path: Path) -> None:
    code, _, err = run(capsys, "audit", "--repo", str(tmp_path / "nope"), "--at", "now")
    assert code == 2 and "does not exist" in err and "clone of the access repository" in err
    code, _, err = run(capsys, "audit", "verify", "--repo", str(tmp_path))
    assert code == 2 and "is not a git repository" in err
    (tmp_path / "file").write_text("x")
    code, _, err = run(capsys, "audit", "--repo", str(tmp_path / "file"), "--at", "now")
    assert code == 2 and "is not a folder" in err
    empty = tmp_path / "empty"
    subprocess.run(["git", "init", "-q", str(empty)], check=True)
    code, _, err = run(capsys, "audit", "--repo", str(empty), "--at", "now")
    assert code == 2 and "is not a commit" in err


def test_output_option_gives_the_json_document_as_yaml_too(capsys, history: History) -> None:
    """`-o json|yaml` as on `grants` and `plan` (janus/cli/output.py): `-o json` is `--format
    json`, and `-o yaml` is the same document in YAML, for `audit` and for `audit verify`."""
    import yaml

    query = ("--at", at(125), "--user", "bob")
    _, by_format, _ = run(capsys, "audit", "--repo", str(history.path), "--format", "json", *query)
    _, by_output, _ = run(capsys, "audit", "--repo", str(history.path), "-o", "json", *query)
    code, as_yaml, _ = run(capsys, "audit", "--repo", str(history.path), "-o", "yaml", *query)
    assert code == 0 and by_output == by_format
    assert yaml.safe_load(as_yaml) == json.loads(by_format)
    assert yaml.safe_load(as_yaml)["rows"][0]["requester"] == "bob"

    _, verify_json, _ = run(capsys, "audit", "verify", "--repo", str(history.path), "-o", "json")
    _, verify_yaml, _ = run(capsys, "audit", "verify", "--repo", str(history.path),
                            "--output", "yaml")
    assert yaml.safe_load(verify_yaml) == json.loads(verify_json)
    assert json.loads(verify_json)["findings"]
