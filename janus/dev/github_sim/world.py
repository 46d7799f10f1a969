"""The simulated GitHub's state and rules: who may do what, and what each action changes.

Both the REST layer and the Python control API call these methods, so a merge done through
PyGithub, through ``sim.merge(...)`` or through the review page follows the same rules and
emits the same webhooks. Every method runs under one re-entrant lock. Webhook payloads are
built under the lock (a snapshot of that moment) and put into :attr:`World.outbox`; delivery
happens after the lock is released (see :mod:`.delivery`), so a receiver that calls back into
the simulator while handling a delivery cannot deadlock it.

The rules live in mixins, one concern each: :mod:`.rules_git` (refs, pushes, contents),
:mod:`.rules_pulls` (pull requests, reviews, merges, comments, labels), :mod:`.rules_issues`
(plain issues, assignees) and
:mod:`.rules_checks` (check runs, statuses), on the base :mod:`.state` that keeps accounts,
repositories, permissions, apps, hooks and the event outbox.
"""

from __future__ import annotations

from .model import now_iso
from .rules_checks import CheckRules
from .rules_git import GitRules
from .rules_issues import IssueRules
from .rules_pulls import PullRules
from .rulesets import RulesetRules
from .state import Outgoing

__all__ = ["Outgoing", "World", "now_iso"]


class World(RulesetRules, GitRules, IssueRules, PullRules, CheckRules):
    """All simulated accounts and repositories. Logins and repo names are case-insensitive."""
