"""§9 invariant 5: excluded namespaces are never granted — at the receiver's merge verification,
with the shipped `sre-oncall` policy whose `namespaces: ["*"]` glob covers every namespace.

The unit tests prove evaluate() refuses them and the controller tests prove the controller
refuses a CR naming one; this proves the layer in between: a request PR for an excluded
namespace that a human did approve (an eligible SRE, approved by another SRE, merged by an admin)
still produces no AccessRequest. A control case in a non-excluded namespace, identical otherwise,
IS granted, so the refusals are about the namespace and nothing else.
"""

from __future__ import annotations

import pytest

from janus.gitops.crs import AccessRequests
from tests.gitops import harness
from tests.gitops.harness import cr_name, open_request_pr, request_name

pytestmark = pytest.mark.k8s_real


def _approved_and_merged(bed, gitops, namespace: str):
    name = request_name("sam")
    # sam is an SRE: eligible under sre-oncall's "*"; root (another SRE) approves and merges.
    number = open_request_pr(bed.sim, bed.repo, name, author="sam", requester="sam",
                             namespace=namespace, duration="1h")
    bed.sim.review(bed.repo, number, "root", "APPROVE")
    bed.sim.merge(bed.repo, number, actor="root")
    return name, number, gitops.process_merge(number)


def test_control_a_glob_covered_namespace_is_granted(bed, gitops, kube) -> None:
    name, _, verdict = _approved_and_merged(bed, gitops, "tools")
    assert verdict is not None and verdict.failure is None, verdict.failure
    assert AccessRequests(kube).get(cr_name(name, namespace="tools")) is not None


# Every namespace policies/janus.yaml excludes (janus and janus-tokens are excluded whatever it
# says).
@pytest.mark.parametrize("namespace", ["kube-system", "kube-public", "kube-node-lease", "janus",
                                       "janus-tokens"])
def test_excluded_namespace_is_refused_at_merge_even_under_a_star_policy(
        bed, gitops, kube, namespace: str) -> None:
    name, number, verdict = _approved_and_merged(bed, gitops, namespace)
    assert verdict is not None and verdict.failure is not None
    assert AccessRequests(kube).get(cr_name(name, namespace=namespace)) is None
    bodies = harness.comments_of(bed.sim, bed.repo, number)
    assert any("nothing granted" in b and "excluded" in b for b in bodies), bodies
