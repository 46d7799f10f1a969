"""One finding about one file: where it is, which rule, and what would be accepted instead."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """A rule violation in a request or policy file.

    ``path`` is repo-relative (``requests/prod/payments/alice-x.yaml``); ``line`` and ``column``
    are 1-based and ``None`` where the position is unknown (a missing file, a path rule).
    ``rule`` is a stable id (``yaml.duplicate-key``, ``schema.unknown-field``, ...) that tools can
    match on; ``message`` is for humans and always says what would be accepted.
    """

    path: str
    line: int | None
    column: int | None
    rule: str
    message: str

    def format(self) -> str:
        """``path:line:col: rule: message``, like a compiler; unknown positions are left out."""
        where = self.path
        if self.line is not None:
            where += f":{self.line}"
            if self.column is not None:
                where += f":{self.column}"
        return f"{where}: {self.rule}: {self.message}"

    def as_json(self) -> dict[str, object]:
        return {
            "line": self.line,
            "column": self.column,
            "rule": self.rule,
            "message": self.message,
        }
