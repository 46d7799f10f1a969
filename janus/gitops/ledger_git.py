"""The ledger's git access: read files at a branch head and make one commit of many files, moved
onto the branch by compare-and-swap — through GitHub's Git Database API.

One ledger commit costs five writes-or-reads whatever its size: ``GET ref``, ``GET commit`` (the
base tree), ``POST trees`` (every entry inline, request files removed with ``sha: null``),
``POST commits`` and ``PATCH ref {force: false}``. Trees and blobs are immutable, so what was read
once (or written by this process) is cached by SHA; walking to ``ledger/2026/11/30/`` costs a
few tree reads only when those directories changed.

Requests use relative API paths (never URLs from responses), so the same code works behind a
proxy. GitHub's answers are translated here, once:

* a lost race (``422 Update is not a fast forward``, ``409``) → :class:`LedgerConflict`;
* a ruleset or protection refusal (``Repository rule violations found``, ``Protected branch``,
  ``403``) → :class:`LedgerRefused`;
* 5xx, 429, rate limits, connection errors → :class:`LedgerUnavailable`.
"""

from __future__ import annotations

import base64
import hashlib
import threading
from dataclasses import dataclass
from typing import Any

from github import Github, GithubException

from janus import errors


class LedgerConflict(errors.Conflict):
    """The branch moved between reading its head and updating it: read again and retry."""


class LedgerRefused(errors.Refused):
    """GitHub refused the write (branch ruleset/protection without bypass, permissions)."""


class LedgerUnavailable(errors.Unavailable):
    """GitHub did not answer usefully (5xx, rate limit, network)."""


