"""Web terminal vs `kubectl exec`: keystroke round trip and output throughput, same pod, same
grant token, same run, on the local control plane.

    .venv/bin/python bench/terminal.py [--size-mb 50] [--samples 300]

* The web app runs as its own process (`janus web`, one uvicorn worker) with the web identity's
  restricted kubeconfig, so the benchmark client does not share its interpreter.
* Both paths use a TTY: the web terminal always does; kubectl runs with ``-t`` under a local
  pseudo-terminal (in raw mode, as kubectl sets it). kubectl without a TTY is printed too, for
  reference.
* Latency: one byte written, time until the pod's TTY echoes it (``stty -icanon; cat
  >/dev/null`` runs in the pod, so the kernel echoes at once and nothing else is measured).
* Throughput: ``cat`` of a base64 file of SIZE MB (made in the exec scratch directory), from the
  first output byte to the last.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import pty
import select
import statistics
import subprocess
import sys
import tempfile
import time
import tty
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
import yaml  # noqa: E402
from kubernetes import client  # noqa: E402
from websockets.asyncio.client import connect  # noqa: E402
from websockets.typing import Origin  # noqa: E402

from bench.measure import pct  # noqa: E402
from janus.dev.controlplane import LocalCluster  # noqa: E402
from janus.dev.controlplane.ports import free_port  # noqa: E402
from tests.k8s_helpers import (  # noqa: E402
    create_access_request,
    create_namespace,
    create_pod,
    make_grant_secret,
)
from tests.web.terminal.support import in_seconds, web_kubeconfig  # noqa: E402

USER = "alice"
DONE = b"BENCH-DONE-"
KUBECTL = str(Path(sys.executable).parent / "kubectl")


# ---- setup ----------------------------------------------------------------------------------


def start_web(cluster: LocalCluster, workdir: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    public = f"http://127.0.0.1:{port}"
    settings = {
        "public_url": public,
        "session_secret": "bench-session-secret-0123456789abcdef",
        "kubeconfig": str(web_kubeconfig(cluster, workdir)),
        "database_url": f"sqlite:///{workdir / 'bench.db'}",
        "auth_mode": "proxy",
        "proxy_addresses": ["127.0.0.1"],
        "repo": "acme/access",
        # No GitHub in the benchmark: the organization login gate is off (explicitly).
        "login_open_to_any_github_user": True,
    }
    config = workdir / "web.yaml"
    config.write_text(yaml.safe_dump(settings))
    process = subprocess.Popen(
        [str(Path(sys.executable).parent / "janus"), "web", "--config", str(config),
         "--port", str(port), "--log-level", "warning"],
        stdout=subprocess.DEVNULL, stderr=open(workdir / "web.log", "wb"),
        start_new_session=True,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{public}/static/terminal/terminal.css").status_code == 200:
                time.sleep(1.0)  # let the grant watcher list and start watching
                return process, public
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    process.terminate()
    raise SystemExit(f"web app did not start; see {workdir / 'web.log'}")


def make_grant(cluster: LocalCluster) -> tuple[str, str, str]:
    namespace = f"bench-{uuid.uuid4().hex[:8]}"
    api = cluster.admin_client()
    create_namespace(api, namespace)
    create_pod(api, namespace)
    expires = in_seconds(3600)
    cr_name = create_access_request(cluster, request_name="bench", requester=USER,
                                    namespace=namespace, expires_at=expires)
    secret = make_grant_secret(cluster, cr_name=cr_name, requester=USER, namespace=namespace,
                               expires_at=expires, expiration_seconds=3600)
    token = client.CoreV1Api(api).read_namespaced_secret(secret, "janus-tokens").data["token"]
    import base64

    return cr_name, namespace, base64.b64decode(token).decode()


# ---- web terminal ---------------------------------------------------------------------------


class WebTerminal:
    def __init__(self, ws) -> None:
        self.ws = ws

    @classmethod
    async def open(cls, public: str, cr_name: str) -> WebTerminal:
        ws = await connect(
            public.replace("http://", "ws://") + f"/ws/terminal/{cr_name}",
            origin=Origin(public), additional_headers={"X-Forwarded-User": USER},
            max_size=None, compression=None,
        )
        await ws.send(json.dumps({"type": "open", "pod": "target", "container": "app",
                                  "cols": 200, "rows": 50}))
        while True:
            message = await ws.recv()
            if isinstance(message, str) and json.loads(message)["type"] == "connected":
                return cls(ws)
            if isinstance(message, str) and json.loads(message)["type"] == "closed":
                raise SystemExit(f"web terminal refused: {message}")

    async def run_until(self, command: bytes, marker: bytes) -> tuple[int, float, float]:
        """Send *command*; return (output bytes, time of first byte, time marker seen)."""
        await self.ws.send(command)
        total, first, tail = 0, 0.0, b""
        while True:
            message = await self.ws.recv()
            if isinstance(message, str):
                continue
            if not first:
                first = time.perf_counter()
            total += len(message)
            window = tail + message
            if marker in window:
                return total, first, time.perf_counter()
            tail = window[-64:]

    async def drain(self, quiet: float = 0.3) -> None:
        while True:
            try:
                await asyncio.wait_for(self.ws.recv(), quiet)
            except TimeoutError:
                return


async def web_latency(public: str, cr_name: str, samples: int) -> list[float]:
    term = await WebTerminal.open(public, cr_name)
    await term.drain()
    await term.ws.send(b"stty -icanon; cat > /dev/null\n")
    await term.drain(0.5)
    rtts = []
    for i in range(samples):
        char = bytes([97 + i % 26])
        started = time.perf_counter()
        await term.ws.send(char)
        while True:
            message = await term.ws.recv()
            if isinstance(message, bytes) and char in message:
                break
        rtts.append((time.perf_counter() - started) * 1000)
    await term.ws.close()
    return rtts


async def web_throughput(public: str, cr_name: str, path: str) -> tuple[int, float]:
    term = await WebTerminal.open(public, cr_name)
    await term.drain()
    await term.ws.send(b"stty -echo\n")
    await term.drain()
    total, first, last = await term.run_until(
        f"cat {path}; echo {DONE.decode()}$((1+1))\n".encode(), DONE + b"2")
    await term.ws.close()
    return total, last - first


# ---- kubectl ----------------------------------------------------------------------------------


def kubectl_base(kubeconfig: Path, namespace: str) -> list[str]:
    return [KUBECTL, "--kubeconfig", str(kubeconfig), "-n", namespace, "exec", "target",
            "-c", "app"]


def kubectl_pty(args: list[str]) -> tuple[int, subprocess.Popen]:
    master, slave = pty.openpty()
    tty.setraw(slave)
    process = subprocess.Popen(args, stdin=slave, stdout=slave, stderr=slave,
                               start_new_session=True)
    os.close(slave)
    return master, process


def read_until(fd: int, marker: bytes, timeout: float = 30) -> tuple[int, float, float]:
    total, first, tail = 0, 0.0, b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 1.0)
        if not ready:
            continue
        try:
            chunk = os.read(fd, 1 << 16)
        except OSError:
            break
        if not chunk:
            break
        if not first:
            first = time.perf_counter()
        total += len(chunk)
        window = tail + chunk
        if marker in window:
            return total, first, time.perf_counter()
        tail = window[-64:]
    raise RuntimeError(f"marker {marker!r} not seen after {total} bytes; tail {tail!r}")


def kubectl_latency(base: list[str], samples: int) -> list[float]:
    master, process = kubectl_pty(
        [*base, "-it", "--", "sh", "-c", "stty -icanon; echo READY; cat > /dev/null"])
    try:
        read_until(master, b"READY")
        time.sleep(0.3)
        rtts = []
        for i in range(samples):
            char = bytes([97 + i % 26])
            started = time.perf_counter()
            os.write(master, char)
            while char not in os.read(master, 1024):
                pass
            rtts.append((time.perf_counter() - started) * 1000)
        return rtts
    finally:
        process.terminate()
        process.wait(10)
        os.close(master)


def kubectl_throughput_tty(base: list[str], path: str) -> tuple[int, float]:
    master, process = kubectl_pty(
        # The shell stays alive after the marker: when a TTY process exits, the tail of its
        # output can be lost in the pty teardown, which is not what is measured here.
        [*base, "-it", "--", "sh", "-c", f"cat {path}; echo {DONE.decode()}$((1+1)); sleep 30"])
    try:
        total, first, last = read_until(master, DONE + b"2", timeout=120)
        return total, last - first
    finally:
        process.terminate()
        process.wait(30)
        os.close(master)


def kubectl_throughput_pipe(base: list[str], path: str) -> tuple[int, float]:
    process = subprocess.Popen([*base, "--", "cat", path], stdout=subprocess.PIPE)
    assert process.stdout is not None
    total, first = 0, 0.0
    while chunk := process.stdout.read1(1 << 16):
        if not first:
            first = time.perf_counter()
        total += len(chunk)
    process.wait(30)
    return total, time.perf_counter() - first


# ---- report -------------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size-mb", type=int, default=50)
    parser.add_argument("--samples", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3, help="throughput runs per path (best)")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="janus-bench-terminal-"))
    cluster = LocalCluster.start("bench-terminal", progress=print)
    web = None
    try:
        web, public = start_web(cluster, workdir)
        cr_name, namespace, token = make_grant(cluster)
        kubeconfig = workdir / "grant.kubeconfig"
        kubeconfig.write_text(yaml.safe_dump(cluster.kubeconfig(token=token)))
        base = kubectl_base(kubeconfig, namespace)
        data_file = f"bench-{uuid.uuid4().hex[:6]}.txt"
        subprocess.run([*base, "--", "sh", "-c",
                        f"head -c {args.size_mb * 1000 * 1000} /dev/zero | base64 > {data_file}"],
                       check=True)
        print(f"grant {cr_name}; file {data_file} ({args.size_mb} MB before base64)\n")

        web_rtt = asyncio.run(web_latency(public, cr_name, args.samples))
        kc_rtt = kubectl_latency(base, args.samples)

        def best(run) -> tuple[int, float]:
            results = [run() for _ in range(args.rounds)]
            return min(results, key=lambda r: r[1])

        web_bytes, web_secs = best(lambda: asyncio.run(web_throughput(public, cr_name,
                                                                      data_file)))
        kc_bytes, kc_secs = best(lambda: kubectl_throughput_tty(base, data_file))
        pipe_bytes, pipe_secs = best(lambda: kubectl_throughput_pipe(base, data_file))
    finally:
        if web is not None:
            web.terminate()
            web.wait(15)
        cluster.stop()

    def mbps(n: int, s: float) -> float:
        return n / s / 1e6

    web_tp, kc_tp, pipe_tp = mbps(web_bytes, web_secs), mbps(kc_bytes, kc_secs), mbps(
        pipe_bytes, pipe_secs)
    rows = [
        ("keystroke RTT p50 (ms)", statistics.median(web_rtt), statistics.median(kc_rtt)),
        ("keystroke RTT p99 (ms)", pct(web_rtt, 99), pct(kc_rtt, 99)),
        ("throughput, TTY (MB/s)", web_tp, kc_tp),
    ]
    print(f"{'metric':<26}{'web terminal':>14}{'kubectl exec':>14}{'ratio web/kubectl':>20}")
    for name, web_value, kc_value in rows:
        print(f"{name:<26}{web_value:>14.2f}{kc_value:>14.2f}{web_value / kc_value:>20.2f}")
    print(f"{'throughput, no TTY (MB/s)':<26}{'—':>14}{pipe_tp:>14.2f}")
    added = statistics.median(web_rtt) - statistics.median(kc_rtt)
    print(f"\nbytes: web {web_bytes}, kubectl tty {kc_bytes}, kubectl pipe {pipe_bytes}")
    print(f"added latency p50: {added:.2f} ms (goal < 5 ms): {'ok' if added < 5 else 'MISSED'}")
    ratio = web_tp / kc_tp
    print(f"throughput ratio: {ratio:.2f} (goal >= 0.8): {'ok' if ratio >= 0.8 else 'MISSED'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
