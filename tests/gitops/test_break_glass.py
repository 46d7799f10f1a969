"""Break-glass through GitHub on the real API server and the simulator: this project's
payments-prod policy lets alice break the glass for up to 1h, reviewed by acme/payments-leads
(bob, carol, rita) within 24h. Hostile cases first: someone the policy does not list, past
maxDuration, merged by a person instead of Janus, an extension, self-acknowledgement, an ack by
a non-reviewer; then the whole path: merged by the App (a ruleset bypass actor), granted,
marked, reviewers alerted, review opened and acknowledged; overdue flagged."""

from __future__ import annotations

import datetime as dt
from typing import Any

from github import Auth, Github
from kubernetes import client

from janus import names, resource
from janus.gitops import break_glass
from tests.gitops import harness

RULESET_BYPASS = "Integration"


def _glass_yaml(name: str, **fields: Any) -> str:
    text = harness.request_yaml(name, **fields)
    return text.replace("spec:\n", "spec:\n  breakGlass: true\n", 1)


def _open(bed: harness.Bed, name: str, *, author: str = "alice", **fields: Any) -> int:
    content = {harness.request_path(name): _glass_yaml(name, requester=author, **fields)}
    return harness.open_request_pr(bed.sim, bed.repo, name, author=author, files=content)


def _protect(bed: harness.Bed) -> None:
    """The documented setup: a ruleset demanding one approval; the Janus App bypasses it."""
    bed.sim.world.add_ruleset(bed.repo, "protect main", ["pull_request"], required_approvals=1,
                              bypass=[{"actor_type": RULESET_BYPASS, "actor_id": bed.app_id,
                                       "bypass_mode": "pull_request"}])


def _gh(bed: harness.Bed, login: str = "root") -> Any:
    return Github(auth=Auth.Token(bed.sim.token(login)), base_url=bed.sim.base_url,
                  retry=None).get_repo(bed.repo)


def _reviews(bed: harness.Bed) -> list[Any]:
    return list(_gh(bed).get_issues(state="all", labels=[break_glass.LABEL_REVIEW]))


def _ack(bed: harness.Bed, gitops: Any, issue: int, login: str, body: str) -> str:
    comment_id = bed.sim.comment(bed.repo, issue, login, body)
    gitops.handle_comment({"issue": {"number": issue}, "comment": {"id": comment_id,
                                                                  "body": body}})
    replies = [c.body for c in _gh(bed).get_issue(issue).get_comments()
               if f"reply:{comment_id}" in c.body]
    assert len(replies) == 1, replies
    return replies[0]


# -- hostile -------------------------------------------------------------------------------------


def test_break_glass_by_someone_the_policy_does_not_list_is_not_merged(bed, gitops) -> None:
    _protect(bed)
    name = harness.request_name("dave")
    number = _open(bed, name, author="dave")
    gitops.check_pull(number)
    assert bed.sim.pull(bed.repo, number)["merged"] is False
    assert any("did **not** merge this break-glass" in c
               for c in harness.comments_of(bed.sim, bed.repo, number))
    assert bed.counters.get("break_glass_total", outcome="refused") == 1
    assert gitops.crs.get(harness.cr_name(name)) is None and _reviews(bed) == []


def test_break_glass_past_max_duration_is_not_merged(bed, gitops) -> None:
    name = harness.request_name()
    number = _open(bed, name, duration="2h")  # payments-prod: breakGlass.maxDuration 1h
    gitops.check_pull(number)
    assert bed.sim.pull(bed.repo, number)["merged"] is False
    assert bed.counters.get("break_glass_total", outcome="refused") == 1


def test_app_without_bypass_cannot_merge_and_says_how_to_set_it_up(bed, gitops) -> None:
    bed.sim.world.add_ruleset(bed.repo, "protect main", ["pull_request"], required_approvals=1)
    number = _open(bed, harness.request_name(), duration="30m")
    gitops.check_pull(number)
    assert bed.sim.pull(bed.repo, number)["merged"] is False
    assert any("bypass actor" in c for c in harness.comments_of(bed.sim, bed.repo, number))
    assert bed.counters.get("break_glass_total", outcome="merge-failed") == 1


