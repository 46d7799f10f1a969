"""`janus dev up` walked through in Chromium by following its PRINTED instructions word for
word: every URL, login, form value, reviewer and command below is parsed from the demo's stdout,
so instructions that drift from what works fail here. Also: the dev login page lists the demo
users, the simulator's review form defaults to someone who may approve, and the demo terminal's
``ls /`` shows the isolated pod root, not this machine."""

from __future__ import annotations

import re
import shlex
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page

from janus.dev import podroot
from janus.dev.controlplane.ports import free_port
from tests.browser_support import (
    BUFFER_TEXT,
    CHROMIUM,
    collect_problems,
    launch_chromium,
    require,
    wait_for,
)

pytestmark = pytest.mark.k8s_real
_wait = partial(wait_for, interval=0.3)


@dataclass(frozen=True)
class Printed:
    """What the demo told the user to do."""

    text: str
    web: str
    login: str
    form: dict[str, str]
    submit: str
    review_event: str
    reviewer: str
    merger: str
    pod: str
    container: str
    command: str

    @classmethod
    def parse(cls, text: str) -> Printed:
        def one(pattern: str) -> re.Match[str]:
            match = re.search(pattern, text, re.MULTILINE)
            assert match, f"the instructions lack {pattern!r}:\n{text}"
            return match

        block = one(r"fill in the form:\n((?:\s{5,}\S.*\n)+?)\s+then click \"([^\"]+)\"")
        form = {}
        for line in block.group(1).splitlines():
            label, value = line.strip().split(None, 1)
            form[label] = value.strip()
        review = one(r'submit the review "(\w+)" as "(\w+)"')
        terminal = one(r"pick pod (\S+) \(container (\S+)\), click \"Connect\" and run\n\s+(.+)$")
        return cls(
            text=text,
            web=one(r"^\s+Web UI\s+(\S+)").group(1),
            login=one(r'sign in as "(\w+)"').group(1),
            form=form,
            submit=block.group(2),
            review_event=review.group(1),
            reviewer=review.group(2),
            merger=one(r'click "merge" as "(\w+)"').group(1),
            pod=terminal.group(1),
            container=terminal.group(2),
            command=terminal.group(3).strip(),
        )


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Printed, Path]]:
    require(CHROMIUM.exists(), "Debian's chromium is not installed (make browser)")
    require(podroot.available(), "no bubblewrap/busybox-static (scripts/install-bubblewrap.sh)")
    state_dir = tmp_path_factory.mktemp("walkthrough") / "demo"
    proc = subprocess.Popen(
        [sys.executable, "-m", "janus", "dev", "up", "--state-dir", str(state_dir),
         "--web-port", str(free_port())],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )
    lines: list[str] = []
    try:
        assert proc.stdout is not None
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            lines.append(line)
            if "Press Ctrl-C" in line:
                break
        assert any("Press Ctrl-C" in line for line in lines), "".join(lines)
        yield Printed.parse("".join(lines)), state_dir
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with launch_chromium() as chromium:
        yield chromium


def _fill(page: Page, label: str, value: str) -> None:
    """Fill the field a person finds by its label: a select by option value, else type."""
    field = page.get_by_label(label, exact=False).first
    if field.evaluate("el => el.tagName") == "SELECT":
        field.select_option(value)
    else:
        field.fill(value)


def _screen(page: Page) -> str:
    return str(page.evaluate(BUFFER_TEXT, 0))


