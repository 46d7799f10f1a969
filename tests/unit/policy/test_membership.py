from pathlib import Path

import pytest

from janus.policy import Membership, StaticMembership

REPO = Path(__file__).resolve().parents[3]


def test_static_membership_is_case_insensitive():
    members = StaticMembership({"ACME/SRE": ["Dave"], "acme/devs": ["dave", "alice"]})
    assert members.teams_of("dave") == frozenset({"acme/sre", "acme/devs"})
    assert members.teams_of("DAVE") == members.teams_of("dave")
    assert members.teams_of("nobody") == frozenset()
    assert isinstance(members, Membership)


def test_demo_membership_file():
    members = StaticMembership.from_file(REPO / "janus/dev/demo_members.yaml")
    assert "acme/payments-devs" in members.teams_of("alice")
    assert "acme/payments-leads" in members.teams_of("bob")
    assert "acme/payments-leads" in members.teams_of("carol")
    assert "acme/sre" in members.teams_of("dave")


@pytest.mark.parametrize("text", [
    "teams: [a, b]\n",
    "teams: {acme/x: alice}\n",
    "teams: {acme/x: [1]}\n",
    "groups: {}\n",
    "teams: {}\nextra: 1\n",
    "teams: {acme/x: [a]}\nteams: {acme/x: [b]}\n",
    "- a\n",
])
def test_bad_membership_files(tmp_path, text):
    path = tmp_path / "m.yaml"
    path.write_text(text)
    with pytest.raises(ValueError):
        StaticMembership.from_file(path)
