"""Seed a simulator with the demo access repository and the people the example policies name.

``seed_demo(sim, template)`` creates org ``acme`` with teams ``sre``, ``payments-leads`` and
``payments-devs``, users ``alice`` (payments dev), ``bob`` and ``carol`` (payments leads) and
``root`` (SRE, org admin), and the repository ``acme/access`` holding the template's
``policies/``, ``requests/README.md`` and ``.github/CODEOWNERS`` (this project's own files by
default; not the example request files, which no pull request ever merged: the receiver's
reconcile would warn about each of them on every pass, and the demo starts with no requests),
with ``main`` protected (one approval, code-owner review, stale approvals dismissed; admins
bypass, as on GitHub, and so does the Janus App, which merges break-glass PRs itself). It also
registers the Janus GitHub App and installs it on the repo.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from .server import GitHubSimulator

PROJECT_ROOT = Path(__file__).resolve().parents[3]
TEMPLATE_PATHS = ("policies", "requests", ".github/CODEOWNERS")


@dataclass
class DemoWorld:
    repo: str
    app_id: int
    app_private_key: str
    installation_id: int
    users: list[str] = field(default_factory=list)


def template_files(root: Path = PROJECT_ROOT) -> dict[str, bytes]:
    files: dict[str, bytes] = {}
    for rel in TEMPLATE_PATHS:
        path = root / rel
        candidates = [path] if path.is_file() else sorted(p for p in path.rglob("*")
                                                           if p.is_file())
        for item in candidates:
            rel_path = item.relative_to(root).as_posix()
            if rel_path.startswith("requests/") and rel_path != "requests/README.md":
                continue  # example requests, not merged through a PR (see the docstring)
            files[rel_path] = item.read_bytes()
    return files


def seed_demo(sim: GitHubSimulator, template: Path = PROJECT_ROOT,
              repo_name: str = "access") -> DemoWorld:
    users = ["alice", "bob", "carol", "root"]
    for login in users:
        sim.add_user(login, name=login.title())
    sim.add_org("acme", admins=["root"])
    sim.add_team("acme", "sre", members=["root"])
    sim.add_team("acme", "payments-leads", members=["bob", "carol"])
    sim.add_team("acme", "payments-devs", members=["alice"])
    repo = sim.create_repo(
        "acme", repo_name, files=template_files(template),
        collaborators={"alice": "write", "bob": "write", "carol": "write"},
        teams={"acme/sre": "admin", "acme/payments-leads": "write",
               "acme/payments-devs": "write"})
    app_id, key = sim.create_app("janus-app", owner="acme")
    installation = sim.install_app(app_id, repo)
    # The Janus App may merge without the reviews: it merges allowed break-glass PRs itself.
    sim.world.set_protection(repo, "main", required_approvals=1, require_code_owner_reviews=True,
                             dismiss_stale_reviews=True, bypass_apps=[app_id])
    return DemoWorld(repo, app_id, key, installation, users)
