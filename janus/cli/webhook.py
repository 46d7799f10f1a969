"""``janus webhook`` (the receiver) and ``janus reconcile`` (one reconcile pass, then exit)."""

from __future__ import annotations

import argparse
import gc
import json
import os
import signal
from pathlib import Path
from typing import Any

from janus.cli.errors import EXIT_USAGE, CliError

# The delivery database's URL from the environment (a Secret in the chart): a password in a URL
# on the command line would be readable in the process list.
DB_ENV = "JANUS_WEBHOOK_DATABASE_URL"


def _add_common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", required=True,
                        help="the deployment's JanusConfig (admins, pendingTimeout)")
    parser.add_argument("--repo", required=True, help="the access repository, owner/name")
    parser.add_argument("--github-api-url", default="https://api.github.com",
                        help="REST root; GitHub Enterprise: https://HOST/api/v3")
    parser.add_argument("--app-id", type=int)
    parser.add_argument("--app-key", help="file with the GitHub App's private key (PEM)")
    parser.add_argument("--installation-id", type=int)
    parser.add_argument("--token-file", help="file with a token (instead of App auth)")
    parser.add_argument("--no-throttle", action="store_true",
                        help="no pause between writes (simulator and tests only)")
    parser.add_argument("--kubeconfig",
                        help="central cluster kubeconfig (default: $KUBECONFIG, else in-cluster)")
    parser.add_argument("--namespace", default="janus", help="namespace of the AccessRequests")
    parser.add_argument("--ledger-branch", default=None,
                        help="commit the ledger (ledger/) to this branch, e.g. janus-ledger, "
                             "for organisations that forbid bot commits on the default branch "
                             "(default: the default branch, which also drops ended requests)")


def register(subparsers: Any) -> None:
    webhook = subparsers.add_parser(
        "webhook", help="run the GitHub webhook receiver",
        description="Receive signed GitHub deliveries, verify merged request PRs "
                    "(docs/design.md §5) and create, extend or revoke AccessRequests; check runs, "
                    "plan comments, /janus revoke, periodic reconcile and status write-back.")
    _add_common(webhook)
    webhook.add_argument("--secret-file", required=True, help="file with the webhook secret")
    webhook.add_argument("--host", default="127.0.0.1")
    webhook.add_argument("--port", type=int, default=8081)
    webhook.add_argument("--metrics-port", type=int, default=None,
                         help="serve Prometheus /metrics on this port (never on --port)")
    webhook.add_argument("--db", default=None,
                         help="SQLite file of received deliveries (dedupe, crash recovery), or "
                              "a database URL (postgresql+psycopg://…) that several replicas "
                              f"share (default: ${DB_ENV} if set, else .janus-webhook.sqlite)")
    webhook.add_argument("--lease-seconds", type=float, default=60.0,
                         help="a claimed delivery is another replica's to take over after this "
                              "long without renewal (default 60)")
    webhook.add_argument("--keep-deliveries-days", type=float, default=7.0,
                         help="prune finished deliveries older than this (default 7, past "
                              "GitHub's 3-day redelivery window)")
    webhook.add_argument("--keep-deliveries-max", type=int, default=100_000,
                         help="keep at most this many finished deliveries (default 100000)")
    webhook.add_argument("--workers", type=int, default=2)
    webhook.add_argument("--reconcile-interval", type=float, default=60.0,
                         help="seconds between reconcile passes (0: only on push)")
    webhook.add_argument("--notifications", default=None,
                         help="notifications file (kind NotificationConfig: Slack, Teams, e-mail, "
                              "signed webhook; docs/notifications.md); none: nothing is sent")
    webhook.set_defaults(func=_run_webhook)

    reconcile = subparsers.add_parser(
        "reconcile", help="compare requests/ on the default branch with the AccessRequests once",
        description="One reconcile pass: grant verified merged requests that have no "
                    "AccessRequest, revoke grants whose file is gone, close stale request PRs.")
    _add_common(reconcile)
    reconcile.set_defaults(func=_run_reconcile)


