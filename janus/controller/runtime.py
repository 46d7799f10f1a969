"""The controller process: logging, the central client, kopf's settings, startup tasks, peering.

``janus controller`` (:mod:`janus.cli.controller`) only parses its flags into :class:`Options`
and calls :func:`run`; everything about *how* the operator runs lives here, in small steps:

* :func:`configure_logging` — Janus and kopf log one JSON object per line;
* :func:`load_policy` — the JanusConfig, with the test-only ``JANUS_TEST_MIN_DURATION`` override
  (:mod:`janus.testhooks`);
* :func:`central_client` — the central cluster, by ``janus.resource``'s one precedence;
* :func:`bootstrap` — what the Helm chart installs, for a local run (``--bootstrap``);
* :func:`operator_registry` — the handlers plus kopf's login and our startup hooks
  (:func:`configure_settings`, the connection warm-up, the orphan sweep);
* :func:`ensure_peering` — the kopf peering object for HA.

HA: with a peering name every replica joins that peering object (created if missing) and only the
one with the highest priority acts; the others stand by and take over when it stops renewing.
Replicas of equal priority would all pause (kopf's rule), so the default priority is random per
process (:func:`default_priority`).
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import kopf

from janus import logs, names, testhooks
from janus.controller import handlers, kube, metrics, sweep, watch_relist
from janus.controller.clusters import Registry
from janus.controller.reconcile import Controller
from janus.model import JanusConfig, load_config_file, parse_duration
from janus.resource import kube as resource_kube

log = logging.getLogger("janus.controller")

# Watch timeouts (seconds): the server ends a watch before the client gives up on it, so a
# silent connection is noticed and re-established instead of hanging.
WATCH_SERVER_TIMEOUT = 270
WATCH_CLIENT_TIMEOUT = 300
WARM_UP_CONNECTIONS = 8


@dataclass(frozen=True)
class Options:
    """What ``janus controller``'s flags decide."""

    config: Path                     # JanusConfig file
    namespace: str                   # AccessRequests and kubeconfig Secrets live here
    central_cluster: str | None      # target-cluster name of the cluster we run in
    peering: str | None              # kopf peering object; None: standalone (one replica)
    priority: int                    # peering priority
    metrics_port: int | None = None  # serve Prometheus /metrics
    liveness_port: int | None = None  # serve kopf /healthz
    bootstrap: bool = False          # install CRDs, namespaces and catalogue roles first
    verbose: bool = False            # debug logging, kopf's per-event lines included


def default_priority() -> int:
    """A random peering priority, so two replicas never tie (a tie pauses both)."""
    return secrets.randbelow(2**30) + 1


def configure_logging(verbose: bool) -> None:
    # kopf's own lines through the same JSON handler as Janus' (janus.logs.configure puts it on
    # the root logger): one format, the same keys, the object a kopf line is about as "object".
    # Not kopf.configure(): its JSON formatter has other keys (message/severity/timestamp).
    logs.configure(logging.DEBUG if verbose else logging.INFO)
    if not verbose:
        # What kopf.configure does: asyncio's internals only in debug mode.
        logging.getLogger("asyncio").propagate = False
        logging.getLogger("asyncio").handlers[:] = [logging.NullHandler()]
        # Per-event handler chatter ("Handler 'poke' succeeded" for every watch event); the
        # transitions are logged by Janus itself (grant.active, grant.expired, ...).
        logging.getLogger("kopf.objects").setLevel(logging.WARNING)


def load_policy(path: Path) -> JanusConfig:
    """The JanusConfig at *path*, with the test-only minimum-duration override applied."""
    policy = load_config_file(path)
    # JanusConfig rightly refuses duration.min below the token minimum of 10m, but the expiry
    # tests need grants of seconds. Inert unless JANUS_TEST_MIN_DURATION is set.
    test_min = testhooks.min_duration_override()
    if test_min:
        policy = dataclasses.replace(policy, duration_min=parse_duration(test_min))
    return policy


def central_client() -> Any:
    """The central cluster (``KUBECONFIG``, else the in-cluster ServiceAccount, else
    ``~/.kube/config``), with a connection pool as large as the controller's thread pool."""
    return resource_kube.central_client(pool_size=kube.POOL_SIZE)


def ensure_peering(api: Any, namespace: str, name: str) -> None:
    """Create kopf's peering object *name* unless it exists."""
    from kubernetes import client

    try:
        client.CustomObjectsApi(api).create_namespaced_custom_object(
            "kopf.dev", "v1", namespace, "kopfpeerings",
            {"apiVersion": "kopf.dev/v1", "kind": "KopfPeering", "metadata": {"name": name}},
        )
    except client.ApiException as exc:
        if exc.status != 409:
            raise


