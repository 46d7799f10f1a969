"""Separation-of-duties approvals (issue 13 item 2): approval groups where one person counts once
across groups (a maximum matching, not per-group counts) and excludeRequesterTeams. Every test
checks the whole verdict: ok, who counted, each group's tally and the reasons."""

import datetime as dt

import pytest

from janus.model.matching import max_assignment
from janus.model.policy import ApproverGroup
from janus.policy import ApprovalRequirement, StaticMembership
from janus.policy.approval import GroupTally, Review, verify_approvals

HEAD = "a" * 40
T0 = dt.datetime(2026, 1, 1, 12, 0, tzinfo=dt.UTC)
MEMBERS = StaticMembership({
    "acme/sre": ["dave", "both", "erin"],
    "acme/payments-leads": ["bob", "both", "carol"],
    "acme/payments-devs": ["alice", "erin", "carol"],
})
SRE = ApproverGroup("SRE", frozenset(), frozenset({"acme/sre"}), 1)
LEADS = ApproverGroup("payments-leads", frozenset(), frozenset({"acme/payments-leads"}), 1)
OWNERS = ("@acme/payments-leads", "@acme/sre")
DESCRIBED = ("2 approvals from every group, one person counting once: SRE (1 approval from "
             "@acme/sre), payments-leads (1 approval from @acme/payments-leads) (policy sod)")


def requirement(*groups, exclude=frozenset()):
    return ApprovalRequirement(
        "sod", frozenset().union(*(g.users for g in groups)),
        frozenset().union(*(g.teams for g in groups)), sum(g.required for g in groups),
        groups=groups, exclude_teams=frozenset(exclude))


TWO = requirement(SRE, LEADS)


def approve(*users):
    return [Review(user=u, state="APPROVED", commit_id=HEAD,
                   submitted_at=T0 + dt.timedelta(minutes=i)) for i, u in enumerate(users)]


def verify(reviews, req=TWO, requester="alice"):
    return verify_approvals(reviews, HEAD, requester, requester, req, OWNERS, MEMBERS)


def test_two_groups_satisfied_by_two_people():
    result = verify(approve("dave", "bob"))
    assert result.ok and result.reasons == []
    assert result.approvers == ("bob", "dave")
    assert result.groups == (GroupTally("SRE", ("dave",), 1),
                             GroupTally("payments-leads", ("bob",), 1))
    assert result.tally() == "SRE: 1/1 ✓, payments-leads: 1/1 ✓"


@pytest.mark.parametrize("order", [("both",), ("both", "both")])
def test_one_person_in_both_groups_counts_once(order):
    result = verify(approve(*order))
    assert not result.ok
    assert result.approvers == ("both",)
    assert result.tally() == "SRE: 1/1 ✓, payments-leads: 0/1"
    assert result.reasons == [
        f"1 of 2 required approvals: SRE: 1/1 ✓, payments-leads: 0/1 (one person counts once "
        f"across groups; {DESCRIBED})"]


@pytest.mark.parametrize("users", [("both", "dave"), ("dave", "both"), ("both", "bob"),
                                   ("bob", "both")])
def test_a_person_in_both_groups_fills_whichever_seat_is_left(users):
    # Both directions: the matching moves "both" to the group the other reviewer cannot fill.
    result = verify(approve(*users))
    assert result.ok and result.reasons == []
    other = next(u for u in users if u != "both")
    tallies = {t.label: t.approvers for t in result.groups}
    assert other in (tallies["SRE"] + tallies["payments-leads"])
    assert sorted(tallies["SRE"] + tallies["payments-leads"]) == sorted(users)


def test_two_people_of_the_same_group_do_not_satisfy_the_other():
    result = verify(approve("bob", "carol"))
    assert not result.ok and result.approvers == ("bob", "carol")
    assert result.tally() == "SRE: 0/1, payments-leads: 1/1 ✓"


def test_the_other_direction_two_sre_do_not_satisfy_leads():
    result = verify(approve("dave", "erin"))
    assert not result.ok
    assert result.tally() == "SRE: 1/1 ✓, payments-leads: 0/1"


def test_required_two_in_one_group():
    two_sre = ApproverGroup("SRE", frozenset(), frozenset({"acme/sre"}), 2)
    req = requirement(two_sre, LEADS)
    assert not verify(approve("dave", "bob"), req).ok
    assert verify(approve("dave", "bob"), req).tally() == "SRE: 1/2, payments-leads: 1/1 ✓"
    # "both" fills the second SRE seat only if someone else covers leads.
    assert not verify(approve("dave", "both"), req).ok
    result = verify(approve("dave", "both", "bob"), req)
    assert result.ok and result.tally() == "SRE: 2/2 ✓, payments-leads: 1/1 ✓"
    result = verify(approve("dave", "erin", "bob"), req)
    assert result.ok and result.tally() == "SRE: 2/2 ✓, payments-leads: 1/1 ✓"


def test_required_two_in_a_single_group_counts_distinct_people():
    req = requirement(ApproverGroup("SRE", frozenset(), frozenset({"acme/sre"}), 2))
    assert not verify(approve("dave", "dave"), req).ok
    assert verify(approve("dave", "erin"), req).ok


EXCLUDING = requirement(SRE, LEADS, exclude={"acme/sre", "acme/payments-leads",
                                             "acme/payments-devs"})


