"""The contract of incoming deliveries: JSON Schemas of exactly the payload parts Janus reads.

The schemas live in ``janus/webhook/schemas/`` (shipped with the package) and are published as
``webhooks/schemas/`` for humans; a test keeps the two identical. A signed delivery of an
allow-listed event that lacks a field Janus reads is refused with 400 before it is stored, so a
worker never meets a payload it cannot interpret. Everything else in a payload is ignored: the
workers re-read state from the API.
"""

from __future__ import annotations

import functools
import json
from importlib import resources
from typing import Any

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


def contract_errors(event: str, payload: dict[str, Any]) -> list[str]:
    """Why *payload* does not carry what Janus reads from an *event* delivery ([] if it does)."""
    check = validator(event)
    if check is None:
        return []
    return [f"{'/'.join(map(str, e.absolute_path)) or '(root)'}: {e.message}"
            for e in sorted(check.iter_errors(payload), key=lambda e: list(e.absolute_path))]
