"""The AccessRequest CRD: the one source, rendered to ``helm/janus/crds/accessrequests.yaml``.

The spec schema is strict (no preserve-unknown-fields): whatever the receiver, CLI or web UI
writes must be named here. CEL rules make the identity of a grant immutable (who, where, which
role) and make ``spec.revocation`` write-once: a revocation can never be taken back or reworded.

Also here: kopf's own peering CRDs (needed for ``janus controller --peering``), rendered beside.

    python -m janus.resource.crd            # rewrite the files under helm/janus/crds/
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import yaml

from janus.resource import kind
from janus.resource.sessions import terminal_session_crd  # rendered beside (design §11)

DNS_LABEL = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
GITHUB_LOGIN = r"^[A-Za-z0-9]([A-Za-z0-9-]{0,38})$"
GO_DURATION = r"^([0-9]+(\.[0-9]*)?(ns|us|µs|μs|ms|s|m|h))+$"


_IMMUTABLE = ("requestName", "requester", "cluster", "namespace", "role")


def _cel(field: str) -> str:
    # "namespace" is a CEL reserved word; Kubernetes escapes such property names this way.
    return f"__{field}__" if field == "namespace" else field


def _str(max_length: int, **extra: Any) -> dict[str, Any]:
    return {"type": "string", "maxLength": max_length, **extra}


def _time() -> dict[str, Any]:
    return {"type": "string", "format": "date-time"}


def _spec_schema() -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["requestName", "requester", "cluster", "namespace", "role", "duration",
                     "reason"],
        "properties": {
            "requestName": _str(63, pattern=DNS_LABEL,
                                description="Request file stem (metadata.name in git)."),
            "requester": _str(39, pattern=GITHUB_LOGIN, description="GitHub login."),
            "cluster": _str(63, pattern=DNS_LABEL),
            "namespace": _str(63, pattern=DNS_LABEL),
            "role": _str(63, pattern=DNS_LABEL, description="A role of JanusConfig.spec.roles."),
            "duration": _str(32, pattern=GO_DURATION,
                             description="Go-style duration; changing it on an Active grant "
                                         "extends (or shortens) it from grantedAt."),
            "reason": _str(500, minLength=1),
            "ticket": _str(100),
            "provenance": {
                "type": "object",
                "description": "Where the approval came from (written by the webhook receiver).",
                "properties": {
                    "repo": _str(200),
                    "pullRequest": {"type": "integer", "minimum": 1},
                    "mergeCommit": _str(64),
                    "path": _str(300),
                    "blobSha": _str(64),
                    "approvers": {"type": "array", "maxItems": 50, "items": _str(39)},
                    "mergedBy": _str(39),
                    "mergedAt": _time(),
                },
            },
            "revocation": {
                "type": "object",
                "description": "Setting this revokes the grant (write-once).",
                "required": ["by"],
                "x-kubernetes-validations": [
                    {"rule": "self == oldSelf", "message": "spec.revocation cannot be changed"},
                ],
                "properties": {
                    "by": _str(100, minLength=1),
                    "reason": _str(500),
                    "requestedAt": _time(),
                },
            },
        },
        "x-kubernetes-validations": [
            *[
                {"rule": f"self.{_cel(field)} == oldSelf.{_cel(field)}",
                 "message": f"spec.{field} is immutable"}
                for field in _IMMUTABLE
            ],
            {
                "rule": "!has(oldSelf.revocation) || has(self.revocation)",
                "message": "spec.revocation cannot be removed once set",
            },
        ],
    }


def _status_schema() -> dict[str, Any]:
    condition = {
        "type": "object",
        "required": ["type", "status"],
        "properties": {
            "type": _str(64),
            "status": {"type": "string", "enum": ["True", "False", "Unknown"]},
            "reason": _str(128),
            "message": _str(1024),
            "lastTransitionTime": _time(),
        },
    }
    return {
        "type": "object",
        "properties": {
            "phase": {"type": "string", "enum": list(kind.PHASES)},
            "grantedAt": _time(),
            "expiresAt": _time(),
            "revokedAt": _time(),
            "revokedBy": _str(100),
            "revokedReason": _str(500),
            "message": _str(1024),
            "observedGeneration": {"type": "integer"},
            "objects": {
                "type": "object",
                "properties": {
                    "serviceAccount": _str(253),
                    "roleBinding": _str(253),
                    "tokenSecret": _str(253),
                },
            },
            "conditions": {
                "type": "array",
                "maxItems": 16,
                "items": condition,
                "x-kubernetes-list-type": "map",
                "x-kubernetes-list-map-keys": ["type"],
            },
        },
    }


def access_request_crd() -> dict[str, Any]:
    columns = [
        ("Requester", ".spec.requester"),
        ("Cluster", ".spec.cluster"),
        ("Namespace", ".spec.namespace"),
        ("Phase", ".status.phase"),
        ("Expires", ".status.expiresAt"),
    ]
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{kind.PLURAL}.{kind.GROUP}"},
        "spec": {
            "group": kind.GROUP,
            "scope": "Namespaced",
            "names": {
                "kind": kind.KIND,
                "plural": kind.PLURAL,
                "singular": "accessrequest",
                "listKind": f"{kind.KIND}List",
                "categories": ["janus"],
            },
            "versions": [
                {
                    "name": kind.VERSION,
                    "served": True,
                    "storage": True,
                    "subresources": {"status": {}},
                    "additionalPrinterColumns": [
                        *[{"name": n, "type": "string", "jsonPath": p} for n, p in columns],
                        {"name": "Age", "type": "date",
                         "jsonPath": ".metadata.creationTimestamp"},
                    ],
                    "schema": {
                        "openAPIV3Schema": {
                            "type": "object",
                            "required": ["spec"],
                            "properties": {
                                "apiVersion": {"type": "string"},
                                "kind": {"type": "string"},
                                "metadata": {"type": "object"},
                                "spec": _spec_schema(),
                                "status": _status_schema(),
                            },
                        }
                    },
                }
            ],
        },
    }


def kopf_peering_crds() -> list[dict[str, Any]]:
    """kopf's peering resources (as kopf documents them), for ``--peering`` HA mode."""
    schema = {
        "openAPIV3Schema": {
            "type": "object",
            "properties": {
                "status": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
            },
        }
    }
    out = []
    for scope, kind_name, plural in (
        ("Namespaced", "KopfPeering", "kopfpeerings"),
        ("Cluster", "ClusterKopfPeering", "clusterkopfpeerings"),
    ):
        out.append({
            "apiVersion": "apiextensions.k8s.io/v1",
            "kind": "CustomResourceDefinition",
            "metadata": {"name": f"{plural}.kopf.dev"},
            "spec": {
                "scope": scope,
                "group": "kopf.dev",
                "names": {"kind": kind_name, "plural": plural, "singular": plural[:-1]},
                "versions": [{"name": "v1", "served": True, "storage": True, "schema": schema}],
            },
        })
    return out