def test_requester_team_excluded():
    # carol shares acme/payments-devs with the requester alice: she does not count.
    result = verify(approve("dave", "carol"), EXCLUDING)
    assert not result.ok and result.approvers == ("dave",)
    assert result.reasons[0] == (
        "carol: shares @acme/payments-devs with the requester alice; policy sod excludes the "
        "requester's teams (separation of duties)")
    assert result.tally() == "SRE: 1/1 ✓, payments-leads: 0/1"


def test_exclusion_in_the_other_direction_sre_approver_shares_the_team():
    # erin (sre, payments-devs) shares payments-devs with alice; bob does not.
    result = verify(approve("erin", "bob"), EXCLUDING)
    assert not result.ok and result.approvers == ("bob",)
    assert result.reasons[0].startswith("erin: shares @acme/payments-devs with the requester")


def test_requester_in_a_team_but_not_an_approver_does_not_block_others():
    result = verify(approve("dave", "bob"), EXCLUDING)
    assert result.ok and result.approvers == ("bob", "dave") and result.reasons == []


def test_exclusion_off_lets_a_teammate_approve():
    result = verify(approve("dave", "carol"), TWO)
    assert result.ok and result.approvers == ("carol", "dave")


def test_exclusion_only_covers_the_listed_teams():
    # A team the policy does not list is not compared (membership outside the policy is unknown
    # to the receiver in production too).
    req = requirement(SRE, LEADS, exclude={"acme/sre"})
    result = verify(approve("dave", "carol"), req)
    assert result.ok


def test_a_requester_with_no_team_excludes_nobody():
    result = verify(approve("dave", "bob"), EXCLUDING, requester="zed")
    assert result.ok


def test_a_non_approver_is_refused_with_the_union_of_groups():
    result = verify(approve("mallory", "dave", "bob"))
    assert result.ok
    assert result.reasons == [
        "mallory: is not an approver of policy sod (@acme/payments-leads, @acme/sre)"]


def test_single_group_keeps_the_old_message():
    req = ApprovalRequirement("p", frozenset(), frozenset({"acme/sre"}), 1)
    result = verify([], req)
    assert not result.ok and result.tally() == "sre: 0/1"
    assert result.reasons == ["0 of 1 required approvals (1 approval from @acme/sre (policy p))"]


def test_user_groups():
    req = requirement(ApproverGroup("a", frozenset({"dave"}), frozenset(), 1),
                      ApproverGroup("b", frozenset({"bob", "dave"}), frozenset(), 1))
    assert verify(approve("dave", "bob"), req).ok
    assert not verify(approve("dave"), req).ok
    assert verify(approve("dave"), req).tally() == "a: 1/1 ✓, b: 0/1"


def test_no_owners_refuses_even_with_groups_filled():
    result = verify_approvals(approve("dave", "bob"), HEAD, "alice", "alice", TWO, None, MEMBERS)
    assert not result.ok


# -- the matching itself -----------------------------------------------------------------------


def test_max_assignment_moves_an_earlier_holder():
    fits = {"x": [0, 1], "y": [0]}
    assert max_assignment(["x", "y"], fits, {0: 1, 1: 1}) == {"x": 1, "y": 0}


def test_max_assignment_respects_seats_and_counts_each_person_once():
    fits = {"x": [0, 1]}
    assert max_assignment(["x"], fits, {0: 1, 1: 1}) == {"x": 0}
    assert max_assignment(["x", "y"], {"x": [0], "y": [0]}, {0: 2}) == {"x": 0, "y": 0}
    assert max_assignment(["x", "y", "z"], {"x": [0], "y": [0], "z": [0]}, {0: 2}) == {
        "x": 0, "y": 0}
    assert max_assignment(["x"], {"x": [0]}, {0: 0}) == {}
    assert max_assignment(["x"], {}, {0: 1}) == {}


def test_max_assignment_long_augmenting_path():
    fits = {"a": [0, 1], "b": [1, 2], "c": [0]}
    placed = max_assignment(["a", "b", "c"], fits, {0: 1, 1: 1, 2: 1})
    assert placed == {"a": 1, "b": 2, "c": 0}


class Recording:
    """A membership that records whose teams were asked (each lookup is API calls in
    production: one per candidate team)."""

    def __init__(self):
        self.asked = []

    def teams_of(self, login):
        self.asked.append(login)
        return MEMBERS.teams_of(login)


def test_without_exclusion_the_requesters_teams_are_never_looked_up():
    members = Recording()
    result = verify_approvals(approve("dave", "bob"), HEAD, "alice", "alice", TWO, OWNERS,
                              members)
    assert result.ok and members.asked == ["dave", "bob"]
    members = Recording()
    result = verify_approvals(approve("dave", "bob"), HEAD, "alice", "alice", EXCLUDING, OWNERS,
                              members)
    assert result.ok and members.asked[0] == "alice"


def test_tally_marks_only_full_groups():
    assert GroupTally("g", ("a",), 2).format() == "g: 1/2"
    assert GroupTally("g", ("a", "b"), 2).format() == "g: 2/2 ✓"
    assert GroupTally("g", ("a", "b", "c"), 2).ok
    assert not GroupTally("g", (), 1).ok
