"""A local git clone, read with the ``git`` program itself (no network, no library).

``git`` is fast at exactly what an audit needs — listing a tree of 100,000 files, streaming their
blobs through one ``cat-file --batch`` process, walking history with ``log --raw`` — so every read
here is one subprocess, however many objects it touches. Output is read with ``-z`` (NUL
separated): paths are never quoted or mangled.

Errors are :class:`RepoError` (an :class:`~janus.errors.InvalidInput`) saying what is wrong and
what would be accepted: a folder that does not exist, is not a git repository, a ref that is not
a commit, ``git`` missing.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import threading
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from janus.errors import InvalidInput

_ENV_DROP = ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_OBJECT_DIRECTORY",
             "GIT_ALTERNATE_OBJECT_DIRECTORIES", "GIT_NAMESPACE")
ZERO_SHA = "0" * 40
Sha = TypeVar("Sha", str, bytes)  # object ids come back as they were given


class RepoError(InvalidInput):
    """The repository (or a ref in it) cannot be read; the message says what is accepted."""


@dataclass(frozen=True)
class Change:
    """One file changed by a commit (``git log --raw``): status A/M/D/T, path, blobs before/after
    (``ZERO_SHA`` for none)."""

    status: str
    path: str
    old_blob: str
    new_blob: str


@dataclass(frozen=True)
class Commit:
    """A commit with who made it and, when asked for, what it changed."""

    sha: str
    parents: tuple[str, ...]
    author_name: str
    author_email: str
    committer_name: str
    committer_email: str
    committed_at: dt.datetime
    subject: str
    changes: tuple[Change, ...] = ()


_LOG_FORMAT = "%x1e%H%x1f%P%x1f%an%x1f%ae%x1f%cn%x1f%ce%x1f%ct%x1f%s%x1f"


class GitRepo:
    """A clone (work tree or bare) at *path*. Blocking; each method runs ``git`` once."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        if not self.path.exists():
            raise RepoError(f"{self.path} does not exist; a clone of the access repository "
                            "(git clone …) is accepted")
        if not self.path.is_dir():
            raise RepoError(f"{self.path} is not a folder; a clone of the access repository "
                            "is accepted")
        self._env = {k: v for k, v in os.environ.items() if k not in _ENV_DROP}
        self._env.update(LC_ALL="C", GIT_PAGER="cat", GIT_TERMINAL_PROMPT="0",
                         GIT_OPTIONAL_LOCKS="0")
        try:
            top = self.run("rev-parse", "--absolute-git-dir").decode().strip()
        except RepoError as exc:
            raise RepoError(f"{self.path} is not a git repository ({exc}); a clone of the "
                            "access repository is accepted") from None
        self.git_dir = Path(top)

    # -- running git --------------------------------------------------------------------------

    def run(self, *args: str, input: bytes | None = None) -> bytes:
        """``git -C path ARGS``; its stdout, or :class:`RepoError` with git's own message."""
        try:
            done = subprocess.run(["git", "-C", str(self.path), *args], input=input,
                                  capture_output=True, env=self._env, check=False)
        except FileNotFoundError:
            raise RepoError("the git program is not installed (janus audit runs git)") from None
        if done.returncode != 0:
            message = done.stderr.decode("utf-8", "replace").strip().splitlines()
            raise RepoError(message[-1] if message else f"git {args[0]} failed")
        return done.stdout

    def _stream(self, args: Sequence[str], lines: Iterable[bytes]) -> Iterator[bytes]:
        """Run git with *lines* fed to stdin from a thread (so a full pipe never deadlocks)
        and yield its stdout in chunks."""
        proc = subprocess.Popen(["git", "-C", str(self.path), *args], stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=self._env)
        assert proc.stdin is not None and proc.stdout is not None
        stdin = proc.stdin  # bound here: the narrowing above does not reach into feed()

        def feed() -> None:
            try:
                for line in lines:
                    stdin.write(line + b"\n")
                stdin.close()
            except BrokenPipeError:
                pass

        feeder = threading.Thread(target=feed, daemon=True)
        feeder.start()
        try:
            while chunk := proc.stdout.read(1 << 20):
                yield chunk
        finally:
            feeder.join()
            err = proc.stderr.read() if proc.stderr else b""
            if proc.wait() != 0:
                message = err.decode("utf-8", "replace").strip().splitlines()
                raise RepoError(message[-1] if message else f"git {args[0]} failed")

    # -- refs and commits ---------------------------------------------------------------------

    def resolve(self, ref: str) -> str:
        """The commit *ref* names; RepoError if it names none."""
        if ref.startswith("-"):
            raise RepoError(f"{ref!r} is not a ref; a branch, tag or commit is accepted")
        try:
            return self.run("rev-parse", "--verify", "--quiet", "--end-of-options",
                            f"{ref}^{{commit}}").decode().strip()
        except RepoError:
            raise RepoError(f"{ref!r} is not a commit in {self.path}; a branch, tag or commit "
                            "is accepted (an empty clone has none)") from None

    def commit_at(self, ref: str, moment: dt.datetime) -> str | None:
        """The commit of *ref*'s first-parent line that was newest at *moment* (by committer
        date), None if the line started after it."""
        out = self.run("rev-list", "-1", "--first-parent", f"--before={int(moment.timestamp())}",
                       ref, "--")
        return out.decode().strip() or None

    def commits(self, ref: str) -> set[str]:
        """Every commit reachable from *ref*."""
        return set(self.run("rev-list", ref, "--").decode().split())

    # -- trees and blobs ----------------------------------------------------------------------

    def ls_tree_raw(self, commit: str, prefix: str) -> bytes:
        """``ls-tree -r -z`` of *prefix*/ at *commit*: ``<mode> <type> <sha>\\t<path>\\0``…"""
        return self.run("ls-tree", "-r", "-z", "--full-tree", commit, "--",
                        prefix.rstrip("/") + "/")

    def ls_tree(self, commit: str, prefix: str) -> list[tuple[str, str]]:
        """(path, blob sha) of every file under *prefix*/ at *commit* (sorted by path)."""
        out = self.ls_tree_raw(commit, prefix)
        files = []
        for record in out.split(b"\0"):
            if not record:
                continue
            meta, _, path = record.partition(b"\t")
            _mode, kind, sha = meta.split(b" ")
            if kind == b"blob":
                files.append((path.decode("utf-8", "surrogateescape"), sha.decode()))
        return files

    def read_blobs(self, shas: Sequence[Sha]) -> Iterator[tuple[Sha, bytes]]:
        """(sha, content) for each of *shas*, in order, streamed through one ``cat-file
        --batch --buffer`` (pass them in tree order: neighbours in a tree are usually
        neighbours in the pack, which keeps git's delta cache warm)."""
        if not shas:
            return
        yield from _split_batch(shas, self._stream(["cat-file", "--batch", "--buffer"],
                                                   (_b(s) for s in shas)))

    def locate_blobs(self, shas: Sequence[Sha]) -> Iterator[tuple[Sha, bytes, int, int]]:
        """:meth:`read_blobs` without copies: (sha, buffer, start, end), the data being
        ``buffer[start:end]``; *buffer* is only valid until the next item."""
        if not shas:
            return
        yield from _locate_batch(shas, self._stream(["cat-file", "--batch", "--buffer"],
                                                    (_b(s) for s in shas)))

    def object_ids(self, names: Sequence[str]) -> list[str | None]:
        """The object id of each name (``sha``, ``commit:path``, ``sha^{commit}``), None where
        the name resolves to nothing."""
        if not names:
            return []
        out = b"".join(self._stream(["cat-file", "--batch-check=%(objectname) %(objecttype)"],
                                    (n.encode() for n in names)))
        ids: list[str | None] = []
        for line in out.decode("utf-8", "replace").splitlines():
            parts = line.split(" ")
            ids.append(parts[0] if len(parts) == 2 and parts[1] != "missing" else None)
        if len(ids) != len(names):
            raise RepoError("git cat-file answered an unexpected number of lines")
        return ids

    # -- history ------------------------------------------------------------------------------

    def log(self, ref: str, paths: Sequence[str] = (), *, first_parent: bool = False,
            changes: bool = True, since: dt.datetime | None = None,
            until: dt.datetime | None = None, diff_filter: str | None = None,
            full_history: bool = False) -> list[Commit]:
        """Commits of *ref* (newest first) touching *paths*, with their changes (``--raw``,
        no rename detection; a merge is compared with its first parent). *full_history*: every
        commit that touched *paths*, also on sides of merges that git would simplify away."""
        args = ["log", "-z", "--no-renames", "--no-abbrev", f"--format={_LOG_FORMAT}",
                "--diff-merges=first-parent"]
        if full_history:
            args.append("--full-history")
        if changes:
            args.append("--raw")
        if first_parent:
            args.append("--first-parent")
        if since is not None:
            args.append(f"--since={int(since.timestamp())}")
        if until is not None:
            args.append(f"--until={int(until.timestamp())}")
        if diff_filter:
            args.append(f"--diff-filter={diff_filter}")
        out = self.run(*args, ref, "--", *paths)
        return [parse_commit(record) for record in out.split(b"\x1e") if record.strip(b"\0\n")]

    def diff_tree(self, commit: str, parent: str | None) -> list[Change]:
        """What *commit* changed against *parent* (None: against nothing, a root commit)."""
        args = ["diff-tree", "-r", "-z", "--no-renames", "--no-abbrev"]
        args += ["--root", commit] if parent is None else [parent, commit]
        return _parse_raw(self.run(*args))


