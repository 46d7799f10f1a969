"""``janus controller``: run the kopf operator.

    janus controller --config policies/janus.yaml --namespace janus \\
        --central-cluster-name prod [--standalone | --peering janus] [--metrics-port 9090]

Credentials for the central cluster come from ``KUBECONFIG`` (or the in-cluster ServiceAccount);
target clusters from kubeconfig Secrets labelled ``janus.dev/cluster=<name>`` in ``--namespace``.

HA: with ``--peering NAME`` every replica joins kopf's peering object NAME (created if missing)
and only the one with the highest priority acts; the others stand by and take over when it stops
renewing. Replicas of equal priority would all pause (kopf's rule), so the default priority is
random per process. ``--standalone`` ignores peering, for local runs with a single replica.
"""

from __future__ import annotations

import argparse
import logging
import os
import secrets
from typing import Any

DEFAULT_PEERING = "janus-controller"


def register(subparsers: Any) -> None:
    p = subparsers.add_parser("controller", help="run the grant/expiry controller (kopf)",
                              description=__doc__,
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--config", default="policies/janus.yaml", help="JanusConfig file")
    p.add_argument("--namespace", default=None,
                   help="namespace of AccessRequests and kubeconfig Secrets (default: janus)")
    p.add_argument("--central-cluster-name", default=None,
                   help="target-cluster name of the cluster the controller runs in")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--standalone", action="store_true", help="no peering (one replica)")
    mode.add_argument("--peering", metavar="NAME", default=None,
                      help=f"kopf peering object for HA (e.g. {DEFAULT_PEERING})")
    p.add_argument("--priority", type=int, default=None,
                   help="peering priority (default: random, so replicas never tie)")
    p.add_argument("--metrics-port", type=int, default=None, help="serve Prometheus /metrics")
    p.add_argument("--liveness-port", type=int, default=None, help="serve kopf /healthz")
    p.add_argument("--bootstrap", action="store_true",
                   help="local use: first install the CRDs, the Janus and token namespaces and "
                        "the catalogue ClusterRoles (needs admin rights)")
    p.add_argument("--verbose", action="store_true", help="debug logging")
    p.set_defaults(func=run)


def central_client() -> Any:
    from kubernetes import config

    from janus.controller import clusters

    if os.environ.get("KUBERNETES_SERVICE_HOST") and not os.environ.get("KUBECONFIG"):
        config.load_incluster_config()
        from kubernetes import client

        api = client.ApiClient()
    else:
        api = config.new_client_from_config()
    return clusters._tune(api)


def ensure_peering(api: Any, namespace: str, name: str) -> None:
    from kubernetes import client

    try:
        client.CustomObjectsApi(api).create_namespaced_custom_object(
            "kopf.dev", "v1", namespace, "kopfpeerings",
            {"apiVersion": "kopf.dev/v1", "kind": "KopfPeering", "metadata": {"name": name}},
        )
    except client.ApiException as exc:
        if exc.status != 409:
            raise


def bootstrap(api: Any, namespace: str, cluster_roles: list[str]) -> None:
    """What the Helm chart installs, for a local run against ``janus dev up``."""
    from kubernetes import client

    from janus import names
    from janus.controller import crd
    from janus.policy.roles import CLUSTER_ROLE_RULES, cluster_role_manifest

    crd.install(api, peering=True)
    core, rbac_api = client.CoreV1Api(api), client.RbacAuthorizationV1Api(api)
    for ns in (namespace, names.TOKENS_NAMESPACE):
        try:
            core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=ns)))
        except client.ApiException as exc:
            if exc.status != 409:
                raise
    for role in cluster_roles:
        if role not in CLUSTER_ROLE_RULES:
            continue
        try:
            rbac_api.create_cluster_role(cluster_role_manifest(role))
        except client.ApiException as exc:
            if exc.status != 409:
                raise


