"""A real Kubernetes control plane on loopback: etcd → kube-apiserver → kwok.

    with LocalCluster.start(name="central") as cluster:
        api = cluster.admin_client()

Binaries come from ``tests/cluster/build.sh`` (built from the Go module proxy, cached outside the
repo). Several clusters can run side by side; each has its own PKI, ports and data directory.
"""

from janus.dev.controlplane.binaries import Binaries, BinariesMissing
from janus.dev.controlplane.cluster import ClusterStartError, LocalCluster

__all__ = ["Binaries", "BinariesMissing", "ClusterStartError", "LocalCluster"]