def test_break_glass_merged_by_a_person_grants_nothing(bed, gitops) -> None:
    name = harness.request_name()
    number = _open(bed, name, duration="30m")
    bed.sim.review(bed.repo, number, "bob", "APPROVE")
    bed.sim.merge(bed.repo, number, actor="root")  # an admin, not Janus
    verdict = gitops.process_merge(number)
    assert verdict is not None and verdict.failure is not None
    assert verdict.failure.step == "break-glass"
    assert "merged by root" in verdict.failure.summary
    assert gitops.crs.get(harness.cr_name(name)) is None


def test_break_glass_never_extends_a_grant(bed, gitops) -> None:
    _protect(bed)
    name = harness.request_name()
    number = _open(bed, name, duration="30m")
    gitops.check_pull(number)
    gitops.process_merge(number)
    cr = gitops.crs.get(harness.cr_name(name))
    assert cr is not None and cr.duration == "30m"
    # The same file again, longer (within maxDuration), still break-glass: an extension.
    branch = f"extend/{name}"
    bed.sim.push(bed.repo, branch, {harness.request_path(name): _glass_yaml(
        name, duration="1h")}, author="alice", message="longer", base="main")
    again = bed.sim.create_pull(bed.repo, head=branch, title="extend", author="alice")
    gitops.check_pull(again)
    assert bed.sim.pull(bed.repo, again)["merged"] is False  # Janus does not merge it
    assert any("never extends" in c for c in harness.comments_of(bed.sim, bed.repo, again))
    # Even merged by the App itself (a bypass actor), the merge grants nothing.
    bed.sim.merge(bed.repo, again, actor=bed.bot)
    verdict = gitops.process_merge(again)
    assert verdict is not None and verdict.failure is not None
    assert verdict.failure.step == "break-glass"
    assert any("never extends" in d for d in verdict.failure.details)
    assert gitops.crs.get(harness.cr_name(name)).duration == "30m"


# -- the whole path --------------------------------------------------------------------------------


def test_break_glass_merged_by_the_app_granted_alerted_reviewed_and_acknowledged(
    bed, gitops, kube
) -> None:
    _protect(bed)
    name = harness.request_name()
    number = _open(bed, name, duration="45m")
    # A person cannot merge it: the ruleset wants an approval.
    assert bed.sim.pull(bed.repo, number)["merged"] is False
    gitops.check_pull(number)
    pull = bed.sim.pull(bed.repo, number)
    assert pull["merged"] is True and pull["merged_by"]["login"] == bed.bot
    verdict = gitops.process_merge(number)
    assert verdict is not None and verdict.failure is None
    [grant] = verdict.grants
    assert grant.approvers == ()
    cr_name = harness.cr_name(name)
    raw = harness.raw_cr(kube, cr_name)
    assert raw is not None and raw["metadata"]["labels"][names.LABEL_BREAK_GLASS] == "true"
    assert raw["spec"]["duration"] == "45m"
    said = harness.comments_of(bed.sim, bed.repo, number)
    # The plan comment says break-glass instead of the approvals a normal request needs.
    assert any("janus:plan" in c and "BREAK-GLASS (policy payments-prod)" in c for c in said)
    alert = [c for c in said if "## 🚨 BREAK-GLASS" in c]
    assert len(alert) == 1 and "@acme/payments-leads" in alert[0]
    [review] = _reviews(bed)
    assert sorted(a.login for a in review.assignees) == ["bob", "carol", "rita"]
    assert f"PR #{number}" in review.title and review.user.login == bed.bot
    state = names.ANNOTATION_BREAK_GLASS_REVIEW
    assert gitops.crs.get(cr_name).meta.annotations[state].startswith(
        f"open: review #{review.number}, due ")
    # Replayed: nothing twice.
    gitops.process_merge(number)
    assert len(_reviews(bed)) == 1

    # alice may not acknowledge her own; dave is no reviewer; "ok" says nothing.
    assert "can never acknowledge their own" in _ack(bed, gitops, review.number, "alice",
                                                      "/janus ack all fine, trust me")
    assert "only a reviewer" in _ack(bed, gitops, review.number, "dave",
                                     "/janus ack looked at it, fine")
    assert "say what you reviewed" in _ack(bed, gitops, review.number, "bob", "/janus ack ok")
    assert _gh(bed).get_issue(review.number).state == "open"
    said = _ack(bed, gitops, review.number, "carol",
                "/janus ack checked the shell history with alice: INC-1234 restart only")
    assert "acknowledged the break-glass" in said
    closed = _gh(bed).get_issue(review.number)
    assert closed.state == "closed"
    assert break_glass.LABEL_ACKED in [lb.name for lb in closed.labels]
    assert bed.counters.get("break_glass_reviews_total", outcome="acknowledged") == 1
    assert bed.counters.get("break_glass_reviews_total", outcome="refused-self") == 1
    assert gitops.crs.get(cr_name).meta.annotations[state] == \
        f"acknowledged by carol (review #{review.number})"
    # A closed, acknowledged review is never flagged overdue.
    assert break_glass.flag_overdue(gitops, dt.datetime.now(dt.UTC) + dt.timedelta(days=2)) == []


