"""``POST /graphql``: GitHub's GraphQL API, answered from the simulator's state.

A query is parsed and validated against GitHub's public schema (``@octokit/graphql-schema``,
fetched by :mod:`.specs`) and then *executed* against it with graphql-core: the resolvers here
hand back plain dicts, and graphql-core shapes the answer by the schema, so every answer has
the schema's types, nullability and enum values by construction (a resolver that leaves a
non-null field empty becomes an error, which is recorded as a contract violation). GitHub's own
rules the schema cannot express are checked too: every connection needs ``first`` or ``last``
(at most 100), and a pull request lists at most 250 commits and 3,000 files, as in REST.

The simulator answers only what Janus asks (pull requests with their files, commits, reviews
and trees; git objects by expression; team members; the rate limit) — any other field of the
schema resolves to null or fails, which the contract counter reports.

Every query and answer is recorded in :data:`STATS` (queries answered, violations); the test
sessions print the counts and fail on any violation.
"""

from __future__ import annotations

import base64
import functools
import json
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import specs
from .errors import ApiError
from .gitstore import CommitInfo, GitRepo, TreeEntry, parse_commit, parse_tree
from .model import Pull, Repo, perm_rank
from .routes_pulls import PULL_COMMITS_CAP, PULL_FILES_CAP
from .world import World

MAX_PAGE = 100  # GitHub: "first"/"last" between 1 and 100 on every connection
# Blob.text of a larger blob is cut and flagged isTruncated (GitHub does not document the
# size; the simulator uses 512 KiB).
TEXT_LIMIT = 512 * 1024
_CHANGE_TYPES = {"added": "ADDED", "removed": "DELETED", "modified": "MODIFIED",
                 "renamed": "RENAMED", "copied": "COPIED", "changed": "CHANGED"}


@dataclass
class Stats:
    """Queries answered and contract violations, for the test session's summary."""

    queries: int = 0
    violations: list[str] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def answered(self) -> None:
        with self._lock:
            self.queries += 1

    def violation(self, text: str) -> None:
        with self._lock:
            self.violations.append(text)


STATS = Stats()


@functools.cache
def schema() -> Any:
    """GitHub's public schema, built once per process from the introspection JSON."""
    from graphql import build_client_schema, validate_schema  # test-only dependency

    data = json.loads(Path(specs.graphql_schema()).read_text())
    built = build_client_schema(data.get("data", data))
    # GitHub's published schema deprecates a few fields that implement undeprecated interface
    # fields (PullRequest.databaseId of Reactable ...), which graphql-core's schema check
    # refuses. The schema is GitHub's as published: accept exactly that kind of finding, and
    # still refuse anything else.
    others = [e.message for e in validate_schema(built)
              if "is not deprecated, so implementation field" not in e.message]
    if others:
        raise RuntimeError("@octokit/graphql-schema does not build: " + "; ".join(others[:5]))
    built._validation_errors = []  # checked just above
    return built


class _NotFound(Exception):
    """GitHub's NOT_FOUND error: the field is null and ``errors`` says why."""


def _paging_problems(document: Any) -> list[str]:
    """GitHub's rule the schema cannot state: every connection field is given ``first`` or
    ``last``, at most 100 (``MISSING_PAGINATION_BOUNDARIES`` / ``EXCESSIVE_PAGINATION``)."""
    from graphql import (  # test-only dependency
        TypeInfo,
        TypeInfoVisitor,
        Visitor,
        get_named_type,
        visit,
    )

    problems: list[str] = []
    info = TypeInfo(schema())

    class Paging(Visitor):
        def enter_field(self, node: Any, *_: Any) -> None:
            named = get_named_type(info.get_type())
            if named is None or not named.name.endswith("Connection"):
                return
            args = {a.name.value: a.value for a in node.arguments or ()}
            bound = args.get("first") or args.get("last")
            if bound is None:
                problems.append(f"You must provide a `first` or `last` value to properly "
                                f"paginate the `{node.name.value}` connection.")
            elif getattr(bound, "value", None) is not None and int(bound.value) > MAX_PAGE:
                problems.append(f"Requesting {bound.value} records on the "
                                f"`{node.name.value}` connection exceeds the `first` limit "
                                f"of {MAX_PAGE} records.")

    visit(document, TypeInfoVisitor(info, Paging()))
    return problems


