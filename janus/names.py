"""Deterministic names and labels shared by the receiver, the controller and the web app.

(The AccessRequest's own coordinates and phases are in :mod:`janus.resource.kind`.)

Names are derived from (cluster, namespace, request name) only, so a duplicate delivery, a
reconcile and an extension PR all find the same AccessRequest, and every object a grant creates
can be traced back to it from an API audit log.
"""

from __future__ import annotations

import hashlib
import re

# Namespaces of the central cluster.
JANUS_NAMESPACE = "janus"
TOKENS_NAMESPACE = "janus-tokens"

LABEL_REQUEST = "janus.dev/request"        # the AccessRequest (CR) name
LABEL_REQUESTER = "janus.dev/requester"    # GitHub login, lower-cased
LABEL_CLUSTER = "janus.dev/cluster"        # target cluster name (also on kubeconfig Secrets)
LABEL_MANAGED_BY = "app.kubernetes.io/managed-by"
# "true" on an AccessRequest granted as break-glass (no approval; reviewed afterwards): by the
# receiver for a break-glass PR Janus merged, by `janus break-glass` on the outage path.
LABEL_BREAK_GLASS = "janus.dev/break-glass"
# The state of a break-glass grant's retrospective review, written by the receiver
# (janus.gitops.break_glass) and shown in the admin view: "open: review #12, due ...",
# "acknowledged by carol (review #12)", "overdue: review #12, due ...".
ANNOTATION_BREAK_GLASS_REVIEW = "janus.dev/break-glass-review"
# The ledger entry (its path in the access repository) a grant's merges and end are written to:
# set by the receiver when it creates the AccessRequest, read by the ledger keeper, the session
# recorder and the web app's session reports.
ANNOTATION_LEDGER_ENTRY = "janus.dev/ledger-entry"
MANAGED_BY = "janus"

_DNS_LABEL_MAX = 63
_HASH_LEN = 8
_NOT_DNS = re.compile(r"[^a-z0-9-]+")


def _hash(*parts: str) -> str:
    # "/" cannot occur in any part (cluster, namespace and name are DNS labels), so the joined
    # string is unambiguous even where the dashed display form is not.
    return hashlib.sha256("/".join(parts).encode()).hexdigest()[:_HASH_LEN]


def _dns_label(text: str, limit: int) -> str:
    label = _NOT_DNS.sub("-", text.lower()).strip("-")
    return label[:limit].rstrip("-")


def access_request_name(cluster: str, namespace: str, request: str) -> str:
    """The CR name: ``<cluster>-<namespace>-<request>`` cut to fit, plus a hash of the triple.

    The hash is always present: ``prod`` + ``a-b`` + ``c`` and ``prod`` + ``a`` + ``b-c`` would
    otherwise both read ``prod-a-b-c``.
    """
    digest = _hash(cluster, namespace, request)
    prefix = _dns_label(f"{cluster}-{namespace}-{request}", _DNS_LABEL_MAX - _HASH_LEN - 1)
    return f"{prefix}-{digest}"


def service_account_name(requester: str, cr_name: str) -> str:
    """``janus-<requester>-<short-id>``: API audit logs show who and which request."""
    return f"janus-{_dns_label(requester, 39)}-{_hash(cr_name)}"


def role_binding_name(requester: str, cr_name: str) -> str:
    return service_account_name(requester, cr_name)


def token_secret_name(cr_name: str) -> str:
    return f"janus-token-{cr_name}"


def grant_labels(cr_name: str, requester: str, cluster: str) -> dict[str, str]:
    return {
        LABEL_REQUEST: cr_name,
        LABEL_REQUESTER: _dns_label(requester, _DNS_LABEL_MAX),
        LABEL_CLUSTER: cluster,
        LABEL_MANAGED_BY: MANAGED_BY,
    }
