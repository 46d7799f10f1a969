"""Merge verification's facts from GitHub's GraphQL API: three queries instead of ~17 requests.

1. :data:`PULL_QUERY` — the pull request: state, merge commit and its first parent, base and
   head (repository ids and names, ref, head OID), author and merger, GitHub's own counts,
   the changed files, the commits with their root trees (and their first parent's), the
   reviews with author, state, commit and ``authorCanPushToRepository``, and the rate limit.
2. :func:`blobs_query` — the policies tree and the CODEOWNERS candidates at the base commit
   and every changed request file at the merge commit, as
   ``object(expression: "<oid>:<path>") { ... on Blob { text } }``.
3. :func:`members_query` — for every login the verdict may ask about (author, reviewers,
   requester) and every team the policies or CODEOWNERS name: is it a member.

Connections are paged by 100 (GitHub's maximum) through ``pageInfo``; an answer with an
``errors`` array is never used in part (:class:`GraphQLFailed`); each answer's ``rateLimit``
(cost, remaining, reset) is logged and kept in :attr:`GraphQLSource.rate_limit`.

Where GraphQL cannot answer, REST still does (and only then):

* **which files one commit changes** — GraphQL's ``Commit`` has no file list. Each commit's
  root tree is compared with its parent's instead (git ids are content hashes: equal ids,
  equal content), which proves a commit touches nothing outside ``requests/`` in the same
  query. Only when a commit *does* change something outside, or changes more files than a
  request PR may (``changedFilesIfAvailable``, null when GitHub cannot count), are the
  commits' files listed over REST: to name them in the refusal, and to keep the per-commit
  file limit of ``within-list-limits`` exactly as it was.
* **the previous path of a renamed or copied file** — ``PullRequestChangedFile`` has only the
  new path; a PR with a rename lists its files over REST.
* **who committed a commit of a PR Janus opened** — GraphQL's ``GitActor.user`` is a ``User``
  and a GitHub App's bot is not one, so the App cannot be recognised as committer: the
  commit list is read over REST (one request, only for PRs Janus opened).
* **a team membership GraphQL pages past** — a ``members(query:)`` answer with more than a
  page and no exact match falls back to REST's membership endpoint.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Iterable
from typing import Any

from github.PullRequest import PullRequest
from github.Repository import Repository

from janus import errors
from janus.gitops import sources
from janus.gitops.merge_facts import (
    ChangedFile,
    CommitFiles,
    CommitTrust,
    MembershipFor,
    PullFacts,
    rest_commit_files,
    rest_commit_trust,
    rest_files,
)
from janus.logs import event
from janus.model import PolicySet, load_policy_set_from_files
from janus.policy import Membership
from janus.policy.approval import Review
from janus.policy.codeowners import LOCATIONS as CODEOWNERS_LOCATIONS
from janus.policy.codeowners import CodeOwners, find_codeowners

log = logging.getLogger("janus.gitops.graphql")

PAGE = 100  # GitHub's maximum `first` on any connection
# REST's status names for GraphQL's PatchStatus.
CHANGE_STATUS = {"ADDED": "added", "DELETED": "removed", "MODIFIED": "modified",
                 "RENAMED": "renamed", "COPIED": "copied", "CHANGED": "changed"}
# A permission label for a reviewer without push access (GraphQL answers yes or no only).
NO_WRITE = "read or none"

_RATE = "rateLimit { cost remaining resetAt }"
_PAGE_INFO = "pageInfo { hasNextPage endCursor }"
_ENTRIES = "tree { entries { name type oid mode } }"
_FILES = f"totalCount {_PAGE_INFO} nodes {{ path changeType }}"
_COMMITS = (f"totalCount {_PAGE_INFO} nodes {{ commit {{ oid changedFilesIfAvailable {_ENTRIES} "
            f"parents(first: 1) {{ nodes {{ oid {_ENTRIES} }} }} }} }}")
_REVIEWS = (f"totalCount {_PAGE_INFO} nodes {{ author {{ __typename login }} state "
            "commit { oid } submittedAt authorCanPushToRepository }")

PULL_QUERY = f"""
query JanusMerge($owner: String!, $name: String!, $number: Int!) {{
  {_RATE}
  repository(owner: $owner, name: $name) {{
    pullRequest(number: $number) {{
      number merged mergedAt
      mergeCommit {{ oid parents(first: 1) {{ nodes {{ oid }} }} }}
      baseRefName headRefOid
      baseRepository {{ databaseId nameWithOwner }}
      headRepository {{ databaseId nameWithOwner }}
      author {{ __typename login }}
      mergedBy {{ __typename login }}
      changedFiles
      files(first: {PAGE}) {{ {_FILES} }}
      commits(first: {PAGE}) {{ {_COMMITS} }}
      reviews(first: {PAGE}) {{ {_REVIEWS} }}
    }}
  }}
}}
"""

# The next page of one connection of the pull request.
_MORE = {"files": _FILES, "commits": _COMMITS, "reviews": _REVIEWS}


def more_query(connection: str) -> str:
    return f"""
