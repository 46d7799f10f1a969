"""The request timeline in a real browser: Debian's Chromium driven by Playwright, the web app
served by uvicorn with the web app's own restricted Kubernetes identity, the GitHub simulator
and the real control plane.

alice's request PR is approved and merged by bob on the simulator; the grant is made as the
receiver and the controller make it (AccessRequest with the PR as provenance, ServiceAccount,
RoleBinding, token Secret); alice opens a real terminal session on the pod. The admin's
timeline then shows the reviews, the merge, the grant Active, the session with its replay link,
and — without a reload — the end with who and why once the admin revokes from the admin view.
alice's own timeline shows the session without a replay link (replays are for admins).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from kubernetes import client
from playwright.sync_api import expect

from janus import names, resource
from janus.dev.controlplane import LocalCluster
from janus.dev.github_sim import GitHubSimulator
from tests.browser_support import (
    CHROMIUM,
    VENDOR,
    collect_problems,
    dev_sign_in,
    launch_chromium,
    require,
    wait_for,
)
from tests.k8s_helpers import (
    create_access_request,
    create_namespace,
    create_pod,
    make_grant_secret,
)
from tests.web.conftest import JANUS_CONFIG, PAYMENTS_POLICY
from tests.web.terminal.support import ADMIN, AppServer, in_seconds, web_kubeconfig

pytestmark = pytest.mark.k8s_real

REPO = "acme/access"
USERS = ("root", "alice", "bob", "carol")
MEMBERSHIP = "teams:\n  acme/payments-leads: [bob, carol]\n"
LIVE_MS = 30_000


@pytest.fixture(scope="module")
def sim() -> Iterator[GitHubSimulator]:
    with GitHubSimulator.start() as simulator:
        for login in USERS:
            simulator.add_user(login)
        simulator.add_org("acme", admins=["root"])
        simulator.create_repo(
            "acme", "access",
            files={"policies/janus.yaml": JANUS_CONFIG,
                   "policies/payments-prod.yaml": PAYMENTS_POLICY,
                   ".github/CODEOWNERS": "/requests/prod/ @acme/payments-leads\n"},
            collaborators={"alice": "write", "bob": "write", "carol": "write", "root": "admin"},
        )
        yield simulator


@pytest.fixture(scope="module")
def replica(cluster: LocalCluster, sim: GitHubSimulator,
            tmp_path_factory: pytest.TempPathFactory) -> Iterator[AppServer]:
    work = tmp_path_factory.mktemp("timeline-browser")
    (work / "membership.yaml").write_text(MEMBERSHIP)
    with AppServer.running(
        web_kubeconfig(cluster, work), work / "web.db", auth_mode="dev",
        github_api_url=sim.base_url, github_token=sim.token("root"),
        dev_user_tokens={u: sim.token(u) for u in USERS},
        membership_file=work / "membership.yaml",
    ) as server:
        yield server


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    require(CHROMIUM.exists(), "no /usr/bin/chromium (make browser installs it)")
    require((VENDOR / "xterm" / "xterm.js").exists(), "no vendored assets (make assets)")
    with launch_chromium() as chromium:
        yield chromium


def _merged_request(sim: GitHubSimulator) -> int:
    name = f"alice-payments-{uuid.uuid4().hex[:6]}"
    branch = f"janus/request/alice/{name}"
    sim.push(REPO, branch, {f"requests/prod/payments/{name}.yaml": f"""\
apiVersion: janus.dev/v1alpha1
kind: AccessRequest
metadata: {{name: {name}}}
spec:
  requester: alice
  cluster: prod
  namespace: payments
  role: pod-exec
  duration: 1h
  reason: "INC-88: payment workers are stuck"
  ticket: INC-88