def _gitops(args: argparse.Namespace) -> Any:
    from janus import logs
    from janus.gitops.client import GitHubSettings, acting_login, connect
    from janus.gitops.crs import AccessRequests
    from janus.gitops.service import GitOps
    from janus.model import load_config_file
    from janus.resource.kube import NoCredentials, central_client

    logs.configure()
    settings = GitHubSettings.from_files(
        args.github_api_url, app_id=args.app_id, app_key_file=args.app_key,
        installation_id=args.installation_id, token_file=args.token_file,
        throttle=not args.no_throttle)
    gh = connect(settings)
    try:
        api = central_client(args.kubeconfig)
    except NoCredentials as exc:
        raise CliError(str(exc), EXIT_USAGE) from None
    janus_config = load_config_file(Path(args.config))
    crs = AccessRequests(api, args.namespace)
    ops = GitOps(gh, args.repo, crs, janus_config,
                 janus_login=acting_login(gh, settings), app_id=settings.app_id)
    # The ledger (docs/design.md §11): every grant's start and end committed to the repository.
    from janus.gitops import ledger_keeper

    ops.ledger = ledger_keeper.build(gh, args.repo, crs, default_branch=ops.default_branch,
                                     ledger_branch=args.ledger_branch, counters=ops.counters)
    return ops


def _run_webhook(args: argparse.Namespace) -> int:
    from janus.webhook.runtime import Receiver, ReceiverSettings

    secret = Path(args.secret_file).read_bytes().strip()
    if len(secret) < 16:
        raise SystemExit("the webhook secret must be at least 16 bytes of high entropy")
    db = args.db or os.environ.get(DB_ENV) or ".janus-webhook.sqlite"
    notifications = _notifications(args.notifications)  # a bad file stops us before any call
    ops = _gitops(args)
    receiver = Receiver(ops, ReceiverSettings(
        secret=secret, db_path=db if "://" in db else Path(db),
        host=args.host, port=args.port, lease_seconds=args.lease_seconds,
        workers=args.workers, reconcile_interval=args.reconcile_interval,
        metrics_port=args.metrics_port,
        keep_deliveries_seconds=args.keep_deliveries_days * 86400,
        keep_deliveries_max=args.keep_deliveries_max,
        notifications=notifications))
    # SIGTERM (Kubernetes stopping the pod) stops like Ctrl-C: workers finish the delivery in
    # hand; anything not finished stays in the store and is picked up on the next start.
    signal.signal(signal.SIGTERM, _interrupt)
    receiver.start()
    # What start-up allocated (the Kubernetes and GitHub clients, SQLAlchemy, the schemas:
    # ~120,000 objects) lives as long as the process: out of the collector's sight, so a full
    # collection during a burst does not walk it with every request in flight waiting
    # (docs/development.md, webhook ack under a burst).
    gc.freeze()
    receiver.serve_forever()
    return 0


def _notifications(path: str | None) -> Any:
    from janus.errors import ConfigError
    from janus.notify import load_config

    if path is None:
        return None
    try:
        return load_config(Path(path))
    except ConfigError as exc:
        raise CliError(str(exc), EXIT_USAGE) from None


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _run_reconcile(args: argparse.Namespace) -> int:
    from janus.gitops.reconcile import Reconciler

    ops = _gitops(args)
    report = Reconciler(ops).run()
    # A one-shot pass has no writer thread: write what it found for the ledger before exiting.
    if ops.ledger is not None and ops.ledger.writer.pending() \
            and not ops.ledger.writer.write_once():
        print(json.dumps(report.__dict__, indent=2))
        raise CliError(f"the ledger could not be written: {ops.ledger.writer.last_error}",
                       EXIT_USAGE)
    print(json.dumps(report.__dict__, indent=2))
    return 0
