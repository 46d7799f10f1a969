"""A ValidatingAdmissionPolicy narrowing the controller's target RBAC by name and namespace.

RBAC cannot limit ``serviceaccounts/token create`` (or ServiceAccount/RoleBinding create and
delete) to names with a prefix — grant names are dynamic, ``janus-<requester>-<hash>``
(:mod:`janus.names`) — so the target ClusterRole (:mod:`janus.controller.rbac`) lets the
controller identity mint a token for *any* ServiceAccount, kube-system's included. This policy
(admissionregistration.k8s.io/v1, GA since Kubernetes 1.30) closes that: for requests by the
controller's ServiceAccount only (``matchConditions`` on ``request.userInfo.username``) it denies

* ``create`` on ``serviceaccounts/token``, and ``create``/``delete`` of ServiceAccounts and
  RoleBindings, unless the object's name starts with ``janus-``;
* all of those in the Janus and system namespaces (:data:`PROTECTED_NAMESPACES`).

Everyone else (admins, kubelets, other controllers) is untouched. Apply the rendered file on every
target cluster next to the target RBAC; the chart installs it on the central one.

    python -m janus.controller.admission    # rewrite helm/janus/files/controller-admission.yaml
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import yaml

from janus import names
from janus.controller.rbac import CONTROLLER_SA

POLICY_NAME = "janus-controller-target-names"
NAME_PREFIX = "janus-"
PROTECTED_NAMESPACES = ("kube-system", "kube-public", "kube-node-lease",
                        names.JANUS_NAMESPACE, names.TOKENS_NAMESPACE)
_LABELS = {names.LABEL_MANAGED_BY: names.MANAGED_BY}

# The object's name: for serviceaccounts/token the object is the TokenRequest and request.name the
# ServiceAccount's (measured on kube-apiserver 1.36); a DELETE has no object; a CREATE's object has
# its final name (generateName already resolved before validating admission).
_NAME = ("(has(request.subResource) && request.subResource == 'token')"
         " || request.operation == 'DELETE'"
         " ? request.name : object.metadata.name")


def username(sa_namespace: str, sa_name: str = CONTROLLER_SA) -> str:
    return f"system:serviceaccount:{sa_namespace}:{sa_name}"


def policy(sa_namespace: str = names.JANUS_NAMESPACE, sa_name: str = CONTROLLER_SA, *,
           name: str = POLICY_NAME,
           protected: tuple[str, ...] = PROTECTED_NAMESPACES) -> dict[str, Any]:
    return {
        "apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingAdmissionPolicy",
        "metadata": {"name": name, "labels": dict(_LABELS)},
        "spec": {
            "failurePolicy": "Fail",
            "matchConstraints": {"resourceRules": [
                {"apiGroups": [""], "apiVersions": ["v1"], "operations": ["CREATE"],
                 "resources": ["serviceaccounts/token"]},
                {"apiGroups": [""], "apiVersions": ["v1"], "operations": ["CREATE", "DELETE"],
                 "resources": ["serviceaccounts"]},
                {"apiGroups": ["rbac.authorization.k8s.io"], "apiVersions": ["v1"],
                 "operations": ["CREATE", "DELETE"], "resources": ["rolebindings"]},
            ]},
            "matchConditions": [{
                "name": "is-janus-controller",
                "expression": ("request.userInfo.username == "
                               + json.dumps(username(sa_namespace, sa_name)).replace('"', "'")),
            }],
            "variables": [{"name": "name", "expression": _NAME}],
            "validations": [
                {"expression": f"variables.name.startsWith('{NAME_PREFIX}')",
                 "messageExpression": (f"'the Janus controller may only touch names starting "
                                       f"with {NAME_PREFIX}, not ' + variables.name"),
                 "reason": "Forbidden"},
                {"expression": ("!(request.namespace in "
                                + json.dumps(list(protected)).replace('"', "'") + ")"),
                 "messageExpression": ("'the Janus controller may not act in namespace ' + "
                                       "request.namespace"),
                 "reason": "Forbidden"},
            ],
        },
    }


def binding(policy_name: str = POLICY_NAME, *, name: str | None = None) -> dict[str, Any]:
    return {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingAdmissionPolicyBinding",
        "metadata": {"name": name or policy_name, "labels": dict(_LABELS)},
        "spec": {"policyName": policy_name, "validationActions": ["Deny"]},
    }


HELM_FILE = Path(__file__).resolve().parents[2] / "helm/janus/files/controller-admission.yaml"
HEADER = "# Generated from janus/controller/admission.py (python -m janus.controller.admission).\n"


def render() -> str:
    return HEADER + yaml.safe_dump_all([policy(), binding()], sort_keys=False)


if __name__ == "__main__":  # pragma: no cover
    HELM_FILE.parent.mkdir(parents=True, exist_ok=True)
    HELM_FILE.write_text(render(), encoding="utf-8")
    sys.stdout.write(f"wrote {HELM_FILE}\n")
