"""A bare git repository driven through git plumbing: the simulator's storage for one repo.

Every blob, tree and commit the simulator reports is a real git object, so SHAs, trees, merge
bases and merge commits behave exactly like git's (and like GitHub's, which is git underneath).
Nothing here knows about pull requests; it only answers "what is at this ref" and makes commits.

Commits are built without a worktree: ``read-tree`` into a throwaway index file, ``update-index``
the changes, ``write-tree``, ``commit-tree``. Merges use ``merge-tree --write-tree`` (git >= 2.38),
which merges two commits in memory and reports conflicts through its exit status.
"""

from __future__ import annotations

import dataclasses
import os
import subprocess
import tempfile
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

EMPTY_TREE = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"


class GitError(RuntimeError):
    """A git command failed; the message carries git's stderr."""


class MergeConflict(GitError):
    """The two commits do not merge cleanly."""


@dataclass(frozen=True)
class Person:
    name: str
    email: str
    timestamp: int  # seconds since the epoch, UTC

    def git_env(self, role: str) -> dict[str, str]:
        return {
            f"GIT_{role}_NAME": self.name,
            f"GIT_{role}_EMAIL": self.email,
            f"GIT_{role}_DATE": f"{self.timestamp} +0000",
        }


@dataclass(frozen=True)
class CommitInfo:
    sha: str
    tree: str
    parents: tuple[str, ...]
    author: Person
    committer: Person
    message: str


@dataclass(frozen=True)
class TreeEntry:
    mode: str
    type: str  # blob | tree | commit
    sha: str
    path: str
    size: int | None


@dataclass(frozen=True)
class FileChange:
    status: str  # added | removed | modified | renamed
    path: str
    previous_path: str | None
    old_sha: str | None
    new_sha: str | None
    additions: int
    deletions: int
    patch: str | None


_HEX = frozenset("0123456789abcdef")


def is_sha(text: str) -> bool:
    """A full object id: what it names never changes (content-addressed)."""
    return len(text) == 40 and _HEX.issuperset(text)


class _Memo:
    """A bounded, thread-safe cache of answers about immutable objects (keys start with a
    full SHA). Reads run on several threads at once, so every access holds its lock."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._items: OrderedDict[Any, Any] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Any) -> Any:
        with self._lock:
            return self._items.get(key, _MISSING)

    def put(self, key: Any, value: Any) -> None:
        with self._lock:
            self._items[key] = value
            while len(self._items) > self._size:
                self._items.popitem(last=False)


_MISSING: Any = object()
BLOB_MEMO_BYTES = 64 * 1024  # larger blobs are read each time


def _parse_person(text: str) -> Person:
    # "Name <email> 1700000000 +0000"
    head, _, rest = text.rpartition(">")
    name, _, email = head.partition(" <")
    stamp = rest.strip().split(" ")[0]
    return Person(name=name, email=email, timestamp=int(stamp))


def parse_commit(sha: str, raw_bytes: bytes) -> CommitInfo:
    """A commit object's content (``git cat-file commit``) as :class:`CommitInfo`."""
    raw = raw_bytes.decode("utf-8", errors="replace")
    header, _, message = raw.partition("\n\n")
    tree = ""
    parents: list[str] = []
    author = committer = None
    for line in header.splitlines():
        key, _, value = line.partition(" ")
        if key == "tree":
            tree = value
        elif key == "parent":
            parents.append(value)
        elif key == "author":
            author = _parse_person(value)
        elif key == "committer":
            committer = _parse_person(value)
    assert author is not None and committer is not None
    return CommitInfo(sha, tree, tuple(parents), author, committer, message)


def parse_tree(raw: bytes) -> list[TreeEntry]:
    """A tree object's content (binary: ``<mode> <name>\\0<20-byte id>`` per entry); sizes
    are not in it (None)."""
    entries = []
    at = 0
    while at < len(raw):
        space = raw.index(b" ", at)
        nul = raw.index(b"\0", space)
        mode = raw[at:space].decode().zfill(6)
        kind = "tree" if mode == "040000" else "commit" if mode == "160000" else "blob"
        entries.append(TreeEntry(mode, kind, raw[nul + 1:nul + 21].hex(),
                                 raw[space + 1:nul].decode("utf-8", errors="replace"), None))
        at = nul + 21
    return entries


