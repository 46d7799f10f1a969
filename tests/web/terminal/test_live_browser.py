"""Live pages in a real browser (Debian's Chromium via Playwright), with NO reloads: "My access",
the admin view and the terminal page follow the grant watcher's events (GET /events/grants).

The AccessRequests are written as the receiver (on merge) and the controller (Active, Expired)
write them; what is under test is that the pages notice by themselves.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from kubernetes import client
from playwright.sync_api import expect

from janus import names, resource
from janus.dev.controlplane import LocalCluster
from tests.browser_support import CHROMIUM, VENDOR, collect_problems, launch_chromium, require
from tests.k8s_helpers import (
    create_access_request,
    create_namespace,
    create_pod,
    make_grant_secret,
)
from tests.web.terminal.support import ADMIN, AppServer, in_seconds

pytestmark = pytest.mark.k8s_real

# Set on the page once; a reload would lose it.
MARK = "() => { window.janusNoReload = 'kept'; }"
KEPT = "() => window.janusNoReload"


@pytest.fixture(scope="module")
def live_replica(web_kube: Path, terminal_dir: Path) -> Iterator[AppServer]:
    replica = AppServer.start(web_kube, terminal_dir / "live.db", auth_mode="dev")
    try:
        yield replica
    finally:
        replica.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    require(CHROMIUM.exists(), "no /usr/bin/chromium (make browser installs it)")
    require((VENDOR / "htmx" / "htmx.min.js").exists(), "no vendored assets (make assets)")
    with launch_chromium() as chromium:
        yield chromium


def _custom(cluster: LocalCluster) -> client.CustomObjectsApi:
    return client.CustomObjectsApi(cluster.admin_client())


def _patch_status(cluster: LocalCluster, cr_name: str, status: dict[str, Any]) -> None:
    _custom(cluster).patch_namespaced_custom_object_status(
        resource.GROUP, resource.VERSION, names.JANUS_NAMESPACE, resource.PLURAL, cr_name,
        {"status": status})


def _activate(cluster: LocalCluster, cr_name: str, namespace: str, seconds: float) -> None:
    """What the controller does: the token Secret, then phase Active with expiresAt."""
    expires_at = in_seconds(seconds)
    make_grant_secret(cluster, cr_name=cr_name, requester="alice", namespace=namespace,
                      expires_at=expires_at)
    _patch_status(cluster, cr_name, {"phase": "Active", "expiresAt": expires_at})


def _approved_grant(cluster: LocalCluster, tag: str, pull_request: int) -> tuple[str, str]:
    """An AccessRequest as the receiver creates it on merge (phase Approved, no token yet)."""
    namespace = f"live-{tag}-{int(time.time() * 1000) % 10**8}"
    api = cluster.admin_client()
    create_namespace(api, namespace)
    create_pod(api, namespace, containers=("app",))
    cr_name = create_access_request(
        cluster, request_name=f"req-{namespace}", requester="alice", namespace=namespace,
        phase="Approved", pull_request=pull_request)
    # Who approved the merge, as the receiver records it in the provenance.
    _custom(cluster).patch_namespaced_custom_object(
        resource.GROUP, resource.VERSION, names.JANUS_NAMESPACE, resource.PLURAL, cr_name,
        {"spec": {"provenance": {"repo": "acme/access", "pullRequest": pull_request,
                                 "approvers": ["bob"]}}})
    return cr_name, namespace


def _log_in(page: Any, base: str, login: str, path: str) -> None:
    page.goto(f"{base}{path}")
    page.fill("input[name=login]", login)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}{path}")
    expect(page.locator("html[data-live=on]")).to_have_count(1, timeout=10000)
    page.evaluate(MARK)


def test_merge_active_and_admin_revoke_update_pages_without_reload(
    browser: Any, live_replica: AppServer, cluster: LocalCluster
) -> None:
    base = live_replica.base
    alice = browser.new_context(viewport={"width": 1300, "height": 900})
    admin = browser.new_context(viewport={"width": 1300, "height": 900})
    problems: list[str] = []
    try:
        home = alice.new_page()
        collect_problems(home, problems)
        _log_in(home, base, "alice", "/")

        # Merge: the receiver creates the AccessRequest (Approved) — it appears by itself.
        cr_name, namespace = _approved_grant(cluster, "merge", 7301)
        row = home.locator(f"#grant-{cr_name}")
        expect(row).to_contain_text("Approved", timeout=5000)
        expect(row.locator("a", has_text="Open terminal")).to_have_count(0)
        # The controller makes it Active: countdown and the terminal link, still no reload.
        _activate(cluster, cr_name, namespace, 3600)
        expect(row.locator(".countdown")).to_have_text(re.compile(r"^(\d+h )?\d+m \d\ds left$"),
                                                       timeout=5000)
        expect(row.locator("a", has_text="Open terminal")).to_have_count(1)

        terminal = alice.new_page()
        collect_problems(terminal, problems)
        terminal.goto(f"{base}/terminal/{cr_name}")
        expect(terminal.locator("html[data-live=on]")).to_have_count(1, timeout=10000)
        terminal.evaluate(MARK)
        expect(terminal.locator("#term-countdown")).to_have_text(re.compile(r"^(\d+:)?\d+:\d\d$"))

        # An admin revokes from the admin view, filtered to alice's Active grants: the PR is a
        # link, the approver is shown, and the view asks for confirmation first.
        board = admin.new_page()
        collect_problems(board, problems)
        _log_in(board, base, ADMIN, "/admin")
        board.goto(f"{base}/admin?user=alice&phase=Active")
        expect(board.locator("html[data-live=on]")).to_have_count(1, timeout=10000)
        admin_row = board.locator(f"#grant-{cr_name}")
        expect(admin_row.locator("[data-testid=admin-pr]")).to_have_attribute(
            "href", "https://github.com/acme/access/pull/7301")
        expect(admin_row.locator("[data-testid=admin-approvers]")).to_have_text("bob")
        admin_row.locator("input[name=reason]").fill("INC-7 closed, live test")
        asked: list[str] = []
        board.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.dismiss()))
        admin_row.locator("button", has_text="Revoke").click()
        expect(admin_row).to_have_count(1)
        assert asked == [f"Revoke alice's access to central/{namespace} now?"], asked
        board.once("dialog", lambda dialog: dialog.accept())
        started = time.monotonic()
        admin_row.locator("button", has_text="Revoke").click()

        # The requester's pages say so within 2 s: who and why, no countdown, no terminal link.
        expect(terminal.locator("#term-warning")).to_contain_text(
            f"Revoked by {ADMIN}: INC-7 closed, live test", timeout=2000)
        expect(home.locator(f"#grant-{cr_name}")).to_have_count(0, timeout=2000)
        past = home.locator("[data-testid=past-grants] tr", has_text=namespace)
        expect(past).to_contain_text(f"by {ADMIN}", timeout=2000)
        elapsed = time.monotonic() - started
        assert elapsed < 2.0, elapsed
        expect(terminal.locator("#term-countdown")).to_have_text("ended")
        # The admin view shows the grant as ended right after the action (filters kept).
        expect(board.locator(f"#grant-{cr_name}")).to_have_count(0, timeout=2000)
        assert board.url.endswith("/admin?user=alice&phase=Active")
        board.goto(f"{base}/admin?user=alice&phase=revoked")
        ended = board.locator("[data-testid=admin-ended] tr", has_text=namespace)
        expect(ended).to_contain_text(f"by {ADMIN}: INC-7 closed, live test")
        expect(ended.locator("[data-testid=admin-ended-at]")).not_to_have_text("")
        assert home.evaluate(KEPT) == "kept" and terminal.evaluate(KEPT) == "kept"

        # The ended grant's terminal URL says it ended, by whom and why, and links its PR.
        terminal.goto(f"{base}/terminal/{cr_name}")
        expect(terminal.locator("[data-testid=ended-how]")).to_have_text(
            f"Revoked by {ADMIN}: INC-7 closed, live test.")
        assert terminal.locator("#term-countdown").count() == 0
        pr = terminal.locator("[data-testid=past-pr]")
        assert pr.get_attribute("href") == "https://github.com/acme/access/pull/7301"
        assert problems == [], problems
    finally:
        alice.close()
        admin.close()


def test_expiry_banner_counts_down_then_says_expired(
    browser: Any, live_replica: AppServer, cluster: LocalCluster
) -> None:
    base = live_replica.base
    cr_name, namespace = _approved_grant(cluster, "expiry", 7302)
    _activate(cluster, cr_name, namespace, 120)
    context = browser.new_context(viewport={"width": 1300, "height": 900})
    problems: list[str] = []
    try:
        terminal = context.new_page()
        collect_problems(terminal, problems)
        _log_in(terminal, base, "alice", f"/terminal/{cr_name}")
        banner = terminal.locator("#term-warning")
        expect(banner).to_contain_text(re.compile(r"ends in 1:\d\d\."), timeout=3000)
        first = banner.text_content()
        expect(banner).not_to_have_text(first or "", timeout=3000)  # it counts
        # The controller expires the grant (as at expiresAt): the page stops and says so.
        _patch_status(cluster, cr_name, {"phase": "Expired"})
        expect(banner).to_contain_text("has ended. Expired at", timeout=2000)
        expect(terminal.locator("#term-countdown")).to_have_text("ended")
        assert terminal.evaluate(KEPT) == "kept"

        # On "My access", a grant whose time ran out stops offering its terminal by itself,
        # even before the controller marks it Expired.
        soon, soon_namespace = _approved_grant(cluster, "soon", 7304)
        _activate(cluster, soon, soon_namespace, 6)
        home = context.new_page()
        collect_problems(home, problems)
        home.goto(f"{base}/")
        expect(home.locator("html[data-live=on]")).to_have_count(1, timeout=10000)
        home.evaluate(MARK)
        offered = home.locator(f"#grant-{soon} a", has_text="Open terminal")
        expect(offered).to_have_count(1)
        expect(offered).to_have_count(0, timeout=10000)
        assert home.evaluate(KEPT) == "kept"
        assert problems == [], problems
    finally:
        context.close()


def test_event_stream_needs_session_csrf_and_same_origin(live_replica: AppServer) -> None:
    base = live_replica.base
    with httpx.Client(base_url=base, follow_redirects=False) as http:
        assert http.get("/events/grants").status_code == 401
        form = http.get("/auth/dev")
        token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
        assert token is not None
        http.post("/auth/dev", data={"login": "alice", "csrf_token": token.group(1)})
        page = http.get("/", headers={"Accept": "text/html"})
        csrf = re.search(r'name="csrf-token" content="([^"]+)"', page.text)
        assert csrf is not None
        assert http.get("/events/grants", params={"csrf": "wrong"}).status_code == 403
        foreign = {"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"}
        assert http.get("/events/grants", params={"csrf": csrf.group(1)},
                        headers=foreign).status_code == 403
        with http.stream("GET", "/events/grants", params={"csrf": csrf.group(1)}) as stream:
            assert stream.status_code == 200
            assert stream.headers["content-type"].startswith("text/event-stream")
            lines = stream.iter_lines()
            assert [next(lines), next(lines)] == ["retry: 1000", "event: ready"]


def _signed_in(http: httpx.Client, login: str) -> str:
    """Dev-login *login* on this client; the session's CSRF token for the event stream."""
    form = http.get("/auth/dev")
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    assert token is not None
    http.post("/auth/dev", data={"login": login, "csrf_token": token.group(1)})
    page = http.get("/", headers={"Accept": "text/html"})
    csrf = re.search(r'name="csrf-token" content="([^"]+)"', page.text)
    assert csrf is not None
    return csrf.group(1)


