"""The contract of incoming deliveries: JSON Schemas of exactly the payload parts Janus reads.

The schemas live in ``janus/webhook/schemas/`` (shipped with the package) and are published as
``webhooks/schemas/`` for humans; a test keeps the two identical. A signed delivery of an
allow-listed event that lacks a field Janus reads is refused with 400 before it is stored, so a
worker never meets a payload it cannot interpret. Everything else in a payload is ignored: the
workers re-read state from the API.

Every delivery is checked on the ack path, so the check is compiled to Python code
(fastjsonschema: ~5 us for a ``push`` instead of jsonschema's ~24 us). jsonschema stays the
judge: a payload the compiled check refuses is checked again by jsonschema, which words the
answer (and has the last word); the compiled check only ever lets through what it accepts, and
it is built only from the keywords whose meaning it shares with draft 2020-12 (``_SHARED``),
where it is the stricter of the two (its ``pattern`` anchors ``$`` at the very end).
"""

from __future__ import annotations

import copy
import functools
import json
from collections.abc import Callable
from importlib import resources
from typing import Any

import fastjsonschema
from jsonschema import Draft202012Validator

EVENTS = ("pull_request", "issue_comment", "push", "check_suite", "check_run", "ping",
          "pull_request_review")


@functools.cache
def validator(event: str) -> Draft202012Validator | None:
    if event not in EVENTS:
        return None
    text = resources.files("janus.webhook").joinpath(f"schemas/{event}.schema.json").read_text()
    schema = json.loads(text)
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


# Keywords that mean the same to fastjsonschema's code generator as to draft 2020-12 in the way
# the schemas use them (``items`` as one schema, ``enum``/``const`` of strings). A schema using
# any other keyword is checked by jsonschema alone.
_SHARED = frozenset({"$schema", "$id", "title", "description", "type", "required",
                     "properties", "items", "minimum", "pattern", "enum", "const"})


def _keywords_shared(schema: Any) -> bool:
    if not isinstance(schema, dict) or not set(schema) <= _SHARED:
        return False
    if any(not isinstance(v, str) for v in [*schema.get("enum", []), schema.get("const", "")]):
        return False
    return (all(_keywords_shared(s) for s in schema.get("properties", {}).values())
            and ("items" not in schema or _keywords_shared(schema["items"])))


@functools.cache
def compiled(event: str) -> Callable[[Any], Any] | None:
    """The *event* schema compiled to Python code, or None (jsonschema alone checks it)."""
    check = validator(event)
    schema = check.schema if check is not None else None
    if not isinstance(schema, dict) or not _keywords_shared(schema):
        return None
    return fastjsonschema.compile(copy.deepcopy(schema), use_default=False, use_formats=False)


def contract_errors(event: str, payload: dict[str, Any]) -> list[str]:
    """Why *payload* does not carry what Janus reads from an *event* delivery ([] if it does)."""
    check = validator(event)
    if check is None:
        return []
    fast = compiled(event)
    if fast is not None:
        try:
            fast(payload)
            return []
        except fastjsonschema.JsonSchemaValueException:
            pass  # refused: jsonschema judges again and words the answer
    return [f"{'/'.join(map(str, e.absolute_path)) or '(root)'}: {e.message}"
            for e in sorted(check.iter_errors(payload), key=lambda e: list(e.absolute_path))]
