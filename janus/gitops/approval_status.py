"""Before merge: how far each request file's approval groups are filled ("SRE: 1/1 ✓,
payments-leads: 0/1"), for the check run and the plan comment.

The same verdict as at merge (:func:`janus.gitops.verify.check_approvals`: writers only, latest
review on the current head, code owners, one person once across groups), but only reported,
never enforced: merge verification decides. Computed only for files whose deciding policy has
approval groups or ``excludeRequesterTeams``, so a PR under an old-style policy costs no extra
API calls.
"""

from __future__ import annotations

from collections.abc import Sequence

from github.PullRequest import PullRequest
from github.Repository import Repository

from janus.gitops.verify import JudgedFile, fetch_reviews, writers_only
from janus.policy import Membership
from janus.policy.approval import verify_approvals
from janus.policy.codeowners import CodeOwners


def approval_tallies(
    repo: Repository,
    pull: PullRequest,
    judged: Sequence[JudgedFile],
    codeowners: CodeOwners | None,
    membership: Membership,
) -> dict[str, str]:
    """path -> the per-group tally on the PR head, for allowed files under grouped policies."""
    wanted = [(j.path, j.request.requester, j.decision.approval) for j in judged
              if j.request is not None and j.decision is not None and j.decision.allowed
              and j.decision.approval is not None
              and (len(j.decision.approval.groups) > 1 or j.decision.approval.exclude_teams)]
    if not wanted:
        return {}
    author = pull.user.login
    reviews, _, _ = writers_only(repo, fetch_reviews(pull), author)
    out: dict[str, str] = {}
    for path, requester, approval in wanted:
        owners = codeowners.owners_for(path) if codeowners is not None else None
        result = verify_approvals(reviews, pull.head.sha, author, requester, approval, owners,
                                  membership)
        out[path] = result.tally()
    return out
