"""`janus dev`: the local kit.

* ``janus dev up`` — the whole flow (what `make demo` runs): two local clusters, the GitHub
  simulator, the controller, the webhook receiver and the web app; see :mod:`janus.dev.demo`.
* ``janus dev cluster [--cluster NAME ...]`` — only local control planes, for working on one part.
"""

from __future__ import annotations

import argparse
import shutil
import signal
import sys
import threading
from pathlib import Path

from janus.cli.errors import EXIT_INVALID, EXIT_USAGE, CliError


def register(subparsers: argparse._SubParsersAction) -> None:
    dev = subparsers.add_parser("dev", help="run the local kit (demo, control plane)")
    dev_sub = dev.add_subparsers(dest="dev_command", metavar="DEV_COMMAND", required=True)

    up = dev_sub.add_parser(
        "up",
        help="run the whole flow locally: clusters, GitHub simulator, controller, receiver, web",
    )
    up.add_argument("--state-dir", type=Path, default=Path(".janus-dev"),
                    help="kubeconfigs, credentials (mode 0600) and logs (default: ./.janus-dev)")
    up.add_argument("--web-port", type=int, default=8080, help="web UI port (default 8080)")
    up.add_argument("--postgres", action="store_true",
                    help="keep the receiver's and the web app's data in a local PostgreSQL "
                         "server (Debian's; scripts/install-postgresql.sh) instead of SQLite")
    up.set_defaults(func=_up)

    cluster = dev_sub.add_parser(
        "cluster", help="start local clusters (etcd + kube-apiserver + kwok) and wait for Ctrl-C"
    )
    cluster.add_argument("--cluster", action="append", dest="clusters", metavar="NAME",
                         help="a cluster to start (repeatable; default: one named 'prod')")
    cluster.add_argument("--state-dir", type=Path, default=Path(".janus-dev"),
                         help="where kubeconfigs and logs go (default: ./.janus-dev)")
    cluster.set_defaults(func=_cluster)


def _progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _wait_for_stop() -> None:
    """Block until Ctrl-C or SIGTERM."""
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass


def _up(args: argparse.Namespace) -> int:
    from janus.dev.controlplane import BinariesMissing, ClusterStartError
    from janus.dev.demo import instructions, start_demo
    from janus.dev.postgres import PostgresMissing

    try:
        env = start_demo(args.state_dir.resolve(), _progress, web_port=args.web_port,
                         postgres=args.postgres)
    except (BinariesMissing, PostgresMissing) as exc:
        raise CliError(str(exc), EXIT_USAGE) from None
    except (ClusterStartError, RuntimeError) as exc:
        raise CliError(str(exc), EXIT_INVALID) from None
    except KeyboardInterrupt:
        return 130
    try:
        print(instructions(env), flush=True)
        _wait_for_stop()
        return 0
    finally:
        env.stop(_progress)


def _cluster(args: argparse.Namespace) -> int:
    from janus.dev.controlplane import BinariesMissing, ClusterStartError, LocalCluster

    state: Path = args.state_dir.resolve()
    clusters: list[LocalCluster] = []
    try:
        for name in args.clusters or ["prod"]:
            workdir = state / name
            if workdir.exists():
                shutil.rmtree(workdir)
            clusters.append(LocalCluster.start(name, workdir=workdir, progress=_progress))
        print("\nJanus local control plane is up:\n")
        for cluster in clusters:
            print(f"  {cluster.name}: {cluster.server}")
            print(f"    export KUBECONFIG={cluster.admin_kubeconfig}")
            print(f"    logs: {cluster.workdir}/*.log")
        print("\nPress Ctrl-C to stop everything.", flush=True)
        _wait_for_stop()
        return 0
    except BinariesMissing as exc:
        raise CliError(str(exc), EXIT_USAGE) from None
    except ClusterStartError as exc:
        raise CliError(str(exc), EXIT_INVALID) from None
    except KeyboardInterrupt:
        return 130
    finally:
        for cluster in reversed(clusters):
            _progress(f"[{cluster.name}] stopping")
            cluster.stop()