@functools.lru_cache(maxsize=256)
def _checked(query: str) -> Any:
    """The parsed query and its problems against the schema (validation and paging rules),
    or the parse error. A client sends the same few query texts again and again; parsing and
    validating one against GitHub's schema costs milliseconds, so it is done once per text
    (the answer depends on the text alone; the document is only read by the executor)."""
    from graphql import GraphQLError, parse, validate  # test-only dependency

    try:
        document = parse(query)
    except GraphQLError as exc:
        return exc
    problems = [e.message for e in validate(schema(), document)] or _paging_problems(document)
    return document, tuple(problems)


def answer(world: World, login: str | None, raw: bytes,
           rate: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """The JSON body GitHub sends for one GraphQL request (always HTTP 200 once
    authenticated; problems go into ``errors``)."""
    from graphql import GraphQLError, execute_sync  # test-only dependency

    try:
        body = json.loads(raw or b"{}")
        query = body["query"]
        if not isinstance(query, str):
            raise TypeError(query)
        variables = body.get("variables") or {}
    except (ValueError, KeyError, TypeError):
        raise ApiError(400, "Problems parsing JSON") from None
    checked = _checked(query)
    if isinstance(checked, GraphQLError):
        STATS.violation(f"query does not parse: {checked.message}")
        return {"errors": [{"message": checked.message}]}
    document, problems = checked
    if problems:
        for p in problems:
            STATS.violation(f"query invalid against @octokit/graphql-schema: {p}")
        return {"errors": [{"message": p} for p in problems]}
    resolver = _Resolver(world, login, rate)
    result = execute_sync(schema(), document, root_value=resolver.root(),
                          variable_values=variables,
                          operation_name=body.get("operationName"))
    STATS.answered()
    out: dict[str, Any] = {"data": result.data}
    if result.errors:
        errors = []
        for err in result.errors:
            entry: dict[str, Any] = {"message": err.message, "path": err.path,
                                     "locations": [{"line": loc.line, "column": loc.column}
                                                   for loc in err.locations or ()]}
            if isinstance(err.original_error, _NotFound):
                entry["type"] = "NOT_FOUND"
            else:
                STATS.violation(f"answer does not fit the schema at {err.path}: {err.message}")
            errors.append(entry)
        out["errors"] = errors
    return out


# Commits and trees are immutable (content-addressed): parsed once, kept for later answers.
_PARSED: OrderedDict[tuple[str, str], CommitInfo | list[TreeEntry]] = OrderedDict()
_PARSED_MAX = 50_000
_PARSED_LOCK = threading.Lock()


def _parsed(git: GitRepo, shas: list[str], kind: str) -> dict[str, Any]:
    """sha -> CommitInfo (kind "commit") or tree entries (kind "tree"), reading every one not
    parsed yet with a single ``git cat-file --batch``."""
    key = str(git.path)
    out: dict[str, Any] = {}
    with _PARSED_LOCK:
        for sha in shas:
            if (key, sha) in _PARSED:
                out[sha] = _PARSED[(key, sha)]
    missing = [s for s in dict.fromkeys(shas) if s not in out]
    for sha, (otype, raw) in git.read_objects(missing).items():
        if otype != kind:
            continue
        out[sha] = parse_commit(sha, raw) if kind == "commit" else parse_tree(raw)
    with _PARSED_LOCK:
        for sha in missing:
            if sha in out:
                _PARSED[(key, sha)] = out[sha]
        while len(_PARSED) > _PARSED_MAX:
            _PARSED.popitem(last=False)
    return out


def _cursor(index: int) -> str:
    return base64.b64encode(f"cursor:v2:{index}".encode()).decode()


def _index(cursor: str | None) -> int:
    if not cursor:
        return -1
    try:
        return int(base64.b64decode(cursor).decode().rsplit(":", 1)[1])
    except (ValueError, IndexError):
        raise ValueError(f"`{cursor}` does not appear to be a valid cursor.") from None


def connection(items: list[Any], first: int | None = None, after: str | None = None,
               last: int | None = None, before: str | None = None,
               total: int | None = None,
               build: Callable[[list[Any]], list[Any]] | None = None) -> dict[str, Any]:
    """A Relay connection over *items* (nodes, edges, pageInfo, totalCount); with *build*,
    *items* are keys and only the page's are turned into nodes (``build(keys)``)."""
    start = _index(after) + 1
    end = _index(before) if before else len(items)
    window = list(range(start, min(end, len(items))))
    if first is not None:
        window = window[:first]
    if last is not None:
        window = window[-last:] if last else []
    nodes = [items[i] for i in window]
    if build is not None:
        nodes = build(nodes)
    return {
        "totalCount": len(items) if total is None else total,
        "nodes": nodes,
        "edges": [{"cursor": _cursor(i), "node": node} for i, node in zip(window, nodes,
                                                                           strict=True)],
        "pageInfo": {
            "hasNextPage": bool(window) and window[-1] < len(items) - 1,
            "hasPreviousPage": bool(window) and window[0] > 0,
            "startCursor": _cursor(window[0]) if window else None,
            "endCursor": _cursor(window[-1]) if window else None,
        },
    }


def _iso(ts: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


class _Resolver:
    """Plain dicts for the schema's objects; a callable value is a field with arguments
    (graphql-core's default resolver calls it with ``info`` and the arguments)."""

    def __init__(self, world: World, login: str | None,
                 rate: Callable[[], dict[str, Any]]) -> None:
        self.world = world
        self.login = login
        self.rate = rate
        self._file_counts: dict[str, int] = {}

    def root(self) -> dict[str, Any]:
        return {"repository": self.repository, "organization": self.organization,
                "rateLimit": self.rate_limit}

    # -- top level ---------------------------------------------------------------------------

    def rate_limit(self, info: Any, dryRun: bool = False) -> dict[str, Any]:
        state = self.rate()
        return {"cost": 1, "limit": state["limit"], "remaining": state["remaining"],
                "used": state["used"], "resetAt": _iso(state["reset"]), "nodeCount": 0}

    def repository(self, info: Any, owner: str, name: str,
                   followRenames: bool = True) -> dict[str, Any]:
        try:
            repo = self.world.repo(f"{owner}/{name}")
            self.world.require(repo, self.login, "read")
        except ApiError:
            raise _NotFound(f"Could not resolve to a Repository with the name "
                            f"'{owner}/{name}'.") from None
        return self.repo(repo)

    def organization(self, info: Any, login: str) -> dict[str, Any]:
        org = self.world.orgs.get(login.lower())
        if org is None:
            raise _NotFound(f"Could not resolve to an Organization with the login of "
                            f"'{login}'.")

        def team(info: Any, slug: str) -> dict[str, Any] | None:
            found = org.teams.get(slug.lower())
            if found is None:
                return None

            def members(info: Any, first: int | None = None, after: str | None = None,
                        last: int | None = None, before: str | None = None,
                        query: str | None = None, membership: str | None = None,
                        role: str | None = None, orderBy: Any = None,
                        ) -> dict[str, Any]:
                logins = sorted(found.members, key=str.lower)  # pending invitations: no
                if role is not None:
                    wanted = "maintainer" if role == "MAINTAINER" else "member"
                    logins = [m for m in logins if found.members[m] == wanted]
                if query:
                    q = query.lower()
                    logins = [m for m in logins if q in m.lower()
                              or q in (self.world.account(m).name or "").lower()]
                return connection([self.actor(m) for m in logins], first, after, last, before)

            return {"__typename": "Team", "slug": found.slug, "name": found.name,
                    "databaseId": found.id, "members": members}

        return {"__typename": "Organization", "login": org.account.login, "team": team}

    # -- accounts ----------------------------------------------------------------------------

    def actor(self, login: str | None) -> dict[str, Any] | None:
        """A user, or a bot: GraphQL names a bot without REST's ``[bot]`` suffix."""
        if login is None:
            return None
        acc = self.world.accounts.get(login.lower())
        if acc is None or acc.deleted:
            return None
        if acc.type == "Bot":
            return {"__typename": "Bot", "login": acc.login.removesuffix("[bot]"),
                    "databaseId": acc.id}
        return {"__typename": "User", "login": acc.login, "databaseId": acc.id,
                "name": acc.name}

    def _user_for_email(self, email: str) -> dict[str, Any] | None:
        for acc in self.world.accounts.values():
            if acc.email == email and not acc.deleted and acc.type == "User":
                return self.actor(acc.login)
        return None

    # -- repositories and git objects --------------------------------------------------------

    def repo(self, repo: Repo) -> dict[str, Any]:
        def pull_request(info: Any, number: int) -> dict[str, Any]:
            pr = repo.pulls.get(number)
            if pr is None:
                raise _NotFound(f"Could not resolve to a PullRequest with the number of "
                                f"{number}.")
            return self.pull(repo, pr)

        def git_object(info: Any, oid: str | None = None,
                       expression: str | None = None) -> dict[str, Any] | None:
            return self.object_at(repo, oid, expression)

        return {"__typename": "Repository", "databaseId": repo.id, "name": repo.name,
                "nameWithOwner": repo.full_name, "isFork": repo.parent is not None,
                "isPrivate": repo.private,
                "defaultBranchRef": {"__typename": "Ref", "name": repo.default_branch,
                                     "prefix": "refs/heads/"},
                "pullRequest": pull_request, "object": git_object}

    def object_at(self, repo: Repo, oid: str | None,
                  expression: str | None) -> dict[str, Any] | None:
        git = repo.git
        if oid is not None:
            kind = git.object_type(oid)
            return None if kind is None else self.git_object(repo, kind, oid, None)
        if not expression:
            return None
        rev, sep, path = expression.partition(":")
        commit = git.resolve(rev)
        if commit is None:
            return None
        if not sep:
            return self.commit(repo, commit)
        entry = git.entry_at(commit, path)
        if entry is None:
            return None
        return self.git_object(repo, entry.type, entry.sha, entry.size, path.strip("/"))

    def git_object(self, repo: Repo, kind: str, sha: str, size: int | None,
                   path: str | None = None) -> dict[str, Any] | None:
        if kind == "commit":
            return self.commit(repo, sha)
        if kind == "tree":
            return self.tree(repo, sha, path or "")
        if kind == "blob":
            return self.blob(repo, sha)
        return None

    def blob(self, repo: Repo, sha: str) -> dict[str, Any]:
        data = repo.git.read_blob(sha)
        binary = b"\0" in data[:8000]
        text = None if binary else data[:TEXT_LIMIT].decode("utf-8", "replace")
        return {"__typename": "Blob", "oid": sha, "id": f"B_{sha[:16]}",
                "abbreviatedOid": sha[:7], "byteSize": len(data), "isBinary": binary,
                "isTruncated": len(data) > TEXT_LIMIT, "text": text}

    def tree(self, repo: Repo, sha: str, prefix: str = "") -> dict[str, Any]:
        """A tree; its entries' ``path`` is from the repository root, as on GitHub."""
        def entries(info: Any) -> list[dict[str, Any]]:
            out = []
            for e in _parsed(repo.git, [sha], "tree").get(sha, []):
                full = f"{prefix}/{e.path}" if prefix else e.path
                out.append({
                    "__typename": "TreeEntry", "name": e.path, "path": full,
                    "type": e.type, "oid": e.sha, "mode": int(e.mode, 8),
                    "size": (lambda info, e=e: len(repo.git.read_blob(e.sha))
                             if e.type == "blob" else 0),
                    "isGenerated": False,
                    "object": (lambda info, e=e, full=full:
                               self.git_object(repo, e.type, e.sha, e.size, full)),
                })
            return out

        return {"__typename": "Tree", "oid": sha, "id": f"T_{sha[:16]}",
                "abbreviatedOid": sha[:7], "entries": entries}

    def commits(self, repo: Repo, shas: list[str]) -> list[dict[str, Any]]:
        """Many commits at once: them, their first parents and all their root trees are read
        with two ``git cat-file --batch`` calls, not two processes per commit."""
        infos = _parsed(repo.git, shas, "commit")
        parents = [i.parents[0] for i in infos.values() if i.parents]
        infos |= _parsed(repo.git, parents, "commit")
        _parsed(repo.git, [i.tree for i in infos.values()], "tree")
        self._file_counts |= repo.git.changed_file_counts(
            {s: (infos[s].parents[0] if infos[s].parents else None) for s in shas if s in infos})
        return [self.commit(repo, s) for s in shas]

    def commit(self, repo: Repo, sha: str) -> dict[str, Any]:
        info = _parsed(repo.git, [sha], "commit")[sha]

        def parents(info_: Any, first: int | None = None, after: str | None = None,
                    last: int | None = None, before: str | None = None) -> dict[str, Any]:
            return connection([self.commit(repo, p) for p in info.parents],
                              first, after, last, before)

        def git_actor(person: Any) -> dict[str, Any]:
            return {"__typename": "GitActor", "name": person.name, "email": person.email,
                    "date": _iso(person.timestamp), "user": self._user_for_email(person.email),
                    "avatarUrl": "https://avatars.githubusercontent.com/u/0"}

        signer = repo.signed.get(sha)
        signature = None if signer is None else {
            "__typename": "GpgSignature", "isValid": True, "wasSignedByGitHub": True,
            "state": "VALID", "email": "noreply@github.com", "payload": "", "signature": "",
            "keyId": "B5690EEEBB952194", "signer": None,
        }
        def changed_files(info_: Any) -> int:
            if sha not in self._file_counts:
                parent = info.parents[0] if info.parents else None
                self._file_counts |= repo.git.changed_file_counts({sha: parent})
            return self._file_counts[sha]

        return {"__typename": "Commit", "oid": sha, "id": f"C_{sha[:16]}",
                "changedFilesIfAvailable": changed_files,
                "abbreviatedOid": sha[:7], "message": info.message,
                "tree": self.tree(repo, info.tree), "parents": parents,
                "author": git_actor(info.author), "committer": git_actor(info.committer),
                "signature": signature}

    # -- pull requests -----------------------------------------------------------------------

    def pull(self, repo: Repo, pr: Pull) -> dict[str, Any]:
        git = repo.git
        base = git.merge_base(pr.base_sha, pr.head_sha) or pr.base_sha
        head_repo: Repo | None = repo
        if pr.head_repo is not None:
            try:
                head_repo = self.world.repo(pr.head_repo)
            except ApiError:
                head_repo = None  # the fork was deleted

        def files(info: Any, first: int | None = None, after: str | None = None,
                  last: int | None = None, before: str | None = None) -> dict[str, Any]:
            changes = git.diff(base, pr.head_sha)
            nodes = [{"__typename": "PullRequestChangedFile", "path": c.path,
                      "changeType": _CHANGE_TYPES[c.status], "additions": c.additions,
                      "deletions": c.deletions, "viewerViewedState": "UNVIEWED"}
                     for c in changes[:PULL_FILES_CAP]]
            return connection(nodes, first, after, last, before, total=len(changes))

        def commits(info: Any, first: int | None = None, after: str | None = None,
                    last: int | None = None, before: str | None = None) -> dict[str, Any]:
            every = git.commits_between(base, pr.head_sha)

            def build(shas: list[str]) -> list[dict[str, Any]]:
                return [{"__typename": "PullRequestCommit", "id": f"PRC_{c['oid'][:16]}",
                         "commit": c} for c in self.commits(repo, shas)]

            # Only the first 250 are listed; totalCount is the true count (as on GitHub).
            return connection(every[:PULL_COMMITS_CAP], first, after, last, before,
                              total=len(every), build=build)

        def reviews(info: Any, first: int | None = None, after: str | None = None,
                    last: int | None = None, before: str | None = None,
                    states: list[str] | None = None, author: str | None = None,
                    ) -> dict[str, Any]:
            chosen = [r for r in pr.reviews
                      if (states is None or r.state in states)
                      and (author is None or r.user.lower() == author.lower())]
            return connection(chosen, first, after, last, before,
                              build=lambda page: [self.review(repo, r) for r in page])

        state = "MERGED" if pr.merged else ("OPEN" if pr.state == "open" else "CLOSED")
        return {
            "__typename": "PullRequest", "id": f"PR_{pr.id}", "databaseId": pr.id,
            "number": pr.number, "title": pr.title, "state": state, "merged": pr.merged,
            "mergedAt": pr.merged_at, "closed": pr.state != "open", "isDraft": pr.draft,
            "createdAt": pr.created_at, "updatedAt": pr.updated_at,
            "mergeCommit": (lambda info: self.commit(repo, pr.merge_commit_sha or "")
                            if pr.merged and pr.merge_commit_sha else None),
            "baseRefName": pr.base_ref, "baseRefOid": pr.base_sha,
            "headRefName": pr.head_ref, "headRefOid": pr.head_sha,
            "baseRepository": self.repo(repo),
            "headRepository": None if head_repo is None else self.repo(head_repo),
            "isCrossRepository": pr.head_repo is not None,
            "author": self.actor(pr.user), "mergedBy": self.actor(pr.merged_by),
            "changedFiles": len(git.diff(base, pr.head_sha)),
            "files": files, "commits": commits, "reviews": reviews,
        }

    def review(self, repo: Repo, r: Any) -> dict[str, Any]:
        can_push = perm_rank(self.world.permission(repo, r.user)) >= perm_rank("write")
        return {"__typename": "PullRequestReview", "id": f"PRR_{r.id}", "databaseId": r.id,
                "author": self.actor(r.user), "state": r.state, "body": r.body,
                "submittedAt": r.submitted_at,
                "commit": (lambda info: self.commit(repo, r.commit_id)
                           if r.commit_id else None),
                "authorCanPushToRepository": can_push}
