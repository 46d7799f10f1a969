"""Separation-of-duties approvals at merge (issue 13 item 2), on the simulator and the real API
server: a policy needing one approval from each of two groups, with excludeRequesterTeams.

Fresh teams per test (the session's people are shared): ``sre-*`` = sam, bob; ``leads-*`` =
carol, bob (bob is in both); ``devs-*`` = alice (the requester), plus carol in the
teammate case. The repository's CODEOWNERS is generated from the modified policies.
"""

from __future__ import annotations

import uuid

import pytest

from janus.gitops.crs import AccessRequests
from janus.model import load_policy_set_from_files
from janus.policy.codeowners import generate_codeowners
from tests.gitops import harness
from tests.gitops.harness import cr_name, open_request_pr, request_name

pytestmark = pytest.mark.k8s_real

POLICY = """\
apiVersion: janus.dev/v1alpha1
kind: AccessPolicy
metadata: {{name: payments-prod}}
spec:
  clusters: [prod]
  namespaces: [payments, "payments-*"]
  roles: [pod-exec]
  requesters: {{users: [alice], teams: [acme/{devs}]}}
  approvers:
    allOf:
      - {{name: SRE, teams: [acme/{sre}], required: 1}}
      - {{name: payments-leads, teams: [acme/{leads}], required: 1}}
    excludeRequesterTeams: true
  maxDuration: 4h
  ticketPattern: "^INC-[0-9]+$"
"""


@pytest.fixture
def sod_bed(github_sim):
    """A bed whose payments-prod policy needs SRE and payments-leads, CODEOWNERS to match."""
    sim, app_id, key, bot = github_sim
    tag = uuid.uuid4().hex[:6]
    teams = {"sre": f"sre-{tag}", "leads": f"leads-{tag}", "devs": f"devs-{tag}"}
    sim.add_team("acme", teams["sre"], members=["sam", "bob"])
    sim.add_team("acme", teams["leads"], members=["carol", "bob"])
    sim.add_team("acme", teams["devs"], members=["alice"])
    files = harness.template_files()
    files["policies/payments-prod.yaml"] = POLICY.format(**teams)
    policy_set = load_policy_set_from_files(
        {k: v.encode() for k, v in files.items() if k.startswith("policies/")})
    files[".github/CODEOWNERS"] = generate_codeowners(policy_set)
    bed = harness.Bed(sim, app_id, key, bot)
    bed.repo = harness.new_repo(sim, extra_files=files)
    bed.installation_id = sim.install_app(app_id, bed.repo)
    return bed, teams


@pytest.fixture
def sod_gitops(sod_bed, kube):
    return harness.make_gitops(sod_bed[0], kube)


def _merge(bed, gitops, number):
    bed.sim.merge(bed.repo, number, actor="root")
    return gitops.process_merge(number)


def test_one_approval_from_each_group_is_granted(sod_bed, sod_gitops, kube) -> None:
    bed, _ = sod_bed
    name = request_name()
    number = open_request_pr(bed.sim, bed.repo, name)
    bed.sim.review(bed.repo, number, "sam", "APPROVE")
    bed.sim.review(bed.repo, number, "carol", "APPROVE")
    verdict = _merge(bed, sod_gitops, number)
    assert verdict is not None and verdict.failure is None, verdict.failure
    cr = harness.raw_cr(kube, cr_name(name))
    assert cr is not None and cr["spec"]["provenance"]["approvers"] == ["carol", "sam"]


def test_one_person_in_both_groups_counts_once(sod_bed, sod_gitops, kube) -> None:
    bed, _ = sod_bed
    name = request_name()
    number = open_request_pr(bed.sim, bed.repo, name)
    bed.sim.review(bed.repo, number, "bob", "APPROVE")
    verdict = _merge(bed, sod_gitops, number)
    assert verdict is not None and verdict.failure is not None
    assert verdict.failure.step == "approvals"
    assert AccessRequests(kube).get(cr_name(name)) is None
    refusal = [b for b in harness.comments_of(bed.sim, bed.repo, number) if "nothing granted" in b]
    assert len(refusal) == 1
    assert "1 of 2 required approvals: SRE: 1/1 ✓, payments-leads: 0/1" in refusal[0]
    assert "one person counts once across groups" in refusal[0]


def test_the_person_in_both_groups_plus_another_is_granted(sod_bed, sod_gitops, kube) -> None:
    bed, _ = sod_bed
    name = request_name()
    number = open_request_pr(bed.sim, bed.repo, name)
    bed.sim.review(bed.repo, number, "bob", "APPROVE")
    bed.sim.review(bed.repo, number, "sam", "APPROVE")
    verdict = _merge(bed, sod_gitops, number)
    assert verdict is not None and verdict.failure is None, verdict.failure
    assert AccessRequests(kube).get(cr_name(name)) is not None


def test_a_teammate_of_the_requester_does_not_count(sod_bed, sod_gitops, kube) -> None:
    bed, teams = sod_bed
    bed.sim.set_team_members("acme", teams["devs"], ["alice", "carol"])
    name = request_name()
    number = open_request_pr(bed.sim, bed.repo, name)
    bed.sim.review(bed.repo, number, "sam", "APPROVE")
    bed.sim.review(bed.repo, number, "carol", "APPROVE")
    verdict = _merge(bed, sod_gitops, number)
    assert verdict is not None and verdict.failure is not None
    assert verdict.failure.step == "approvals"
    assert AccessRequests(kube).get(cr_name(name)) is None
    refusal = [b for b in harness.comments_of(bed.sim, bed.repo, number) if "nothing granted" in b]
    assert len(refusal) == 1
    assert f"carol: shares @acme/{teams['devs']} with the requester alice" in refusal[0]
    assert "SRE: 1/1 ✓, payments-leads: 0/1" in refusal[0]


def test_the_check_run_and_plan_comment_show_each_group(sod_bed, sod_gitops) -> None:
    bed, _ = sod_bed
    name = request_name()
    number = open_request_pr(bed.sim, bed.repo, name)
    sod_gitops.check_pull(number)
    head = bed.sim.pull(bed.repo, number)["head"]["sha"]

    def plan() -> str:
        plans = [b for b in harness.comments_of(bed.sim, bed.repo, number) if "janus:plan" in b]
        assert len(plans) == 1
        return plans[0]

    def summary() -> str:
        runs = [r for r in bed.sim.world.repo(bed.repo).check_runs.values()
                if r.head_sha == head]
        assert len(runs) == 1
        return str(runs[0].output["summary"])

    expected = f"approvals so far on `{head[:12]}`: SRE: 0/1, payments-leads: 0/1"
    assert expected in plan() and expected in summary()
    assert "2 approvals from every group, one person counting once: SRE (1 approval" in plan()
    bed.sim.review(bed.repo, number, "bob", "APPROVE")  # in both groups: fills one seat only
    sod_gitops.check_pull(number)
    expected = f"approvals so far on `{head[:12]}`: SRE: 1/1 ✓, payments-leads: 0/1"
    assert expected in plan() and expected in summary()
    bed.sim.review(bed.repo, number, "sam", "APPROVE")
    sod_gitops.check_pull(number)
    expected = f"approvals so far on `{head[:12]}`: SRE: 1/1 ✓, payments-leads: 1/1 ✓"
    assert expected in plan() and expected in summary()
