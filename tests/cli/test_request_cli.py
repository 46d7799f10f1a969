"""`janus request`: naming, rendering, hostile input, --repo-dir, and --open-pr against the
GitHub simulator (PyGithub over HTTP, real git underneath)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from janus.cli import main
from janus.cli.request import RequestInput, default_name, render
from janus.dev.github_sim import GitHubSimulator
from janus.dev.github_sim.demo import seed_demo
from janus.model import load_policy_set, load_request
from janus.policy import StaticMembership
from janus.policy.drafting import RequestForm

ROOT = Path(__file__).resolve().parents[2]
MEMBERS = ROOT / "janus" / "dev" / "demo_members.yaml"
REASON = "INC-4242: payment worker stuck on the ledger queue"


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A checkout of an access repository: this project's policies, no requests yet."""
    shutil.copytree(ROOT / "policies", tmp_path / "policies")
    return tmp_path


def _request(repo: Path, *extra: str) -> int:
    return main(["request", "--repo-dir", str(repo), "--cluster", "prod",
                 "--reason", REASON, "--ticket", "INC-4242", "--requester", "alice", *extra])


def _tree(repo: Path) -> dict[str, bytes]:
    return {p.relative_to(repo).as_posix(): p.read_bytes()
            for p in sorted(repo.rglob("*")) if p.is_file()}


# -- naming and rendering -------------------------------------------------------------------------


def test_default_name_is_requester_namespace_ticket() -> None:
    assert default_name("Alice", "prod", "payments", "pod-exec", "1h", REASON,
                        "INC-1234") == "alice-payments-inc1234"


def test_default_name_without_ticket_is_a_stable_short_hash() -> None:
    one = default_name("alice", "prod", "payments", "pod-exec", "1h", REASON, "")
    assert one.startswith("alice-payments-") and len(one) == len("alice-payments-") + 6
    assert one == default_name("alice", "prod", "payments", "pod-exec", "1h", REASON, "")
    assert one != default_name("alice", "prod", "payments", "pod-exec", "2h", REASON, "")


def test_default_name_fits_a_dns_label_and_keeps_the_ticket() -> None:
    name = default_name("a" * 39, "prod", "n" * 63, "pod-exec", "1h", REASON, "INC-" + "9" * 40)
    assert len(name) <= 63
    assert name.endswith("-inc" + "9" * 17)  # ticket part cut to 20
    assert load_request(f"requests/prod/{'n' * 63}/{name}.yaml", (
        "apiVersion: janus.dev/v1alpha1\nkind: AccessRequest\n"
        f"metadata: {{name: {name}}}\n"
        f"spec: {{requester: alice, cluster: prod, namespace: {'n' * 63}, role: pod-exec,"
        f" duration: 1h, reason: '{REASON}'}}\n").encode())[0] is not None


def test_rendered_file_is_what_a_human_writes() -> None:
    policies = load_policy_set(ROOT)
    given = RequestInput(RequestForm("prod", ("payments",), "pod-exec", "1h",
                                     "INC-1234: payment worker stuck, need to inspect its queue",
                                     "INC-1234"), "alice")
    rendered = render(given, policies, StaticMembership({}))
    assert rendered.problems == []
    (path, text), = rendered.files.items()
    assert path == "requests/prod/payments/alice-payments-inc1234.yaml"
    # Same document as the hand-written example in requests/, apart from comment and quoting.
    human = (ROOT / "requests/prod/payments/alice-payments-inc1234.yaml").read_text()
    ours, theirs = load_request(path, text.encode())[0], load_request(path, human.encode())[0]
    assert ours is not None and theirs is not None
    assert replace(ours, line_of={}) == replace(theirs, line_of={})
    # Same layout too: one key per line in the same order, one line lower for our comment.
    assert dict(ours.line_of) == {k: v + 1 for k, v in theirs.line_of.items()}
    assert text.splitlines()[:4] == ["# Opened with `janus request` by alice.",
                                     "apiVersion: janus.dev/v1alpha1",
                                     "kind: AccessRequest", "metadata:"]


def test_yaml_in_the_reason_stays_a_reason() -> None:
    """A reason that looks like YAML is quoted as data: it cannot add keys or documents."""
    policies = load_policy_set(ROOT)
    reason = "INC-1: ok'\nspec: {role: admin}\n--- # &a *a !!python/object"
    given = RequestInput(RequestForm("prod", ("payments",), "pod-exec", "1h",
                                     " ".join(reason.split()), "INC-1"), "alice")
    rendered = render(given, policies, StaticMembership({}))
    assert rendered.problems == []
    (path, text), = rendered.files.items()
    request = load_request(path, text.encode())[0]
    assert request is not None
    assert (request.reason, request.role) == (" ".join(reason.split()), "pod-exec")


