"""Trims the image's root filesystem. Shared by scripts/build-image.sh (buildah, here) and the
Containerfile (Docker, release), so both make the same image.

Always run by the *image's own* python3, never the host's: inside a chroot
(`chroot ROOTFS python3 - MODE < this file`) or in a Containerfile RUN, so every path resolves
inside the image's root filesystem.

  packages  removes every package that KEEP does not need (shells but dash, perl, coreutils,
            apt, dpkg itself ...): their files (not directories) are deleted, their
            dpkg info files removed and their stanzas dropped from /var/lib/dpkg/status, so the
            status file keeps describing exactly what is installed (an SBOM scanner reads it).
            `dpkg --purge --force-remove-essential` is not used: the Essential packages'
            maintainer scripts need each other and fail half-way.
  python    removes from the installed Python packages what Janus never loads: kubernetes.aio
            (41 MB, the asyncio client; Janus and kopf use the synchronous one), the
            dependencies' own test suites, and every console script but janus.
  caches    apt lists and caches, logs, docs, man pages, locales, iconv modules.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

# What the image runs, and what that needs (dpkg's Depends/Pre-Depends, followed): everything
# else installed is removed, whichever base the build started from (mmdebstrap's Essential set
# here, debian:bookworm-slim in the Containerfile), so both builds keep the same packages.
KEEP = ["python3", "tini", "ca-certificates", "base-files", "base-passwd", "dash", "netbase",
        "tzdata", "libc-bin"]
# Dependencies only the maintainer scripts use (configuration at install time): not followed.
SCRIPT_ONLY = {"debconf", "perl-base", "openssl", "dpkg", "debianutils", "coreutils",
               "init-system-helpers", "sensible-utils", "adduser", "passwd", "usrmerge",
               "usr-is-merged"}
SITE = Path("/usr/local/lib/python3.11/dist-packages")
INFO = Path("/var/lib/dpkg/info")
STATUS = Path("/var/lib/dpkg/status")


def _package_of(stanza: str) -> str:
    for line in stanza.splitlines():
        if line.startswith("Package: "):
            return line.removeprefix("Package: ").strip()
    return ""


def _fields(stanza: str) -> dict[str, str]:
    fields: dict[str, str] = {}
    key = ""
    for line in stanza.splitlines():
        if line[:1].isspace() and key:
            fields[key] += " " + line.strip()
        elif ":" in line:
            key, _, value = line.partition(":")
            fields[key] = value.strip()
    return fields


def _names(relation: str) -> list[list[str]]:
    """'a (>= 1) | b:any, c' -> [['a', 'b'], ['c']]."""
    groups = []
    for group in filter(None, (g.strip() for g in relation.split(","))):
        groups.append([alt.split()[0].split(":")[0] for alt in group.split("|") if alt.strip()])
    return groups


def keep_closure(packages: dict[str, dict[str, str]]) -> set[str]:
    """KEEP and everything it depends on, through installed alternatives and virtual names."""
    provides: dict[str, str] = {}
    for name, fields in packages.items():
        for group in _names(fields.get("Provides", "")):
            provides.setdefault(group[0], name)
    keep: set[str] = set()
    todo = [name for name in KEEP if name in packages]
    while todo:
        name = todo.pop()
        if name in keep:
            continue
        keep.add(name)
        fields = packages[name]
        for group in _names(fields.get("Pre-Depends", "")) + _names(fields.get("Depends", "")):
            if any(alt in SCRIPT_ONLY for alt in group):
                continue
            found = next((alt for alt in group if alt in packages), None)
            found = found or next((provides[alt] for alt in group if alt in provides), None)
            if found:
                todo.append(found)
    return keep


def prune_packages() -> str:
    stanzas = [s for s in STATUS.read_text().split("\n\n") if s.strip()]
    packages = {_package_of(s): _fields(s) for s in stanzas}
    drop = set(packages) - keep_closure(packages)
    files = 0
    for package in sorted(drop):
        for lst in (INFO / f"{package}.list", INFO / f"{package}:amd64.list",
                    INFO / f"{package}:arm64.list"):
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
    return (f"removed {len(drop)} packages ({files} files), kept {len(kept)}: "
            + " ".join(sorted(_package_of(s) for s in kept)))


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
                    "root/.cache", "tmp/*", "var/tmp/*",
                    # glibc's iconv modules (9 MB; Python's codecs never use them): dpkg's
                    # path-exclude keeps them out only when libc6 is installed after it.
                    "usr/lib/*-linux-gnu/gconv"):
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
