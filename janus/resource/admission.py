"""Who may write an AccessRequest, and what: a ValidatingAdmissionPolicy (issue 11 item 8).

RBAC says which identity may ``create``/``patch`` AccessRequests, never *which fields*: the web
app needs ``patch`` to revoke, and the same verb would let it raise ``spec.duration``, which the
controller treats as an extension. Writing an AccessRequest is granting access, so this policy
(admissionregistration.k8s.io/v1, CEL over ``object`` and ``oldObject``) pins each Janus identity
to its job. Identities are the ServiceAccounts of the AccessRequest's own namespace (the chart
runs every component there: ``janus-webhook``, ``janus-web``, ``janus-controller``):

* **receiver** (``janus-webhook``): the only one that creates, and only with provenance
  (``spec.provenance`` repo, pullRequest, mergeCommit, path); may change ``spec`` only in
  :data:`~janus.resource.spec.EXTENSIBLE` (an extension, provenance kept) and
  ``spec.revocation``; of the finalizers only its ledger finalizer; may delete (a request whose
  merged file changed is recreated);
* **web** (``janus-web``): may set ``spec.revocation`` (and the ``janus.dev/revoked-via``
  annotation that goes with it) and nothing else: no other spec field, label, finalizer or
  annotation, no status, no create, no delete;
* **controller** (``janus-controller``): writes the status subresource and, on the object itself,
  only its own finalizer and kopf's progress annotations (``kopf.janus.dev/``); never the spec;
* **cluster admins** (groups ``janus:break-glass`` or ``system:masters``): anything, but a create
  must carry the annotation ``janus.dev/created-by-admin`` (who and why), so an AccessRequest that
  no merged PR approved is recorded as such on the object itself;
* anyone else RBAC lets write: no create, no status, and like the web app only
  ``spec.revocation`` (``janus revoke`` with an operator's own credentials); a delete is left to
  RBAC (deleting revokes, it never grants; the ledger finalizer still records it).

    python -m janus.resource.admission    # rewrite helm/janus/files/accessrequest-admission.yaml
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import yaml

from janus import names
from janus.resource import crd
from janus.resource.kind import GROUP, PLURAL
from janus.resource.spec import EXTENSIBLE

POLICY_NAME = "janus-accessrequest-writers"
RECEIVER_SA = "janus-webhook"
WEB_SA = "janus-web"
CONTROLLER_SA = "janus-controller"
ADMIN_GROUPS = ("janus:break-glass", "system:masters")
ADMIN_ANNOTATION = "janus.dev/created-by-admin"
REVOKED_VIA = "janus.dev/revoked-via"
CONTROLLER_FINALIZER = "janus.dev/cleanup"  # janus.controller.handlers.FINALIZER (kopf's, renamed)
LEDGER_FINALIZER = "janus.dev/ledger"  # janus.gitops.ledger_keeper.FINALIZER
KOPF_ANNOTATION_PREFIX = "kopf.janus.dev/"  # the controller's progress storage (runtime.py)
PROVENANCE_FIELDS = ("repo", "pullRequest", "mergeCommit", "path")
_LABELS = {names.LABEL_MANAGED_BY: names.MANAGED_BY}


def _q(text: str) -> str:
    """A CEL string literal."""
    return json.dumps(text)


def _field(name: str) -> str:
    # CEL reserves some words; Kubernetes escapes them as __name__ (spec.namespace).
    return f"__{name}__" if name in {"namespace"} else name


def _spec_fields() -> list[str]:
    schema = crd.access_request_crd()["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    return list(schema["properties"]["spec"]["properties"])


def _same(field: str) -> str:
    f = _field(field)
    return (f"(has(object.spec.{f}) == has(oldObject.spec.{f}) && "
            f"(!has(object.spec.{f}) || object.spec.{f} == oldObject.spec.{f}))")


def _spec_unchanged_except(*allowed: str) -> str:
    """Every spec field the schema knows (the CRD prunes the others) unchanged but *allowed*."""
    return " && ".join(_same(f) for f in _spec_fields() if f not in allowed)


def _finalizers_unchanged_except(finalizer: str) -> str:
    return (f"variables.oldFinalizers.filter(f, f != {_q(finalizer)}) == "
            f"variables.finalizers.filter(f, f != {_q(finalizer)})")


def _annotations_unchanged_except(pred: str) -> str:
    """Every annotation whose key *k* fails *pred* is unchanged (kept, same value, none added)."""
    return (f"variables.oldAnnotations.all(k, {pred} || (k in variables.annotations && "
            f"variables.annotations[k] == variables.oldAnnotations[k])) && "
            f"variables.annotations.all(k, {pred} || k in variables.oldAnnotations)")


def _provenance(obj: str) -> str:
    p = f"{obj}.spec.provenance"
    checks = [f"has({obj}.spec.provenance)"]
    for f in PROVENANCE_FIELDS:
        checks.append(f"has({p}.{f})")
        if f != "pullRequest":
            checks.append(f"{p}.{f} != ''")
    return "(" + " && ".join(checks) + ")"


def _variables() -> list[dict[str, str]]:
    sa = "'system:serviceaccount:' + request.namespace + ':'"
    user = "request.userInfo.username"
    admin = " || ".join(f"g == {_q(g)}" for g in ADMIN_GROUPS)
    return [
        {"name": "receiver", "expression": f"{user} == {sa} + {_q(RECEIVER_SA)}"},
        {"name": "web", "expression": f"{user} == {sa} + {_q(WEB_SA)}"},
        {"name": "controller", "expression": f"{user} == {sa} + {_q(CONTROLLER_SA)}"},
        {"name": "admin", "expression": (f"has(request.userInfo.groups) && "
                                         f"request.userInfo.groups.exists(g, {admin})")},
        {"name": "status", "expression": ("has(request.subResource) && "
                                          "request.subResource == 'status'")},
        {"name": "update", "expression": "request.operation == 'UPDATE' && !variables.status"},
        {"name": "finalizers", "expression": ("object == null ? [] : "
                                              "object.metadata.?finalizers.orValue([])")},
        {"name": "oldFinalizers", "expression": ("oldObject == null ? [] : "
                                                 "oldObject.metadata.?finalizers.orValue([])")},
        {"name": "annotations", "expression": ("object == null ? {} : "
                                               "object.metadata.?annotations.orValue({})")},
        {"name": "oldAnnotations", "expression": ("oldObject == null ? {} : "
                                                  "oldObject.metadata.?annotations.orValue({})")},
        # An update that only sets spec.revocation (and the revoked-via annotation): the web
        # app's one write, and `janus revoke` run with an operator's own credentials.
        {"name": "revocationOnly", "expression": (
            f"{_spec_unchanged_except('revocation')} && "
            "object.metadata.?labels.orValue({}) == oldObject.metadata.?labels.orValue({}) && "
            "variables.finalizers == variables.oldFinalizers && "
            f"{_annotations_unchanged_except(f'k == {_q(REVOKED_VIA)}')}")},
    ]


def _rule(expression: str, message: str) -> dict[str, str]:
    return {"expression": expression, "message": message, "reason": "Forbidden"}


def _validations() -> list[dict[str, str]]:
    receiver_spec = _spec_unchanged_except(*EXTENSIBLE, "revocation")
    return [
        _rule("request.operation != 'CREATE' || variables.receiver || variables.admin",
              "only the Janus webhook receiver creates AccessRequests (cluster admins: see "
              "docs/security.md, break-glass)"),
        _rule(f"request.operation != 'CREATE' || !variables.receiver || {_provenance('object')}",
              "an AccessRequest is created with its provenance (spec.provenance repo, "
              "pullRequest, mergeCommit, path)"),
        _rule(f"request.operation != 'CREATE' || variables.receiver || "
              f"(has(object.metadata.annotations) && {_q(ADMIN_ANNOTATION)} in "
              f"object.metadata.annotations && "
              f"object.metadata.annotations[{_q(ADMIN_ANNOTATION)}] != '')",
              f"an AccessRequest created by a cluster admin carries the annotation "
              f"{ADMIN_ANNOTATION} (who and why)"),
        _rule("!variables.status || request.operation == 'CREATE' || variables.controller "
              "|| variables.admin",
              "only the Janus controller writes the status of an AccessRequest"),
        _rule("request.operation != 'DELETE' || !(variables.web || variables.controller)",
              "the Janus web app and controller do not delete AccessRequests"),
        _rule("!variables.update || variables.receiver || variables.controller || "
              "variables.admin || variables.revocationOnly",
              "the Janus web app (like any identity but the receiver, the controller and "
              "cluster admins) may only set spec.revocation"),
        _rule(f"!variables.update || !variables.controller || ("
              f"object.spec == oldObject.spec && "
              f"object.metadata.?labels.orValue({{}}) == oldObject.metadata.?labels.orValue({{}})"
              f" && {_finalizers_unchanged_except(CONTROLLER_FINALIZER)} && "
              f"{_annotations_unchanged_except(f'k.startsWith({_q(KOPF_ANNOTATION_PREFIX)})')})",
              "the Janus controller writes only status and its own finalizer"),
        _rule(f"!variables.update || !variables.receiver || ("
              f"{receiver_spec} && {_provenance('object')} && "
              f"{_finalizers_unchanged_except(LEDGER_FINALIZER)})",
              "the Janus webhook receiver may only extend (duration, reason, ticket, provenance),"
              " revoke, and set its ledger finalizer"),
    ]


def policy(*, name: str = POLICY_NAME) -> dict[str, Any]:
    return {
        "apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingAdmissionPolicy",
        "metadata": {"name": name, "labels": dict(_LABELS)},
        "spec": {
            "failurePolicy": "Fail",
            "matchConstraints": {"resourceRules": [
                {"apiGroups": [GROUP],
                 "apiVersions": ["*"], "operations": ["CREATE", "UPDATE", "DELETE"],
                 "resources": [PLURAL, f"{PLURAL}/status"]},
            ]},
            "variables": _variables(),
            "validations": _validations(),
        },
    }


def binding(policy_name: str = POLICY_NAME, *, name: str | None = None,
            namespace: str | None = None) -> dict[str, Any]:
    """The binding; *namespace* limits it to one namespace (tests on a shared API server)."""
    spec: dict[str, Any] = {"policyName": policy_name, "validationActions": ["Deny"]}
    if namespace:
        spec["matchResources"] = {"namespaceSelector": {"matchLabels": {
            "kubernetes.io/metadata.name": namespace}}}
    return {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingAdmissionPolicyBinding",
        "metadata": {"name": name or policy_name, "labels": dict(_LABELS)},
        "spec": spec,
    }


HELM_FILE = (Path(__file__).resolve().parents[2]
             / "helm/janus/files/accessrequest-admission.yaml")
HEADER = "# Generated from janus/resource/admission.py (python -m janus.resource.admission).\n"


def render() -> str:
    return HEADER + yaml.safe_dump_all([policy(), binding()], sort_keys=False, width=100)


if __name__ == "__main__":  # pragma: no cover
    HELM_FILE.parent.mkdir(parents=True, exist_ok=True)
    HELM_FILE.write_text(render(), encoding="utf-8")
    sys.stdout.write(f"wrote {HELM_FILE}\n")
