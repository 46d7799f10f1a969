"""Trims the image's root filesystem. Shared by scripts/build-image.sh (buildah, here) and the
Containerfile (Docker, release), so both make the same image.

Always run by the *image's own* python3, never the host's: inside a chroot
(`chroot ROOTFS python3 - MODE < this file`) or in a Containerfile RUN, so every path resolves
inside the image's root filesystem.

  packages  removes the Essential packages nothing in the image runs (shells but dash, perl,
            coreutils, apt, dpkg itself ...): their files (not directories) are deleted, their
            dpkg info files removed and their stanzas dropped from /var/lib/dpkg/status, so the
            status file keeps describing exactly what is installed (an SBOM scanner reads it).
            Every shared library stays. `dpkg --purge --force-remove-essential` is not used:
            the Essential packages' maintainer scripts need each other and fail half-way.
  python    removes from the installed Python packages what Janus never loads: kubernetes.aio
            (41 MB, the asyncio client; Janus and kopf use the synchronous one), the
            dependencies' own test suites, and every console script but janus.
  caches    apt lists and caches, logs, docs, man pages, locales.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

PACKAGES = """
apt libapt-pkg6.0 dpkg perl-base debconf bash util-linux util-linux-extra login tar diffutils
findutils grep sed gzip hostname ncurses-bin sysvinit-utils init-system-helpers libpam-runtime
libpam-modules libpam-modules-bin mawk debianutils bsdutils coreutils openssl
""".split()
SITE = Path("/usr/local/lib/python3.11/dist-packages")
INFO = Path("/var/lib/dpkg/info")
STATUS = Path("/var/lib/dpkg/status")


def _package_of(stanza: str) -> str:
    for line in stanza.splitlines():
        if line.startswith("Package: "):
            return line.removeprefix("Package: ").strip()
    return ""


def prune_packages() -> str:
    drop = set(PACKAGES)
    stanzas = [s for s in STATUS.read_text().split("\n\n") if s.strip()]
    files = 0
    for package in sorted(drop & {_package_of(s) for s in stanzas}):
        for lst in (INFO / f"{package}.list", INFO / f"{package}:amd64.list"):
            if not lst.exists():
                continue
            for line in lst.read_text().splitlines():
                path = Path(line)
                # A listed directory may be a symlink (merged /usr: /bin -> usr/bin): kept.
                if path.is_dir():
                    continue
                if path.is_symlink() or path.is_file():
                    path.unlink()
                    files += 1
            for info in INFO.glob(f"{lst.name.removesuffix('.list')}.*"):
                info.unlink()
    kept = [s for s in stanzas if _package_of(s) not in drop]
    STATUS.write_text("\n\n".join(kept) + "\n")
    return f"removed {len(stanzas) - len(kept)} packages ({files} files)"


def prune_python() -> str:
    removed = [SITE / "kubernetes" / "aio"]
    removed += [p for p in SITE.glob("*/**/tests") if p.is_dir()]
    removed += [p for p in SITE.glob("*/**/test") if p.is_dir()]
    for path in removed:
        shutil.rmtree(path, ignore_errors=True)
    scripts = [p for p in Path("/usr/local/bin").iterdir() if p.name != "janus"]
    for path in scripts:
        path.unlink()
    return f"removed {len(removed)} directories and {len(scripts)} console scripts"


def prune_caches() -> str:
    for pattern in ("var/cache/*", "var/lib/apt/lists/*", "var/log/*", "usr/share/doc",
                    "usr/share/man", "usr/share/locale", "usr/share/info", "usr/share/lintian",
                    "root/.cache", "tmp/*", "var/tmp/*"):
        for path in Path("/").glob(pattern):
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)
    return "removed caches, logs and docs"


MODES = {"packages": prune_packages, "python": prune_python, "caches": prune_caches}

if __name__ == "__main__":
    for mode in sys.argv[1:]:
        print(f"[prune-image] {mode}: {MODES[mode]()}", file=sys.stderr)
