"""§9 invariant 6: webhooks without a valid signature change nothing.

The existing tests forge a *merge* delivery (which the worker would not trust anyway: it re-reads
the PR from the API). The sharper case is a delivery that WOULD act if it were accepted: here a
genuine `/janus revoke` comment exists on GitHub, the simulator's own signed delivery of it is
held back, and its exact bytes are replayed at the real receiver unsigned, wrongly signed,
with a tampered body under the genuine signature, and with only the legacy SHA-1 header. None
may touch the AccessRequest or say anything on the PR. Then the genuine delivery is released and
the revocation does happen, so the refusals were about the signature alone.
"""

from __future__ import annotations

import hashlib
import hmac

import httpx
import pytest

from janus.webhook.signature import sign
from tests.e2e.conftest import e2e_sim, janus_ns, loop  # noqa: F401
from tests.gitops import harness
from tests.gitops.harness import cr_name, open_request_pr, request_name

pytestmark = pytest.mark.k8s_real


def test_forged_revoke_deliveries_change_nothing_the_genuine_one_revokes(loop) -> None:  # noqa: F811
    sim, repo = loop.bed.sim, loop.bed.repo
    name = request_name()
    number = open_request_pr(sim, repo, name)
    sim.review(repo, number, "bob", "APPROVE")
    sim.merge(repo, number, actor="root")
    loop.settle()
    before = harness.raw_cr(loop.crs.api_client, cr_name(name), loop.janus_ns)
    assert before is not None and "revocation" not in before["spec"]

    sim.set_delivery_mode("hold")
    sim.comment(repo, number, "alice", "/janus revoke done with the incident")
    held = [d for d in sim.held_deliveries() if d.event == "issue_comment"]
    assert len(held) == 1
    genuine = held[0]
    comments_before = harness.comments_of(sim, repo, number)

    body = genuine.body
    base = {k: v for k, v in genuine.headers.items()
            if k.lower() not in ("x-hub-signature-256", "x-hub-signature", "content-length")}
    legacy = "sha1=" + hmac.new(loop.secret, body, hashlib.sha1).hexdigest()
    forged = [
        (body, {}),                                                         # unsigned
        (body, {"X-Hub-Signature-256": sign(b"not the secret", body)}),     # wrong secret
        (body + b" ", {"X-Hub-Signature-256": sign(loop.secret, body)}),    # tampered body
        (body, {"X-Hub-Signature": legacy}),                                # SHA-1 only
    ]
    for i, (content, extra) in enumerate(forged):
        guid = f"forged-revoke-{i}"
        headers = {**base, "X-GitHub-Delivery": guid, **extra}
        assert httpx.post(loop.receiver.url, content=content, headers=headers).status_code == 401
        assert loop.receiver.store.state_of(guid) is None
    assert loop.receiver.pool.wait_idle(10)
    after = harness.raw_cr(loop.crs.api_client, cr_name(name), loop.janus_ns)
    assert after is not None and after["spec"] == before["spec"]
    assert harness.comments_of(sim, repo, number) == comments_before

    # Control: the very same event, genuinely signed, does revoke.
    sim.set_delivery_mode("sync")
    sim.release_held()
    loop.settle()
    revoked = harness.raw_cr(loop.crs.api_client, cr_name(name), loop.janus_ns)
    assert revoked is not None and revoked["spec"]["revocation"]["by"] == "alice"
