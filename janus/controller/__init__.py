"""The Janus controller: a kopf operator that grants, expires, revokes and extends access.

One AccessRequest (namespace ``janus`` of the central cluster) is one grant on one namespace of
one target cluster. Its life is driven by one timer queue for all live CRs (``timers.py``,
wired to kopf in ``handlers.py``): every watch event of a CR schedules a pass, and each pass runs
the level-based reconcile of ``reconcile.py``: it reads the CR (as a typed
``janus.resource.AccessRequestView``), decides the next step from ``lifecycle.plan`` (a pure
function), performs it with idempotent steps (``grants.py``), writes the status with a
compare-and-set on ``resourceVersion`` (``janus.resource``'s ``AccessRequestClient``) and returns
the next instant that matters — ``status.expiresAt`` — which the queue arms as a timer. A bounded
pool of workers drains the timers that come due; a restart re-arms them from kopf's listing.

The AccessRequest itself (CRD schema, view, client, errors) is ``janus.resource``; this package
never reads the raw CR. Modules, one job each: ``rbac`` (the controller's own
RBAC, rendered to helm/), ``lifecycle`` (pure decisions), ``reconcile`` (one pass: act and
record), ``grants`` (the Kubernetes objects of a grant), ``status`` (status bodies: conditions),
``clusters`` (target cluster registry), ``kube`` (blocking calls off the event loop),
``handlers`` (kopf wiring), ``timers`` (the timer queue and its workers), ``peering`` (HA:
the queue pauses with kopf's peering), ``sweep`` (startup orphan sweep), ``metrics`` (the
test-only crash points are ``janus.testhooks.crash_point``), ``runtime`` (the process behind
``janus controller``).

Contract decisions (see also docs/controller.md):

* A CR without ``status.phase`` is Approved: the receiver creates CRs only after verifying the
  approval. Terminal phases (Expired, Revoked, Failed) are final; every phase write is a
  compare-and-set, so a revocation that raced an expiry can never be overwritten, and a Revoked
  grant never turns Expired.
* Revocation API: set ``spec.revocation = {by, reason, requestedAt}`` with a merge patch. The CRD
  forbids removing or changing it once set.
* Extension: change ``spec.duration`` of an Active grant. ``expiresAt`` is recomputed as
  ``grantedAt + duration`` and a fresh token is minted (the old one stays valid no longer than the
  ServiceAccount it belongs to).
* **Departure from docs/design.md §7 ("Secret owned by the CR")**: the token Secret lives in
  ``janus-tokens`` and the CR in ``janus``. A cross-namespace ownerReference is invalid; a real
  garbage collector treats such an owner as absent and would *delete the Secret* at once. So the
  Secret carries no ownerReference: it is linked by the ``janus.dev/request`` label and removed by
  the controller (on expiry, revocation, and from the finalizer when the CR is deleted).
* Order of removal: token Secret first (it closes open terminals on every web replica), then the
  RoleBinding, then the ServiceAccount (which also invalidates every token minted for it). The
  phase turns Expired/Revoked only after a list by label confirms nothing is left.
"""