# -- hostile input: clear errors, nothing written -------------------------------------------------


@pytest.mark.parametrize(("extra", "expected"), [
    (["--namespace", "payments", "--duration", "60"], "a plain number has no unit"),
    (["--namespace", "kube-system"], "namespace 'kube-system' is excluded"),
    (["--namespace", "payments", "--cluster", "moon"], "cluster 'moon' is not configured; "
                                                       "accepted: prod, staging"),
    (["--namespace", "payments", "--reason", "short"], "10 to 500 characters"),
    (["--namespace", "payments", "--name", "../../../etc/passwd"], "--name '../../../etc/passwd'"
                                                                   " is not a DNS-1123 label"),
    (["--namespace", "../../x"], "--namespace '../../x' is not a DNS-1123 label"),
    (["--namespace", "payments", "--name", "Alice_Payments"], "is not a DNS-1123 label"),
    (["--namespace", "payments", "--role", "cluster-admin"], "pod-exec"),
    (["--namespace", "payments", "--duration", "9h"], "4h"),
    (["--namespace", "payments", "--requester", "mallory"], "accepted requesters are"),
    (["--namespace", "payments", "--requester", "../bob"], "is not a GitHub login"),
])
def test_hostile_input_is_refused_and_writes_nothing(
    repo: Path, capsys: pytest.CaptureFixture[str], extra: list[str], expected: str
) -> None:
    before = _tree(repo)
    # argparse keeps the last value of a repeated option: the hostile one wins.
    assert _request(repo, *extra) == 1
    err = capsys.readouterr().err
    assert expected in err
    assert "nothing was written" in err
    assert _tree(repo) == before
    assert not (repo.parent / "etc").exists()


