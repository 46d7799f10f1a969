"""§9 invariant 4: a requester can never count as their own approver.

GitHub already refuses a review by the PR's author, so the dangerous case is a PR the Janus App
opened on the requester's behalf (the web form's path): GitHub then lets the requester approve.
The existing GitOps test has alice approve her own app-opened request, but alice is no approver
of her policy anyway, so the refusal cannot tell the two rules apart. Here the requester is sam,
an SRE: eligible under sre-oncall, an approver of it AND a code owner of requests/prod/*/, so the
requester rule is the only thing standing between him and a self-approved grant. A control shows
the identical PR approved by another SRE (root) is granted. The login is also tried in another
case, since GitHub logins are case-insensitive and a case-sensitive comparison would let
"SAM" approve "sam"'s request.
"""

from __future__ import annotations

import pytest

from janus.gitops.crs import AccessRequests
from tests.gitops import harness
from tests.gitops.harness import cr_name, request_name, request_path

pytestmark = pytest.mark.k8s_real

NS = "tools"  # covered only by sre-oncall (namespaces: ["*"]), approvers @acme/sre


def _app_pr(bed, gitops, name: str, requester_in_file: str) -> int:
    """A PR opened by the Janus App for sam, as the web form opens it: through the API with the
    App's installation token (Janus's own ``open_request_pr``), so its commit is GitHub-signed
    as the App's, which is what makes an App-opened PR acceptable at all."""
    from janus.gitops.request_pr import open_request_pr

    files = {request_path(name, namespace=NS):
             harness.request_yaml(name, requester=requester_in_file, namespace=NS)}
    return open_request_pr(gitops.repo, "sam", files, f"Access request {name}",
                           "opened by Janus for sam").number


def _merge(bed, gitops, number: int):
    bed.sim.merge(bed.repo, number, actor="root")
    return gitops.process_merge(number)


@pytest.mark.parametrize("requester_in_file", ["sam", "SAM"])
def test_requester_who_is_a_valid_approver_cannot_approve_their_own_app_opened_pr(
        bed, gitops, kube, requester_in_file: str) -> None:
    name = request_name("sam")
    number = _app_pr(bed, gitops, name, requester_in_file)
    bed.sim.review(bed.repo, number, "sam", "APPROVE")
    verdict = _merge(bed, gitops, number)
    assert verdict is not None and verdict.failure is not None, "sam approved his own request"
    assert verdict.failure.step == "approvals", verdict.failure
    assert AccessRequests(kube).get(cr_name(name, namespace=NS)) is None
    refusal = [b for b in harness.comments_of(bed.sim, bed.repo, number) if "nothing granted" in b]
    assert len(refusal) == 1 and "sam: is the requester" in refusal[0], refusal


def test_control_the_same_pr_approved_by_another_sre_is_granted(bed, gitops, kube) -> None:
    name = request_name("sam")
    number = _app_pr(bed, gitops, name, "sam")
    bed.sim.review(bed.repo, number, "root", "APPROVE")
    verdict = _merge(bed, gitops, number)
    assert verdict is not None and verdict.failure is None, verdict.failure
    assert AccessRequests(kube).get(cr_name(name, namespace=NS)) is not None