query JanusMergeMore($owner: String!, $name: String!, $number: Int!, $after: String!) {{
  {_RATE}
  repository(owner: $owner, name: $name) {{
    pullRequest(number: $number) {{
      {connection}(first: {PAGE}, after: $after) {{ {_MORE[connection]} }}
    }}
  }}
}}
"""


_BLOB = "oid ... on Blob { text isTruncated isBinary byteSize }"


def blobs_query(count: int) -> str:
    """The policies tree (``tree``) and *count* files (``f0``…), each by an expression
    variable (``$tree``, ``$e0``…): expressions are data, never spliced into the query."""
    files = "\n    ".join(f"f{i}: object(expression: $e{i}) {{ {_BLOB} }}" for i in range(count))
    params = "".join(f", $e{i}: String!" for i in range(count))
    return f"""
query JanusBlobs($owner: String!, $name: String!, $tree: String!{params}) {{
  {_RATE}
  repository(owner: $owner, name: $name) {{
    tree: object(expression: $tree) {{
      ... on Tree {{ entries {{ name path type object {{ {_BLOB} }} }} }}
    }}
    {files}
  }}
}}
"""


# One file not fetched with the others (not expected at merge; kept for completeness).
BLOB_QUERY = f"""
query JanusBlob($owner: String!, $name: String!, $e: String!) {{
  {_RATE}
  repository(owner: $owner, name: $name) {{ f: object(expression: $e) {{ {_BLOB} }} }}
}}
"""


def members_query(count: int) -> str:
    """*count* membership questions ``m0``…: team ``$s<i>`` of organisation ``$o<i>``,
    members matching login ``$q<i>``."""
    parts = "\n  ".join(
        f"m{i}: organization(login: $o{i}) {{ team(slug: $s{i}) {{ "
        f"members(first: {PAGE}, query: $q{i}) {{ pageInfo {{ hasNextPage }} "
        "nodes { login } } } }"
        for i in range(count))
    params = ", ".join(f"$o{i}: String!, $s{i}: String!, $q{i}: String!" for i in range(count))
    return f"query JanusMembers({params}) {{\n  {_RATE}\n  {parts}\n}}\n"


class GraphQLFailed(errors.Unavailable):
    """GitHub answered a GraphQL query with errors: nothing of that answer is used."""

    def __init__(self, query: str, problems: list[dict[str, Any]]) -> None:
        shown = "; ".join(f"{p.get('type', 'ERROR')}: {p.get('message', '')}"
                          for p in problems[:5])
        super().__init__(f"GitHub GraphQL {query}: {shown}")
        self.problems = problems
        self.types = {str(p.get("type", "")) for p in problems}


def login_of(actor: dict[str, Any] | None) -> str | None:
    """REST's login for a GraphQL actor: a bot is ``slug`` in GraphQL, ``slug[bot]`` in REST."""
    if not actor:
        return None
    login = str(actor["login"])
    return f"{login}[bot]" if actor.get("__typename") == "Bot" else login


def parse_time(value: str | None) -> dt.datetime | None:
    return None if value is None else dt.datetime.fromisoformat(value.replace("Z", "+00:00"))


