"""What the tests that run ``janus webhook`` as a process share: a new access repository with
the simulator's app installed on it, and the receiver's key, secret and kubeconfig files."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any, NamedTuple

import yaml

from tests.gitops import harness


class ReceiverSetup(NamedTuple):
    repo: str
    installation: int
    secret: str  # the webhook secret, also written to <dir>/secret


def prepare_receiver(sim: Any, app_id: int, key: str, cluster: Any,
                     directory: Path) -> ReceiverSetup:
    """A new repository with the app installed; ``key``, ``secret`` and ``kubeconfig`` written
    to *directory* for the receiver's --app-key, --secret-file and --kubeconfig."""
    repo = harness.new_repo(sim)
    installation = sim.install_app(app_id, repo)
    secret = secrets.token_hex(20)
    files = {"key": key, "secret": secret, "kubeconfig": yaml.safe_dump(cluster.kubeconfig())}
    for name, content in files.items():
        (directory / name).write_text(content)
    return ReceiverSetup(repo, installation, secret)
