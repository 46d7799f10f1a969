"""``python -m janus.dev.github_sim``: run the simulator with the demo world until Ctrl-C.

Credentials (user tokens, the App's private key) go to a 0600 JSON file, never to the terminal.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
from pathlib import Path

from .demo import seed_demo
from .server import GitHubSimulator


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m janus.dev.github_sim")
    parser.add_argument("--port", type=int, default=0, help="listen port (default: free port)")
    parser.add_argument("--state-file", type=Path, default=Path(".janus-dev/github-sim.json"),
                        help="where base URL, tokens and the App key are written (mode 0600)")
    parser.add_argument("--webhook", metavar="URL", help="deliver the repo's events here")
    parser.add_argument("--secret", default=os.environ.get("JANUS_WEBHOOK_SECRET"),
                        help="webhook secret (default: $JANUS_WEBHOOK_SECRET)")
    parser.add_argument("--oauth-callback", default="http://127.0.0.1:8000/auth/callback",
                        help="callback URL of the demo OAuth App (for 'log in with GitHub')")
    args = parser.parse_args(argv)

    sim = GitHubSimulator.start(port=args.port)
    world = seed_demo(sim)
    if args.webhook:
        sim.set_delivery_mode("background")
        sim.add_webhook(world.repo, args.webhook, args.secret, ["*"])
    client_id, client_secret = sim.create_oauth_app(args.oauth_callback)
    state = {
        "base_url": sim.base_url, "repo": world.repo, "app_id": world.app_id,
        "oauth_client_id": client_id, "oauth_client_secret": client_secret,
        "installation_id": world.installation_id, "app_private_key": world.app_private_key,
        "tokens": {login: sim.token(login) for login in world.users},
    }
    args.state_file.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(args.state_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(state, fh, indent=2)
    print(f"GitHub simulator: {sim.base_url} (review page {sim.base_url}/_sim/{world.repo})\n"
          f"credentials: {args.state_file}", file=sys.stderr, flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    finally:
        sim.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
