"""Render the ClusterRole catalogue (``janus.policy.roles``) for the Helm chart.

The chart installs these ClusterRoles on the central cluster (docs/design.md §7) from
``helm/janus/files/catalogue-clusterroles.yaml`` via ``.Files.Get``, so the rules live in one
place: ``tests/helm/test_chart.py`` fails when the file is out of date.

    python -m janus.policy.roles_render      # rewrite helm/janus/files/catalogue-clusterroles.yaml
"""

from __future__ import annotations

import sys
from pathlib import Path

import yaml

from janus.policy.roles import CLUSTER_ROLE_RULES, cluster_role_manifest

HELM_FILE = Path(__file__).resolve().parents[2] / "helm/janus/files/catalogue-clusterroles.yaml"
HEADER = "# Generated from janus/policy/roles.py (python -m janus.policy.roles_render).\n"


def render() -> str:
    docs = [cluster_role_manifest(name) for name in sorted(CLUSTER_ROLE_RULES)]
    return HEADER + yaml.safe_dump_all(docs, sort_keys=False)


if __name__ == "__main__":  # pragma: no cover
    HELM_FILE.parent.mkdir(parents=True, exist_ok=True)
    HELM_FILE.write_text(render(), encoding="utf-8")
    sys.stdout.write(f"wrote {HELM_FILE}\n")
