"""`janus validate`, `janus plan`, `janus codeowners`: exit codes and output formats."""

import json
import shutil
from pathlib import Path

import pytest
import yaml

from janus.cli import main
from tests.unit.model.helpers import REQUEST_TEXT, policy_files

REPO = Path(__file__).resolve().parents[2]
DEMO_MEMBERS = REPO / "janus" / "dev" / "demo_members.yaml"


@pytest.fixture
def repo(tmp_path) -> Path:
    for path, data in policy_files().items():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_bytes(data)
    write(tmp_path, "requests/prod/payments/alice-payments-inc1234.yaml", REQUEST_TEXT)
    write(tmp_path, "requests/README.md", "# how to\n")
    write(tmp_path, "requests/prod/.gitkeep", "")
    return tmp_path


def write(repo: Path, path: str, text: str) -> Path:
    target = repo / path
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text)
    return target


def run(capsys, *args):
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_valid_repo_exits_0(repo, capsys):
    code, out, err = run(capsys, "validate", "--repo", str(repo))
    assert code == 0 and out == ""
    assert "1 file(s) checked, 0 invalid" in err


def test_invalid_file_exits_1_with_compiler_style_lines(repo, capsys):
    write(repo, "requests/prod/payments/bad.yaml",
          REQUEST_TEXT.replace("alice-payments-inc1234", "bad").replace("1h", "90"))
    code, out, _ = run(capsys, "validate", "--repo", str(repo))
    assert code == 1
    assert out.splitlines() == [
        "requests/prod/payments/bad.yaml:10:3: schema.type: spec.duration: expected a string, "
        "got a number 90; a duration needs a unit: write '90m' for minutes, or e.g. '1h30m'"
    ]


def test_json_output(repo, capsys):
    write(repo, "requests/prod/payments/bad.yaml", "a: 1\na: 2\n")
    code, out, _ = run(capsys, "validate", "--repo", str(repo), "--format", "json")
    assert code == 1
    files = json.loads(out)["files"]
    assert [f["path"] for f in files] == ["requests/prod/payments/alice-payments-inc1234.yaml",
                                          "requests/prod/payments/bad.yaml"]
    assert files[0] == {"path": files[0]["path"], "valid": True, "errors": []}
    assert files[1]["valid"] is False
    assert files[1]["errors"] == [{"line": 2, "column": 1, "rule": "yaml.duplicate-key",
                                   "message": files[1]["errors"][0]["message"]}]


def test_github_annotations(repo, capsys):
    write(repo, "requests/prod/payments/bad.yaml", "a: 1\na: 2\n")
    code, out, _ = run(capsys, "validate", "--repo", str(repo), "--format", "github")
    assert code == 1
    assert out.startswith("::error file=requests/prod/payments/bad.yaml,line=2,col=1,"
                          "title=yaml.duplicate-key::key 'a' appears twice")


def test_given_paths_only(repo, capsys, monkeypatch):
    write(repo, "requests/prod/payments/bad.yaml", "x")
    monkeypatch.chdir(repo)
    code, _, err = run(capsys, "validate", "requests/prod/payments/alice-payments-inc1234.yaml")
    assert code == 0 and "1 file(s) checked" in err
    code, _, _ = run(capsys, "validate", "requests/prod")
    assert code == 1


def test_non_yaml_files_in_requests_are_errors(repo, capsys):
    write(repo, "requests/prod/payments/notes.txt", "hello")
    code, out, _ = run(capsys, "validate", "--repo", str(repo))
    assert code == 1 and "path.extension" in out


def test_policy_errors_are_reported_by_validate(repo, capsys):
    write(repo, "requests/prod/billing/alice-billing.yaml",
          REQUEST_TEXT.replace("payments", "billing").replace("-inc1234", ""))
    code, out, _ = run(capsys, "validate", "--repo", str(repo))
    assert code == 1
    assert "requester.not-eligible" in out


def test_members_file_enables_team_requesters(repo, capsys):
    text = REQUEST_TEXT.replace("requester: alice", "requester: erin").replace(
        "alice-payments-inc1234", "erin-x")
    write(repo, "requests/prod/payments/erin-x.yaml", text)
    code, out, _ = run(capsys, "validate", "--repo", str(repo))
    assert code == 1 and "requester.not-eligible" in out
    members = write(repo, "members.yaml", "teams:\n  acme/payments-devs: [erin]\n")
    code, _, _ = run(capsys, "validate", "--repo", str(repo), "--members", str(members))
    assert code == 0