def _events(http: httpx.Client, csrf: str, seen: list[dict[str, Any]],
            stop: threading.Event) -> None:
    with http.stream("GET", "/events/grants", params={"csrf": csrf}) as stream:
        kind = ""
        for line in stream.iter_lines():
            if stop.is_set():
                return
            if line.startswith("event: "):
                kind = line[7:]
            elif line.startswith("data: ") and kind == "grant":
                seen.append(json.loads(line[6:]))


def test_every_replica_tells_its_own_users_only_their_grants(
    live_replica: AppServer, web_kube: Path, terminal_dir: Path, cluster: LocalCluster
) -> None:
    """A revoke written anywhere reaches the streams of another replica (its own watch), with
    who and why; bob's stream never carries alice's grant; an admin's carries every grant."""
    other = AppServer.start(web_kube, terminal_dir / "live.db", auth_mode="dev")
    seen: dict[str, list[dict[str, Any]]] = {"alice": [], "bob": [], ADMIN: []}
    stop = threading.Event()
    clients: list[httpx.Client] = []
    threads = []
    try:
        for login in seen:
            http = httpx.Client(base_url=other.base, timeout=httpx.Timeout(10, read=None))
            clients.append(http)
            csrf = _signed_in(http, login)
            thread = threading.Thread(target=_events, args=(http, csrf, seen[login], stop),
                                      daemon=True)
            thread.start()
            threads.append(thread)
        time.sleep(1.0)  # the streams are open
        cr_name, _ = _approved_grant(cluster, "replica", 7303)
        _custom(cluster).patch_namespaced_custom_object(
            resource.GROUP, resource.VERSION, names.JANUS_NAMESPACE, resource.PLURAL, cr_name,
            {"spec": {"revocation": {"by": ADMIN, "reason": "replica test"}}})
        deadline = time.monotonic() + 5
        while not any(e["name"] == cr_name and e["ended"] for e in seen["alice"]):
            assert time.monotonic() < deadline, seen["alice"]
            time.sleep(0.05)
        ended = next(e for e in seen["alice"] if e["name"] == cr_name and e["ended"])
        assert (ended["how"], ended["by"], ended["why"]) == ("revoked", ADMIN, "replica test")
        assert any(e["name"] == cr_name for e in seen[ADMIN])
        assert not any(e["name"] == cr_name for e in seen["bob"])
        assert all(e["requester"] == "alice" for e in seen["alice"])
        # A page that (re)connects hears where its grants stand now (the terminal's tabs).
        alice = clients[0]
        csrf = re.search(r'name="csrf-token" content="([^"]+)"',
                         alice.get("/", headers={"Accept": "text/html"}).text)
        assert csrf is not None
        with alice.stream("GET", "/events/grants",
                          params={"csrf": csrf.group(1), "names": cr_name}) as stream:
            lines = stream.iter_lines()
            assert next(lines) == "retry: 1000"
            assert next(lines) == "event: ready"
            assert [next(lines), next(lines), next(lines)][1:] == ["", "event: grant"]
            body = json.loads(next(lines)[len("data: "):])
            assert (body["name"], body["ended"], body["by"]) == (cr_name, True, ADMIN)
        stop_started = time.monotonic()
    finally:
        stop.set()
        for http in clients:
            http.close()
        other.stop()
    # Open streams end by themselves (STREAM_SECONDS), so a replica stops in bounded time.
    assert time.monotonic() - stop_started < 25
