"""A small maximum bipartite assignment: people to the seats of groups, one seat per person.

Separation-of-duties approvals need "one person counts once across groups": a reviewer in two
groups may fill a seat in either, not both. Counting per group would let one person satisfy
every group; a maximum matching (Kuhn's augmenting paths, capacities as seats) says how many
seats distinct people can fill at once. Sizes are tiny (reviews on one PR, at most 10 seats),
so the simple O(V·E) algorithm is plenty; the order of *people* makes the result deterministic.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence


def max_assignment(
    people: Sequence[str],
    fits: Mapping[str, Sequence[int]],
    seats: Mapping[int, int],
) -> dict[str, int]:
    """A maximum assignment ``person -> group``: each person in at most one group, group *g*
    holding at most ``seats[g]`` people, each only in a group listed in ``fits[person]``.

    People earlier in *people* and groups earlier in ``fits[person]`` are preferred.
    """
    holders: dict[int, list[str]] = {g: [] for g in seats}
    placed: dict[str, int] = {}

    def place(person: str, visited: set[int]) -> bool:
        for group in fits.get(person, ()):
            if group in visited or seats.get(group, 0) <= 0:
                continue
            visited.add(group)
            if len(holders[group]) < seats[group]:
                holders[group].append(person)
                placed[person] = group
                return True
            # Full: try to move one of its holders elsewhere to free a seat.
            for other in list(holders[group]):
                if place(other, visited):
                    holders[group].remove(other)
                    holders[group].append(person)
                    placed[person] = group
                    return True
        return False

    for person in people:
        if person not in placed:
            place(person, set())
    return placed