def _root_changes(commit: dict[str, Any]) -> set[str]:
    """Root entries a commit changes relative to its first parent, ``requests/`` excepted
    (compared by git object id, type and mode; a root commit changes all of them)."""
    def entries(node: dict[str, Any]) -> set[tuple[str, str, str, int]]:
        return {(e["name"], e["type"], e["oid"], e["mode"]) for e in node["tree"]["entries"]
                if not (e["name"] == sources.REQUESTS_DIR and e["type"] == "tree")}

    parents = commit["parents"]["nodes"]
    mine = entries(commit)
    theirs = entries(parents[0]) if parents else set()
    return {e[0] for e in mine ^ theirs}


def _too_many_files(commit: dict[str, Any], max_files: int) -> bool:
    """More than *max_files* changed, or GitHub could not say (``changedFilesIfAvailable``
    is null when it times out computing it)."""
    count = commit.get("changedFilesIfAvailable")
    return count is None or count > max_files


def pull_facts(pr: dict[str, Any]) -> PullFacts:
    """The pull request of :data:`PULL_QUERY`'s answer as :class:`PullFacts`."""
    merge = pr.get("mergeCommit")
    head = pr.get("headRepository")
    base = pr["baseRepository"]
    return PullFacts(
        number=pr["number"], merged=bool(pr["merged"]),
        merge_commit=merge["oid"] if merge else None,
        merged_at=parse_time(pr.get("mergedAt")), merged_by=login_of(pr.get("mergedBy")),
        author=login_of(pr.get("author")),
        base_repo=base["nameWithOwner"], base_repo_id=base["databaseId"],
        base_ref=pr["baseRefName"], head_sha=pr["headRefOid"],
        head_repo=head["nameWithOwner"] if head else None,
        head_repo_id=head["databaseId"] if head else None,
        commits=pr["commits"]["totalCount"], changed_files=pr["changedFiles"],
    )


def changed_files(nodes: Iterable[dict[str, Any]]) -> list[ChangedFile]:
    return [ChangedFile(n["path"], CHANGE_STATUS[n["changeType"]]) for n in nodes]


def reviews_of(nodes: Iterable[dict[str, Any]]) -> list[Review]:
    """Submitted reviews by existing accounts (a deleted one's author is null; a PENDING
    draft has no submittedAt), as the approval rules read them."""
    out = []
    for n in nodes:
        login = login_of(n.get("author"))
        submitted = parse_time(n.get("submittedAt"))
        if login is None or submitted is None:
            continue
        out.append(Review(login, n["state"].upper(), (n.get("commit") or {}).get("oid", ""),
                          submitted))
    return out


def push_access(nodes: Iterable[dict[str, Any]]) -> dict[str, str]:
    """login (lower case) -> ``write`` or :data:`NO_WRITE`, from the reviews' own
    ``authorCanPushToRepository`` (what REST's collaborator permission answered)."""
    out: dict[str, str] = {}
    for n in nodes:
        login = login_of(n.get("author"))
        if login is not None:
            out[login.lower()] = "write" if n["authorCanPushToRepository"] else NO_WRITE
    return out


