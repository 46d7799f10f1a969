"""REST handlers for writing git data: blobs, trees and commits (GitHub's Git Database API).

With the refs endpoints (``PATCH /git/refs`` with ``force: false``) these let a client make one
commit of many files and move a branch by compare-and-swap — how the Janus receiver writes its
ledger. Shapes follow GitHub's REST description:

* ``POST /git/blobs`` ``{content, encoding: utf-8|base64}`` → 201 ``{sha, url}``;
* ``POST /git/trees`` ``{base_tree?, tree: [{path, mode, type, sha | content}]}`` → 201 tree;
  ``sha: null`` removes the path from ``base_tree``; ``content`` writes a blob inline;
* ``POST /git/commits`` ``{message, tree, parents, author?, committer?}`` → 201 commit. Without
  a custom committer GitHub signs the commit itself (``verification.verified``), as for the
  contents API.

Objects are created in the repository without moving any ref, so (as on GitHub) they are
invisible until a ref points at them.
"""

from __future__ import annotations

import base64
import binascii
import tempfile
import time
from pathlib import Path
from typing import Any

from .errors import ApiError, validation_failed
from .gitstore import Person
from .rest import Ctx, Reply, route

_MODES = {"100644": "blob", "100755": "blob", "120000": "blob", "040000": "tree",
          "160000": "commit"}


@route("POST", "/repos/{owner}/{repo}/git/blobs")
def create_blob(ctx: Ctx) -> Reply:
    repo = ctx.repo()
    ctx.world.require(repo, ctx.login, "write")
    body = ctx.json()
    content = body.get("content")
    if not isinstance(content, str):
        raise validation_failed("Blob", "missing_field", "content")
    encoding = body.get("encoding", "utf-8")
    if encoding == "base64":
        try:
            data = base64.b64decode(content, validate=False)
        except (binascii.Error, ValueError):
            raise ApiError(422, "Invalid base64 content") from None
    elif encoding in ("utf-8", "utf8"):
        data = content.encode()
    else:
        raise validation_failed("Blob", "invalid", "encoding")
    sha = repo.git.write_blob(data)
    return Reply(201, {"sha": sha,
                       "url": f"{ctx.render.api}/repos/{repo.full_name}/git/blobs/{sha}"})


@route("POST", "/repos/{owner}/{repo}/git/trees")
def create_tree(ctx: Ctx) -> Reply:
    repo = ctx.repo()
    ctx.world.require(repo, ctx.login, "write")
    body = ctx.json()
    entries = body.get("tree")
    if not isinstance(entries, list):
        raise validation_failed("Tree", "missing_field", "tree")
    base = body.get("base_tree")
    if base is not None and (not isinstance(base, str) or repo.git.object_type(base) != "tree"):
        raise ApiError(422, "base_tree is not a valid tree oid")  # GitHub's wording
    lines: list[str] = []
    for item in entries:
        if not isinstance(item, dict) or not isinstance(item.get("path"), str):
            raise validation_failed("Tree", "missing_field", "path")
        path = item["path"].strip("/")
        mode = str(item.get("mode", "100644"))
        if mode not in _MODES or not path or ".." in path.split("/"):
            raise ApiError(422, f"tree.path or tree.mode is invalid: {item.get('path')!r}")
        if "content" in item and item.get("content") is not None:
            sha = repo.git.write_blob(str(item["content"]).encode())
        elif "sha" in item and item["sha"] is None:
            lines.append(f"0 {'0' * 40}\t{path}")
            continue
        else:
            given = item.get("sha")
            if not isinstance(given, str) or repo.git.object_type(given) != _MODES[mode]:
                raise ApiError(422, f"tree.sha {given} is not a valid {_MODES[mode]}")
            sha = given
        lines.append(f"{mode} {sha}\t{path}")
    tree = _write_tree(repo.git, base, lines)
    return Reply(201, ctx.render.tree(repo, tree, False))


def _write_tree(git: Any, base: str | None, lines: list[str]) -> str:
    """A tree: *base* with the index-info *lines* applied (mode 0 removes), via a temporary
    index, as ``gitstore.commit_changes`` does."""
    with tempfile.TemporaryDirectory(prefix="sim-tree-") as tmp:
        env = {"GIT_INDEX_FILE": str(Path(tmp) / "index")}
        if base:
            git._git("read-tree", base, env=env)
        else:
            git._git("read-tree", "--empty", env=env)
        if lines:
            git._git("update-index", "--index-info",
                     stdin=("\n".join(lines) + "\n").encode(), env=env)
        return str(git._git("write-tree", env=env).decode().strip())


def _person(ctx: Ctx, value: Any, fallback: Person) -> Person:
    if not isinstance(value, dict):
        return fallback
    name, email = value.get("name"), value.get("email")
    if not isinstance(name, str) or not isinstance(email, str):
        raise validation_failed("Commit", "invalid", "author")
    return Person(name, email, int(time.time()))


@route("POST", "/repos/{owner}/{repo}/git/commits")
def create_commit(ctx: Ctx) -> Reply:
    repo = ctx.repo()
    ctx.world.require(repo, ctx.login, "write")
    body = ctx.json()
    message, tree, parents = body.get("message"), body.get("tree"), body.get("parents", [])
    if not isinstance(message, str):
        raise validation_failed("Commit", "missing_field", "message")
    if not isinstance(tree, str) or repo.git.object_type(tree) != "tree":
        raise ApiError(422, "Tree SHA does not exist")
    if not isinstance(parents, list) or any(
            not isinstance(p, str) or repo.git.object_type(p) != "commit" for p in parents):
        raise ApiError(422, "Parent SHA does not exist or is not a commit object")
    me = ctx.world._person(ctx.login) if ctx.login else Person("ghost", "ghost@example", 0)
    author = _person(ctx, body.get("author"), me)
    committer = _person(ctx, body.get("committer"), me)
    sha = repo.git.commit_tree(tree, list(parents), message, author, committer)
    if body.get("committer") is None and ctx.login:
        repo.signed[sha] = ctx.login  # made through the API: GitHub signs it ("web-flow")
    return Reply(201, ctx.render.git_commit(repo, repo.git.commit_info(sha)))
