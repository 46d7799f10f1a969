"""The AccessRequest contract, in one place: the only package that reads raw CR dicts.

The AccessRequest (``accessrequests.janus.dev``) is what the webhook receiver writes, the
controller acts on, and ``janus revoke`` and the web app read and revoke. Everything about it
lives here:

* :mod:`~janus.resource.kind` — group/version/kind/plural, the phases (:data:`PHASES`,
  :data:`LIVE_PHASES`, :data:`TERMINAL_PHASES`) and :func:`phase_of`;
* :mod:`~janus.resource.crd` — the CRD schema, rendered to ``helm/janus/crds/``
  (``python -m janus.resource.crd``);
* :mod:`~janus.resource.view` — :class:`AccessRequestView`, the frozen typed view every reader
  uses (``AccessRequestView.from_cr(cr)``);
* :mod:`~janus.resource.client` — ``AccessRequestClient``: get / list / watch / create / patch
  spec / request revocation / write status with compare-and-set;
* :mod:`~janus.resource.errors` — ``NotFound``, ``Conflict``, ``AlreadyExists``,
  ``AlreadyRevoked``, ``GrantEnded``, ``Rejected``, ``Forbidden``, ``Unavailable`` (leaves of
  ``janus.errors``); the Kubernetes ``ApiException`` is translated there, once;
* :mod:`~janus.resource.kube` — ``central_client()``, the one factory of the central cluster's
  client (flag → ``KUBECONFIG`` → in-cluster → ``~/.kube/config``);
* :mod:`~janus.resource.timefmt` — the one RFC 3339 formatter/parser.

The deterministic names and labels of a grant's objects stay in :mod:`janus.names` (the layer
below). Importing this package does not import the Kubernetes client; ``client`` and ``kube`` do.
"""

from janus.resource.errors import (
    AccessRequestError,
    AlreadyExists,
    AlreadyRevoked,
    Conflict,
    Forbidden,
    GrantEnded,
    NotFound,
    Rejected,
    Unavailable,
)
from janus.resource.kind import (
    API_VERSION,
    GROUP,
    KIND,
    LIVE_PHASES,
    PHASES,
    PLURAL,
    TERMINAL_PHASES,
    VERSION,
    phase_of,
)
from janus.resource.view import (
    AccessRequestView,
    Condition,
    Meta,
    Provenance,
    Revocation,
    StatusObjects,
)

__all__ = [
    "API_VERSION", "GROUP", "KIND", "LIVE_PHASES", "PHASES", "PLURAL", "TERMINAL_PHASES",
    "VERSION", "AccessRequestError", "AccessRequestView", "AlreadyExists", "AlreadyRevoked",
    "Condition", "Conflict", "Forbidden", "GrantEnded", "Meta", "NotFound", "Provenance",
    "Rejected", "Revocation", "StatusObjects", "Unavailable", "phase_of",
]