def run(args: argparse.Namespace) -> int:
    import kopf

    from janus import logs, names
    from janus.controller import handlers, metrics
    from janus.controller.clusters import Registry
    from janus.controller.reconcile import Controller
    from janus.model import load_config_file, parse_duration

    level = logging.DEBUG if args.verbose else logging.INFO
    logs.configure(level)
    # kopf's own lines as JSON too, so the controller's output is one JSON object per line.
    kopf.configure(verbose=args.verbose, log_format=kopf.LogFormat.JSON, log_refkey="object")
    if not args.verbose:
        # Per-event handler chatter ("Handler 'poke' succeeded" for every watch event); the
        # transitions are logged by Janus itself (grant.active, grant.expired, ...).
        logging.getLogger("kopf.objects").setLevel(logging.WARNING)
    namespace = args.namespace or names.JANUS_NAMESPACE

    policy = load_config_file(args.config)
    # Test-only (like JANUS_TEST_CRASH_AFTER): JanusConfig rightly refuses duration.min below the
    # token minimum of 10m, but the expiry tests need grants of seconds. Never set in a deployment.
    test_min = os.environ.get("JANUS_TEST_MIN_DURATION")
    if test_min:
        import dataclasses

        policy = dataclasses.replace(policy, duration_min=parse_duration(test_min))
    api = central_client()
    if args.bootstrap:
        bootstrap(api, namespace, sorted(set(policy.roles.values())))
    registry = Registry(api, namespace, args.central_cluster_name)
    controller = Controller(central=api, registry=registry, policy=policy,
                            parse_duration=parse_duration, namespace=namespace,
                            central_cluster=args.central_cluster_name)
    runtime = handlers.Runtime(controller)

    operator = kopf.OperatorRegistry()
    handlers.register(operator)
    # kopf logs in with the same credentials as our own client (kubeconfig or in-cluster).
    kopf.on.login(registry=operator)(kopf.login_via_client)

    @kopf.on.startup(registry=operator)
    def configure(settings: kopf.OperatorSettings, **_: Any) -> None:
        # Handler progress in annotations: the status schema is strict and would prune kopf's
        # default status.kopf field. No diff-base (see NoDiffBase). Our own finalizer name.
        settings.persistence.progress_storage = kopf.AnnotationsProgressStorage(
            prefix="kopf.janus.dev")
        settings.persistence.diffbase_storage = handlers.NoDiffBase()
        settings.persistence.finalizer = handlers.FINALIZER
        settings.posting.level = logging.INFO
        settings.watching.server_timeout = 270
        settings.watching.client_timeout = 300

    @kopf.on.startup(registry=operator)
    async def warm_up(**_: Any) -> None:
        # Open a few TLS connections and start the pool's threads before the first burst of
        # grants, so the first requests after a restart (overdue expiries) do not pay for it.
        import asyncio

        from kubernetes import client

        from janus.controller import kube

        await asyncio.gather(*(kube.run(client.VersionApi(api).get_code) for _ in range(8)))

    @kopf.on.startup(registry=operator)
    async def start_sweep(memo: kopf.Memo, **_: Any) -> None:
        # In the background: a slow or unreachable target must not delay grants and expiries.
        import asyncio

        from janus.controller import sweep

        memo.sweeper = asyncio.get_running_loop().create_task(sweep.sweep(controller))

    peering = None if args.standalone else (args.peering or None)
    if peering:
        ensure_peering(api, namespace, peering)
    if args.metrics_port:
        metrics.serve(args.metrics_port)
    priority = args.priority if args.priority is not None else secrets.randbelow(2**30) + 1
    logs.event(logging.getLogger("janus.controller"), "controller.start", namespace=namespace,
               central=args.central_cluster_name, peering=peering or "standalone",
               priority=priority, clusters=list(policy.clusters))
    kopf.run(
        registry=operator,
        memo=kopf.Memo(runtime=runtime),
        standalone=peering is None,
        peering_name=peering,
        priority=priority,
        namespaces=[namespace],
        liveness_endpoint=(f"http://0.0.0.0:{args.liveness_port}/healthz"
                           if args.liveness_port else None),
    )
    return 0