"""}, "alice", f"Request {name}")
    number = sim.create_pull(REPO, branch, "Access request: alice → prod/payments", "alice")
    sim.review(REPO, number, "carol", "REQUEST_CHANGES", "Which workers?")
    sim.review(REPO, number, "bob", "APPROVE")
    sim.merge(REPO, number, "bob")
    return number


def test_timeline_shows_reviews_merge_grant_session_and_the_end(
    browser, replica: AppServer, sim: GitHubSimulator, cluster: LocalCluster
) -> None:
    number = _merged_request(sim)
    # The grant, as the receiver (AccessRequest from the PR) and controller (token) make it.
    namespace = f"t-{uuid.uuid4().hex[:10]}"
    api = cluster.admin_client()
    create_namespace(api, namespace)
    create_pod(api, namespace)
    expires_at = in_seconds(3600)
    cr_name = create_access_request(cluster, request_name=f"req-{namespace}", requester="alice",
                                    namespace=namespace, expires_at=expires_at,
                                    pull_request=number)
    make_grant_secret(cluster, cr_name=cr_name, requester="alice", namespace=namespace,
                      expires_at=expires_at)
    client.CustomObjectsApi(api).patch_namespaced_custom_object_status(
        resource.GROUP, resource.VERSION, names.JANUS_NAMESPACE, resource.PLURAL, cr_name,
        {"status": {"grantedAt": in_seconds(0)}})   # the controller records when it granted

    alice_ctx = browser.new_context(viewport={"width": 1300, "height": 900})
    admin_ctx = browser.new_context(viewport={"width": 1300, "height": 1000})
    problems: list[str] = []
    try:
        # alice opens a real terminal session on the pod.
        terminal = alice_ctx.new_page()
        collect_problems(terminal, problems)
        dev_sign_in(terminal, f"{replica.base}/terminal/{cr_name}", "alice")
        pane = terminal.locator(".term-workspace:not([hidden]) .term-pane").first
        wait_for(lambda: pane.locator(".term-pod option").count() > 0, 15, "pods listed")
        pane.locator(".term-connect").click()
        wait_for(lambda: "Connected" in (pane.locator(".term-status").text_content() or ""),
                 20, "terminal connected")

        # The admin's timeline: reviews, merge, grant, the session with its replay link.
        timeline = admin_ctx.new_page()
        collect_problems(timeline, problems)
        dev_sign_in(timeline, f"{replica.base}/requests/pr/{number}/timeline", ADMIN)
        events = timeline.locator("[data-testid=timeline] li")
        expect(events.filter(has_text="Opened by alice")).to_have_count(1)
        expect(events.filter(has_text="Check ")).to_have_count(0)   # no check ran here
        expect(events.filter(has_text="Changes requested by carol")).to_have_count(1)
        expect(events.filter(has_text="Approved by bob")).to_have_count(1)
        expect(events.filter(has_text="Merged by bob")).to_have_count(1)
        expect(events.filter(has_text="Granted: Active until")).to_have_count(1)
        session = events.filter(has_text="Terminal session by alice on target/app")
        expect(session).to_have_count(1, timeout=LIVE_MS)
        replay = session.locator("[data-testid=replay-link]")
        assert (replay.get_attribute("href") or "").startswith("/admin/sessions/")
        pr_link = timeline.locator("[data-testid=timeline-pr]").get_attribute("href") or ""
        assert pr_link.endswith(f"/acme/access/pull/{number}"), pr_link
        kinds = [k for k in events.evaluate_all("els => els.map(e => e.dataset.kind)")]
        assert kinds.index("opened") < kinds.index("review") < kinds.index("merged") \
            < kinds.index("granted") < kinds.index("session"), kinds
        timeline.evaluate("() => { window.janusNoReload = 'kept'; }")

        # The admin revokes from the admin view (confirming the dialog), with a reason.
        admin = admin_ctx.new_page()
        collect_problems(admin, problems)
        admin.goto(f"{replica.base}/admin")
        row = admin.locator(f"tr#grant-{cr_name}")
        expect(row.locator("[data-testid=admin-timeline]")).to_have_count(1)
        row.locator("input[name=reason]").fill("INC-88 resolved, access no longer needed")
        admin.once("dialog", lambda dialog: dialog.accept())
        row.locator("button.danger").click()

        # The timeline says how it ended, by whom and why, without a reload.
        ended = events.filter(has_text="Ended: Revoked by root-admin")
        expect(ended).to_have_count(1, timeout=LIVE_MS)
        expect(ended).to_contain_text("INC-88 resolved, access no longer needed")
        expect(events.filter(has_text="Revocation requested by root-admin")).to_have_count(1)
        assert timeline.evaluate("() => window.janusNoReload") == "kept"

        # alice's own timeline of the grant: the session, but no replay (admins only).
        mine = alice_ctx.new_page()
        collect_problems(mine, problems)
        mine.goto(f"{replica.base}/grants/{cr_name}/timeline")
        mine_events = mine.locator("[data-testid=timeline] li")
        expect(mine_events.filter(has_text="Terminal session by alice")).to_have_count(1)
        expect(mine.locator("[data-testid=replay-link]")).to_have_count(0)
        expect(mine_events.filter(has_text="Ended: Revoked by root-admin")).to_have_count(1)
        assert problems == []
    finally:
        alice_ctx.close()
        admin_ctx.close()