def test_the_printed_instructions_work_word_for_word(demo: tuple[Printed, Path],
                                                     browser: Browser) -> None:
    printed, state_dir = demo
    problems: list[str] = []
    alice = browser.new_context(viewport={"width": 1200, "height": 800}).new_page()
    collect_problems(alice, problems)

    # 1. Open the web UI and sign in as the printed user: the sign-in page lists the demo users.
    alice.goto(printed.web)
    users = alice.locator("[data-testid=dev-users]")
    assert users.count() == 1
    for who in (printed.login, printed.reviewer, "root"):
        assert who in (users.text_content() or "")
    alice.get_by_role("button", name=f"Sign in as {printed.login}").click()
    alice.wait_for_url(f"{printed.web}/")

    # 2. Request access with exactly the printed values.
    alice.get_by_role("link", name="Request access").first.click()
    for label, value in printed.form.items():
        _fill(alice, label, value)
    alice.get_by_role("button", name=printed.submit).click()
    alice.wait_for_url(f"{printed.web}/requests/pr/*", timeout=30_000)
    link = alice.locator("[data-testid=pr-link]")

    # 3. Open that pull request (the page's link) on the simulator; review and merge as printed.
    reviewer = browser.new_context().new_page()
    reviewer.goto(link.get_attribute("href") or "")
    body = reviewer.text_content("body") or ""
    assert "janus:plan" not in body and "<!--" not in body  # Markdown rendered as on GitHub
    review_user = reviewer.locator("form[action$='/review'] select[name=user]")
    assert review_user.input_value() == printed.reviewer  # defaults to someone who may approve
    review_user.select_option(printed.reviewer)
    reviewer.locator("form[action$='/review'] select[name=event]").select_option(
        label=printed.review_event)
    reviewer.locator("form[action$='/review'] button").click()
    assert "Can not approve" not in (reviewer.text_content("body") or "")
    reviewer.locator("form[action$='/merge'] select[name=user]").select_option(printed.merger)
    reviewer.get_by_role("button", name="merge").click()
    assert "merged" in (reviewer.text_content("body") or "")

    # 4. Back on My access: Active, with the terminal link.
    def terminal() -> bool:
        alice.goto(f"{printed.web}/")
        return alice.get_by_role("link", name="Open terminal").count() > 0

    _wait(terminal, 90, "the grant to turn Active")
    assert "Active" in (alice.text_content("body") or "")

    # 5. Open the terminal, pick the printed pod and container, Connect, run the command.
    alice.get_by_role("link", name="Open terminal").first.click()
    pane = alice.locator(".term-workspace:not([hidden]) .term-pane").first
    _wait(lambda: pane.locator(".term-pod option").count() > 0, 20, "pods listed")
    pane.locator(".term-pod").select_option(printed.pod)
    pane.locator(".term-container").select_option(printed.container)
    pane.get_by_role("button", name="Connect").click()
    _wait(lambda: "Connected" in (pane.locator(".term-status").text_content() or ""), 20,
          "connected")
    _wait(lambda: "$ " in _screen(alice), 15, "a prompt")
    pane.locator(".xterm-helper-textarea").focus()
    alice.keyboard.type(printed.command)
    alice.keyboard.press("Enter")
    alice.keyboard.type("cat /app/README")
    alice.keyboard.press("Enter")
    _wait(lambda: "A Janus demo pod" in _screen(alice), 15, "the pod root's README")
    listing = _screen(alice).split(printed.command, 1)[1].split("cat /app/README", 1)[0]
    names = set(listing.split())
    assert {"app", "bin", "etc", "proc", "tmp"} <= names, listing
    # Nothing of this machine: no /usr, /home, /work or the state directory's top folder.
    assert not names & {"usr", "home", "work", "lib64", "opt", "srv"}, listing
    assert problems == []

    # No recurring warning: the seeded repository holds no request file that no PR merged
    # (the receiver's reconcile warned "reconcile.no_pull" for one on every pass).
    log = (state_dir / "logs" / "webhook.log").read_text()
    assert "reconcile.no_pull" not in log, log[-3000:]