class GraphQLSource:
    """:class:`janus.gitops.merge_facts.MergeSource` over GraphQL (see the module doc).

    One instance per merge verification; answers are kept for its lifetime only."""

    def __init__(self, repo: Repository, pull: PullRequest,
                 membership_for: MembershipFor) -> None:
        self.repo = repo
        self._rest_pull = pull
        self._membership_for = membership_for
        self.owner, self.name = repo.full_name.split("/", 1)
        self.number = pull.number
        self.rate_limit: dict[str, Any] = {}
        self.queries = 0
        self._pr: dict[str, Any] | None = None
        self._blobs: dict[tuple[str, str], dict[str, Any] | None] = {}
        self._policy_files: dict[str, dict[str, bytes]] = {}
        self._lock = threading.Lock()

    # ---- transport -----------------------------------------------------------------------

    def query(self, name: str, text: str, variables: dict[str, Any],
              not_found_is_null: bool = False) -> dict[str, Any]:
        """``data`` of one GraphQL answer; :class:`GraphQLFailed` when it carries errors
        (with *not_found_is_null*, NOT_FOUND errors alone only leave their field null)."""
        requester = self.repo.requester  # the same client, auth and retries as REST
        _, body = requester.requestJsonAndCheck(
            "POST", requester.graphql_url, input={"query": text, "variables": variables})
        self.queries += 1
        body = body or {}
        data = body.get("data") or {}
        rate = data.get("rateLimit") or {}
        if rate:
            self.rate_limit = rate
        event(log, "github.graphql", query=name, cost=rate.get("cost"),
              remaining=rate.get("remaining"), reset=rate.get("resetAt"),
              level=logging.DEBUG)
        problems = list(body.get("errors") or [])
        if problems and not (not_found_is_null
                             and all(p.get("type") == "NOT_FOUND" for p in problems)):
            raise GraphQLFailed(name, problems)
        return data

    # ---- the pull request ----------------------------------------------------------------

    def _pull(self) -> dict[str, Any]:
        with self._lock:
            if self._pr is not None:
                return self._pr
            variables = {"owner": self.owner, "name": self.name, "number": self.number}
            data = self.query("JanusMerge", PULL_QUERY, variables)
            pr = (data.get("repository") or {}).get("pullRequest")
            if pr is None:
                raise GraphQLFailed("JanusMerge", [{"type": "NOT_FOUND",
                                                    "message": f"no PR #{self.number}"}])
            for connection in ("files", "commits", "reviews"):
                page = pr[connection]
                while page["pageInfo"]["hasNextPage"]:
                    more = self.query(f"JanusMergeMore.{connection}", more_query(connection),
                                      variables | {"after": page["pageInfo"]["endCursor"]})
                    page_next = more["repository"]["pullRequest"][connection]
                    pr[connection]["nodes"] += page_next["nodes"]
                    page = page_next
            self._pr = pr
            return pr

    def pull(self) -> PullFacts:
        return pull_facts(self._pull())

    def files(self) -> list[ChangedFile]:
        nodes = self._pull()["files"]["nodes"]
        if any(n["changeType"] in ("RENAMED", "COPIED") for n in nodes):
            # GraphQL names only the new path of a rename; REST also names the old one.
            return rest_files(self._rest_pull)
        return changed_files(nodes)

    def commit_files(self, max_files: int) -> list[CommitFiles]:
        commits = [n["commit"] for n in self._pull()["commits"]["nodes"]]
        if any(_root_changes(c) or _too_many_files(c, max_files) for c in commits):
            # Something outside requests/ changed in some commit, or a commit changes more
            # files than a request PR may (or GitHub could not count them): list the files
            # over REST, to name them and to apply the same per-commit limit as ever.
            return rest_commit_files(self._rest_pull, max_files)
        return [CommitFiles(c["oid"], ()) for c in commits]

    def base_commit(self, merge_commit: str) -> str | None:
        merge = self._pull().get("mergeCommit") or {}
        if merge.get("oid") != merge_commit:
            return None
        parents = merge["parents"]["nodes"]
        return parents[0]["oid"] if parents else None

    def commit_trust(self) -> list[CommitTrust]:
        return rest_commit_trust(self._rest_pull)

    def reviews(self) -> list[Review]:
        return reviews_of(self._pull()["reviews"]["nodes"])

    def permissions(self, logins: set[str]) -> dict[str, str]:
        known = push_access(self._pull()["reviews"]["nodes"])
        return {login: known.get(login.lower(), NO_WRITE) for login in logins}

    # ---- files at commits ----------------------------------------------------------------

    def _fetch_blobs(self, base: str) -> None:
        """Policies and CODEOWNERS at *base*, the changed request files at the merge commit:
        one query."""
        facts = self.pull()
        wanted = [(base, loc) for loc in CODEOWNERS_LOCATIONS]
        if facts.merge_commit:
            wanted += [(facts.merge_commit, f.filename) for f in self.files()
                       if f.status != "removed" and sources.is_request_path(f.filename)]
        variables: dict[str, Any] = {"owner": self.owner, "name": self.name,
                                     "tree": f"{base}:{sources.POLICIES_DIR}"}
        for i, (ref, path) in enumerate(wanted):
            variables[f"e{i}"] = f"{ref}:{path}"
        data = self.query("JanusBlobs", blobs_query(len(wanted)), variables)
        repo = data.get("repository") or {}
        for i, key in enumerate(wanted):
            self._blobs[key] = repo.get(f"f{i}")
        files: dict[str, bytes] = {}
        for entry in (repo.get("tree") or {}).get("entries") or []:
            if entry["type"] == "blob" and entry["path"].endswith((".yaml", ".yml")):
                found = self._blob_file(entry["path"], entry.get("object"))
                if found is not None:
                    files[found.path] = found.data
        self._policy_files[base] = files

    def _blob_file(self, path: str, blob: dict[str, Any] | None) -> sources.FileAtCommit | None:
        if not blob or "text" not in blob:  # absent, or a tree/submodule at that path
            return None
        if blob.get("isTruncated") or blob.get("isBinary") or blob.get("text") is None:
            raise sources.UnreadableFile(path, blob["oid"], int(blob.get("byteSize") or 0),
                                         "binary" if blob.get("isBinary") else "truncated")
        return sources.FileAtCommit(path, blob["text"].encode("utf-8"), blob["oid"])

    def policies(self, ref: str) -> tuple[PolicySet, CodeOwners | None]:
        if ref not in self._policy_files:
            self._fetch_blobs(ref)
        policy_set = load_policy_set_from_files(self._policy_files[ref])  # or ConfigError

        def text(path: str) -> str | None:
            try:
                found = self.read_file(path, ref)
            except sources.UnreadableFile:
                return None
            return None if found is None else found.data.decode("utf-8", "replace")

        found = find_codeowners(text)
        return policy_set, None if found is None else found[1]

    def read_file(self, path: str, ref: str) -> sources.FileAtCommit | None:
        key = (ref, path)
        if key not in self._blobs:
            data = self.query("JanusBlob", BLOB_QUERY,
                              {"owner": self.owner, "name": self.name, "e": f"{ref}:{path}"})
            self._blobs[key] = (data.get("repository") or {}).get("f")
        return self._blob_file(path, self._blobs[key])

    # ---- team membership -----------------------------------------------------------------

    def membership(self, policy_set: PolicySet, codeowners: CodeOwners | None) -> Membership:
        pr = self._pull()
        logins = {login for login in [login_of(pr.get("author"))]
                  + [login_of(n.get("author")) for n in pr["reviews"]["nodes"]]
                  if login is not None}
        rest = self._membership_for(policy_set, codeowners)
        return GraphQLMembership(self, sources.teams_named(policy_set, codeowners), logins,
                                 rest)


