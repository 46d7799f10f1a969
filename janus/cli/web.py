"""`janus web`: serve the web UI (request form, my access, admin view, terminal).

    janus web --config web.yaml --host 127.0.0.1 --port 8080
    janus web --dev-login --kubeconfig .janus-dev/prod/admin.kubeconfig --repo acme/access ...

``--dev-login`` lets anyone type any login: it refuses to start unless bound to a loopback
address, and the app refuses dev logins from non-loopback peers as well.
"""

from __future__ import annotations

import argparse
import ipaddress
from pathlib import Path
from typing import TYPE_CHECKING

from janus.cli.errors import EXIT_USAGE, CliError

if TYPE_CHECKING:  # the web stack is imported only when `janus web` runs
    from janus.web.settings import WebSettings

EXIT_REFUSED = EXIT_USAGE  # bad settings, or a dev login that would not be loopback-only


def register(subparsers: argparse._SubParsersAction) -> None:
    web = subparsers.add_parser("web", help="serve the web UI")
    web.add_argument("--config", type=Path,
                     help="YAML file of web settings (see docs/web-and-terminal.md)")
    web.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    web.add_argument("--port", type=int, default=8080, help="port to bind (default 8080)")
    web.add_argument("--dev-login", action="store_true",
                     help="development login form (loopback only; anyone can be anyone)")
    web.add_argument("--public-url", help="URL browsers use (default http://HOST:PORT)")
    web.add_argument("--kubeconfig", type=Path,
                     help="kubeconfig of the central cluster (default: $KUBECONFIG, else "
                          "in-cluster)")
    web.add_argument("--repo", help="access repository, owner/name")
    web.add_argument("--github-api-url", help="GitHub API base URL (e.g. the simulator's)")
    web.add_argument("--github-url", help="GitHub web base URL (OAuth endpoints)")
    web.add_argument("--access-repo-dir", type=Path,
                     help="local checkout of the access repo (policies/ is read from it)")
    web.add_argument("--membership-file", type=Path, help="YAML team membership file")
    web.add_argument("--admin", action="append", default=[], metavar="LOGIN",
                     help="extra admin login (repeatable; JanusConfig admins always are)")
    web.add_argument("--github-sim-state", type=Path, metavar="FILE",
                     help="with --dev-login: the GitHub simulator's state file "
                          "(.janus-dev/github-sim.json) gives the API URL, repo and each demo "
                          "user's token, so PRs are authored by the logged-in user")
    web.add_argument("--metrics-port", type=int, default=None,
                     help="serve Prometheus /metrics on this port, on --host (never on --port)")
    web.add_argument("--log-level", default="info")
    web.add_argument("--access-log", action="store_true",
                     help="one JSON line per HTTP request (path without its query string)")
    web.set_defaults(func=_run)


def is_loopback_host(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def build_settings(args: argparse.Namespace) -> WebSettings:
    from janus.web.settings import WebSettings

    settings = WebSettings.from_file(args.config) if args.config else WebSettings()
    overrides = {
        "kubeconfig": args.kubeconfig,
        "repo": args.repo,
        "github_api_url": args.github_api_url,
        "github_url": args.github_url,
        "access_repo_dir": args.access_repo_dir,
        "membership_file": args.membership_file,
        "public_url": args.public_url,
    }
    for name, value in overrides.items():
        if value is not None:
            setattr(settings, name, value.resolve() if isinstance(value, Path) else value)
    if args.public_url is None and not args.config:
        host = f"[{args.host}]" if ":" in args.host else args.host
        settings.public_url = f"http://{host}:{args.port}"
    if args.dev_login:
        settings.auth_mode = "dev"
    if getattr(args, "github_sim_state", None):
        _apply_simulator_state(settings, args.github_sim_state)
    if args.admin:
        settings.admin_users = settings.admin_users | {a.lower() for a in args.admin}
    return settings


def _apply_simulator_state(settings: WebSettings, path: Path) -> None:
    """Point a dev-login app at the local GitHub simulator (``python -m janus.dev.github_sim``)."""
    import json

    from janus.web.settings import SettingsError

    if settings.auth_mode != "dev":
        raise SettingsError("--github-sim-state is for the local demo: use it with --dev-login")
    state = json.loads(path.read_text(encoding="utf-8"))
    tokens: dict[str, str] = dict(state["tokens"])
    settings.github_api_url = state["base_url"]
    settings.repo = settings.repo or state["repo"]
    settings.dev_user_tokens = tokens
    # The app's own reads (policies, team membership) use the org admin's token.
    settings.github_token = settings.github_token or tokens.get("root")


def _run(args: argparse.Namespace) -> int:
    import uvicorn

    from janus import logs
    from janus.web.app import create_app
    from janus.web.settings import SettingsError

    logs.configure(args.log_level.upper())
    try:
        settings = build_settings(args)
        settings.validate()
    except (SettingsError, OSError, ValueError, KeyError) as exc:
        raise CliError(str(exc), EXIT_REFUSED) from None
    if settings.auth_mode == "dev" and not is_loopback_host(args.host):
        raise CliError(f"refusing to start: the dev login would be reachable on {args.host}; "
                       "bind to 127.0.0.1 (or ::1), or use github/oidc/proxy login", EXIT_REFUSED)
    app = create_app(settings)
    if args.metrics_port is not None:
        from janus.web import metrics

        metrics.serve(args.host, args.metrics_port)
    # proxy_headers=False: the TCP peer must stay the real peer, since the trusted-proxy check
    # and the dev login's loopback check rely on it.
    uvicorn.run(app, host=args.host, port=args.port, proxy_headers=False,
                log_level=args.log_level.lower(), access_log=args.access_log,
                log_config=logs.uvicorn_log_config(args.log_level.upper()))
    return 0
