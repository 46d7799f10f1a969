"""Figures every benchmark reads the same way: percentiles, a process's RSS and CPU from /proc,
the API server's request count, and the namespace set-up. One copy, so two benchmarks printed
side by side measure alike."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from kubernetes import client

TICKS = os.sysconf("SC_CLK_TCK")


def pct(values: list[float], p: float) -> float:
    """The p-th percentile by nearest rank; NaN for no values (printed as such, not a crash)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def ensure_ns(api: Any, name: str) -> None:
    """Create namespace *name*; one that exists already is fine."""
    try:
        client.CoreV1Api(api).create_namespace(
            client.V1Namespace(metadata=client.V1ObjectMeta(name=name)))
    except client.ApiException as exc:
        if exc.status != 409:
            raise


def rss_mb(pid: int) -> float:
    """Resident memory of *pid* in MB; NaN once the process is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def cpu_seconds(pid: int, *, children: bool = False) -> float:
    """CPU time of *pid* (utime + stime), with its reaped children's when *children* (a
    process whose work runs in subprocesses, like the simulator's git); NaN once it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return sum(int(f) for f in fields[11:15 if children else 13]) / TICKS


def api_requests(api: Any) -> float:
    """Total requests the API server has served (``apiserver_request_total``, all verbs)."""
    resp = api.call_api("GET", f"{api.configuration.host}/metrics", _request_timeout=30)
    resp.read()
    total = 0.0
    for line in resp.data.decode().splitlines():
        if line.startswith("apiserver_request_total{"):
            total += float(line.rsplit(" ", 1)[1])
    return total
