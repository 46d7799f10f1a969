"""PolicySet.covering (indexed, cached) gives the same answer as checking every policy."""

import datetime as dt

from hypothesis import given, settings
from hypothesis import strategies as st

from janus.model import AccessPolicy, PolicySet
from tests.unit.model.helpers import policy_set

CONFIG = policy_set().config
NAME_CHARS = st.sampled_from("ab-1")
PATTERN = st.text(st.sampled_from("ab-1*?"), min_size=1, max_size=5)
NAMESPACE = st.text(NAME_CHARS, min_size=1, max_size=6)


def policy(i: int, clusters: tuple[str, ...], namespaces: tuple[str, ...]) -> AccessPolicy:
    return AccessPolicy(
        name=f"p{i}", clusters=clusters, namespaces=namespaces, roles=("pod-exec",),
        requester_users=frozenset({"alice"}), requester_teams=frozenset(),
        approver_users=frozenset({"bob"}), approver_teams=frozenset(), required=1,
        max_duration=dt.timedelta(hours=1), ticket_pattern=None)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.tuples(st.sampled_from([("prod",), ("staging",), ("prod", "staging")]),
                       st.lists(PATTERN, min_size=1, max_size=3).map(tuple)), max_size=6),
    st.lists(st.tuples(st.sampled_from(["prod", "staging", "dev"]), NAMESPACE), max_size=10),
)
def test_covering_matches_brute_force(specs, queries):
    policies = PolicySet(CONFIG, tuple(policy(i, c, n) for i, (c, n) in enumerate(specs)))
    for cluster, namespace in queries * 2:  # twice: the cached answer too
        expected = tuple(p for p in policies.policies
                         if cluster in p.clusters and p.covers_namespace(namespace))
        assert policies.covering(cluster, namespace) == expected
