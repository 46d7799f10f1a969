"""Evaluation of requests against policies: eligibility, limits, excluded namespaces,
CODEOWNERS matching and approval verification. Pure functions, no I/O."""

from janus.policy.decision import ApprovalRequirement, Decision
from janus.policy.evaluate import evaluate
from janus.policy.membership import NO_MEMBERSHIP, Membership, StaticMembership

__all__ = [
    "NO_MEMBERSHIP",
    "ApprovalRequirement",
    "Decision",
    "Membership",
    "StaticMembership",
    "evaluate",
]
