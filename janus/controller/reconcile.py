"""One reconcile pass over one AccessRequest: decide (``lifecycle.plan``), act, record.

Steps are idempotent and ordered so that a crash between any two of them converges on the next
pass: nothing is recorded as done before it is done (Active only after the token Secret exists;
Expired/Revoked only after a list by label shows nothing left), and every status write is a
compare-and-set (``AccessRequestClient.write_status``), so a pass that lost a race simply decides
again.

The CR arrives as an :class:`~janus.resource.AccessRequestView` (built once, at the kopf edge);
every read of it here is a typed field.

Errors are sorted three ways:

* the target cluster cannot be used (no kubeconfig Secret, network, 5xx, 401/403/429):
  :class:`ClusterUnavailable` — shown in the ``ClusterReachable`` condition, retried with backoff,
  the grant kept as it is;
* the target refuses the grant for good (namespace missing, invalid object): roll back what was
  created, phase Failed with the API server's message;
* anything else (the central cluster itself, ``janus.resource`` errors): logged, retried with
  backoff.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar, cast

import urllib3
from kubernetes.client.rest import ApiException

from janus import names, testhooks
from janus.controller import grants, kube, lifecycle, metrics, status
from janus.controller.clusters import ClusterUnavailable, Registry, Target
from janus.logs import event
from janus.resource import AccessRequestView, timefmt
from janus.resource import Conflict as CasConflict
from janus.resource.client import AccessRequestClient

log = logging.getLogger("janus.controller")
T = TypeVar("T")

# Target-cluster API answers that mean "this grant can never succeed as asked".
_PERMANENT = (400, 404, 422)
_CONFLICT_RETRIES = 5


class GrantRefused(Exception):
    pass


class CleanupIncomplete(Exception):
    pass


# (request, type, reason, message)
EventSink = Callable[[AccessRequestView, str, str, str], None]


def kopf_events(request: AccessRequestView, type_: str, reason: str, message: str) -> None:
    import kopf

    post = kopf.warn if type_ == "Warning" else kopf.info
    reference = cast("kopf.RawBody", request.object_reference())
    post(kopf.Body(reference), reason=reason, message=message)


@dataclass(frozen=True)
class Outcome:
    done: bool = False
    wake_at: dt.datetime | None = None
    retry_in: float | None = None
    latest: AccessRequestView | None = None  # the CR as our last write left it


@dataclass
class Controller:
    central: Any  # ApiClient of the central cluster (where the CRs and token Secrets live)
    registry: Registry
    policy: lifecycle.Policy
    parse_duration: Callable[[str], dt.timedelta]
    namespace: str = names.JANUS_NAMESPACE
    central_cluster: str | None = None
    events: EventSink = kopf_events
    active: set[str] = field(default_factory=set)
    # RoleBinding deletes started ahead of their pass (:meth:`cut_access`), by CR name.
    cuts: dict[str, asyncio.Task[bool]] = field(default_factory=dict)
    crs: AccessRequestClient = field(init=False)  # the AccessRequests of `namespace`

    def __post_init__(self) -> None:
        self.crs = AccessRequestClient(self.central, self.namespace,
                                       request_timeout=kube.REQUEST_TIMEOUT)
        metrics.ACTIVE.set_function(lambda: len(self.active))

    # ---- entry point -----------------------------------------------------------------------

    async def step(self, cr: AccessRequestView) -> Outcome:
        """Run one pass; on a lost compare-and-set, re-read and decide again."""
        for _ in range(_CONFLICT_RETRIES):
            try:
                return await self._step(cr)
            except CasConflict:
                fresh = await kube.run(self.crs.find, cr.name)
                if fresh is None:
                    return Outcome(done=True)
                cr = fresh
            except ClusterUnavailable as exc:
                return await self._unavailable(cr, exc)
        return Outcome(retry_in=1.0)

    # ---- the access cut: the RoleBinding delete ahead of its pass ----------------------------

    def ends_access(self, cr: AccessRequestView) -> bool:
        """Whether a pass over *cr* now would remove its objects (an expiry or a revocation of
        an Active grant) — the same pure ``plan`` the pass decides with."""
        if cr.phase != "Active" or cr.meta.deleting:
            return False
        return isinstance(self._plan(cr, timefmt.now()), lifecycle.Expire | lifecycle.Revoke)

    def cut_access(self, cr: AccessRequestView) -> None:
        """Start deleting *cr*'s RoleBinding now, at the pool's first priority, without waiting
        for a worker of the timer queue (see :mod:`janus.controller.handlers`).

        Only when :meth:`ends_access`; the pass that follows does everything else and takes
        this delete's result instead of deleting again (:meth:`_cut_result`). If the pass finds
        the grant extended after all (the watch showed the extension after the cut started), it
        puts the RoleBinding back (:meth:`_step`)."""
        if cr.name in self.cuts or not self.ends_access(cr):
            return
        self.cuts[cr.name] = asyncio.get_running_loop().create_task(
            self._cut(self._objects(cr)), name=f"janus-cut-{cr.name}")

    async def _cut(self, g: grants.GrantObjects) -> bool:
        try:
            where = await self.registry.get(g.cluster)
            await self._on_target(where, grants.delete_role_binding, g, priority=kube.ACCESS)
        except Exception as exc:  # the pass deletes it again, with its own error handling
            event(log, "grant.cut_deferred", request=g.cr_name,
                  error=f"{type(exc).__name__}: {str(exc)[:200]}", level=logging.DEBUG)
            return False
        return True

    async def _cut_result(self, name: str) -> bool:
        """Whether a cut of *name*'s RoleBinding ran and succeeded (consumed: asked once)."""
        task = self.cuts.pop(name, None)
        return task is not None and await task

    def forget_cut(self, name: str) -> None:
        self.cuts.pop(name, None)  # a task still in flight finishes on its own

    async def _step(self, cr: AccessRequestView) -> Outcome:
        action = self._plan(cr, timefmt.now())
        name = cr.name
        cut = self.cuts.get(name)
        if isinstance(action, lifecycle.Extend | lifecycle.Wait) and cut is not None:
            if await cut:
                # Cut on the body the watch showed at expiresAt; the fresh one says extended.
                # Consumed only once the binding is back (a failure here is retried).
                g = self._objects(cr)
                await self._on_target(await self.registry.get(g.cluster),
                                      grants.ensure_role_binding, g)
                event(log, "grant.cut_undone", request=name, level=logging.WARNING)
            self.cuts.pop(name, None)
        if not isinstance(action, lifecycle.Done | lifecycle.Wait):
            event(log, "grant.plan", request=name, action=type(action).__name__,
                  level=logging.DEBUG)
        match action:
            case lifecycle.Done():
                self.active.discard(name)
                return Outcome(done=True)
            case lifecycle.Fail(message=message):
                return await self._fail(cr, message, rollback=False, action=action)
            case lifecycle.GrantAccess():
                return await self._grant(cr, action)
            case lifecycle.Revoke():
                with kube.lane():  # the rest of the pass in due order (kube's docstring)
                    return await self._revoke(cr, action)
            case lifecycle.Expire():
                with kube.lane():
                    return await self._expire(cr)
            case lifecycle.Extend(expires_at=expires_at):
                return await self._extend(cr, expires_at, action)
            case lifecycle.Wait(until=until, warning=warning):
                self.active.add(name)
                if warning and cr.message != warning:
                    latest = await self._write(cr, {"message": warning})
                    self.events(cr, "Warning", "ExtensionRefused", warning)
                    event(log, "grant.extension_refused", request=name, reason=warning,
                          level=logging.WARNING)
                    return Outcome(wake_at=until, latest=latest)
                return Outcome(wake_at=until)
        raise AssertionError(f"unhandled action {action!r}")  # pragma: no cover

    # ---- recording -------------------------------------------------------------------------

    async def _write(self, cr: AccessRequestView, body: dict[str, Any]) -> AccessRequestView:
        """One compare-and-set status write on the version *cr* was read at."""
        return await kube.run(self.crs.write_status, cr.name, cr.resource_version, body)

    async def _commit(self, cr: AccessRequestView, action: lifecycle.Action,
                      body: dict[str, Any]) -> AccessRequestView:
        """Write *body* to the status with compare-and-set. If the CR changed meanwhile but the
        same decision still follows from the fresh object (kopf's own metadata patches, another
        field), write again on the fresh version instead of redoing the work; otherwise raise
        Conflict so the caller decides anew."""
        for _ in range(_CONFLICT_RETRIES):
            try:
                return await self._write(cr, body)
            except CasConflict:
                fresh = await kube.run(self.crs.find, cr.name)
                if fresh is None or self._plan(fresh, timefmt.now()) != action:
                    raise
                cr = fresh
        raise CasConflict(f"AccessRequest {cr.name} kept changing", name=cr.name, status=409)

    def _plan(self, cr: AccessRequestView, now: dt.datetime) -> lifecycle.Action:
        return lifecycle.plan(cr, now, self.policy, self.parse_duration,
                              central_cluster=self.central_cluster,
                              janus_namespace=self.namespace)

    # ---- actions ---------------------------------------------------------------------------

    def _objects(self, cr: AccessRequestView, cluster_role: str = "") -> grants.GrantObjects:
        return grants.GrantObjects(
            cr_name=cr.name, requester=cr.requester, cluster=cr.cluster, namespace=cr.namespace,
            cluster_role=cluster_role or self.policy.roles.get(cr.role, ""),
            owner_namespace=self.namespace,
        )

    async def _grant(self, cr: AccessRequestView, action: lifecycle.GrantAccess) -> Outcome:
        g = self._objects(cr, action.cluster_role)
        target = await self.registry.get(g.cluster)
        try:
            await self._on_target(target, grants.ensure_service_account, g)
            testhooks.crash_point("serviceaccount")
            await self._on_target(target, grants.ensure_role_binding, g)
            testhooks.crash_point("rolebinding")
            now = timefmt.now()
            granted_at = timefmt.floor_second(now)
            expires_at = granted_at + action.duration
            token = await self._on_target(
                target, grants.mint_token, g, grants.token_seconds(expires_at, now))
            testhooks.crash_point("token")
        except GrantRefused as exc:
            return await self._fail(cr, f"the target cluster refused the grant: {exc}",
                                    rollback=True)
        await kube.run(grants.write_token_secret, self.central, g, token=token,
                       server=target.server, ca_pem=target.ca_pem, expires_at=expires_at)
        del token
        testhooks.crash_point("secret")
        conditions = status.condition(cr.conditions, "ClusterReachable", True, "Reachable",
                                      f"{g.cluster} answered", now)
        conditions = status.condition(conditions, "Granted", True, "Active",
                                      f"access until {timefmt.fmt(expires_at)}", now)
        latest = await self._commit(cr, action, {
            "phase": "Active",
            "grantedAt": timefmt.fmt(granted_at),
            "expiresAt": timefmt.fmt(expires_at),
            "objects": {"serviceAccount": g.service_account, "roleBinding": g.role_binding,
                        "tokenSecret": g.token_secret},
            "conditions": conditions,
            "message": f"granted {g.cluster_role} in {g.cluster}/{g.namespace} until "
                       f"{timefmt.fmt(expires_at)}",
            "observedGeneration": cr.meta.generation,
        })
        created = cr.meta.created_at
        if created:
            metrics.GRANT_LATENCY.observe(max(0.0, (timefmt.now() - created).total_seconds()))
        metrics.GRANTS.labels("granted").inc()
        self.active.add(g.cr_name)
        self.events(latest, "Normal", "Granted",
                    f"ServiceAccount {g.service_account} bound to ClusterRole {g.cluster_role} "
                    f"in {g.cluster}/{g.namespace} until {timefmt.fmt(expires_at)}")
        event(log, "grant.active", request=g.cr_name, cluster=g.cluster, namespace=g.namespace,
              requester=cr.requester, serviceAccount=g.service_account,
              expiresAt=timefmt.fmt(expires_at))
        return Outcome(wake_at=expires_at, latest=latest)

    async def _extend(self, cr: AccessRequestView, expires_at: dt.datetime,
                      action: lifecycle.Action) -> Outcome:
        g = self._objects(cr)
        target = await self.registry.get(g.cluster)
        now = timefmt.now()
        try:
            token = await self._on_target(target, grants.mint_token, g,
                                          grants.token_seconds(expires_at, now))
        except GrantRefused as exc:
            # The ServiceAccount is gone from under us: end the grant rather than pretend.
            event(log, "grant.extension_failed", request=g.cr_name, error=str(exc),
                  level=logging.WARNING)
            return await self._expire(cr)
        await kube.run(grants.write_token_secret, self.central, g, token=token,
                       server=target.server, ca_pem=target.ca_pem, expires_at=expires_at)
        del token
        old = cr.expires_at_text
        conditions = status.condition(cr.conditions, "Granted", True, "Active",
                                      f"access until {timefmt.fmt(expires_at)}", now)
        latest = await self._commit(cr, action, {
            "expiresAt": timefmt.fmt(expires_at),
            "conditions": conditions,
            "message": f"duration changed to {cr.duration}: access until "
                       f"{timefmt.fmt(expires_at)} (was {old})",
            "observedGeneration": cr.meta.generation,
        })
        self.events(latest, "Normal", "Extended",
                    f"expiresAt moved from {old} to {timefmt.fmt(expires_at)}; new token minted")
        event(log, "grant.extended", request=g.cr_name, expiresAt=timefmt.fmt(expires_at),
              previous=old)
        return Outcome(wake_at=expires_at, latest=latest)

    async def _expire(self, cr: AccessRequestView) -> Outcome:
        g = self._objects(cr)
        await self._remove(g)
        now = timefmt.now()
        expires_at = cr.expires_at or now
        conditions = status.condition(cr.conditions, "Granted", False, "Expired",
                                      "all objects removed", now)
        latest = await self._commit(cr, lifecycle.Expire(), {
            "phase": "Expired", "conditions": conditions,
            "message": f"expired at {timefmt.fmt(expires_at)}; ServiceAccount, RoleBinding and "
                       "token Secret removed",
        })
        lag = (now - expires_at).total_seconds()
        metrics.EXPIRY_LAG.observe(max(0.0, lag))
        metrics.GRANTS.labels("expired").inc()
        self.active.discard(g.cr_name)
        self.events(latest, "Normal", "Expired", f"access removed {lag:.3f}s after expiresAt")
        event(log, "grant.expired", request=g.cr_name, cluster=g.cluster, namespace=g.namespace,
              lagSeconds=round(lag, 3))
        return Outcome(done=True, latest=latest)

    async def _revoke(self, cr: AccessRequestView, action: lifecycle.Revoke) -> Outcome:
        g = self._objects(cr)
        known = g.cluster in set(self.policy.clusters)
        await self._remove(g, target_optional=not known)
        now = timefmt.now()
        conditions = status.condition(cr.conditions, "Granted", False, "Revoked",
                                      f"revoked by {action.by}", now)
        latest = await self._commit(cr, action, {
            "phase": "Revoked", "revokedAt": timefmt.fmt(now), "revokedBy": action.by,
            "revokedReason": action.reason, "conditions": conditions,
            "message": f"revoked by {action.by}; objects removed",
        })
        metrics.GRANTS.labels("revoked").inc()
        self.active.discard(g.cr_name)
        self.events(latest, "Normal", "Revoked", f"revoked by {action.by}: {action.reason}"[:1000])
        event(log, "grant.revoked", request=g.cr_name, by=action.by, reason=action.reason)
        return Outcome(done=True, latest=latest)

    async def _fail(self, cr: AccessRequestView, message: str, *, rollback: bool,
                    action: lifecycle.Action | None = None) -> Outcome:
        g = self._objects(cr)
        # A refusal before any API call still sweeps the token Secret (central, always there):
        # the request may have been allowed by an older config and crashed mid-grant.
        await self._remove(g, target_optional=not rollback, sweep=True)
        now = timefmt.now()
        conditions = status.condition(cr.conditions, "Granted", False, "Refused", message, now)
        body = {"phase": "Failed", "message": message, "conditions": conditions}
        latest = await (self._commit(cr, action, body) if action is not None
                        else self._write(cr, body))
        metrics.GRANTS.labels("failed").inc()
        self.active.discard(g.cr_name)
        self.events(latest, "Warning", "Failed", message)
        event(log, "grant.failed", request=g.cr_name, reason=message, level=logging.WARNING)
        return Outcome(done=True, latest=latest)

    # ---- removal (expiry, revocation, rollback, finalizer) ----------------------------------

    async def _remove(self, g: grants.GrantObjects, *, target_optional: bool = False,
                      sweep: bool = False) -> None:
        """Remove the token Secret and the target objects; raise unless all are gone.

        Hot path (expiry, revocation): the three deterministic names are deleted in parallel —
        a successful DELETE or a 404 is the proof, as nothing else is ever created for a
        request. With *sweep* (finalizer, rollback, refusal) strays found by label go too.
        """
        async def secret() -> list[str]:
            if sweep:
                return await kube.run(grants.remove_token_secret, self.central, g, sweep=True)
            await kube.run_at(kube.CLEANUP, grants.delete_token_secret, self.central, g)
            return []

        async def target() -> list[str]:
            try:
                where = await self.registry.get(g.cluster)
                if sweep:
                    return await self._on_target(where, functools.partial(
                        grants.remove_target_objects, sweep=True), g)
                await asyncio.gather(self._binding_gone(where, g),
                                     self._on_target(where, grants.delete_service_account, g,
                                                     priority=kube.CLEANUP))
                return []
            except ClusterUnavailable as exc:
                if not target_optional:
                    raise
                event(log, "grant.cleanup_skipped", request=g.cr_name, cluster=g.cluster,
                      reason=exc.message)
                return []
            except GrantRefused as exc:
                raise ClusterUnavailable(g.cluster, f"cleanup refused: {exc}") from None

        # The token Secret goes even when the target is down: open terminals close at once.
        results = await asyncio.gather(secret(), target(), return_exceptions=True)
        testhooks.crash_point("cleanup")
        left: list[str] = []
        for result in results:
            if isinstance(result, BaseException):
                metrics.CLEANUP_FAILURES.labels(g.cluster).inc()
                raise result
            left += result
        if left:
            metrics.CLEANUP_FAILURES.labels(g.cluster).inc()
            raise ClusterUnavailable(g.cluster, f"objects still present: {', '.join(left)}")

    async def _binding_gone(self, where: Target, g: grants.GrantObjects) -> None:
        """The RoleBinding deleted: by the cut started at expiresAt, or now (first priority)."""
        if await self._cut_result(g.cr_name):
            return
        await self._on_target(where, grants.delete_role_binding, g, priority=kube.ACCESS)

    async def remove_for_deletion(self, cr: AccessRequestView) -> None:
        """The finalizer's work: remove everything a non-terminal CR may have created."""
        g = self._objects(cr)
        await self._remove(g, target_optional=g.cluster not in set(self.policy.clusters),
                           sweep=True)
        self.active.discard(g.cr_name)
        event(log, "grant.deleted", request=g.cr_name, cluster=g.cluster,
              namespace=g.namespace)

    # ---- target calls and unavailability ----------------------------------------------------

    async def _on_target(self, target: Target, fn: Callable[..., T], *args: Any,
                         priority: int = kube.NORMAL) -> T:
        try:
            return await kube.run_at(priority, fn, target.api, *args)
        except ApiException as exc:
            if exc.status in _PERMANENT:
                raise GrantRefused(f"{exc.status} {kube.reason_of(exc)}") from None
            self.registry.invalidate(target.name)
            raise ClusterUnavailable(
                target.name, f"API error {exc.status}: {kube.reason_of(exc)}") from None
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            self.registry.invalidate(target.name)
            raise ClusterUnavailable(target.name, f"unreachable ({type(exc).__name__})") \
                from None

    async def _unavailable(self, cr: AccessRequestView, exc: ClusterUnavailable) -> Outcome:
        name = cr.name
        metrics.CLUSTER_UNAVAILABLE.labels(exc.cluster).inc()
        event(log, "grant.cluster_unavailable", request=name, cluster=exc.cluster,
              reason=exc.message, level=logging.WARNING)
        latest = None
        if not status.has_condition(cr, "ClusterReachable", False, "Unavailable", exc.message):
            conditions = status.condition(cr.conditions, "ClusterReachable", False,
                                          "Unavailable", exc.message, timefmt.now())
            try:
                latest = await self._write(cr, {"conditions": conditions})
                self.events(cr, "Warning", "ClusterUnavailable", exc.message)
            except CasConflict:
                pass  # the next pass writes it
        return Outcome(retry_in=-1.0, latest=latest)  # the daemon picks the backoff
