"""Demo pods that look like containers: exec'd commands run in an isolated root file system.

kwok (the demo's fake kubelet) runs an exec'd command on the host itself. So that ``ls /`` in the
demo terminal shows a container's files and not the machine's, ``janus dev up`` puts a directory
of shims first on kwok's ``PATH`` (kwok resolves a command like ``sh`` or ``bash`` through its own
``PATH``): each shim runs the command of the same name under bubblewrap, with a minimal root made
from Debian's ``busybox-static`` (one static binary and its applet links, cached under
``~/.cache/janus/demo-rootfs``) mounted read-only as ``/``, a private ``/tmp``, its own
``/proc`` and ``/dev``, no network and every namespace unshared. Install both with
``scripts/install-bubblewrap.sh``.

This is a demo's stand-in for a container runtime, not a security boundary for hostile code: a
command given by absolute host path (``/usr/bin/python3``) still runs on the host.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
from pathlib import Path

BUSYBOX = Path("/bin/busybox")
ROOTFS_VERSION = "2"  # bump when the layout below changes, so cached roots are rebuilt
# Shells named by the web terminal (janus.web.terminal.exec_stream.DEFAULT_SHELLS) that busybox
# has no applet for: a two-line script running busybox's sh (a symlink would make busybox
# answer "bash: applet not found").
SHELL_ALIASES = ("bash",)


class IsolationUnavailable(RuntimeError):
    """bubblewrap or busybox-static is missing."""


def default_cache() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "janus"


def available() -> bool:
    return shutil.which("bwrap") is not None and _static_busybox() is not None


def _static_busybox() -> Path | None:
    found = shutil.which("busybox")
    for candidate in (BUSYBOX, Path(found) if found else None):
        if candidate and candidate.is_file() and _is_static_elf(candidate):
            return candidate
    return None


def _is_static_elf(path: Path) -> bool:
    """A 64-bit little-endian ELF without a PT_INTERP header: it needs no host libc inside the
    root (a dynamically linked busybox would)."""
    head = path.read_bytes()[:65536]
    if not head.startswith(b"\x7fELF\x02\x01"):
        return False
    phoff = int.from_bytes(head[32:40], "little")
    phentsize = int.from_bytes(head[54:56], "little")
    phnum = int.from_bytes(head[56:58], "little")
    for i in range(phnum):
        at = phoff + i * phentsize
        if int.from_bytes(head[at:at + 4], "little") == 3:  # PT_INTERP
            return False
    return True


def ensure_rootfs(cache: Path | None = None) -> Path:
    """The cached minimal root (built once): /bin/busybox, its applets, /etc/passwd, /tmp."""
    busybox = _static_busybox()
    if busybox is None or shutil.which("bwrap") is None:
        raise IsolationUnavailable(
            "bubblewrap and busybox-static are needed for isolated demo pods: "
            "run scripts/install-bubblewrap.sh")
    root = (cache or default_cache()) / f"demo-rootfs-v{ROOTFS_VERSION}"
    if (root / ".complete").exists():
        return root
    building = root.with_name(root.name + f".tmp{os.getpid()}")
    shutil.rmtree(building, ignore_errors=True)
    for sub in ("bin", "etc", "proc", "dev", "tmp", "root", "app", "var/log"):
        (building / sub).mkdir(parents=True, exist_ok=True)
    shutil.copy2(busybox, building / "bin" / "busybox")
    applets = subprocess.run([str(busybox), "--list"], check=True, capture_output=True,
                             text=True).stdout.split()
    for applet in applets:
        link = building / "bin" / applet
        if applet != "busybox" and not link.exists():
            link.symlink_to("busybox")
    for alias in SHELL_ALIASES:
        if not (building / "bin" / alias).exists():
            (building / "bin" / alias).write_text('#!/bin/sh\nexec /bin/sh "$@"\n')
    (building / "etc" / "passwd").write_text(
        "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/tmp:/bin/sh\n")
    (building / "etc" / "group").write_text("root:x:0:\nnogroup:x:65534:\n")
    (building / "etc" / "os-release").write_text(
        'PRETTY_NAME="Janus demo pod (busybox)"\nID=busybox\n')
    (building / "app" / "README").write_text(
        "A Janus demo pod: a minimal root file system, not the host's.\n")
    for path in (building, *building.rglob("*")):
        if not path.is_symlink():
            executable = path.is_dir() or path.name in ("busybox", *SHELL_ALIASES)
            path.chmod(0o755 if executable else 0o644)
    (building / ".complete").write_text("")
    if root.exists():  # another process won the race
        shutil.rmtree(building, ignore_errors=True)
    else:
        building.rename(root)
    return root


def write_shims(directory: Path, rootfs: Path) -> Path:
    """*directory* with one shim per command of the root (``sh``, ``ls``, ``bash`` ...), each
    running that command inside bubblewrap over *rootfs*. Returns *directory*."""
    directory.mkdir(parents=True, exist_ok=True)
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        raise IsolationUnavailable("bwrap is missing: run scripts/install-bubblewrap.sh")
    runner = directory / "janus-pod-exec"
    runner.write_text(
        "#!/bin/sh\n"
        "# Generated by janus dev up (janus/dev/podroot.py): runs $0 in the demo pod root.\n"
        'name=${0##*/}  # no basename: this directory shadows it\n'
        f"exec {shlex.quote(bwrap)} --ro-bind {shlex.quote(str(rootfs))} / "
        "--proc /proc --dev /dev --tmpfs /tmp --unshare-all --die-with-parent "
        "--new-session --hostname pod --clearenv "
        "--setenv PATH /bin --setenv HOME /root --setenv TERM \"${TERM:-xterm}\" "
        '--chdir / -- "/bin/$name" "$@"\n'
    )
    runner.chmod(0o755)
    for entry in sorted((rootfs / "bin").iterdir()):
        shim = directory / entry.name
        if not shim.exists() and not shim.is_symlink():
            shim.symlink_to(runner.name)
    directory.chmod(0o755)
    return directory


def prepare(cache: Path | None = None) -> Path:
    """A fresh world-readable directory (under the system temp dir, because exec'd commands run
    as ``nobody``, who cannot traverse ``/root/.cache``) holding a copy of the cached root in
    ``root/`` and the shims in ``bin/``. Pass ``bin/`` to ``LocalCluster.start(exec_shims=)``;
    delete the directory when the clusters are stopped."""
    import tempfile

    cached = ensure_rootfs(cache)
    work = Path(tempfile.mkdtemp(prefix="janus-podroot-"))
    work.chmod(0o755)
    root = work / "root"
    shutil.copytree(cached, root, symlinks=True)
    write_shims(work / "bin", root)
    return work
