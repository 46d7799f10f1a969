"""The JSON Schemas (draft 2020-12) of the three document kinds, compiled once, with errors
translated into :class:`Problem` objects that point at a line and say what would be accepted.

The schema files in ``janus/model/schemas/`` are the single source; ``schemas/`` at the repo root
holds published copies for editors (a test keeps them identical).

Every string format that matters for safety is checked twice: by a ``pattern`` (for editors) and by
a ``format`` with a Python ``fullmatch`` checker. JSON Schema patterns are searched with Python's
``re``, where ``$`` also matches before a trailing newline, so ``"payments\\n"`` would pass the
pattern alone.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Mapping
from functools import cache
from importlib import resources
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import ValidationError

from janus.model.durations import parse_duration
from janus.model.problems import Problem
from janus.model.safe_yaml import Marks, YamlPath

SCHEMA_FILES = {
    "AccessRequest": "access-request.schema.json",
    "JanusConfig": "janus-config.schema.json",
    "AccessPolicy": "access-policy.schema.json",
}

_DNS_LABEL = re.compile(r"[a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?")
_LOGIN = re.compile(r"[A-Za-z0-9](?:-?[A-Za-z0-9]){0,38}")
_TEAM = re.compile(r"[A-Za-z0-9](?:-?[A-Za-z0-9]){0,38}/[A-Za-z0-9._-]{1,100}")
_GLOB = re.compile(r"[a-z0-9*?](?:[-a-z0-9*?]{0,61}[a-z0-9*?])?")
_TOKEN = re.compile(r"\S{1,100}")

_formats = FormatChecker(formats=())


def _string_check(name: str, pattern: re.Pattern[str]) -> None:
    @_formats.checks(name)
    def check(value: object) -> bool:
        return not isinstance(value, str) or pattern.fullmatch(value) is not None


_string_check("dns-1123-label", _DNS_LABEL)
_string_check("github-login", _LOGIN)
_string_check("github-team", _TEAM)
_string_check("namespace-glob", _GLOB)
_string_check("single-token", _TOKEN)


@_formats.checks("go-duration", raises=ValueError)
def _check_duration(value: object) -> bool:
    if isinstance(value, str):
        parse_duration(value)
    return True


def schema_text(kind: str) -> str:
    """The schema file's text, exactly as shipped in the package."""
    folder = resources.files("janus.model").joinpath("schemas")
    return folder.joinpath(SCHEMA_FILES[kind]).read_text(encoding="utf-8")


@cache
def validator(kind: str) -> Draft202012Validator:
    """The compiled validator for a document kind (built once per process)."""
    schema = json.loads(schema_text(kind))
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, format_checker=_formats)


def dotted(path: YamlPath) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(document)"


def mark_of(marks: Marks, path: YamlPath) -> tuple[int | None, int | None]:
    """The position of *path*, or of its nearest ancestor that has one."""
    while path not in marks and path:
        path = path[:-1]
    return marks.get(path, (None, None))


_YAML_TYPES = {
    str: "a string",
    int: "a number",
    float: "a number",
    bool: "a boolean",
    type(None): "null (empty)",
    dict: "a mapping",
    list: "a list",
}
_SCHEMA_TYPES = {
    "string": "a string",
    "integer": "an integer",
    "object": "a mapping",
    "array": "a list",
    "number": "a number",
    "boolean": "true or false",
}


def validate(kind: str, document: Any, path: str, marks: Marks) -> list[Problem]:
    """All schema problems of *document*, one per offending field, in file order."""
    problems: list[Problem] = []
    seen: set[tuple[YamlPath, str]] = set()
    for error in validator(kind).iter_errors(document):
        for field_path, rule, message in _explain(error):
            # A field that fails both its pattern and its format gets one message, not two.
            dedupe_key = (field_path, "value" if rule in _VALUE_RULES else rule)
            if dedupe_key in seen:
                continue
            seen.add(dedupe_key)
            line, column = mark_of(marks, field_path)
            problems.append(Problem(path, line, column, rule, message))
    problems.sort(key=lambda p: (p.line or 0, p.column or 0, p.rule))
    return problems


_VALUE_RULES = frozenset(
    {"schema.pattern", "schema.format", "schema.max-length", "schema.min-length", "schema.type"}
)


def _describe(schema: Mapping[str, Any]) -> str:
    return str(schema.get("description") or "see the JSON Schema")


def _explain(error: ValidationError) -> list[tuple[YamlPath, str, str]]:
    where: YamlPath = tuple(error.absolute_path)
    keyword = error.validator
    schema = error.schema if isinstance(error.schema, Mapping) else {}
    value = error.instance
    name = dotted(where)
    if keyword == "additionalProperties" and isinstance(value, Mapping):
        allowed = sorted(schema.get("properties", {}))
        extras = [k for k in value if k not in schema.get("properties", {})]
        out = []
        for key in extras:
            field = (*where, key)
            if where == () and key == "status":
                out.append((field, "request.status", (
                    "'status' is never accepted from git: Janus writes status on the cluster; "
                    "remove the whole status block"
                )))
            else:
                accepted = ", ".join(allowed) if allowed else "none"
                out.append((field, "schema.unknown-field", (
                    f"unknown field {dotted(field)!r}; accepted fields here: {accepted}"
                )))
        return out
    if keyword == "required" and isinstance(value, Mapping):
        props = schema.get("properties", {})
        return [
            ((*where,), "schema.missing-field", (
                f"{dotted((*where, key))} is required: {_describe(props.get(key, {}))}"
            ))
            for key in schema.get("required", [])
            if key not in value
        ]
    if keyword == "type":
        got = _YAML_TYPES.get(type(value), type(value).__name__)
        wanted = _SCHEMA_TYPES.get(str(error.validator_value), str(error.validator_value))
        hint = _describe(schema)
        if schema.get("format") == "go-duration" and isinstance(value, int | float):
            hint = f"a duration needs a unit: write '{value}m' for minutes, or e.g. '1h30m'"
        return [(where, "schema.type", f"{name}: expected {wanted}, got {got} {value!r}; {hint}")]
    if keyword == "const":
        return [(where, "schema.const", f"{name} is {value!r}; it {_describe(schema)}")]
    if keyword == "propertyNames":
        message = f"{name}: key {value!r} is not accepted; {_describe(schema)}"
        return [(where, "schema.key", message)]
    rule = "schema." + re.sub(r"(?<!^)([A-Z])", r"-\1", str(keyword)).lower()
    if keyword == "format" and schema.get("format") == "go-duration" and error.cause:
        return [(where, rule, f"{name}: {error.cause}")]
    if keyword == "uniqueItems":
        return [(where, rule, f"{name}: duplicate entries are not accepted; list each once")]
    if keyword in ("minItems", "minProperties"):
        return [(where, rule, f"{name}: may not be empty; {_describe(schema)}")]
    shown = value if not isinstance(value, str) or len(value) <= 80 else value[:77] + "..."
    length = f" ({len(value)} characters)" if isinstance(value, str) else ""
    message = f"{name}: {shown!r}{length} is not accepted; {_describe(schema)}"
    return [(where, rule, message + _lookalike_note(value))]


def _lookalike_note(value: object) -> str:
    """Name the first non-ASCII character: 'pаyments' with a Cyrillic 'а' looks right."""
    if not isinstance(value, str) or value.isascii():
        return ""
    char = next(c for c in value if not c.isascii())
    name = unicodedata.name(char, "unnamed character")
    return f" (it contains {char!r}, U+{ord(char):04X} {name}, which is not ASCII)"