def _b(sha: str | bytes) -> bytes:
    return sha if isinstance(sha, bytes) else sha.encode()


def _split_batch(shas: Sequence[Sha], chunks: Iterable[bytes]) -> Iterator[tuple[Sha, bytes]]:
    """The objects of ``cat-file --batch`` output (``<sha> <type> <size>\\n<data>\\n`` each)."""
    for sha, buffer, start, end in _locate_batch(shas, chunks):
        yield sha, buffer[start:end]


def _locate_batch(shas: Sequence[Sha], chunks: Iterable[bytes]
                  ) -> Iterator[tuple[Sha, bytes, int, int]]:
    """(sha, buffer, start, end) of each object: its data is ``buffer[start:end]``, located but
    not copied (a scan of 100,000 blobs searches them in place)."""
    buffer = b""
    pending = iter(shas)
    want: Sha | None = None
    size = -1
    for chunk in chunks:
        buffer = buffer + chunk if buffer else chunk
        pos = 0
        while True:
            if size < 0:
                end = buffer.find(b"\n", pos)
                if end < 0:
                    break
                header = buffer[pos:end].split(b" ")
                want = next(pending)
                pos = end + 1
                if len(header) != 3:  # "<sha> missing"
                    raise RepoError(f"object {_b(want).decode()} is missing from the clone (a "
                                    "shallow or partial clone? a full clone is accepted)")
                size = int(header[2])
            if len(buffer) - pos < size + 1:
                break
            assert want is not None
            yield want, buffer, pos, pos + size
            pos += size + 1
            size = -1
        buffer = buffer[pos:]