class GraphQLMembership:
    """Team membership asked in batches: the first question asks about every login known to
    matter (author, reviewers, and the one asked) in every candidate team, in one query."""

    def __init__(self, source: GraphQLSource, teams: Iterable[str], logins: Iterable[str],
                 rest: Membership) -> None:
        self._source = source
        self._teams = sorted({t.lower() for t in teams if "/" in t})
        self._pending = {login.lower() for login in logins}
        self._member: dict[tuple[str, str], bool] = {}
        self._rest = rest
        self._lock = threading.Lock()

    def teams_of(self, login: str) -> frozenset[str]:
        login = login.lower()
        with self._lock:
            if not self._teams:
                return frozenset()
            if (login, self._teams[0]) not in self._member:
                self._ask(sorted(self._pending | {login}))
                self._pending.clear()
        return frozenset(t for t in self._teams if self._member.get((login, t)))

    def _ask(self, logins: list[str]) -> None:
        pairs = [(login, team) for login in logins for team in self._teams
                 if (login, team) not in self._member]
        if not pairs:
            return
        variables: dict[str, str] = {}
        for i, (login, team) in enumerate(pairs):
            org, slug = team.split("/", 1)
            variables |= {f"o{i}": org, f"s{i}": slug, f"q{i}": login}
        # An organisation that does not exist is NOT_FOUND: its teams have no members.
        data = self._source.query("JanusMembers", members_query(len(pairs)), variables,
                                  not_found_is_null=True)
        for i, (login, team) in enumerate(pairs):
            found = ((data.get(f"m{i}") or {}).get("team") or {}).get("members")
            if found is None:  # no such team (or not visible): not a member, as in REST
                self._member[(login, team)] = False
                continue
            hit = any(n["login"].lower() == login for n in found["nodes"])
            if not hit and found["pageInfo"]["hasNextPage"]:
                # More matches than a page and none exact: ask REST about this one pair.
                hit = team in self._rest.teams_of(login)
            self._member[(login, team)] = hit

