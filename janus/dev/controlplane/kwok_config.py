"""The run-time configuration of kwok: stock stages plus our exec, logs and attach rules."""

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


# kwok runs no container: its attach follows this file from its end (tail 0, follow; stdin is
# read by nobody), where a real kubelet connects the attached container's terminal. Lines
# appended while a terminal is attached appear in it: the debug flow's tests do that.
ATTACH_FILE = "attach.log"


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
    attach_file = log_file.with_name(ATTACH_FILE)
    attach_file.write_text("")
    documents.append(
        yaml.safe_dump(
            {
                "apiVersion": "kwok.x-k8s.io/v1alpha1",
                "kind": "ClusterAttach",
                "metadata": {"name": "janus-local"},
                "spec": {"attaches": [{"logsFile": str(attach_file)}]},
            }
        )
    )
    path.write_text("\n---\n".join(doc.strip() for doc in documents) + "\n")