def parse_commit(record: bytes) -> Commit:
    """One ``\\x1e``-introduced record of :data:`_LOG_FORMAT` output, with its ``--raw`` part."""
    fields = record.split(b"\x1f")
    head, raw = fields[:8], b"\x1f".join(fields[8:])
    sha, parents, an, ae, cn, ce, ct, subject = (f.decode("utf-8", "replace") for f in head)
    return Commit(sha=sha, parents=tuple(parents.split()), author_name=an, author_email=ae,
                  committer_name=cn, committer_email=ce,
                  committed_at=dt.datetime.fromtimestamp(int(ct), dt.UTC), subject=subject,
                  changes=tuple(_parse_raw(raw)))


def _parse_raw(raw: bytes) -> list[Change]:
    """``:old-mode new-mode old new S\\0path\\0`` records (``-z --raw``)."""
    tokens = raw.split(b"\0")
    changes = []
    i = 0
    while i < len(tokens):
        token = tokens[i].strip(b"\n")
        if not token.startswith(b":"):
            i += 1
            continue
        meta = token[1:].split(b" ")
        path = tokens[i + 1].decode("utf-8", "surrogateescape") if i + 1 < len(tokens) else ""
        changes.append(Change(status=meta[4].decode()[:1], path=path, old_blob=meta[2].decode(),
                              new_blob=meta[3].decode()))
        i += 2
    return changes
