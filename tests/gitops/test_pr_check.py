"""Before merge: the ``janus/policy`` check run with line annotations, and one plan comment per
PR, edited in place on every push."""

from __future__ import annotations

import pytest
from github import Auth, Github

from tests.gitops import harness
from tests.gitops.harness import open_request_pr, request_name, request_path

pytestmark = pytest.mark.k8s_real


def _check_runs(bed, sha: str):
    gh = Github(auth=Auth.Token(bed.sim.token("root")), base_url=bed.sim.base_url, retry=None,
                seconds_between_requests=None, seconds_between_writes=None)
    return list(gh.get_repo(bed.repo).get_commit(sha).get_check_runs(check_name="janus/policy"))


def _plans(bed, number: int) -> list[str]:
    return [b for b in harness.comments_of(bed.sim, bed.repo, number) if "janus:plan" in b]


def test_valid_request_gets_a_successful_check_and_a_plan(bed, gitops) -> None:
    name = request_name()
    number = open_request_pr(bed.sim, bed.repo, name)
    gitops.check_pull(number)
    head = bed.sim.pull(bed.repo, number)["head"]["sha"]
    runs = _check_runs(bed, head)
    assert len(runs) == 1 and runs[0].conclusion == "success"
    plans = _plans(bed, number)
    assert len(plans) == 1
    assert "kind: RoleBinding" in plans[0] and "janus-pod-exec" in plans[0]
    assert "acme/payments-leads" in plans[0]
    gitops.check_pull(number)  # a replay: still one check run, still one comment
    assert len(_check_runs(bed, head)) == 1 and len(_plans(bed, number)) == 1


def test_invalid_request_fails_with_one_annotation_per_error_and_the_plan_is_edited(
    bed, gitops
) -> None:
    name = request_name()
    number = open_request_pr(bed.sim, bed.repo, name)
    gitops.check_pull(number)
    bad = harness.request_yaml(name, duration="9h", ticket="JIRA-1")
    head = bed.sim.push(bed.repo, f"req/{name}", {request_path(name): bad}, author="alice",
                        message="longer")
    gitops.check_pull(number)
    runs = _check_runs(bed, head)
    assert len(runs) == 1 and runs[0].conclusion == "failure"
    assert runs[0].output.annotations_count >= 2
    # The simulator has no GET .../annotations endpoint: read what it stored from the POST.
    stored = bed.sim.world.repo(bed.repo).check_runs[runs[0].id].output["annotations"]
    assert len(stored) == runs[0].output.annotations_count
    assert {a["path"] for a in stored} == {request_path(name)}
    lines = {a["start_line"] for a in stored}
    assert 10 in lines  # the duration line
    plans = _plans(bed, number)
    assert len(plans) == 1, "the plan comment is edited in place, not added"
    assert head[:12] in plans[0] and "Problems" in plans[0]


def test_pr_touching_policies_fails_the_check(bed, gitops) -> None:
    name = request_name()
    number = open_request_pr(bed.sim, bed.repo, name, files={
        request_path(name): harness.request_yaml(name), "policies/extra.yaml": "x: 1\n"})
    gitops.check_pull(number)
    head = bed.sim.pull(bed.repo, number)["head"]["sha"]
    runs = _check_runs(bed, head)
    assert runs[0].conclusion == "failure"
    assert "policies/extra.yaml" in _plans(bed, number)[0]


def test_policy_only_pr_is_not_judged_as_a_request(bed, gitops) -> None:
    bed.sim.push(bed.repo, "policy-change", {"policies/README.md": "notes\n"}, author="root",
                 message="docs", base="main")
    number = bed.sim.create_pull(bed.repo, head="policy-change", title="docs", author="root")
    gitops.check_pull(number)
    head = bed.sim.pull(bed.repo, number)["head"]["sha"]
    assert _check_runs(bed, head)[0].conclusion == "success"
    assert _plans(bed, number) == []


def test_pr_that_only_deletes_request_files_says_it_revokes(bed, gitops) -> None:
    name, _ = harness.granted_request(bed, gitops)
    bed.sim.push(bed.repo, f"rm/{name}", {request_path(name): None}, author="alice",
                 message="done", base="main")
    number = bed.sim.create_pull(bed.repo, head=f"rm/{name}", title="done", author="alice")
    gitops.check_pull(number)
    head = bed.sim.pull(bed.repo, number)["head"]["sha"]
    runs = _check_runs(bed, head)
    assert runs[0].conclusion == "success" and runs[0].output.title == "Revocation only"
    plans = _plans(bed, number)
    assert len(plans) == 1
    assert "No request files" not in plans[0], plans[0]
    assert "revoke" in plans[0] and request_path(name) in plans[0]
    assert harness.cr_name(name) in plans[0]


def test_another_apps_run_of_the_same_name_does_not_stand_in_for_janus(bed, gitops) -> None:
    """Any App installed on the repository can create a run named ``janus/policy``. Found by
    name only, Janus edited that App's run (GitHub: 403) and fell back to a commit status, so
    the required check pinned to the Janus App never reported — or the impostor's green run
    stood in for it."""
    import uuid

    name = request_name()
    number = open_request_pr(bed.sim, bed.repo, name, duration="9h")  # over the policy's max
    head = bed.sim.pull(bed.repo, number)["head"]["sha"]
    impostor, _ = bed.sim.create_app(f"impostor-{uuid.uuid4().hex[:6]}", owner="acme")
    installation = bed.sim.install_app(impostor, bed.repo)
    other = Github(auth=Auth.Token(bed.sim.installation_token(installation)),
                   base_url=bed.sim.base_url, retry=None, seconds_between_requests=None,
                   seconds_between_writes=None)
    other.get_repo(bed.repo).create_check_run("janus/policy", head, conclusion="success",
                                              output={"title": "all good", "summary": "trust me"})
    gitops.check_pull(number)
    runs = {r.app.id: r.conclusion for r in _check_runs(bed, head)}
    assert runs == {impostor: "success", bed.app_id: "failure"}, runs
    gitops.check_pull(number)  # a replay edits Janus's own run, still one per App
    assert len(_check_runs(bed, head)) == 2


def test_pr_beyond_the_size_limit_fails_the_check_with_within_list_limits(bed, gitops) -> None:
    """The PR check says before merge what verification refuses at merge: a request PR of more
    than ``MAX_PR_FILES`` files (here the request and 300 README.md notes under requests/,
    which are not request files) fails."""
    from janus.gitops import verify

    name = request_name()
    files: dict[str, str | None] = {request_path(name): harness.request_yaml(name)}
    files |= {f"requests/notes/{i:03}/README.md": "note\n"
              for i in range(verify.MAX_PR_FILES)}
    number = open_request_pr(bed.sim, bed.repo, name, files=files)
    gitops.check_pull(number)
    head = bed.sim.pull(bed.repo, number)["head"]["sha"]
    runs = _check_runs(bed, head)
    assert len(runs) == 1 and runs[0].conclusion == "failure"
    plan = _plans(bed, number)[0]
    assert "within-list-limits" in plan and "301 changed files" in plan, plan
