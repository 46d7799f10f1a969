"""The request file (docs/design.md §3): ``requests/<cluster>/<namespace>/<name>.yaml``.

:func:`load_request` runs every check that needs only the file itself: safe loading, the JSON
Schema, and consistency of the file's path with its content. Policy checks (known cluster,
eligibility, limits) need the policy set and live in :mod:`janus.policy`.

A request must state its ``duration``: the JanusConfig default is what the web form and
``janus request`` prefill, so the reviewer always sees the duration in the diff.
"""

from __future__ import annotations

import datetime as dt
import posixpath
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from janus.model import schema
from janus.model.durations import parse_duration
from janus.model.problems import Problem
from janus.model.safe_yaml import Marks, YamlError, load

REQUESTS_DIR = "requests"
# Files a human may keep in requests/ that are not requests.
NON_REQUEST_FILES = frozenset({"README.md", ".gitkeep"})

_SPEC_FIELDS = ("requester", "cluster", "namespace", "role", "duration", "reason", "ticket",
                "breakGlass")


@dataclass(frozen=True)
class Request:
    """A request file that passed loading, schema and path checks.

    ``line_of`` maps ``"name"`` (metadata.name), ``"metadata"``, ``"spec"`` and each spec field
    present (``"requester"``, ``"duration"``, ...) to its 1-based line, for PR annotations.
    """

    name: str
    requester: str
    cluster: str
    namespace: str
    role: str
    duration: dt.timedelta
    reason: str
    ticket: str | None
    path: str
    line_of: Mapping[str, int] = field(default_factory=lambda: MappingProxyType({}))
    # ``spec.breakGlass: true``: granted at once without approval where a policy's
    # ``breakGlass`` allows it, then reviewed afterwards (janus.policy.break_glass).
    break_glass: bool = False


def load_request(path: str, data: bytes) -> tuple[Request | None, list[Problem]]:
    """Load and check one request file; return the request, or None and what is wrong."""
    path_problems = _check_path_shape(path)
    if any(p.rule == "path.extension" for p in path_problems):
        return None, path_problems  # not meant as a request: don't parse it
    try:
        document, marks = load(path, data)
    except YamlError as exc:
        return None, [*path_problems, exc.problem]
    if not isinstance(document, dict):
        got = "an empty file" if document is None else f"a {type(document).__name__}"
        return None, [
            *path_problems,
            Problem(path, 1, 1, "request.shape", (
                f"the file is {got}; an AccessRequest mapping with apiVersion, kind, metadata "
                "and spec is accepted (see requests/README.md)"
            )),
        ]
    problems = path_problems + schema.validate("AccessRequest", document, path, marks)
    problems += _check_path_matches(path, document, marks)
    problems += _check_reason(path, document, marks)
    if problems:
        problems.sort(key=lambda p: (p.line or 0, p.column or 0, p.rule))
        return None, problems
    return _build(path, document, marks), []


def _build(path: str, document: dict[str, Any], marks: Marks) -> Request:
    spec = document.get("spec", {})  # present: the schema requires it
    line_of = {"metadata": marks[("metadata",)][0], "spec": marks[("spec",)][0]}
    line_of["name"] = marks[("metadata", "name")][0]
    for key in _SPEC_FIELDS:
        if ("spec", key) in marks:
            line_of[key] = marks[("spec", key)][0]
    return Request(
        name=document["metadata"]["name"],
        requester=spec["requester"],
        cluster=spec["cluster"],
        namespace=spec["namespace"],
        role=spec["role"],
        duration=parse_duration(spec["duration"]),  # the schema's format check already parsed it
        reason=spec["reason"],
        ticket=spec.get("ticket"),
        path=path,
        line_of=MappingProxyType(line_of),
        break_glass=spec.get("breakGlass") is True,
    )


def _check_reason(path: str, document: dict[str, Any], marks: Marks) -> list[Problem]:
    """Ten spaces are ten characters but no reason; an auditor must learn why."""
    spec = document.get("spec")
    reason = spec.get("reason") if isinstance(spec, dict) else None
    if isinstance(reason, str) and len(reason) >= 10 and len(reason.strip()) < 10:
        line, column = schema.mark_of(marks, ("spec", "reason"))
        return [Problem(path, line, column, "request.reason", (
            "spec.reason is mostly blank; 10 to 500 characters saying why access is needed "
            "are accepted"
        ))]
    return []


def _layout_problem(path: str, message: str) -> Problem:
    return Problem(path, None, None, "path.layout", (
        f"{message}; request files are accepted at "
        "requests/<cluster>/<namespace>/<name>.yaml"
    ))


def _check_path_shape(path: str) -> list[Problem]:
    if "\\" in path or path.startswith("/") or posixpath.normpath(path) != path:
        return [_layout_problem(path, "the path is not a plain relative path")]
    parts = path.split("/")
    if any(part in ("", ".", "..") for part in parts):
        return [_layout_problem(path, "the path has empty, '.' or '..' segments")]
    if parts[0] != REQUESTS_DIR or len(parts) != 4:
        return [_layout_problem(path, f"the file is at {path}")]
    if not parts[3].endswith(".yaml"):
        return [Problem(path, None, None, "path.extension", (
            "request files must end in '.yaml' (not '.yml' or anything else); only README.md "
            "and .gitkeep may sit beside them"
        ))]
    return []


def _check_path_matches(path: str, document: dict[str, Any], marks: Marks) -> list[Problem]:
    """metadata.name, spec.cluster and spec.namespace must repeat the path's segments."""
    parts = path.split("/")
    if len(parts) != 4 or parts[0] != REQUESTS_DIR:
        return []
    _, cluster, namespace, filename = parts
    stem = filename.removesuffix(".yaml")
    metadata = document.get("metadata")
    spec = document.get("spec")
    checks = [
        (("metadata", "name"), metadata, "name", stem, "path.name",
         "the file name without '.yaml'"),
        (("spec", "cluster"), spec, "cluster", cluster, "path.cluster",
         "the cluster folder of the path"),
        (("spec", "namespace"), spec, "namespace", namespace, "path.namespace",
         "the namespace folder of the path"),
    ]
    problems = []
    for field_path, holder, key, expected, rule, what in checks:
        if not isinstance(holder, dict) or not isinstance(holder.get(key), str):
            continue  # missing or mistyped: the schema already said so
        if holder[key] != expected:
            line, column = schema.mark_of(marks, field_path)
            problems.append(Problem(path, line, column, rule, (
                f"{schema.dotted(field_path)} is {holder[key]!r} but must equal {what}, "
                f"{expected!r}; change one so they agree"
            )))
    return problems
