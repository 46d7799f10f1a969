"""Builders for request and policy files used by the model, policy and CLI tests."""

from __future__ import annotations

from typing import Any

import yaml

from janus.model import PolicySet, Request, load_policy_set_from_files, load_request
from janus.policy import StaticMembership

REQUEST_PATH = "requests/prod/payments/alice-payments-inc1234.yaml"

REQUEST_TEXT = """\
apiVersion: janus.dev/v1alpha1
kind: AccessRequest
metadata:
  name: alice-payments-inc1234
spec:
  requester: alice
  cluster: prod
  namespace: payments
  role: pod-exec
  duration: 1h
  reason: "INC-1234: worker stuck"
  ticket: INC-1234
"""

CONFIG = """\
apiVersion: janus.dev/v1alpha1
kind: JanusConfig
metadata: {name: janus}
spec:
  clusters: [prod, staging]
  excludedNamespaces: [kube-system, kube-public, kube-node-lease]
  duration: {min: 10m, max: 8h, default: 1h}
  roles:
    pod-exec: {clusterRole: janus-pod-exec}
  admins: {teams: [acme/sre], users: []}
  pendingTimeout: 24h
"""

PAYMENTS_PROD = """\
apiVersion: janus.dev/v1alpha1
kind: AccessPolicy
metadata: {name: payments-prod}
spec:
  clusters: [prod]
  namespaces: [payments, "payments-*"]
  roles: [pod-exec]
  requesters: {users: [alice], teams: [acme/payments-devs]}
  approvers:  {users: [], teams: [acme/payments-leads], required: 1}
  maxDuration: 4h
  ticketPattern: "^INC-[0-9]+$"
"""

PAYMENTS_STAGING = """\
apiVersion: janus.dev/v1alpha1
kind: AccessPolicy
metadata: {name: payments-staging}
spec:
  clusters: [staging]
  namespaces: [payments]
  roles: [pod-exec]
  requesters: {teams: [acme/payments-devs]}
  approvers: {users: [bob, carol], required: 1}
  maxDuration: 8h
"""

SRE = """\
apiVersion: janus.dev/v1alpha1
kind: AccessPolicy
metadata: {name: sre-oncall}
spec:
  clusters: [prod, staging]
  namespaces: ["*"]
  roles: [pod-exec]
  requesters: {teams: [acme/sre]}
  approvers: {teams: [acme/sre], required: 1}
  maxDuration: 2h
"""

MEMBERS = StaticMembership({
    "acme/payments-devs": ["alice", "erin"],
    "acme/payments-leads": ["bob", "carol"],
    "acme/sre": ["dave", "frank"],
})


_PROD_PAYMENTS_FOR_ALICE = """\
apiVersion: janus.dev/v1alpha1
kind: AccessPolicy
metadata: {name: NAME}
spec:
  clusters: [prod]
  namespaces: [payments]
  roles: [pod-exec]
  requesters: {users: [alice]}
  approvers: APPROVERS
  maxDuration: 4h
"""


def prod_payments_policy(name: str, approvers: str) -> str:
    """A policy *name* letting alice have pod-exec in prod/payments for up to 4h, approved by
    *approvers* (a YAML flow mapping): the one knob the approval tests turn."""
    return _PROD_PAYMENTS_FOR_ALICE.replace("NAME", name).replace("APPROVERS", approvers)


def policy_files(**extra: str) -> dict[str, bytes]:
    """The standard policy set; keyword arguments add or replace ``policies/<name>.yaml``."""
    files = {
        "policies/janus.yaml": CONFIG,
        "policies/payments-prod.yaml": PAYMENTS_PROD,
        "policies/payments-staging.yaml": PAYMENTS_STAGING,
        "policies/sre-oncall.yaml": SRE,
    }
    for name, text in extra.items():
        files[f"policies/{name.replace('_', '-')}.yaml"] = text
    return {path: text.encode() for path, text in files.items() if text}


def policy_set(**extra: str) -> PolicySet:
    return load_policy_set_from_files(policy_files(**extra))


def request_doc(**spec: Any) -> dict[str, Any]:
    """The example request as a dict; spec keys set to None are removed."""
    doc = yaml.safe_load(REQUEST_TEXT)
    for key, value in spec.items():
        if value is None:
            doc["spec"].pop(key, None)
        else:
            doc["spec"][key] = value
    return doc


def request_bytes(**spec: Any) -> bytes:
    return yaml.safe_dump(request_doc(**spec), sort_keys=False).encode()


def make_request(path: str | None = None, **spec: Any) -> Request:
    """A loaded request; the path follows cluster/namespace unless given."""
    doc = request_doc(**spec)
    path = path or (f"requests/{doc['spec']['cluster']}/{doc['spec']['namespace']}/"
                    f"{doc['metadata']['name']}.yaml")
    request, problems = load_request(path, yaml.safe_dump(doc, sort_keys=False).encode())
    assert request is not None, problems
    return request


def rules(problems: list[Any]) -> list[str]:
    return [p.rule for p in problems]
