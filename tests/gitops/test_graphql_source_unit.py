"""The mapping of GitHub's GraphQL answers to what merge verification needs
(janus/gitops/graphql_source.py), on answers shaped as GitHub sends them."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from janus.gitops import graphql_source as gq
from janus.gitops.merge_facts import ChangedFile


def entries(**oids: str) -> dict[str, Any]:
    return {"tree": {"entries": [
        {"name": name, "type": "blob" if "." in name and name != ".github" else "tree",
         "oid": oid, "mode": 33188 if "." in name and name != ".github" else 16384}
        for name, oid in oids.items()]}}


def commit(mine: dict[str, Any], parent: dict[str, Any] | None) -> dict[str, Any]:
    return {"oid": "c" * 40, **mine,
            "parents": {"nodes": [] if parent is None else [{"oid": "p" * 40, **parent}]}}


PR: dict[str, Any] = {
    "number": 7, "merged": True, "mergedAt": "2026-11-30T04:00:00Z",
    "mergeCommit": {"oid": "m" * 40, "parents": {"nodes": [{"oid": "b" * 40}]}},
    "baseRefName": "main", "headRefOid": "h" * 40,
    "baseRepository": {"databaseId": 11, "nameWithOwner": "acme/access"},
    "headRepository": {"databaseId": 11, "nameWithOwner": "acme/access"},
    "author": {"__typename": "Bot", "login": "janus-app"},
    "mergedBy": {"__typename": "User", "login": "root"},
    "changedFiles": 2, "commits": {"totalCount": 3},
}


def test_pull_facts_keep_rest_names_and_spellings() -> None:
    facts = gq.pull_facts(PR)
    assert (facts.number, facts.merged, facts.merge_commit, facts.base_ref) == \
        (7, True, "m" * 40, "main")
    assert facts.merged_at == dt.datetime(2026, 11, 30, 4, 0, tzinfo=dt.UTC)
    assert facts.author == "janus-app[bot]" and facts.merged_by == "root"
    assert (facts.commits, facts.changed_files) == (3, 2)
    assert facts.head_repo_id == facts.base_repo_id == 11


def test_a_deleted_fork_and_an_unmerged_pr() -> None:
    facts = gq.pull_facts(PR | {"headRepository": None, "merged": False, "mergeCommit": None,
                                "mergedAt": None, "mergedBy": None, "author": None})
    assert facts.head_repo is None and facts.head_repo_id is None
    assert not facts.merged and facts.merge_commit is None and facts.merged_at is None
    assert facts.author is None and facts.merged_by is None


def test_login_of() -> None:
    assert gq.login_of({"__typename": "Bot", "login": "janus"}) == "janus[bot]"
    assert gq.login_of({"__typename": "User", "login": "alice"}) == "alice"
    assert gq.login_of({"__typename": "Mannequin", "login": "old"}) == "old"
    assert gq.login_of(None) is None


def test_change_types_map_to_rest_statuses() -> None:
    nodes = [{"path": f"requests/p/n/{t.lower()}.yaml", "changeType": t}
             for t in ("ADDED", "MODIFIED", "DELETED", "CHANGED")]
    assert gq.changed_files(nodes) == [
        ChangedFile("requests/p/n/added.yaml", "added"),
        ChangedFile("requests/p/n/modified.yaml", "modified"),
        ChangedFile("requests/p/n/deleted.yaml", "removed"),
        ChangedFile("requests/p/n/changed.yaml", "changed")]
    with pytest.raises(KeyError):  # an unknown status is never guessed
        gq.changed_files([{"path": "x", "changeType": "SHUFFLED"}])


def test_root_changes_see_everything_outside_requests() -> None:
    base = entries(**{".github": "g1", "policies": "p1", "requests": "r1", "README.md": "x1"})
    only_requests = entries(**{".github": "g1", "policies": "p1", "requests": "r2",
                               "README.md": "x1"})
    assert gq._root_changes(commit(only_requests, base)) == set()
    codeowners = entries(**{".github": "g2", "policies": "p1", "requests": "r2",
                            "README.md": "x1"})
    assert gq._root_changes(commit(codeowners, base)) == {".github"}
    added = entries(**{".github": "g1", "policies": "p1", "requests": "r1", "README.md": "x1",
                       "evil.sh": "e1"})
    assert gq._root_changes(commit(added, base)) == {"evil.sh"}
    removed = entries(**{".github": "g1", "requests": "r1", "README.md": "x1"})
    assert gq._root_changes(commit(removed, base)) == {"policies"}
    # requests/ turned into a file (or a symlink) is not "inside requests/".
    swapped = {"tree": {"entries": [e if e["name"] != "requests" else
                                    {**e, "type": "blob", "mode": 40960}
                                    for e in base["tree"]["entries"]]}}
    assert gq._root_changes(commit(swapped, base)) == {"requests"}
    # A mode change alone (a file made executable) is a change.
    chmod = {"tree": {"entries": [e if e["name"] != "README.md" else {**e, "mode": 33261}
                                  for e in base["tree"]["entries"]]}}
    assert gq._root_changes(commit(chmod, base)) == {"README.md"}
    # A root commit changes everything it has.
    assert gq._root_changes(commit(base, None)) == {".github", "policies", "README.md"}


def test_reviews_skip_ghosts_and_drafts_and_keep_the_commit() -> None:
    nodes: list[dict[str, Any]] = [
        {"author": {"__typename": "User", "login": "bob"}, "state": "APPROVED",
         "commit": {"oid": "h" * 40}, "submittedAt": "2026-11-30T04:00:00Z",
         "authorCanPushToRepository": True},
        {"author": None, "state": "APPROVED", "commit": {"oid": "h" * 40},
         "submittedAt": "2026-11-30T04:00:01Z", "authorCanPushToRepository": True},
        {"author": {"__typename": "User", "login": "carol"}, "state": "PENDING",
         "commit": None, "submittedAt": None, "authorCanPushToRepository": True},
        {"author": {"__typename": "User", "login": "rita"}, "state": "APPROVED",
         "commit": None, "submittedAt": "2026-11-30T04:00:02Z",
         "authorCanPushToRepository": False},
    ]
    reviews = gq.reviews_of(nodes)
    assert [(r.user, r.state, r.commit_id) for r in reviews] == \
        [("bob", "APPROVED", "h" * 40), ("rita", "APPROVED", "")]
    assert gq.push_access(nodes) == {"bob": "write", "carol": "write", "rita": gq.NO_WRITE}


class _Requester:
    graphql_url = "http://127.0.0.1:1/graphql"

    def __init__(self, body: dict[str, Any]) -> None:
        self.body = body

    def requestJsonAndCheck(self, *_: Any, **__: Any) -> tuple[dict[str, str], Any]:
        return {}, self.body


class _Repo:
    full_name = "acme/access"

    def __init__(self, body: dict[str, Any]) -> None:
        self.requester = _Requester(body)


class _Pull:
    number = 7


def source(body: dict[str, Any]) -> gq.GraphQLSource:
    return gq.GraphQLSource(_Repo(body), _Pull(), lambda *_: None)  # type: ignore[arg-type]


def test_an_answer_with_errors_is_never_used_in_part() -> None:
    body = {"data": {"rateLimit": {"cost": 1, "remaining": 4990, "resetAt": "x"},
                     "repository": {"pullRequest": PR}},
            "errors": [{"type": "RATE_LIMITED", "message": "API rate limit exceeded"}]}
    with pytest.raises(gq.GraphQLFailed) as failed:
        source(body).pull()
    assert failed.value.types == {"RATE_LIMITED"} and "rate limit" in str(failed.value)


def test_not_found_leaves_the_field_null_only_where_allowed() -> None:
    body = {"data": {"m0": None}, "errors": [{"type": "NOT_FOUND", "message": "no org"}]}
    src = source(body)
    assert src.query("JanusMembers", "q", {}, not_found_is_null=True) == {"m0": None}
    with pytest.raises(gq.GraphQLFailed):
        src.query("JanusMerge", "q", {})


def test_the_rate_limit_of_each_answer_is_kept() -> None:
    src = source({"data": {"rateLimit": {"cost": 1, "remaining": 4321,
                                         "resetAt": "2026-11-30T05:00:00Z"}}})
    src.query("JanusMerge", "q", {})
    assert src.rate_limit == {"cost": 1, "remaining": 4321, "resetAt": "2026-11-30T05:00:00Z"}
    assert src.queries == 1


def test_a_commit_over_the_file_limit_or_uncounted_is_listed_over_rest() -> None:
    # The per-commit limit of within-list-limits stays REST's: such a commit is listed there.
    assert not gq._too_many_files({"changedFilesIfAvailable": 300}, 300)
    assert gq._too_many_files({"changedFilesIfAvailable": 301}, 300)
    assert gq._too_many_files({"changedFilesIfAvailable": None}, 300)  # GitHub timed out
