"""verify_approvals (docs/design.md §5 rule 5): every hostile review pattern."""

import datetime as dt

import pytest

from janus.policy import ApprovalRequirement, StaticMembership
from janus.policy.approval import Review, latest_reviews, verify_approvals

HEAD = "a" * 40
OLD = "b" * 40
T0 = dt.datetime(2026, 1, 1, 12, 0, tzinfo=dt.UTC)
MEMBERS = StaticMembership({
    "acme/payments-leads": ["bob", "carol", "alice"],
    "acme/sre": ["dave"],
})
LEADS = ApprovalRequirement("payments-prod", frozenset(), frozenset({"acme/payments-leads"}), 1)
OWNERS = ("@acme/payments-leads", "@acme/sre")


def review(user, state="APPROVED", commit=HEAD, minute=0):
    return Review(user=user, state=state, commit_id=commit,
                  submitted_at=T0 + dt.timedelta(minutes=minute))


def verify(reviews, requirement=LEADS, owners=OWNERS, author="alice", requester="alice",
           membership=MEMBERS):
    return verify_approvals(reviews, HEAD, author, requester, requirement, owners, membership)


def test_one_valid_approval():
    result = verify([review("bob")])
    assert result.ok and result.approvers == ("bob",) and result.reasons == []


def test_no_reviews():
    result = verify([])
    assert not result.ok
    assert result.reasons == [
        "0 of 1 required approvals (1 approval from @acme/payments-leads (policy payments-prod))"]


def test_self_approval_by_the_author_does_not_count():
    # alice is in payments-leads, but she wrote the PR
    result = verify([review("alice")], requester="erin")
    assert not result.ok and result.approvers == ()
    assert "PR author" in result.reasons[0]


def test_the_requester_cannot_approve_even_when_someone_else_opened_the_pr():
    result = verify([review("alice")], author="janus-app[bot]", requester="alice")
    assert not result.ok
    assert "requester" in result.reasons[0]


def test_stale_commit_does_not_count():
    result = verify([review("bob", commit=OLD)])
    assert not result.ok
    assert "not the final head commit" in result.reasons[0]


def test_changes_requested_after_approved_cancels_it():
    result = verify([review("bob", minute=0), review("bob", "CHANGES_REQUESTED", minute=5)])
    assert not result.ok
    assert "CHANGES_REQUESTED" in result.reasons[0]


def test_approved_after_changes_requested_counts():
    assert verify([review("bob", "CHANGES_REQUESTED", minute=0), review("bob", minute=5)]).ok


def test_dismissed_approval_does_not_count():
    result = verify([review("bob", minute=0), review("bob", "DISMISSED", minute=1)])
    assert not result.ok and "DISMISSED" in result.reasons[0]


def test_a_later_comment_does_not_cancel_an_approval():
    assert verify([review("bob", minute=0), review("bob", "COMMENTED", minute=9)]).ok
    assert verify([review("bob", minute=0), review("bob", "PENDING", minute=9)]).ok


def test_review_order_is_by_time_not_list_order():
    reviews = [review("bob", "CHANGES_REQUESTED", minute=5), review("bob", minute=0)]
    assert not verify(reviews).ok


def test_non_approver_does_not_count():
    # dave owns the file (via acme/sre) but is not an approver of payments-prod
    result = verify([review("dave")])
    assert not result.ok
    assert "not an approver of policy payments-prod" in result.reasons[0]


def test_approver_who_is_not_a_code_owner_does_not_count():
    result = verify([review("bob")], owners=("@acme/sre",))
    assert not result.ok
    assert "not a code owner" in result.reasons[0]


def test_owner_as_user_and_approver_as_user():
    requirement = ApprovalRequirement("p", frozenset({"bob"}), frozenset(), 1)
    assert verify([review("bob")], requirement=requirement, owners=("@bob",)).ok
    assert verify([review("Bob")], requirement=requirement, owners=("@BOB",)).ok


def test_email_owners_never_count():
    assert not verify([review("bob")], owners=("bob@example.com",)).ok


def test_unowned_or_unmatched_file():
    for owners in (None, ()):
        result = verify([review("bob")], owners=owners)
        assert not result.ok
        assert "no owner in CODEOWNERS" in result.reasons[0]


def test_logins_are_case_insensitive():
    result = verify([review("BOB")], author="Alice", requester="ALICE")
    assert result.ok and result.approvers == ("BOB",)
    # and the author check too
    assert not verify([review("ALICE")], author="alice", requester="erin").ok
    assert not verify([review("Alice")], author="x", requester="aLiCe").ok


def test_the_same_reviewer_under_two_spellings_counts_once():
    two = ApprovalRequirement("p", frozenset(), frozenset({"acme/payments-leads"}), 2)
    result = verify([review("bob", minute=0), review("BOB", minute=1)], requirement=two)
    assert not result.ok
    assert result.reasons[-1].startswith("1 of 2 required approvals")


def test_two_required():
    two = ApprovalRequirement("p", frozenset(), frozenset({"acme/payments-leads"}), 2)
    assert verify([review("bob"), review("carol")], requirement=two).ok
    result = verify([review("bob"), review("carol", commit=OLD)], requirement=two)
    assert not result.ok
    assert result.approvers == ("bob",)
    assert result.reasons[-1].startswith("1 of 2 required approvals")


def test_state_case_is_normalised():
    assert verify([review("bob", "approved")]).ok


def test_head_sha_compare_is_case_insensitive():
    assert verify([review("bob", commit=HEAD.upper())]).ok


@pytest.mark.parametrize("state", ["CHANGES_REQUESTED", "DISMISSED", "COMMENTED"])
def test_every_non_approval_state_alone_fails(state):
    assert not verify([review("bob", state)]).ok


def test_pending_reviews_without_a_time_and_naive_times_do_not_crash():
    reviews = [Review("bob", "PENDING", HEAD, None),  # type: ignore[arg-type]
               Review("carol", "APPROVED", HEAD, T0.replace(tzinfo=None)),
               review("bob", minute=1)]
    assert sorted(r.user for r in latest_reviews(reviews)) == ["bob", "carol"]


def test_latest_reviews_ignores_comments():
    reviews = [review("bob", minute=0), review("bob", "COMMENTED", minute=1),
               review("carol", "COMMENTED", minute=2)]
    assert [r.user for r in latest_reviews(reviews)] == ["bob"]