class GitRepo:
    """One bare repository under *path* (created if missing)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        # Diffs between two commit SHAs never change: a paginated list of thousands of files
        # (GitHub's 3,000-file caps) asks for the same diff once per page.
        self._diffs: dict[tuple[str, str], list[FileChange]] = {}
        self._diffs_lock = threading.Lock()  # reads run on several threads at once
        # Answers about objects named by full SHA (commits, trees, blobs, paths in a commit)
        # never change: kept, so a read costs a git process only the first time.
        self._memo = _Memo(4096)
        if not (self.path / "HEAD").exists():
            self.path.mkdir(parents=True, exist_ok=True)
            self._git("init", "--bare", "--quiet", "--initial-branch=main")

    # -- plumbing -------------------------------------------------------------------------------

    def _git(
        self, *args: str, stdin: bytes | None = None, env: dict[str, str] | None = None,
        ok_codes: tuple[int, ...] = (0,),
    ) -> bytes:
        full_env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(self.path),  # no user config leaks into the simulated repo
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_DIR": str(self.path),
            "LC_ALL": "C",
        }
        if env:
            full_env.update(env)
        proc = subprocess.run(
            ["git", *args], input=stdin, capture_output=True, env=full_env, check=False
        )
        if proc.returncode not in ok_codes:
            raise GitError(f"git {args[0]}: {proc.stderr.decode(errors='replace').strip()}")
        return proc.stdout

    def _git_rc(self, *args: str) -> tuple[int, bytes]:
        proc = subprocess.run(
            ["git", *args], capture_output=True, check=False,
            env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "GIT_DIR": str(self.path),
                 "HOME": str(self.path), "GIT_CONFIG_NOSYSTEM": "1", "LC_ALL": "C"},
        )
        return proc.returncode, proc.stdout

    # -- objects --------------------------------------------------------------------------------

    def write_blob(self, data: bytes) -> str:
        return self._git("hash-object", "-w", "--stdin", stdin=data).decode().strip()

    def read_blob(self, sha: str) -> bytes:
        key = ("blob", sha)
        found = self._memo.get(key) if is_sha(sha) else _MISSING
        if found is not _MISSING:
            return bytes(found)
        data = self._git("cat-file", "blob", sha)
        if is_sha(sha) and len(data) <= BLOB_MEMO_BYTES:
            self._memo.put(key, data)
        return data

    def changed_file_counts(self, commits: dict[str, str | None]) -> dict[str, int]:
        """commit -> how many files it changes against its first parent (*commits* maps each
        to that parent, None for a root commit), with rename detection as :meth:`diff`: one
        ``git diff-tree --stdin`` for all of them."""
        if not commits:
            return {}
        lines = "".join(f"{sha} {parent}\n" if parent else f"{sha}\n"
                        for sha, parent in commits.items())
        out = self._git("diff-tree", "-r", "-M", "--root", "--name-only", "-z", "--stdin",
                        stdin=lines.encode())
        counts = dict.fromkeys(commits, 0)
        current: str | None = None
        for field in out.decode("utf-8", errors="replace").split("\0"):
            if field in counts:
                current = field
            elif field and current is not None:
                counts[current] += 1
        return counts

    def read_objects(self, shas: list[str]) -> dict[str, tuple[str, bytes]]:
        """sha -> (type, raw content) of many objects with one ``git cat-file --batch`` (the
        GraphQL endpoint reads a page of 100 commits and their trees at once)."""
        if not shas:
            return {}
        out = self._git("cat-file", "--batch", stdin="".join(f"{s}\n" for s in shas).encode())
        found: dict[str, tuple[str, bytes]] = {}
        at = 0
        for sha in shas:
            end = out.index(b"\n", at)
            header = out[at:end].decode().split()
            at = end + 1
            if len(header) < 3 or header[1] == "missing":
                continue
            size = int(header[2])
            found[sha] = (header[1], out[at:at + size])
            at += size + 1
        return found

    def object_type(self, sha: str) -> str | None:
        rc, out = self._git_rc("cat-file", "-t", sha)
        return out.decode().strip() if rc == 0 else None

    def resolve(self, rev: str) -> str | None:
        """Commit SHA for a branch name, full ref or (abbreviated) SHA; ``None`` if unknown."""
        if not rev or rev.startswith("-"):
            return None
        if is_sha(rev):  # git takes a full object id as the object, before any ref name
            if self._memo.get(("commit?", rev)) is True:
                return rev
            rc, out = self._git_rc("rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}")
            if rc == 0 and out.decode().strip() == rev:
                self._memo.put(("commit?", rev), True)
                return rev
        for candidate in (f"refs/heads/{rev}", f"refs/tags/{rev}", rev):
            rc, out = self._git_rc("rev-parse", "--verify", "--quiet", f"{candidate}^{{commit}}")
            if rc == 0:
                return out.decode().strip()
        return None

    def raw_commit(self, sha: str) -> str:
        """The commit object's text (what a signature covers)."""
        return self._git("cat-file", "commit", sha).decode("utf-8", errors="replace")

    def commit_info(self, sha: str) -> CommitInfo:
        found = self._memo.get(("info", sha)) if is_sha(sha) else _MISSING
        if found is not _MISSING:
            return found
        info = parse_commit(sha, self._git("cat-file", "commit", sha))
        if is_sha(sha):
            self._memo.put(("info", sha), info)
        return info

    # -- refs -----------------------------------------------------------------------------------

    def refs(self, prefix: str = "refs/") -> dict[str, str]:
        out = self._git("for-each-ref", "--format=%(refname) %(objectname)", prefix)
        pairs = (line.split(" ", 1) for line in out.decode().splitlines() if line)
        return {name: sha for name, sha in pairs}

    def ref(self, name: str) -> str | None:
        return self.refs(name).get(name)

    def update_ref(self, name: str, new: str, old: str | None = None) -> None:
        """Move *name* to *new*; with *old*, only if it still points there (compare-and-swap)."""
        args = ["update-ref", name, new]
        if old is not None:
            args.append(old)
        self._git(*args)

    def set_refs(self, refs: dict[str, str]) -> None:
        """Point several refs at once (one ``update-ref --stdin`` transaction, no
        compare-and-swap): the test-merge refs of a pull request."""
        lines = "".join(f"update {name} {sha}\n" for name, sha in refs.items())
        self._git("update-ref", "--stdin", stdin=lines.encode())

    def delete_ref(self, name: str) -> None:
        self._git("update-ref", "-d", name)

    def fetch(self, other: GitRepo, refspec: str) -> None:
        """Copy objects and refs from the repository *other* (``+src:dst``), as GitHub does
        between a fork and its parent (they share one object network)."""
        self._git("fetch", "--quiet", "--no-tags", str(other.path), refspec)

    # -- trees ----------------------------------------------------------------------------------

    def ls_tree(self, treeish: str, path: str = "", recursive: bool = False) -> list[TreeEntry]:
        """Entries of the tree at *path* inside *treeish* (a commit or tree SHA)."""
        key = ("ls", treeish, path, recursive)
        found = self._memo.get(key) if is_sha(treeish) else _MISSING
        if found is not _MISSING:
            return list(found)
        entries = self._ls_tree(treeish, path, recursive)
        if is_sha(treeish):
            self._memo.put(key, tuple(entries))
        return entries

    def _ls_tree(self, treeish: str, path: str, recursive: bool) -> list[TreeEntry]:
        args = ["ls-tree", "-l", "-z"]
        if recursive:
            args.append("-r")
            args.append("-t")
        spec = f"{treeish}:{path}" if path else treeish
        out = self._git(*args, spec)
        entries = []
        for record in out.decode("utf-8", errors="replace").split("\0"):
            if not record:
                continue
            meta, _, name = record.partition("\t")
            mode, otype, sha, size = meta.split()
            entries.append(
                TreeEntry(mode, otype, sha, name, None if size == "-" else int(size))
            )
        return entries

    def entry_at(self, commit: str, path: str) -> TreeEntry | None:
        """The tree entry for *path* at *commit* (``None`` if absent); ``""`` is the root tree."""
        path = path.strip("/")
        if not path:
            return TreeEntry("040000", "tree", self.tree_of(commit), "", None)
        key = ("entry", commit, path)
        found = self._memo.get(key) if is_sha(commit) else _MISSING
        if found is not _MISSING:
            return found
        entry = self._entry_at(commit, path)
        if is_sha(commit):
            self._memo.put(key, entry)
        return entry

    def _entry_at(self, commit: str, path: str) -> TreeEntry | None:
        parent, _, name = path.rpartition("/")
        rc, _ = self._git_rc("rev-parse", "--verify", "--quiet", f"{commit}:{path}")
        if rc != 0:
            return None
        for entry in self.ls_tree(commit, parent):
            if entry.path == name:
                return TreeEntry(entry.mode, entry.type, entry.sha, path, entry.size)
        return None

    def tree_of(self, commit: str) -> str:
        return self.commit_info(commit).tree

    # -- writing commits ------------------------------------------------------------------------

    def commit_changes(
        self,
        parent: str | None,
        changes: dict[str, bytes | None],
        message: str,
        author: Person,
        committer: Person | None = None,
    ) -> str:
        """A new commit on top of *parent* with files written (bytes) or deleted (``None``)."""
        with tempfile.TemporaryDirectory(prefix="sim-index-") as tmp:
            env = {"GIT_INDEX_FILE": str(Path(tmp) / "index")}
            if parent:
                self._git("read-tree", parent, env=env)
            else:
                self._git("read-tree", "--empty", env=env)
            # One --index-info batch: "<mode> <sha>\t<path>"; mode 0 removes the entry (this
            # works without a work tree, unlike --force-remove).
            lines = []
            for path, data in changes.items():
                path = path.strip("/")
                if data is None:
                    lines.append(f"0 {'0' * 40}\t{path}")
                else:
                    lines.append(f"100644 {self.write_blob(data)}\t{path}")
            if lines:  # an empty commit (same tree) is allowed, as with `git commit --allow-empty`
                self._git("update-index", "--index-info",
                          stdin=("\n".join(lines) + "\n").encode(), env=env)
            tree = self._git("write-tree", env=env).decode().strip()
        return self.commit_tree(tree, [parent] if parent else [], message, author, committer)

    def commit_tree(
        self, tree: str, parents: list[str], message: str, author: Person,
        committer: Person | None = None,
    ) -> str:
        args = ["commit-tree", tree]
        for p in parents:
            args += ["-p", p]
        env = author.git_env("AUTHOR") | (committer or author).git_env("COMMITTER")
        return self._git(*args, stdin=message.encode(), env=env).decode().strip()

    def merge_trees(self, ours: str, theirs: str) -> str:
        """Tree of merging commit *theirs* into *ours*; :class:`MergeConflict` if they clash."""
        rc, out = self._git_rc("merge-tree", "--write-tree", "--no-messages", ours, theirs)
        if rc == 1:
            raise MergeConflict(f"{theirs[:7]} conflicts with {ours[:7]}")
        if rc != 0:
            raise GitError(f"git merge-tree failed for {ours[:7]} and {theirs[:7]}")
        return out.decode().splitlines()[0].strip()

    # -- history --------------------------------------------------------------------------------

    def merge_base(self, a: str, b: str) -> str | None:
        rc, out = self._git_rc("merge-base", a, b)
        return out.decode().strip() if rc == 0 else None

    def is_ancestor(self, ancestor: str, descendant: str) -> bool:
        rc, _ = self._git_rc("merge-base", "--is-ancestor", ancestor, descendant)
        return rc == 0

    def commits_between(self, base: str | None, head: str) -> list[str]:
        """Commits reachable from *head* but not *base*, oldest first (like ``base..head``)."""
        spec = [head, f"^{base}"] if base else [head]
        out = self._git("rev-list", "--reverse", "--topo-order", *spec)
        return out.decode().split()

    def diff(self, base: str, head: str) -> list[FileChange]:
        """Files changed between two commits, with rename detection and unified patches."""
        key = (base, head)
        with self._diffs_lock:
            cached = self._diffs.get(key)
        if cached is not None:
            return list(cached)
        changes = self._diff(base, head)
        if all(len(s) == 40 and all(c in "0123456789abcdef" for c in s) for s in key):
            with self._diffs_lock:
                if len(self._diffs) >= 64:  # SHAs only (a ref moves); a few recent ones
                    self._diffs.pop(next(iter(self._diffs)))
                self._diffs[key] = changes
        return list(changes)

    def _diff(self, base: str, head: str) -> list[FileChange]:
        raw = self._git("diff-tree", "-r", "-z", "-M", "--raw", "--no-commit-id", base, head)
        numstat = self._git("diff-tree", "-r", "-z", "-M", "--numstat", "--no-commit-id",
                            base, head)
        counts = _parse_numstat(numstat)
        fields = raw.decode("utf-8", errors="replace").split("\0")
        changes: list[FileChange] = []
        i = 0
        while i < len(fields) and fields[i]:
            meta = fields[i].lstrip(":").split()
            old_mode, _new_mode, old_sha, new_sha, letter = meta
            if letter.startswith("R"):
                prev, path = fields[i + 1], fields[i + 2]
                i += 3
            else:
                prev, path = None, fields[i + 1]
                i += 2
            status = {"A": "added", "D": "removed", "M": "modified", "R": "renamed",
                      "T": "changed"}.get(letter[0], "modified")
            adds, dels = counts.get(path, (0, 0))
            zero = "0" * 40
            changes.append(FileChange(
                status=status, path=path, previous_path=prev,
                old_sha=None if old_sha == zero or old_mode == "000000" else old_sha,
                new_sha=None if new_sha == zero else new_sha,
                additions=adds, deletions=dels,
                patch=None,
            ))
        patches = self._patches(base, head, len(changes)) if changes else []
        if patches is None:
            patches = [self._patch(base, head, c.path, c.previous_path) for c in changes]
        return [dataclasses.replace(c, patch=patch) for c, patch in zip(changes, patches,
                                                                        strict=True)]

    def _patches(self, base: str, head: str, count: int) -> list[str | None] | None:
        """Every file's patch from one ``git diff``, in the raw listing's order (a process per
        file takes minutes for a commit of thousands of files). None when the blocks do not
        pair one to one with the *count* listed files (a type change is two blocks): the
        caller then asks file by file."""
        text = self._git("diff", "-M", "--no-color", base, head).decode("utf-8",
                                                                          errors="replace")
        # Patch lines start with " ", "+", "-" or "\\", so only headers start "diff --git ".
        blocks = ("\n" + text).split("\ndiff --git ")[1:] if text else []
        if len(blocks) != count:
            return None
        patches: list[str | None] = []
        for block in blocks:
            at = block.find("\n@@")  # as in _patch: from the first hunk, no file headers
            patches.append(None if at < 0 else block[at + 1:].rstrip("\n"))
        return patches

    def _patch(self, base: str, head: str, path: str, prev: str | None) -> str | None:
        paths = [prev, path] if prev else [path]
        out = self._git("diff", "-M", "--no-color", base, head, "--", *paths)
        text = out.decode("utf-8", errors="replace")
        # GitHub's `patch` starts at the first hunk and omits the file headers.
        at = text.find("\n@@")
        if at < 0:
            return None
        return text[at + 1:].rstrip("\n")


def _parse_numstat(raw: bytes) -> dict[str, tuple[int, int]]:
    counts: dict[str, tuple[int, int]] = {}
    fields = raw.decode("utf-8", errors="replace").split("\0")
    i = 0
    while i < len(fields) and fields[i]:
        parts = fields[i].split("\t")
        adds = int(parts[0]) if parts[0].isdigit() else 0
        dels = int(parts[1]) if parts[1].isdigit() else 0
        if len(parts) >= 3 and parts[2]:
            counts[parts[2]] = (adds, dels)
            i += 1
        else:  # a rename: "adds\tdels\t" NUL old NUL new
            counts[fields[i + 2]] = (adds, dels)
            i += 3
    return counts
