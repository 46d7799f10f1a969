"""``-o/--output json|yaml``: one option and one renderer for every command that prints data.

kubectl's convention: the human format stays the default (a table, or YAML with comments for
``janus plan``), and ``-o json`` / ``-o yaml`` print the same data for programs. The data is one
top-level object named for what it holds (``{"grants": [...]}``), so a field or a list can be
added later without breaking a reader. Timestamps are RFC 3339 strings (janus.resource.timefmt);
keys are camelCase like the AccessRequest's own fields. JSON is indented and ends with a newline;
YAML keeps the key order. Both are written whole, after the data is complete, so a failure never
leaves half a document on stdout.

Use: ``add_output_option(parser)`` in ``register``, then ``emit(data, args.output)``.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import IO, Any

FORMATS: tuple[str, ...] = ("json", "yaml")


def add_output_option(parser: argparse.ArgumentParser, *, default: str | None = None,
                      human: str = "a table") -> None:
    """Add ``-o/--output {json,yaml}``; without it the command prints *human* (its default)."""
    parser.add_argument("-o", "--output", choices=FORMATS, default=default, metavar="FORMAT",
                        help=f"json or yaml for programs (default: {human})")


def render(data: Any, fmt: str) -> str:
    """*data* (dicts, lists, strings, numbers, None) as one JSON or YAML document."""
    if fmt == "json":
        return json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    if fmt == "yaml":
        import yaml

        return str(yaml.safe_dump(data, sort_keys=False, allow_unicode=True,
                                  default_flow_style=False))
    raise ValueError(f"unknown output format {fmt!r} (one of {', '.join(FORMATS)})")


def emit(data: Any, fmt: str, stream: IO[str] | None = None) -> None:
    """Write ``render(data, fmt)`` to *stream* (stdout by default)."""
    (stream or sys.stdout).write(render(data, fmt))