def test_review_not_acknowledged_in_time_is_flagged_once(bed, gitops) -> None:
    _protect(bed)
    name = harness.request_name()
    number = _open(bed, name, duration="30m")
    gitops.check_pull(number)
    gitops.process_merge(number)
    [review] = _reviews(bed)
    assert break_glass.flag_overdue(gitops) == []  # within its 24h
    later = dt.datetime.now(dt.UTC) + dt.timedelta(hours=25)
    assert break_glass.flag_overdue(gitops, later) == [review.number]
    assert break_glass.flag_overdue(gitops, later) == []  # once
    labels = [lb.name for lb in _gh(bed).get_issue(review.number).labels]
    assert break_glass.LABEL_OVERDUE in labels
    assert bed.counters.get("break_glass_overdue_total") == 1
    cr = gitops.crs.get(harness.cr_name(name))
    assert cr.meta.annotations[names.ANNOTATION_BREAK_GLASS_REVIEW].startswith(
        f"overdue: review #{review.number}")
    # A late acknowledgement closes it, and it stays flagged.
    said = _ack(bed, gitops, review.number, "bob", "/janus ack reviewed late: restart only")
    assert "acknowledged" in said


# -- the outage path: GitHub answers again --------------------------------------------------------


def test_outage_grant_gets_its_review_when_github_answers(bed, gitops, kube) -> None:
    from janus.cli.break_glass import create

    name = f"bg-alice-{harness.request_name('x')[-8:]}"
    cr_name = harness.cr_name(name)
    create(kube, names.JANUS_NAMESPACE, cr_name, {
        "requestName": name, "requester": "alice", "cluster": "prod", "namespace": "payments",
        "role": "pod-exec", "duration": "30m", "reason": "INC-9: GitHub down, payments stuck",
        "ticket": "INC-9"}, "root", "INC-9: GitHub down, payments stuck")
    try:
        break_glass.reconcile(gitops, gitops.crs.list())
        break_glass.reconcile(gitops, gitops.crs.list())  # once only
        mine = [r for r in _reviews(bed) if cr_name in (r.body or "")]
        assert len(mine) == 1
        [review] = mine
        assert "created by a cluster admin while GitHub was away" in review.title
        assert sorted(a.login for a in review.assignees) == ["bob", "carol", "rita"]
        assert "can never acknowledge their own" in _ack(bed, gitops, review.number, "alice",
                                                          "/janus ack it was me, all fine")
        said = _ack(bed, gitops, review.number, "bob",
                    "/janus ack talked to alice and root: restart during the outage")
        assert "acknowledged the break-glass" in said
        assert _gh(bed).get_issue(review.number).state == "closed"
    finally:
        client.CustomObjectsApi(kube).delete_namespaced_custom_object(
            resource.GROUP, resource.VERSION, names.JANUS_NAMESPACE, resource.PLURAL, cr_name)