def bootstrap(api: Any, namespace: str, cluster_roles: list[dict[str, Any]]) -> None:
    """What the Helm chart installs, for a local run against ``janus dev up``; *cluster_roles*
    are the catalogue's ClusterRole manifests (``janus.policy.roles.catalogue_manifests``)."""
    from kubernetes import client

    from janus.resource import crd

    crd.install(api, peering=True)
    core, rbac_api = client.CoreV1Api(api), client.RbacAuthorizationV1Api(api)
    for ns in (namespace, names.TOKENS_NAMESPACE):
        try:
            core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=ns)))
        except client.ApiException as exc:
            if exc.status != 409:
                raise
    for role in cluster_roles:
        # The client serialises a plain manifest dict as it would its own model object.
        manifest: Any = role
        try:
            rbac_api.create_cluster_role(manifest)
        except client.ApiException as exc:
            if exc.status != 409:
                raise


def configure_settings(settings: kopf.OperatorSettings) -> None:
    """kopf's settings for Janus (run at startup)."""
    # Handler progress in annotations: the status schema is strict and would prune kopf's
    # default status.kopf field. No diff-base (see NoDiffBase). Our own finalizer name.
    settings.persistence.progress_storage = kopf.AnnotationsProgressStorage(
        prefix="kopf.janus.dev")
    settings.persistence.diffbase_storage = handlers.NoDiffBase()
    settings.persistence.finalizer = handlers.FINALIZER
    settings.posting.level = logging.INFO
    settings.watching.server_timeout = WATCH_SERVER_TIMEOUT
    settings.watching.client_timeout = WATCH_CLIENT_TIMEOUT


async def warm_up(api: Any) -> None:
    """Open a few TLS connections and start the pool's threads before the first burst of
    grants, so the first requests after a restart (overdue expiries) do not pay for it."""
    from kubernetes import client

    await asyncio.gather(*(kube.run(client.VersionApi(api).get_code)
                           for _ in range(WARM_UP_CONNECTIONS)))


def operator_registry(controller: Controller, api: Any) -> kopf.OperatorRegistry:
    """Janus's handlers, kopf's login and the startup hooks, in a registry of their own."""
    operator = kopf.OperatorRegistry()
    handlers.register(operator)
    # kopf logs in with the same credentials as our own client (kubeconfig or in-cluster).
    kopf.on.login(registry=operator)(kopf.login_via_client)

    @kopf.on.startup(registry=operator)
    def configure(settings: kopf.OperatorSettings, **_: Any) -> None:
        configure_settings(settings)

    @kopf.on.startup(registry=operator)
    async def warm_up_pool(**_: Any) -> None:
        await warm_up(api)

    @kopf.on.startup(registry=operator)
    async def start_sweep(memo: kopf.Memo, **_: Any) -> None:
        # In the background: a slow or unreachable target must not delay grants and expiries.
        memo.sweeper = asyncio.get_running_loop().create_task(sweep.sweep(controller))

    return operator


def run(options: Options) -> int:
    """Run the operator until it is stopped; returns the exit status."""
    configure_logging(options.verbose)
    policy = load_policy(options.config)
    api = central_client()
    if options.bootstrap:
        from janus.policy.roles import catalogue_manifests

        bootstrap(api, options.namespace, catalogue_manifests(policy))
    registry = Registry(api, options.namespace, options.central_cluster)
    controller = Controller(central=api, registry=registry, policy=policy,
                            parse_duration=parse_duration, namespace=options.namespace,
                            central_cluster=options.central_cluster)
    operator = operator_registry(controller, api)
    watch_relist.install()  # 504 "Too large resource version" re-lists, like 410 (see module)
    if options.peering:
        ensure_peering(api, options.namespace, options.peering)
    if options.metrics_port:
        metrics.serve(options.metrics_port)
    logs.event(log, "controller.start", namespace=options.namespace,
               central=options.central_cluster, peering=options.peering or "standalone",
               priority=options.priority, clusters=list(policy.clusters))
    kopf.run(
        registry=operator,
        memo=kopf.Memo(runtime=handlers.Runtime(controller)),
        standalone=options.peering is None,
        peering_name=options.peering,
        priority=options.priority,
        namespaces=[options.namespace],
        liveness_endpoint=(f"http://0.0.0.0:{options.liveness_port}/healthz"
                           if options.liveness_port else None),
    )
    return 0
