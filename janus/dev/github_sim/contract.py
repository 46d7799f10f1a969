"""Check simulator output against GitHub's official descriptions (used by the contract tests).

* REST: ``@octokit/openapi`` (OpenAPI 3.0.3). A response is matched to an operation by its
  path template (literal segments beat parameters) and validated with ``OAS30Validator``
  (which knows ``nullable``) against the schema documented for its status code. Error statuses
  GitHub returns everywhere but does not list on every operation (401, 403, 404, 422) are checked
  against ``basic-error``; an undocumented *success* status is a failure.
* Webhooks: ``@octokit/openapi-webhooks`` (OpenAPI 3.1, JSON Schema 2020-12). A payload is
  validated against ``webhooks["<event>-<action>"]`` with ``Draft202012Validator``.

Both descriptions are registered as ``referencing`` resources, so their internal
``#/components/...`` references resolve without copying schemas around. Load each once
(:func:`functools.cache` on the loaders) — the REST one is 13 MB.

Other parts of Janus can use :class:`WebhookContract` to check their own fixtures.
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError, best_match
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4, DRAFT202012

from . import specs

_REST_URI = "urn:github:rest"
_HOOKS_URI = "urn:github:webhooks"
# GitHub's own URL for a team (what PyGithub follows) is an undocumented alias of /teams/{id}.
_ALIASES = ((re.compile(r"^/organizations/[^/]+/team/"), "/teams/"),)
_GREEDY = {"path", "basehead", "branch"}


@dataclass(frozen=True)
class Problem:
    where: str
    detail: str

    def __str__(self) -> str:
        return f"{self.where}: {self.detail}"


def _describe(error: ValidationError) -> str:
    at = error.json_path
    return f"at {at}: {error.message[:300]} (schema path: {'/'.join(map(str, error.schema_path))})"


class RestContract:
    def __init__(self, spec: dict[str, Any]) -> None:
        from openapi_schema_validator import OAS30Validator  # test-only dependency

        self._validator_cls = OAS30Validator
        _drop_discriminators(spec)
        _null_in_nullable_enums(spec)
        self.spec = spec
        self.registry: Registry = Registry().with_resource(
            _REST_URI, Resource.from_contents(spec, default_specification=DRAFT4))
        self._templates: list[tuple[re.Pattern[str], str, int, int]] = []
        for template in spec["paths"]:
            def param(m: re.Match[str], template: str = template) -> str:
                name = m.group(1)
                greedy = name in _GREEDY or (name == "ref" and template.endswith("{ref}"))
                return "(.*)" if greedy else "([^/]+)"
            regex = re.compile("^" + re.sub(r"\{(\w+)\}", param, template) + "$")
            self._templates.append((regex, template, template.count("{"), len(template)))
        self._templates.sort(key=lambda t: (t[2], -t[3]))
        self._validators: dict[str, Any] = {}

    @classmethod
    @functools.cache
    def load(cls, path: Path | None = None) -> RestContract:
        path = path or specs.rest_description()
        return cls(json.loads(Path(path).read_text()))

    def template_for(self, path: str, method: str) -> str | None:
        for pattern, replacement in _ALIASES:
            path = pattern.sub(replacement, path)
        for regex, template, _, _ in self._templates:
            if regex.match(path) and method.lower() in self.spec["paths"][template]:
                return template
        return None

    def _response_pointer(self, template: str, method: str, status: int) -> str | None:
        responses = self.spec["paths"][template][method.lower()]["responses"]
        key = str(status)
        if key not in responses:
            return None
        pointer = f"/paths/{_escape(template)}/{method.lower()}/responses/{key}"
        resp = responses[key]
        if "$ref" in resp:
            pointer = resp["$ref"].lstrip("#")
            resp = self._at(pointer)
        if "application/json" not in resp.get("content", {}):
            return ""
        return f"{pointer}/content/application~1json/schema"

    def _at(self, pointer: str) -> Any:
        node: Any = self.spec
        for part in pointer.strip("/").split("/"):
            node = node[part.replace("~1", "/").replace("~0", "~")]
        return node

    def _validator(self, pointer: str) -> Any:
        if pointer not in self._validators:
            self._validators[pointer] = self._validator_cls(
                {"$ref": f"{_REST_URI}#{pointer}"}, registry=self.registry)
        return self._validators[pointer]

    def check(self, method: str, path: str, status: int, body: Any) -> list[Problem]:
        where = f"{method} {path} -> {status}"
        template = self.template_for(path, method)
        if template is None:
            return [Problem(where, "no operation in @octokit/openapi matches this path")]
        where = f"{method} {template} -> {status}"
        pointer = self._response_pointer(template, method, status)
        if pointer is None:
            if status >= 400:
                pointer = "/components/schemas/basic-error"
            else:
                return [Problem(where, "status code not documented for this operation")]
        if pointer == "" and status >= 400 and body not in (None, "", {}):
            # Several error statuses are documented without a body although GitHub sends one
            # (e.g. 422 "Review cannot be requested from pull request author"); clients read
            # its `message`, so it must at least be a well-formed GitHub error.
            pointer = "/components/schemas/basic-error"
        if pointer == "":
            return [] if body in (None, "", {}) else [
                Problem(where, "documented without a JSON body, but one was sent")]
        if body is None:
            return [Problem(where, "documented with a JSON body, but none was sent")]
        return _problems(where, self._validator(pointer).iter_errors(body))


class WebhookContract:
    def __init__(self, spec: dict[str, Any]) -> None:
        self.spec = spec
        self.registry: Registry = Registry().with_resource(
            _HOOKS_URI, Resource.from_contents(spec, default_specification=DRAFT202012))
        self._validators: dict[str, Draft202012Validator] = {}

    @classmethod
    @functools.cache
    def load(cls, path: Path | None = None) -> WebhookContract:
        path = path or specs.webhooks_description()
        return cls(json.loads(Path(path).read_text()))

    @staticmethod
    def key(event: str, action: str | None) -> str:
        name = event.replace("_", "-")
        return f"{name}-{action.replace('_', '-')}" if action else name

    def check(self, event: str, payload: dict[str, Any],
              headers: dict[str, str] | None = None) -> list[Problem]:
        """Validate a delivery's body (and, given *headers*, its required headers)."""
        action = payload.get("action") if event not in ("push", "ping") else None
        key = self.key(event, action)
        where = f"webhook {key}"
        if key not in self.spec["webhooks"]:
            return [Problem(where, "no such webhook in @octokit/openapi-webhooks")]
        problems = self._check_headers(where, key, headers) if headers is not None else []
        return problems + self._check_body(where, key, payload)

    def _check_headers(self, where: str, key: str, headers: dict[str, str]) -> list[Problem]:
        present = {name.lower(): value for name, value in headers.items()}
        problems = []
        for param in self.spec["webhooks"][key]["post"].get("parameters", []):
            name = param["name"].lower()
            if param.get("in") != "header" or not param.get("required"):
                continue
            # Documented as required, but GitHub sends no signature for a hook without secret.
            if name == "x-hub-signature-256" and "x-hub-signature" not in present:
                continue
            if not present.get(name):
                problems.append(Problem(where, f"required header {param['name']} missing"))
        return problems

    def _check_body(self, where: str, key: str, payload: dict[str, Any]) -> list[Problem]:
        if key not in self._validators:
            pointer = f"/webhooks/{key}/post/requestBody/content/application~1json/schema"
            self._validators[key] = Draft202012Validator(
                {"$ref": f"{_HOOKS_URI}#{pointer}"}, registry=self.registry,
                format_checker=Draft202012Validator.FORMAT_CHECKER)
        return _problems(where, self._validators[key].iter_errors(payload))