HELM_CRDS_DIR = Path(__file__).resolve().parents[2] / "helm" / "janus" / "crds"
RENDERED: dict[str, Any] = {
    "accessrequests.yaml": lambda: [access_request_crd()],
    "terminalsessions.yaml": lambda: [terminal_session_crd()],
    "kopfpeerings.yaml": kopf_peering_crds,
}
HEADER = "# Generated from janus/resource/crd.py (python -m janus.resource.crd); do not edit.\n"


def render(filename: str) -> str:
    docs = RENDERED[filename]()
    return HEADER + yaml.safe_dump_all(docs, sort_keys=False, allow_unicode=True)


def write_all(directory: Path = HELM_CRDS_DIR) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for filename in RENDERED:
        path = directory / filename
        path.write_text(render(filename), encoding="utf-8")
        written.append(path)
    return written


def install(api_client: Any, *, peering: bool = False, timeout: float = 30.0) -> None:
    """Create or update the CRDs on a cluster and wait until they are Established.

    Idempotent; tests of every component share it.
    """
    import time

    from kubernetes import client
    from kubernetes.client.exceptions import ApiException

    ext = client.ApiextensionsV1Api(api_client)
    # Plain dicts as bodies (the client serialises them as they are); typed Any for the stubs.
    docs: list[Any] = [access_request_crd(), terminal_session_crd(),
                       *(kopf_peering_crds() if peering else [])]
    for doc in docs:
        try:
            ext.create_custom_resource_definition(doc)
        except ApiException as exc:
            if exc.status != 409:
                raise
            current = ext.read_custom_resource_definition(doc["metadata"]["name"])
            version = current.metadata.resource_version if current.metadata else None
            updated: Any = {**doc, "metadata": {**doc["metadata"], "resourceVersion": version}}
            ext.replace_custom_resource_definition(doc["metadata"]["name"], updated)
    deadline = time.monotonic() + timeout
    for doc in docs:
        while True:
            crd = ext.read_custom_resource_definition(doc["metadata"]["name"])
            conds = {c.type: c.status for c in ((crd.status and crd.status.conditions) or [])}
            if conds.get("Established") == "True":
                break
            if time.monotonic() > deadline:
                raise TimeoutError(f"CRD {doc['metadata']['name']} not Established")
            time.sleep(0.1)


if __name__ == "__main__":  # pragma: no cover
    for written in write_all():
        sys.stdout.write(f"wrote {written}\n")
