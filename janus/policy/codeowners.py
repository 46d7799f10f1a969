"""CODEOWNERS with GitHub's exact semantics (summarised in docs/requests-and-policies.md).

* Location: ``.github/CODEOWNERS``, then ``CODEOWNERS``, then ``docs/CODEOWNERS``; the first found
  wins; a file of 3 MB or more is not loaded at all.
* Patterns are gitignore-like, paths case-sensitive, and the **last** matching line wins. A matching
  line without owners makes the file unowned (:meth:`CodeOwners.owners_for` returns ``()``, while
  ``None`` means no line matched).
* Not supported by GitHub: ``!`` negation (such lines are skipped as invalid, as GitHub.com does),
  ``[ ]`` ranges (characters taken literally) and ``\\#`` escapes. ``\\`` escapes ``*``, ``?`` and
  spaces in a pattern.
* Owners are ``@user``, ``@org/team`` or an e-mail address; a line with anything else is invalid and
  skipped (listed in :attr:`CodeOwners.errors`).

The pattern translation follows hmarr/codeowners (MIT), which the 153 reference cases test.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

LOCATIONS = (".github/CODEOWNERS", "CODEOWNERS", "docs/CODEOWNERS")
MAX_BYTES = 3 * 1024 * 1024

_OWNER = re.compile(
    r"@[A-Za-z0-9](?:-?[A-Za-z0-9])*(?:/[A-Za-z0-9._-]+)?"  # @user or @org/team
    r"|[^@\s]+@[^@\s]+\.[^@\s]+"  # e-mail
)


@dataclass(frozen=True)
class Rule:
    pattern: str
    owners: tuple[str, ...]
    line: int
    regex: re.Pattern[str] = field(repr=False, compare=False)


@dataclass(frozen=True)
class LineError:
    line: int
    message: str


@dataclass(frozen=True)
class CodeOwners:
    rules: tuple[Rule, ...]
    errors: tuple[LineError, ...] = ()

    @classmethod
    def parse(cls, text: str) -> CodeOwners:
        rules: list[Rule] = []
        errors: list[LineError] = []
        for number, raw in enumerate(text.splitlines(), start=1):
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            pattern, rest = _split_pattern(line)
            if pattern.startswith("!"):
                errors.append(LineError(number, "negation ('!') is not supported by GitHub"))
                continue
            owners: list[str] = []
            bad = None
            for token in rest.split():
                if token.startswith("#"):
                    break  # inline comment
                if not _OWNER.fullmatch(token):
                    bad = token
                    break
                owners.append(token)
            if bad is not None:
                errors.append(LineError(number, f"{bad!r} is not @user, @org/team or an e-mail"))
                continue
            rules.append(Rule(pattern, tuple(owners), number, pattern_regex(pattern)))
        return cls(tuple(rules), tuple(errors))

    def matching_rule(self, path: str) -> Rule | None:
        """The last rule matching *path* (repo-relative, with or without a leading ``/``)."""
        path = path.lstrip("/")
        for rule in reversed(self.rules):
            if rule.regex.fullmatch(path):
                return rule
        return None

    def owners_for(self, path: str) -> tuple[str, ...] | None:
        """Owners of *path*; ``()`` for a matching owner-less line, None when nothing matched."""
        rule = self.matching_rule(path)
        return None if rule is None else rule.owners


def find_codeowners(read: Callable[[str], str | None]) -> tuple[str, CodeOwners] | None:
    """Look up CODEOWNERS as GitHub does; *read* returns a file's text or None if absent.

    Returns (location, parsed) or None when there is no usable file (absent, or too large —
    GitHub ignores a file of 3 MB or more, and so does Janus rather than guess).
    """
    for location in LOCATIONS:
        text = read(location)
        if text is None:
            continue
        if len(text.encode("utf-8")) >= MAX_BYTES:
            return None
        return location, CodeOwners.parse(text)
    return None


def _split_pattern(line: str) -> tuple[str, str]:
    """Split off the pattern; ``\\ `` keeps a space inside it."""
    i = 0
    while i < len(line) and not line[i].isspace():
        i += 2 if line[i] == "\\" and i + 1 < len(line) else 1
    return line[:i].replace("\\ ", " "), line[i:]


def pattern_regex(pattern: str) -> re.Pattern[str]:
    """Translate one CODEOWNERS pattern into a regex over repo-relative paths."""
    segments = pattern.split("/")
    if segments[0] == "":
        segments = segments[1:]  # leading slash: anchored at the root
    elif len(segments) == 1 or (len(segments) == 2 and segments[1] == ""):
        if segments[0] != "**":  # a bare name matches at any depth
            segments = ["**", *segments]
    if len(segments) > 1 and segments[-1] == "":
        segments[-1] = "**"  # trailing slash: everything below
    last = len(segments) - 1
    out: list[str] = []
    need_slash = False
    for i, segment in enumerate(segments):
        if segment == "**":
            if i == 0 and i == last:
                out.append(".+")
            elif i == 0:
                out.append("(?:.+/)?")
                need_slash = False
            elif i == last:
                out.append("/.*")
            else:
                out.append("(?:/.+)?")
                need_slash = True
            continue
        if need_slash:
            out.append("/")
        if segment == "*":
            out.append("[^/]+")
        else:
            out.append(_segment_regex(segment))
            if i == last:
                out.append("(?:/.*)?")  # a file or a directory with everything below
        need_slash = True
    return re.compile("".join(out), re.DOTALL)


def _segment_regex(segment: str) -> str:
    out: list[str] = []
    escape = False
    for ch in segment:
        if escape:
            out.append(re.escape(ch))
            escape = False
        elif ch == "\\":
            escape = True
        elif ch == "*":
            out.append("[^/]*")
        elif ch == "?":
            out.append("[^/]")
        else:
            out.append(re.escape(ch))
    return "".join(out)


from janus.policy.codeowners_gen import generate_codeowners  # noqa: E402  (re-export)

__all__ = ["CodeOwners", "LineError", "Rule", "find_codeowners", "generate_codeowners"]