def test_invalid_policies_exit_2(repo, capsys):
    write(repo, "policies/janus.yaml", "kind: JanusConfig\n")
    code, out, err = run(capsys, "validate", "--repo", str(repo))
    assert code == 2
    assert "policies/janus.yaml" in out and "invalid" in err


def test_invalid_policies_exit_2_in_json(repo, capsys):
    write(repo, "policies/janus.yaml", "kind: JanusConfig\n")
    code, out, _ = run(capsys, "validate", "--repo", str(repo), "--format", "json")
    assert code == 2
    assert json.loads(out)["configErrors"]


def test_bad_members_file_exits_2(repo, capsys):
    members = write(repo, "m.yaml", "teams: [x]\n")
    assert run(capsys, "validate", "--repo", str(repo), "--members", str(members))[0] == 2
    assert run(capsys, "validate", "--repo", str(repo), "--members", str(repo / "no"))[0] == 2


def test_usage_error_exits_2(capsys):
    with pytest.raises(SystemExit) as info:
        main(["validate", "--format", "xml"])
    assert info.value.code == 2


def test_file_outside_the_repo(repo, tmp_path_factory, capsys):
    outside = tmp_path_factory.mktemp("elsewhere") / "x.yaml"
    outside.write_text(REQUEST_TEXT)
    code, out, _ = run(capsys, "validate", "--repo", str(repo), str(outside))
    assert code == 1 and "path.outside-repo" in out


def test_symlinks_are_refused(repo, capsys):
    link = repo / "requests/prod/payments/link.yaml"
    link.symlink_to(repo / "requests/prod/payments/alice-payments-inc1234.yaml")
    code, out, _ = run(capsys, "validate", "--repo", str(repo))
    assert code == 1 and "file.symlink" in out


def test_plan_prints_the_objects(repo, capsys):
    path = str(repo / "requests/prod/payments/alice-payments-inc1234.yaml")
    code, out, _ = run(capsys, "plan", "--repo", str(repo), path)
    assert code == 0
    assert out.startswith("# requests/prod/payments/alice-payments-inc1234.yaml: allowed by "
                          "policy payments-prod; needs 1 approval from @acme/payments-leads")
    docs = list(yaml.safe_load_all(out))
    assert [d["kind"] for d in docs] == ["ServiceAccount", "RoleBinding", "Secret"]
    assert docs[2]["stringData"]["token"] == "<minted at grant>"


def test_plan_of_an_invalid_request_exits_1(repo, capsys):
    bad = write(repo, "requests/prod/payments/bad.yaml", "a: 1\n")
    code, out, err = run(capsys, "plan", "--repo", str(repo), str(bad))
    assert code == 1 and out == "" and "bad.yaml" in err


def test_codeowners_write_then_check(repo, capsys):
    code, _, _ = run(capsys, "codeowners", "--repo", str(repo), "--check")
    assert code == 1  # missing
    assert run(capsys, "codeowners", "--repo", str(repo))[0] == 0
    assert (repo / ".github/CODEOWNERS").read_text().startswith("# Generated")
    assert run(capsys, "codeowners", "--repo", str(repo), "--check")[0] == 0
    (repo / ".github/CODEOWNERS").write_text("* @someone\n")
    code, out, err = run(capsys, "codeowners", "--repo", str(repo), "--check")
    assert code == 1 and "-* @someone" in out and "out of date" in err


def test_codeowners_with_invalid_policies_exits_2(repo, capsys):
    write(repo, "policies/janus.yaml", "x: 1\n")
    assert run(capsys, "codeowners", "--repo", str(repo))[0] == 2


def test_the_template_repo_itself(tmp_path, capsys):
    """This project's own policies/, requests/ and .github/CODEOWNERS are valid and current."""
    for folder in ("policies", "requests", ".github"):
        shutil.copytree(REPO / folder, tmp_path / folder)
    members = str(DEMO_MEMBERS)
    assert run(capsys, "validate", "--repo", str(tmp_path), "--members", members)[0] == 0
    assert run(capsys, "codeowners", "--repo", str(tmp_path), "--check")[0] == 0
