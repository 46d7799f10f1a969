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
from pathlib import Path
from typing import Any

from janus import names

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


def run(args: argparse.Namespace) -> int:
    # kopf and the Kubernetes client load only now, so `janus --help` stays fast.
    from janus.controller import runtime

    return runtime.run(runtime.Options(
        config=Path(args.config),
        namespace=args.namespace or names.JANUS_NAMESPACE,
        central_cluster=args.central_cluster_name,
        peering=None if args.standalone else (args.peering or None),
        priority=args.priority if args.priority is not None else runtime.default_priority(),
        metrics_port=args.metrics_port,
        liveness_port=args.liveness_port,
        bootstrap=args.bootstrap,
        verbose=args.verbose,
    ))