def test_one_bad_namespace_of_several_writes_none(repo: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    assert _request(repo, "--namespace", "payments", "--namespace", "kube-public") == 1
    assert "kube-public" in capsys.readouterr().err
    assert not (repo / "requests").exists()


def test_existing_different_file_is_left_alone(repo: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    target = repo / "requests/prod/payments/alice-payments-inc4242.yaml"
    target.parent.mkdir(parents=True)
    target.write_text("# someone else's request\n")
    other = repo / "requests/prod/payments-api/alice-payments-api-inc4242.yaml"
    assert _request(repo, "--namespace", "payments-api,payments") == 1
    err = capsys.readouterr().err
    assert "already exists with different content" in err and "--name" in err
    assert target.read_text() == "# someone else's request\n"
    assert not other.exists()  # all or nothing


def test_symlinked_folder_is_refused(repo: Path, tmp_path_factory: pytest.TempPathFactory,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    outside = tmp_path_factory.mktemp("outside")
    (repo / "requests" / "prod").mkdir(parents=True)
    (repo / "requests" / "prod" / "payments").symlink_to(outside)
    assert _request(repo, "--namespace", "payments") == 1
    assert "symbolic link" in capsys.readouterr().err
    assert list(outside.iterdir()) == []


def test_invalid_policies_are_a_configuration_error(repo: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    (repo / "policies" / "janus.yaml").write_text("kind: JanusConfig\n")
    assert _request(repo, "--namespace", "payments") == 2
    assert "policies" in capsys.readouterr().err
    assert not (repo / "requests").exists()


def test_repo_dir_needs_a_requester(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["request", "--repo-dir", str(repo), "--cluster", "prod", "--namespace",
                 "payments", "--reason", REASON]) == 1
    assert "--requester" in capsys.readouterr().err


# -- --repo-dir -----------------------------------------------------------------------------------


def test_repo_dir_writes_files_that_janus_validate_accepts(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _request(repo, "--namespace", "payments", "--namespace", "payments-api",
                    "--duration", "2h") == 0
    out = capsys.readouterr().out
    written = sorted(p.relative_to(repo).as_posix() for p in (repo / "requests").rglob("*.yaml"))
    assert written == ["requests/prod/payments-api/alice-payments-api-inc4242.yaml",
                       "requests/prod/payments/alice-payments-inc4242.yaml"]
    assert "switch -c janus/request/alice/" in out and "push -u origin" in out
    assert all(path in out for path in written)
    assert main(["validate", "--repo", str(repo), "--members", str(MEMBERS)]) == 0
    # Run again: the same files are already there; nothing changes, same commands.
    before = _tree(repo)
    assert _request(repo, "--namespace", "payments", "--namespace", "payments-api",
                    "--duration", "2h") == 0
    assert capsys.readouterr().out.split("\n")[0] == out.split("\n")[0]
    assert _tree(repo) == before


def test_team_requester_needs_membership(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """payments-staging lists only a team: without --members the CLI says why it refuses."""
    args = ["request", "--repo-dir", str(repo), "--cluster", "staging", "--namespace",
            "payments", "--reason", REASON, "--requester", "alice"]
    assert main(args) == 1
    assert "pass --members FILE" in capsys.readouterr().err
    assert main([*args, "--members", str(MEMBERS)]) == 0
    assert main(["validate", "--repo", str(repo), "--members", str(MEMBERS)]) == 0


# -- --open-pr against the simulator -------------------------------------------------------------


@pytest.fixture
def sim(tmp_path: Path) -> Iterator[GitHubSimulator]:
    with GitHubSimulator.start() as simulator:
        seed_demo(simulator)
        simulator.add_user("mallory")
        yield simulator


def _token_file(sim: GitHubSimulator, tmp_path: Path, login: str) -> Path:
    path = tmp_path / f"{login}.token"
    path.write_text(sim.token(login) + "\n")
    path.chmod(0o600)
    return path


def _open(sim: GitHubSimulator, token: Path, *extra: str) -> int:
    return main(["request", "--open-pr", "--repo", "acme/access", "--github-api-url",
                 sim.base_url, "--token-file", str(token), "--cluster", "staging",
                 "--namespace", "payments", "--duration", "2h", "--reason", REASON, *extra])


def test_open_pr_twice_gives_one_pr_authored_by_the_requester(
    sim: GitHubSimulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    token = _token_file(sim, tmp_path, "alice")
    # payments-staging lists only the team acme/payments-devs: eligibility is asked of GitHub.
    assert _open(sim, token) == 0
    first = capsys.readouterr()
    assert _open(sim, token) == 0
    second = capsys.readouterr()
    url = first.out.strip()
    assert url and url == second.out.strip()
    pulls = list(sim.client("root").get_repo("acme/access").get_pulls(state="all"))
    assert len(pulls) == 1
    pull = pulls[0]
    assert url == pull.html_url
    assert pull.user.login == "alice"
    assert {c.author.login for c in pull.get_commits()} == {"alice"}
    (changed,) = [f.filename for f in pull.get_files()]
    assert changed.startswith("requests/staging/payments/alice-payments-")
    text = sim.read_file("acme/access", changed, ref=pull.head.sha)
    request, problems = load_request(changed, text)
    assert problems == [] and request is not None and request.requester == "alice"
    assert "Opened with `janus request`" in pull.body and "bob" in pull.body
    assert sim.token("alice") not in first.out + first.err + second.out + second.err


def test_open_pr_after_merge_says_it_is_already_there(
    sim: GitHubSimulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    token = _token_file(sim, tmp_path, "alice")
    assert _open(sim, token) == 0
    (pull,) = sim.client("root").get_repo("acme/access").get_pulls(state="all")
    capsys.readouterr()
    sim.merge("acme/access", pull.number, actor="root")
    assert _open(sim, token) == 1
    assert "already on main of acme/access" in capsys.readouterr().err
    assert len(list(sim.client("root").get_repo("acme/access").get_pulls(state="all"))) == 1


def test_open_pr_refuses_another_requester(sim: GitHubSimulator, tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    assert _open(sim, _token_file(sim, tmp_path, "alice"), "--requester", "bob") == 1
    assert "the PR author must be the requester" in capsys.readouterr().err
    assert list(sim.client("root").get_repo("acme/access").get_pulls(state="all")) == []


def test_open_pr_judges_against_the_default_branch_policies(
    sim: GitHubSimulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """mallory is in no team: refused before any branch exists; kube-system never."""
    assert _open(sim, _token_file(sim, tmp_path, "mallory")) == 1
    assert "accepted requesters are @acme/payments-devs" in capsys.readouterr().err
    assert _open(sim, _token_file(sim, tmp_path, "alice"), "--namespace", "kube-system") == 1
    assert "excluded" in capsys.readouterr().err
    repo = sim.client("root").get_repo("acme/access")
    assert list(repo.get_pulls(state="all")) == []
    assert [b.name for b in repo.get_branches()] == ["main"]


def test_open_pr_bad_token_is_a_clear_error(sim: GitHubSimulator, tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.token"
    bad.write_text("ghp_not_a_real_token\n")
    assert _open(sim, bad) == 2
    err = capsys.readouterr().err
    assert "refused the token" in err and "ghp_not_a_real_token" not in err
    assert _open(sim, tmp_path / "missing.token") == 2
    assert "cannot read it" in capsys.readouterr().err
