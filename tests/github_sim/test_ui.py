"""The demo review page: list, show, approve, refuse self-approval, merge; everything escaped."""

from __future__ import annotations

import httpx

from .conftest import Scene
from .test_flow import open_request


def test_review_page_approve_and_merge(scene: Scene) -> None:
    _, pr = open_request(scene)
    pr.edit(title="<script>alert(1)</script>")
    base = scene.sim.base_url
    with httpx.Client(base_url=base, follow_redirects=True) as web:
        index = web.get("/_sim/")
        assert "acme/access" in index.text
        listing = web.get("/_sim/acme/access")
        assert "&lt;script&gt;" in listing.text and "<script>" not in listing.text
        page = web.get(f"/_sim/acme/access/pull/{pr.number}")
        assert "alice-payments-inc1234.yaml" in page.text and "@acme/payments-leads" in page.text

        own = web.post(f"/_sim/acme/access/pull/{pr.number}/review",
                       data={"user": "alice", "event": "APPROVE", "body": ""})
        assert "Can not approve your own pull request" in own.text

        ok = web.post(f"/_sim/acme/access/pull/{pr.number}/review",
                      data={"user": "bob", "event": "APPROVE", "body": "<b>fine</b>"})
        assert "APPROVED" in ok.text and "&lt;b&gt;fine&lt;/b&gt;" in ok.text
        merged = web.post(f"/_sim/acme/access/pull/{pr.number}/merge", data={"user": "root"})
        assert "merged" in merged.text
    assert scene.sim.pull(scene.repo, pr.number)["merged"] is True
    assert ("pull_request_review", "submitted") in scene.receiver.events()
    assert ("pull_request", "closed") in scene.receiver.events()


def test_raw_and_commit_pages_behind_html_urls(scene: Scene) -> None:
    _, pr = open_request(scene)
    files = list(pr.get_files())
    with httpx.Client() as web:
        raw = web.get(files[0].raw_url)
        assert raw.status_code == 200 and raw.text.startswith("apiVersion: janus.dev/v1alpha1")
        commit = web.get(scene.repo_as("alice").get_commit(pr.head.sha).html_url)
        assert commit.status_code == 200 and "Request access to payments" in commit.text


def test_delivery_log_page_and_redeliver_button(scene: Scene) -> None:
    scene.sim.push(scene.repo, "b", {"a": "1"}, author="alice", message="m")
    push = scene.sim.deliveries[-1]
    with httpx.Client(base_url=scene.sim.base_url, follow_redirects=True) as web:
        page = web.get("/_sim/deliveries")
        assert push.guid in page.text and "push" in page.text
        again = web.post(f"/_sim/deliveries/{push.guid}/redeliver")
        assert again.status_code == 200 and "redelivery" in again.text
    assert scene.receiver.received[-1].headers["X-GitHub-Delivery"] == push.guid


def test_pull_body_and_comments_render_as_markdown_with_comments_hidden(scene: Scene) -> None:
    """As on github.com: Markdown rendered, ``<!-- -->`` markers hidden, raw HTML inert."""
    _, pr = open_request(scene)
    pr.edit(body="## Why\n\n**INC-1234**: stuck\n\n<script>alert(1)</script>")
    pr.create_issue_comment("<!-- janus:plan -->\n### Plan\n\n| cluster | role |\n|---|---|\n"
                            "| prod | pod-exec |\n\n`<!-- in code -->`")
    with httpx.Client(base_url=scene.sim.base_url) as web:
        page = web.get(f"/_sim/acme/access/pull/{pr.number}").text
    assert "<h2>Why</h2>" in page and "<strong>INC-1234</strong>" in page
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;" in page
    assert "janus:plan" not in page  # the hidden marker is not shown
    assert "<h3>Plan</h3>" in page and "<td>pod-exec</td>" in page
    assert "<code>&lt;!-- in code --&gt;</code>" in page  # code keeps it, as on GitHub


def test_review_form_defaults_to_a_code_owner_who_is_not_the_author(scene: Scene) -> None:
    _, pr = open_request(scene)  # alice's request under requests/prod/payments/
    with httpx.Client(base_url=scene.sim.base_url) as web:
        page = web.get(f"/_sim/acme/access/pull/{pr.number}").text
    review_form = page.split("/review'>", 1)[1].split("</form>", 1)[0]
    assert "<option selected>bob</option>" in review_form
    assert "<option selected>alice</option>" not in page