def blob_sha(data: bytes) -> str:
    """git's object id of a blob with *data* (what GitHub reports for the file)."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()  # noqa: S324 - git's id


@dataclass(frozen=True)
class Head:
    commit: str
    tree: str


@dataclass(frozen=True)
class TreeItem:
    path: str
    type: str
    sha: str


class LedgerGit:
    """The ledger branch of one repository, through one authenticated PyGithub client."""

    def __init__(self, gh: Github, repo_name: str) -> None:
        self.gh = gh
        self.repo_name = repo_name
        self._trees: dict[str, dict[str, TreeItem]] = {}
        self._blobs: dict[str, bytes] = {}
        self._lock = threading.Lock()
        self.calls = 0  # API calls made (for the benchmark: calls per grant)

    # ---- plumbing -----------------------------------------------------------------------------

    def _api(self, verb: str, path: str, body: dict[str, Any] | None = None,
             params: dict[str, Any] | None = None) -> Any:
        self.calls += 1
        url = f"/repos/{self.repo_name}{path}"
        try:
            _, data = self.gh.requester.requestJsonAndCheck(verb, url, parameters=params,
                                                            input=body)
        except GithubException as exc:
            raise translate(exc, f"{verb} {path}") from None
        except OSError as exc:  # requests' errors are OSErrors too
            raise LedgerUnavailable(f"GitHub unreachable ({verb} {path}): "
                                    f"{type(exc).__name__}") from None
        return data

    # ---- reading ------------------------------------------------------------------------------

    def head(self, branch: str) -> Head | None:
        """The branch's commit and tree; None when the branch does not exist."""
        try:
            ref = self._api("GET", f"/git/ref/heads/{branch}")
        except errors.NotFound:
            return None
        commit = ref["object"]["sha"]
        info = self._api("GET", f"/git/commits/{commit}")
        return Head(commit, info["tree"]["sha"])

    def tree(self, sha: str) -> dict[str, TreeItem]:
        """The entries of tree *sha* by name (cached: trees never change)."""
        with self._lock:
            cached = self._trees.get(sha)
        if cached is not None:
            return cached
        data = self._api("GET", f"/git/trees/{sha}")
        items = {i["path"]: TreeItem(i["path"], i["type"], i["sha"]) for i in data["tree"]}
        with self._lock:
            self._trees[sha] = items
        return items

    def lookup(self, tree: str, path: str) -> TreeItem | None:
        """The entry at *path* under root tree *tree*, None when absent."""
        parts = path.strip("/").split("/")
        current = tree
        for i, part in enumerate(parts):
            item = self.tree(current).get(part)
            if item is None:
                return None
            if i == len(parts) - 1:
                return item
            if item.type != "tree":
                return None
            current = item.sha
        return None

    def blob(self, sha: str) -> bytes:
        with self._lock:
            cached = self._blobs.get(sha)
        if cached is not None:
            return cached
        data = self._api("GET", f"/git/blobs/{sha}")
        content = base64.b64decode(data.get("content") or "")
        with self._lock:
            self._blobs[sha] = content
        return content

    def read(self, tree: str, path: str) -> tuple[bytes, str] | None:
        """(content, blob sha) of the file at *path*, None when absent."""
        item = self.lookup(tree, path)
        if item is None or item.type != "blob":
            return None
        return self.blob(item.sha), item.sha

    def list_dir(self, tree: str, path: str, recursive: bool = True) -> list[str]:
        """Paths of the blobs under directory *path* (empty if absent)."""
        item = self.lookup(tree, path)
        if item is None or item.type != "tree":
            return []
        out: list[str] = []
        stack = [(path.strip("/"), item.sha)]
        while stack:
            prefix, sha = stack.pop()
            for name, entry in self.tree(sha).items():
                full = f"{prefix}/{name}"
                if entry.type == "tree" and recursive:
                    stack.append((full, entry.sha))
                elif entry.type == "blob":
                    out.append(full)
        return sorted(out)

    # ---- writing ------------------------------------------------------------------------------

    def commit(self, base: Head, changes: dict[str, bytes | None], message: str) -> str:
        """A commit on top of *base* with *changes* (bytes written, None removed); the branch is
        NOT moved (see :meth:`move`). Returns the commit sha."""
        tree_items: list[dict[str, Any]] = []
        for path, data in sorted(changes.items()):
            if data is None:
                tree_items.append({"path": path, "mode": "100644", "type": "blob", "sha": None})
            else:
                tree_items.append({"path": path, "mode": "100644", "type": "blob",
                                   "content": data.decode("utf-8")})
                with self._lock:
                    self._blobs[blob_sha(data)] = data
        tree = self._api("POST", "/git/trees", {"base_tree": base.tree, "tree": tree_items})
        made = self._api("POST", "/git/commits", {"message": message, "tree": tree["sha"],
                                                  "parents": [base.commit]})
        return str(made["sha"])

    def move(self, branch: str, sha: str) -> None:
        """Compare-and-swap: the branch moves to *sha* only if that is a fast-forward of where it
        is now (``force: false``); a racing commit makes this raise LedgerConflict."""
        self._api("PATCH", f"/git/refs/heads/{branch}", {"sha": sha, "force": False})

    def create_branch(self, branch: str, sha: str) -> None:
        self._api("POST", "/git/refs", {"ref": f"refs/heads/{branch}", "sha": sha})


def translate(exc: GithubException, doing: str) -> errors.JanusError:
    """GitHub's answer as one of the ledger's errors (never with the token or the body)."""
    status = exc.status
    data = exc.data if isinstance(exc.data, dict) else {}
    message = str(data.get("message") or "")
    short = " ".join(message.split())[:200]
    if status == 404:
        return errors.NotFound(f"{doing}: not found")
    if status >= 500 or status == 429 or (status == 403 and "rate limit" in message.lower()):
        return LedgerUnavailable(f"{doing}: GitHub answered {status} {short}")
    if "rule violation" in message.lower() or "protected branch" in message.lower():
        return LedgerRefused(f"{doing}: refused by the branch's rules: {short}")
    if status == 409 or (status == 422 and "fast forward" in message.lower()):
        return LedgerConflict(f"{doing}: the branch moved ({status} {short})")
    if status in (401, 403):
        return LedgerRefused(f"{doing}: GitHub refused with {status} {short}")
    return LedgerRefused(f"{doing}: GitHub answered {status} {short}")
