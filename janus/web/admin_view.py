"""What the admin view shows: its filters (user, cluster, namespace, phase) and the links and
columns of a live grant (its PR, who approved it, or that it was break-glass and how its
review stands). Pure: the route reads, this decides."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlencode

from janus import names
from janus.resource import AccessRequestView
from janus.web.ledger_source import PastGrant

# The phase filter's choices: the live phases, then how a grant ends (the ledger's words).
PHASES = ("Approved", "Active", "revoked", "expired", "failed", "deleted")


@dataclass(frozen=True)
class AdminFilter:
    """The admin view's filters; an empty one matches everything. Case-insensitive, exact."""

    user: str = ""
    cluster: str = ""
    namespace: str = ""
    phase: str = ""

    @classmethod
    def from_query(cls, query: Mapping[str, str]) -> AdminFilter:
        def value(key: str) -> str:
            return " ".join(str(query.get(key) or "").split())[:100]

        return cls(value("user"), value("cluster"), value("namespace"), value("phase"))

    @property
    def active(self) -> bool:
        return any((self.user, self.cluster, self.namespace, self.phase))

    def query(self) -> str:
        """The filters as a query string ("" when none), to come back to after an action."""
        pairs = [(k, v) for k, v in (("user", self.user), ("cluster", self.cluster),
                                     ("namespace", self.namespace), ("phase", self.phase)) if v]
        return urlencode(pairs)

    def _same(self, wanted: str, actual: str) -> bool:
        return not wanted or wanted.lower() == actual.lower()

    def live(self, grant: AccessRequestView) -> bool:
        return (self._same(self.user, grant.requester) and self._same(self.cluster, grant.cluster)
                and self._same(self.namespace, grant.namespace)
                and self._same(self.phase, grant.phase))

    def ended(self, past: PastGrant) -> bool:
        # An outcome reads "revoked", or "active (revoking)" before the controller records it.
        outcome = past.outcome.split(" ")[0]
        revoking = "(revoking)" in past.outcome
        phase_ok = (not self.phase or self._same(self.phase, outcome)
                    or (revoking and self.phase.lower() == "revoked"))
        return (self._same(self.user, past.requester) and self._same(self.cluster, past.cluster)
                and self._same(self.namespace, past.namespace) and phase_ok)


def pr_url(grant: AccessRequestView, github_url: str) -> str | None:
    """The grant's pull request on GitHub, when its provenance names one."""
    provenance = grant.provenance
    if provenance is None or not provenance.pull_request or not provenance.repo:
        return None
    return f"{github_url.rstrip('/')}/{provenance.repo}/pull/{provenance.pull_request}"


def approvers(grant: AccessRequestView) -> tuple[str, ...]:
    """Who approved the merge that made the grant (from its provenance)."""
    return grant.provenance.approvers if grant.provenance is not None else ()


def break_glass(grant: AccessRequestView) -> str | None:
    """What the admin view says of a break-glass grant (None: not one): granted without
    approval, and its retrospective review's state as the receiver wrote it
    (janus.gitops.break_glass: open, acknowledged or overdue)."""
    if grant.meta.labels.get(names.LABEL_BREAK_GLASS) != "true":
        return None
    if grant.provenance is None:
        return "BREAK-GLASS by a cluster admin (GitHub was away); review on GitHub"
    state = grant.meta.annotations.get(names.ANNOTATION_BREAK_GLASS_REVIEW)
    return f"BREAK-GLASS, no approval; {state}" if state else "BREAK-GLASS, no approval"
