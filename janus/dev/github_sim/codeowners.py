"""CODEOWNERS as the simulator needs it: find the file on a commit, and owners of a path.

GitHub reads the first of ``.github/CODEOWNERS``, ``CODEOWNERS``, ``docs/CODEOWNERS`` from the
pull request's *base* branch; the last matching line wins; a matching line without owners makes
the file unowned. When the project's own parser (``janus.policy.codeowners``) is importable it is
used, so the simulator and Janus agree by construction; otherwise a small matcher with the same
rules (gitignore-style patterns, no ``!`` negation, ``[]`` literal) stands in.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from .gitstore import GitRepo

LOCATIONS = (".github/CODEOWNERS", "CODEOWNERS", "docs/CODEOWNERS")
MAX_BYTES = 3 * 1024 * 1024


def read_codeowners(git: GitRepo, commit: str) -> str | None:
    """Text of the CODEOWNERS file in force at *commit*, or ``None``."""
    for path in LOCATIONS:
        entry = git.entry_at(commit, path)
        if entry is not None and entry.type == "blob":
            data = git.read_blob(entry.sha)
            if len(data) >= MAX_BYTES:  # GitHub ignores an oversized file entirely
                return None
            return data.decode("utf-8", errors="replace")
    return None


def owners_resolver(text: str | None) -> Callable[[str], list[str]]:
    """A function ``path -> owners`` (``["@user", "@org/team"]``) for CODEOWNERS *text*."""
    if not text:
        return lambda _path: []
    try:
        from janus.policy.codeowners import CodeOwners
    except ImportError:
        rules = _parse(text)
        return lambda path: _owners(rules, path)
    parsed = CodeOwners.parse(text)
    return lambda path: list(parsed.owners_for(path) or ())


def syntax_errors(text: str) -> list[tuple[int, str]]:
    """``(line, message)`` for lines GitHub would skip (needs ``janus.policy.codeowners``)."""
    try:
        from janus.policy.codeowners import CodeOwners
    except ImportError:
        return []
    return [(e.line, e.message) for e in CodeOwners.parse(text).errors]


def owner_lines(text: str) -> list[tuple[int, str]]:
    """``(line number, owner)`` for every owner named in *text*, for "unknown owner" checks."""
    found = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        for token in line.split()[1:]:
            if token.startswith("#"):
                break
            if token.startswith("@"):
                found.append((number, token))
    return found


def _parse(text: str) -> list[tuple[re.Pattern[str], list[str]]]:
    rules = []
    for raw in text.splitlines():
        line = raw.split(" #", 1)[0].strip() if not raw.lstrip().startswith("#") else ""
        if not line:
            continue
        pattern, *owners = line.split()
        if pattern.startswith("!"):
            continue  # negation is not supported by GitHub; such a line is skipped
        rules.append((_compile(pattern), [o for o in owners if o.startswith("@") or "@" in o]))
    return rules


def _compile(pattern: str) -> re.Pattern[str]:
    anchored = pattern.startswith("/") or "/" in pattern.rstrip("/")
    directory = pattern.endswith("/")
    body = pattern.strip("/")
    out = []
    i = 0
    while i < len(body):
        if body.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif body.startswith("/**", i) and i + 3 == len(body):
            out.append("/.*")
            i += 3
        elif body[i] == "*":
            out.append("[^/]*")
            i += 1
        elif body[i] == "?":
            out.append("[^/]")
            i += 1
        else:
            out.append(re.escape(body[i]))
            i += 1
    core = "".join(out)
    prefix = "" if anchored else "(?:.*/)?"
    # A match on a directory covers everything below it; "docs/*" covers only direct children.
    if body.endswith("/*") and "**" not in body:
        suffix = "" if not directory else "/.*"
    else:
        suffix = "(?:/.*)?" if not directory else "/.*"
    if pattern == "*":
        return re.compile(r"^.*$")
    return re.compile(f"^{prefix}{core}{suffix}$")


def _owners(rules: list[tuple[re.Pattern[str], list[str]]], path: str) -> list[str]:
    path = path.lstrip("/")
    found: list[str] = []
    for regex, owners in rules:
        if regex.match(path):
            found = owners
    return found
