"""What the request form tells a requester before they submit (pure; no I/O).

For each cluster: the namespaces the requester's policies cover, the roles, the longest
duration they allow, whether a ticket is required and in what form (in plain words, not the
policy's regular expression), and who will be asked to approve. The same policies decide at
merge (:mod:`janus.policy.evaluate`); this only summarises them for the form.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from janus.model import PolicySet, format_duration
from janus.policy.membership import Membership


@dataclass(frozen=True)
class ClusterGuidance:
    cluster: str
    namespaces: tuple[str, ...]   # exact names or globs (``payments-*``), as in the policies
    roles: tuple[str, ...]
    max_duration: dt.timedelta
    ticket_required: bool         # every policy the requester may use here asks for one
    ticket_hint: str              # plain words, e.g. "INC- followed by digits, e.g. INC-1234"
    approvers: tuple[str, ...]    # one line per policy, e.g. "1 approval from @acme/payments-leads"

    @property
    def max_duration_text(self) -> str:
        return format_duration(self.max_duration)

    def to_json(self) -> dict[str, object]:
        return {"namespaces": list(self.namespaces), "roles": list(self.roles),
                "maxDuration": self.max_duration_text, "maxSeconds":
                int(self.max_duration.total_seconds()), "ticketRequired": self.ticket_required,
                "ticketHint": self.ticket_hint, "approvers": list(self.approvers)}


def guidance_for(policies: PolicySet, requester: str,
                 membership: Membership) -> dict[str, ClusterGuidance]:
    """cluster -> guidance, for the clusters where some policy lists *requester*."""
    login = requester.lower()
    teams = membership.teams_of(requester)
    config = policies.config
    out: dict[str, ClusterGuidance] = {}
    for cluster in config.clusters:
        mine = [p for p in policies.policies if cluster in p.clusters
                and (login in p.requester_users or teams & p.requester_teams)]
        if not mine:
            continue
        patterns = [p.ticket_pattern.pattern for p in mine if p.ticket_pattern is not None]
        hints = list(dict.fromkeys(ticket_in_words(pat) for pat in patterns))
        out[cluster] = ClusterGuidance(
            cluster=cluster,
            namespaces=tuple(dict.fromkeys(ns for p in mine for ns in p.namespaces
                                           if ns not in config.excluded_namespaces)),
            roles=tuple(sorted({r for p in mine for r in p.roles})),
            max_duration=min(max(p.max_duration for p in mine), config.duration_max),
            ticket_required=len(patterns) == len(mine),
            ticket_hint=" or ".join(hints),
            approvers=tuple(dict.fromkeys(_approvers_in_words(p.required, p.approver_teams,
                                                              p.approver_users) for p in mine)),
        )
    return out


def _approvers_in_words(required: int, teams: frozenset[str], users: frozenset[str]) -> str:
    who = [f"@{t}" for t in sorted(teams)] + [f"@{u}" for u in sorted(users)]
    noun = "approval" if required == 1 else "approvals"
    listed = ", ".join(who) if who else "the code owners"
    return f"{required} {noun} from {listed} (not you)"


# -- a ticket pattern in plain words ---------------------------------------------------------------

_CLASSES = {
    "0-9": ("digits", "1234"), r"\d": ("digits", "1234"),
    "A-Z": ("capital letters", "ABC"), "a-z": ("lower-case letters", "abc"),
    "A-Za-z": ("letters", "Abc"), "a-zA-Z": ("letters", "Abc"),
    "A-Z0-9": ("capital letters or digits", "AB12"), "A-Za-z0-9": ("letters or digits", "Ab12"),
    "a-zA-Z0-9": ("letters or digits", "Ab12"),
}
_TOKEN = re.compile(r"\[(?P<cls>[^\]]+)\]|(?P<d>\\d)|(?P<lit>\\.|[A-Za-z0-9_:/#-])"
                    r"|(?P<q>\+|\*|\?|\{\d+(?:,\d*)?\})")


_GENERIC = "an identifier in the form your team uses for tickets"


def ticket_in_words(pattern: str) -> str:
    """``^INC-[0-9]+$`` -> ``'"INC-" followed by digits, e.g. INC-1234'``. Patterns beyond
    literals, simple character classes and quantifiers get a generic sentence (still no regex)."""
    body = pattern.removeprefix("^").removesuffix("$")
    pieces: list[tuple[str, str, str]] = []  # (kind: lit|cls|done, words, example)
    pos = 0
    while pos < len(body):
        m = _TOKEN.match(body, pos)
        if m is None:
            return _GENERIC
        pos = m.end()
        if m.group("lit"):
            char = m.group("lit")[-1]
            if pieces and pieces[-1][0] == "lit":
                pieces[-1] = ("lit", pieces[-1][1] + char, pieces[-1][2] + char)
            else:
                pieces.append(("lit", char, char))
        elif m.group("cls") or m.group("d"):
            key = m.group("cls") or r"\d"
            if key not in _CLASSES:
                return _GENERIC
            words, example = _CLASSES[key]
            pieces.append(("cls", f"one of the {words}", example[0]))
        else:
            if not pieces or pieces[-1][0] == "done":
                return _GENERIC
            kind, words, example = pieces.pop()
            if kind == "lit" and len(words) > 1:  # a quantifier binds the last character only
                pieces.append(("lit", words[:-1], example[:-1]))
                words, example = words[-1], example[-1]
            pieces.append(_quantified(kind, words, example, m.group("q")))
    if not pieces:
        return "any identifier"
    text = " followed by ".join(f'"{w}"' if k == "lit" else w for k, w, _ in pieces)
    return f"{text}, e.g. {''.join(e for _, _, e in pieces)}"


def _quantified(kind: str, words: str, example: str, quant: str) -> tuple[str, str, str]:
    """A piece with its quantifier applied, in words, with an example."""
    if kind == "cls":
        words = words.removeprefix("one of the ")
        sample = next(e for w, e in _CLASSES.values() if w == words)
    else:
        words, sample = f'"{words}"', example
    if quant in ("*", "?"):
        return ("done", f"optionally {words}", "")
    if quant == "+":
        return ("done", words if kind == "cls" else f"one or more {words}",
                sample if kind == "cls" else example)
    low, comma, high = quant.strip("{}").partition(",")
    count = int(low)
    text = (f"{low} {words}" if not comma else
            f"{low} to {high} {words}" if high else f"at least {low} {words}")
    return ("done", text, (sample * count)[:count] if kind == "cls" else example * count)
