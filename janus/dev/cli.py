"""`janus dev`: the local kit.

``janus dev up`` starts what `make demo` shows; it grows with the product (control plane now;
GitHub simulator, controller, receiver and web app as they land).
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    dev = subparsers.add_parser("dev", help="run the local kit (control plane, demo)")
    dev_sub = dev.add_subparsers(dest="dev_command", metavar="DEV_COMMAND", required=True)

    up = dev_sub.add_parser(
        "up", help="start local clusters (etcd + kube-apiserver + kwok) and wait for Ctrl-C"
    )
    up.add_argument(
        "--cluster",
        action="append",
        dest="clusters",
        metavar="NAME",
        help="a cluster to start (repeatable; default: one cluster named 'prod')",
    )
    up.add_argument(
        "--state-dir",
        type=Path,
        default=Path(".janus-dev"),
        help="where kubeconfigs and logs go (default: ./.janus-dev)",
    )
    up.set_defaults(func=_up)


def _progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _up(args: argparse.Namespace) -> int:
    from janus.dev.controlplane import BinariesMissing, ClusterStartError, LocalCluster

    names = args.clusters or ["prod"]
    state: Path = args.state_dir.resolve()
    state.mkdir(parents=True, exist_ok=True)
    clusters: list[LocalCluster] = []
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        for name in names:
            workdir = state / name
            if workdir.exists():
                import shutil

                shutil.rmtree(workdir)
            clusters.append(LocalCluster.start(name, workdir=workdir, progress=_progress))
        print("\nJanus local control plane is up:\n")
        for cluster in clusters:
            print(f"  {cluster.name}: {cluster.server}")
            print(f"    export KUBECONFIG={cluster.admin_kubeconfig}")
            print("    kubectl get nodes")
            print(f"    logs: {cluster.workdir}/*.log")
        print("\nPress Ctrl-C to stop everything.", flush=True)
        try:
            while not stop.wait(0.5):
                pass
        except KeyboardInterrupt:
            pass
        return 0
    except BinariesMissing as exc:
        print(f"janus dev up: {exc}", file=sys.stderr)
        return 2
    except ClusterStartError as exc:
        print(f"janus dev up: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    finally:
        for cluster in reversed(clusters):
            _progress(f"[{cluster.name}] stopping")
            cluster.stop()