def _null_in_nullable_enums(node: Any) -> None:
    """Let ``nullable`` schemas accept ``None`` where the validator would not (in place).

    OpenAPI 3.0.3 says a nullable enum must list ``null`` itself; GitHub's description often
    does not (a check run's ``conclusion`` is ``null`` until it completes), so the validator
    would reject what GitHub really sends.
    """
    if isinstance(node, dict):
        if node.get("nullable") is True and isinstance(node.get("enum"), list) \
                and None not in node["enum"]:
            node["enum"] = [*node["enum"], None]
        # Same story for `nullable` beside oneOf/anyOf without a `type` (a commit's `author`
        # is null when no account has its email): give null a branch of its own.
        for combinator in ("oneOf", "anyOf"):
            if node.get("nullable") is True and combinator in node and "type" not in node:
                node[combinator] = [*node[combinator], {"enum": [None]}]
        for value in node.values():
            _null_in_nullable_enums(value)
    elif isinstance(node, list):
        for value in node:
            _null_in_nullable_enums(value)


def _drop_discriminators(node: Any) -> None:
    """Remove OpenAPI ``discriminator`` hints (in place).

    They only name which ``oneOf`` branch to try; the branches themselves still decide. The
    validator insists a discriminated value is an object, but GitHub's contents response maps
    ``"array"`` (a directory listing) through one, so a correct listing would be rejected.
    """
    if isinstance(node, dict):
        node.pop("discriminator", None)
        for value in node.values():
            _drop_discriminators(value)
    elif isinstance(node, list):
        for value in node:
            _drop_discriminators(value)


def _ambiguous_one_of(error: ValidationError) -> bool:
    # GitHub's description sometimes offers oneOf branches that overlap (a 409 body is both a
    # `basic-error` and a `repository-rule-violation-error`); matching several is the
    # description's flaw, not the response's.
    return error.validator == "oneOf" and "is valid under each of" in error.message


def _problems(where: str, errors: Any) -> list[Problem]:
    # One line per distinct failing field; the best match first.
    found = [e for e in errors if not _ambiguous_one_of(e)]
    if not found:
        return []
    ordered = [best_match(found), *found]
    seen: set[str] = set()
    problems = []
    for error in ordered:
        text = _describe(error)
        if text not in seen:
            seen.add(text)
            problems.append(Problem(where, text))
    return problems[:6]


def _escape(template: str) -> str:
    return template.replace("~", "~0").replace("/", "~1")


def check_simulator(sim: Any) -> list[Problem]:
    """Validate everything a :class:`GitHubSimulator` recorded (enable ``sim.recorder`` first)
    and every delivery it made; returns the problems (empty when all conform)."""
    rest, hooks = RestContract.load(), WebhookContract.load()
    problems: list[Problem] = []
    for ex in sim.recorder.exchanges:
        problems += rest.check(ex.method, ex.path, ex.status, ex.body)
    for delivery in sim.deliveries:
        problems += hooks.check(delivery.event, delivery.payload, delivery.headers)
    return problems