def test_the_printed_cli_command_opens_a_pull_request(demo: tuple[Printed, Path]) -> None:
    """The `janus request` command the demo prints, run as printed (its token file included)."""
    printed, _ = demo
    block = re.search(r"from the command line[^\n]*\n[^\n]*\n((?:  [^\n]*\\\n)*  [^\n]*\n)",
                      printed.text)
    assert block, printed.text
    argv = shlex.split(block.group(1).replace("\\\n", " "))
    assert argv[1] == "request" and "--token-file" in argv
    done = subprocess.run(argv, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert re.search(r"/acme/access/pull/\d+", done.stdout + done.stderr), done.stdout


def test_the_printed_pod_logs_request_works_word_for_word(demo: tuple[Printed, Path],
                                                          browser: Browser) -> None:
    """Step 6: alice's seeded pod-logs request, approved and merged as printed; the grant
    offers the log viewer and no terminal, and the log viewer shows the printed pod's log."""
    printed, _ = demo
    step = re.search(
        r'^\s+6\. .*?Open (\S+)\n\s+submit the review "(\w+)" as "(\w+)", then click "merge" as '
        r'"(\w+)"\. On "My access" the new\n\s+grant offers "([^"]+)" and no terminal: click '
        r'"([^"]+)", pick (\S+ / \S+) and\n\s+click "(\w+)"\.', printed.text, re.S | re.M)
    assert step, printed.text
    url, event, reviewer_login, merger, offer, click, target, show = step.groups()
    assert offer == click

    reviewer = browser.new_context().new_page()
    reviewer.goto(url)
    assert "pod-logs" in (reviewer.text_content("body") or "")

    def plan_shows_the_rules() -> bool:  # the receiver's plan comment (delivered in background)
        reviewer.goto(url)
        return "get on pods/log" in (reviewer.text_content("body") or "")

    _wait(plan_shows_the_rules, 60, "the plan comment with the role's rules")
    reviewer.locator("form[action$='/review'] select[name=user]").select_option(reviewer_login)
    reviewer.locator("form[action$='/review'] select[name=event]").select_option(label=event)
    reviewer.locator("form[action$='/review'] button").click()
    assert "Can not approve" not in (reviewer.text_content("body") or "")
    reviewer.locator("form[action$='/merge'] select[name=user]").select_option(merger)
    reviewer.get_by_role("button", name="merge").click()
    assert "merged" in (reviewer.text_content("body") or "")

    alice = browser.new_context(viewport={"width": 1200, "height": 800}).new_page()
    problems: list[str] = []
    collect_problems(alice, problems)
    alice.goto(printed.web)
    alice.get_by_role("button", name=f"Sign in as {printed.login}").click()
    alice.wait_for_url(f"{printed.web}/")
    row = alice.locator("tr", has=alice.locator("td", has_text="pod-logs"))

    def offered() -> bool:
        alice.goto(f"{printed.web}/")
        return row.get_by_role("link", name=offer).count() == 1

    _wait(offered, 90, "the pod-logs grant to turn Active")
    assert row.get_by_role("link", name="Open terminal").count() == 0
    row.get_by_role("link", name=click).click()
    options = alice.locator("[data-testid=logs-target] option")
    _wait(lambda: options.count() > 0, 20, "pods listed")
    alice.locator("[data-testid=logs-target]").select_option(label=target)
    alice.get_by_role("button", name=show).click()
    output = alice.locator("[data-testid=logs-output]")
    _wait(lambda: "ready" in (output.text_content() or ""), 20, "the pod's log")
    assert problems == []


def test_the_printed_break_glass_request_works_word_for_word(demo: tuple[Printed, Path],
                                                             browser: Browser) -> None:
    """Step 7: alice's break-glass from the form's button, as printed: Janus merges the pull
    request itself, the grant turns Active, the BREAK-GLASS comment names the review issue, and
    bob's printed `curl ... /janus ack` (run as printed, the issue number filled in) closes it."""
    printed, _ = demo
    step = re.search(
        r'^\s+7\. .*?as (\w+), click "([^"]+)", fill in the\n\s+form as in step 2 but with '
        r'Duration (\S+), and click "([^"]+)"\s+under "([^"]+)".*?on "My access"\n\s+the new '
        r'grant shows (\w+)\. The pull request shows a (\S+) comment.*?\("(The retrospective '
        r'review is #)<number>"\).*?\(alice cannot acknowledge her own\):\n'
        r'((?:\s+[^\n]*\\\n)*\s+[^\n]*/comments)\n', printed.text, re.S | re.M)
    assert step, printed.text
    user, link, duration, button, section, phase, alert, names_issue, ack = step.groups()
    button = " ".join(button.split())
    assert user == printed.login

    alice = browser.new_context(viewport={"width": 1200, "height": 800}).new_page()
    problems: list[str] = []
    collect_problems(alice, problems)
    alice.goto(printed.web)
    alice.get_by_role("button", name=f"Sign in as {user}").click()
    alice.wait_for_url(f"{printed.web}/")
    # Active: a row under "Active grants" counting down to its expiry (other phases show a badge).
    assert phase == "Active"
    live = alice.locator("[data-testid=active-grants] tr[id^=grant-]",
                         has=alice.locator(".countdown"))
    before = {row.get_attribute("id") for row in live.all()}

    # The form as in step 2, Duration as printed, then the break-glass button in its section.
    alice.get_by_role("link", name=link).first.click()
    for label, value in {**printed.form, "Duration": duration}.items():
        _fill(alice, label, value)
    alice.get_by_text(section).click()  # open the <details> the button is in
    alice.get_by_role("button", name=button, exact=True).click()
    alice.wait_for_url(f"{printed.web}/requests/pr/*", timeout=30_000)
    url = alice.locator("[data-testid=pr-link]").get_attribute("href") or ""

    # Janus merges it itself (nobody reviewed) and says so loudly, naming the review issue.
    sim = browser.new_context().new_page()

    def alerted() -> str | None:
        sim.goto(url)
        body = sim.text_content("body") or ""
        found = re.search(re.escape(names_issue) + r"(\d+)", body)
        return found.group(1) if "merged" in body and alert in body and found else None

    issue = str(_wait(alerted, 120, "Janus's merge and the BREAK-GLASS comment"))
    assert "payments-leads" in (sim.text_content("body") or "")

    # On My access: a new grant, Active.
    def granted() -> set[str | None]:
        alice.goto(f"{printed.web}/")
        return {row.get_attribute("id") for row in live.all()} - before

    _wait(granted, 90, "the break-glass grant to turn Active")
    new = granted()
    assert len(new) == 1, new

    # The review issue, assigned to the payments leads (never alice).
    api = re.search(r"(\S+)/repos/acme/access/issues/<number>/comments", ack)
    assert api, ack
    token_file = re.search(r"\$\(cat (\S+)\)", ack)
    assert token_file, ack
    headers = {"Authorization": f"token {Path(token_file.group(1)).read_text().strip()}"}

    def review() -> dict:
        answer = httpx.get(f"{api.group(1)}/repos/acme/access/issues/{issue}",
                           headers=headers, timeout=30)
        answer.raise_for_status()
        return dict(answer.json())

    opened = review()
    assert opened["state"] == "open" and "Break-glass review" in opened["title"]
    assert {a["login"] for a in opened["assignees"]} == {"bob", "carol"}

    # bob's acknowledgement, the printed command run as printed with the number filled in.
    command = ack.replace("<number>", issue).replace("\\\n", " ")
    done = subprocess.run(["bash", "-c", command], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and '"id"' in done.stdout, done.stdout + done.stderr
    _wait(lambda: review()["state"] == "closed", 90, "bob's ack closing the review")
    assert problems == []
