"""Where the control-plane binaries are, and which versions they must be."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[3]
VERSIONS_FILE = REPO_ROOT / "tests" / "cluster" / "versions.env"
BUILD_SCRIPT = REPO_ROOT / "tests" / "cluster" / "build.sh"


class BinariesMissing(RuntimeError):
    """The control-plane binaries have not been built (run tests/cluster/build.sh)."""


def read_versions(path: Path = VERSIONS_FILE) -> dict[str, str]:
    """The pinned versions; :class:`BinariesMissing` when *path* is absent, which is the case
    for an installed wheel: the local control plane is built from a source checkout."""
    if not path.is_file():
        raise BinariesMissing(
            f"`janus dev` runs a local control plane built from a Janus source checkout, and "
            f"{path} is not there (this janus is installed from a package, without the "
            f"checkout's tests/cluster/ and policies/). Clone the Janus repository and run "
            f"`make demo` inside it (it needs Go, and builds kube-apiserver, etcd and kwok "
            f"into ~/.cache/janus). To run Janus on a real cluster, `janus dev` is not needed: "
            f"see docs/install.md."
        )
    versions: dict[str, str] = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            key, value = line.split("=", 1)
            versions[key.strip()] = value.strip()
    return versions


def cache_dir() -> Path:
    return Path(os.environ.get("JANUS_CACHE", Path.home() / ".cache" / "janus")) / "bin"


@dataclass(frozen=True)
class Binaries:
    etcd: Path
    kube_apiserver: Path
    kwok: Path
    kwok_stages: Path

    @classmethod
    def locate(cls) -> Binaries:
        """Find the binaries built for the pinned versions, or raise :class:`BinariesMissing`."""
        v = read_versions()
        root = cache_dir()
        found = cls(
            etcd=root / f"etcd-{v['ETCD_VERSION']}" / "etcd",
            kube_apiserver=root / f"kube-apiserver-{v['KUBERNETES_VERSION']}" / "kube-apiserver",
            kwok=root / f"kwok-{v['KWOK_VERSION']}" / "kwok",
            kwok_stages=root / f"kwok-{v['KWOK_VERSION']}" / "stages",
        )
        missing = [str(p) for p in (found.etcd, found.kube_apiserver, found.kwok) if not p.exists()]
        if not (found.kwok_stages / ".complete").exists():
            missing.append(str(found.kwok_stages))
        if missing:
            raise BinariesMissing(
                f"control-plane binaries missing: {', '.join(missing)}; "
                f"build them with {BUILD_SCRIPT} (or `make bin`)"
            )
        return found
