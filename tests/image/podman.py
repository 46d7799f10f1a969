"""Running the Janus image under podman as the chart runs it on Kubernetes: user 10001, a
read-only root filesystem with no writable tmpfs but the ones given, all capabilities dropped,
no privilege escalation. Host networking: the containers reach the local API server and listen
on 127.0.0.1 like the test's own servers.

The flags this machine needs: `--runtime runc` and explicit ulimits (podman's defaults fail here).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from dataclasses import dataclass, field
from pathlib import Path

IMAGE = os.environ.get("JANUS_IMAGE", "localhost/janus:dev")
PODMAN = shutil.which("podman")
RUN = [
    "run", "--rm", "--runtime", "runc",
    "--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024",
    "--read-only", "--read-only-tmpfs=false",
    "--cap-drop", "ALL", "--security-opt", "no-new-privileges",
    "--network", "host",
]


def podman(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    assert PODMAN is not None
    return subprocess.run([PODMAN, *args], capture_output=True, text=True, timeout=timeout)


def image_present() -> bool:
    return PODMAN is not None and podman("image", "exists", IMAGE).returncode == 0


def run_once(*args: str, entrypoint: str | None = None,
             extra: tuple[str, ...] = ()) -> subprocess.CompletedProcess[str]:
    """`podman run` to completion with the hardened flags."""
    ep = ("--entrypoint", entrypoint) if entrypoint else ()
    return podman(*RUN, *ep, *extra, IMAGE, *args)


def shareable(directory: Path) -> Path:
    """Make *directory* and its files readable by the container's user 10001 (pytest's tmp
    directories are 0700), for a read-only bind mount."""
    directory.chmod(0o755)
    for path in directory.rglob("*"):
        path.chmod(0o755 if path.is_dir() else 0o644)
    return directory


@dataclass
class Container:
    """A long-running `podman run` of the image (a Janus component), its output in a log."""

    args: list[str]
    log_path: Path
    config_dir: Path | None = None  # bind-mounted read-only at /config
    env: dict[str, str] = field(default_factory=dict)
    # Passed as `-e NAME` (the value from podman's own environment): never on a command line.
    secret_env: dict[str, str] = field(default_factory=dict)
    name: str = field(default_factory=lambda: f"janus-test-{uuid.uuid4().hex[:8]}")
    proc: subprocess.Popen[bytes] | None = None

    def start(self) -> Container:
        assert PODMAN is not None
        extra: list[str] = ["--name", self.name, "--tmpfs", "/data:rw,size=64m,mode=1777",
                            "--workdir", "/data"]
        if self.config_dir is not None:
            extra += ["-v", f"{shareable(self.config_dir)}:/config:ro"]
        for key, value in self.env.items():
            extra += ["-e", f"{key}={value}"]
        for key in self.secret_env:
            extra += ["-e", key]
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen([PODMAN, *RUN, *extra, IMAGE, *self.args],
                                         stdout=log, stderr=subprocess.STDOUT,
                                         env={**os.environ, **self.secret_env})
        return self

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self) -> None:
        if self.proc is None:
            return
        podman("stop", "--time", "10", self.name, timeout=60)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            podman("rm", "--force", self.name, timeout=60)
            self.proc.kill()
            self.proc.wait()
