"""The run-time configuration of kwok: stock stages plus our exec and logs rules."""

from __future__ import annotations

import pwd
from pathlib import Path

import yaml

# Stock stages copied from kwok's Go module by tests/cluster/build.sh.
STAGE_FILES = ("node-initialize.yaml", "pod-ready.yaml", "pod-complete.yaml", "pod-delete.yaml")

# Lines a pod's containers "log", in the CRI format kwok's ClusterLogs serves.
POD_LOG_LINES = (
    "2026-01-01T00:00:00Z stdout F janus test pod started",
    "2026-01-01T00:00:01Z stdout F ready",
)


def unprivileged_ids() -> tuple[int, int] | None:
    """(uid, gid) of ``nobody``: exec'd commands run on the host, so never as root if avoidable."""
    try:
        entry = pwd.getpwnam("nobody")
    except KeyError:
        return None
    return entry.pw_uid, entry.pw_gid


def write_kwok_config(path: Path, stages_dir: Path, exec_workdir: Path, log_file: Path) -> None:
    """Assemble ``kwok.yaml``. kwok otherwise auto-loads ``~/.kwok/kwok.yaml``, which can leak
    state between machines, so the launcher always passes this file explicitly."""
    exec_workdir.mkdir(parents=True, exist_ok=True)
    exec_workdir.chmod(0o1777)  # the unprivileged exec user writes here
    log_file.write_text("\n".join(POD_LOG_LINES) + "\n")

    local: dict[str, object] = {
        "workDir": str(exec_workdir),
        "envs": [
            {"name": "HOME", "value": str(exec_workdir)},
            {"name": "PATH", "value": "/usr/local/bin:/usr/bin:/bin"},
            {"name": "TERM", "value": "xterm-256color"},
        ],
    }
    ids = unprivileged_ids()
    if ids:
        local["securityContext"] = {"runAsUser": ids[0], "runAsGroup": ids[1]}

    documents: list[str] = [
        yaml.safe_dump(
            {
                "apiVersion": "config.kwok.x-k8s.io/v1alpha1",
                "kind": "KwokConfiguration",
                # kwok applies its defaults only when it builds the configuration itself, not
                # to one read from --config, so every option it needs is spelled out here.
                "options": {
                    "enableDebuggingHandlers": True,  # serves exec/logs/attach
                    "enableProfilingHandler": False,
                    "enableContentionProfiling": False,
                    "podPlayStageParallelism": 4,
                    "nodePlayStageParallelism": 4,
                    "nodeLeaseParallelism": 4,
                    "podsOnNodeSyncParallelism": 1,
                    "enablePodsOnNodeSyncListPager": True,
                    "enablePodsOnNodeSyncStreamWatch": False,
                },
            }
        )
    ]
    documents += [(stages_dir / name).read_text() for name in STAGE_FILES]
    documents.append(
        yaml.safe_dump(
            {
                "apiVersion": "kwok.x-k8s.io/v1alpha1",
                "kind": "ClusterExec",
                "metadata": {"name": "janus-local"},
                # No containers listed: the rule applies to every container of every pod.
                "spec": {"execs": [{"local": local}]},
            }
        )
    )
    documents.append(
        yaml.safe_dump(
            {
                "apiVersion": "kwok.x-k8s.io/v1alpha1",
                "kind": "ClusterLogs",
                "metadata": {"name": "janus-local"},
                "spec": {"logs": [{"logsFile": str(log_file), "follow": False}]},
            }
        )
    )
    path.write_text("\n---\n".join(doc.strip() for doc in documents) + "\n")
