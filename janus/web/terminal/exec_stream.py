"""An asyncio websocket client for the Kubernetes exec endpoint, authenticated by a grant token.

Protocol (channel.k8s.io, v5 preferred, v4 accepted): every binary message starts with a
channel byte — 0 stdin, 1 stdout, 2 stderr, 3 error/status (a JSON Status when the process
ends), 4 resize (JSON ``{"Width","Height"}``), 255 close (v5 only: ``[255, channel]`` closes a
stream). The API server authorizes the upgrade only (get + create on pods/exec); once upgraded,
the stream lives on even if the ServiceAccount is deleted, which is why the terminal closes
streams itself on revocation.

Only the grant's token and the CA from its Secret are used: never the web app's identity.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import urllib.parse
from dataclasses import dataclass, field

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.typing import Subprotocol

from janus.web.terminal.cluster_call import grant_ssl_context
from janus.web.terminal.grants import GrantCredentials

# websockets logs every handshake header at DEBUG, and this handshake carries the grant's bearer
# token: with `janus web --log-level debug` it would be logged (docs/design.md §9). This client's
# logger is pinned at INFO, so raising the root level never turns that on.
_WS_LOG = logging.getLogger("janus.web.terminal.exec_stream.websocket")
_WS_LOG.setLevel(logging.INFO)

STDIN, STDOUT, STDERR, ERROR, RESIZE, CLOSE = 0, 1, 2, 3, 4, 255
SUBPROTOCOLS = ("v5.channel.k8s.io", "v4.channel.k8s.io")
# Stdin is written in slices of this size: a 200 KB paste becomes several frames, each
# flow-controlled, instead of one frame some proxy or buffer could refuse.
STDIN_CHUNK = 32 * 1024
DEFAULT_SHELLS = ("bash", "sh")
# How long a new shell may stay silent before we stop waiting for a "not found" error.
SHELL_PROBE_SECONDS = 1.5


class ExecError(RuntimeError):
    """The exec could not be started (HTTP status from the API server, or a pod-side error)."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


def exec_url(
    server: str, namespace: str, pod: str, container: str, command: list[str], tty: bool
) -> str:
    query = [("container", container), ("stdin", "true"), ("stdout", "true")]
    # With a TTY, stderr is merged into stdout by the pod's terminal; asking for both is an error.
    query += [("tty", "true")] if tty else [("stderr", "true")]
    query += [("command", part) for part in command]
    base = server.replace("https://", "wss://", 1).replace("http://", "ws://", 1)
    path = "/api/v1/namespaces/{}/pods/{}/exec".format(
        urllib.parse.quote(namespace, safe=""), urllib.parse.quote(pod, safe="")
    )
    return f"{base}{path}?{urllib.parse.urlencode(query)}"


def attach_url(server: str, namespace: str, pod: str, container: str) -> str:
    """The attach endpoint: the container's own terminal (a debug container started with a TTY
    and stdin), not a new process; the same channel protocol as exec."""
    query = [("container", container), ("stdin", "true"), ("stdout", "true"), ("tty", "true")]
    base = server.replace("https://", "wss://", 1).replace("http://", "ws://", 1)
    path = "/api/v1/namespaces/{}/pods/{}/attach".format(
        urllib.parse.quote(namespace, safe=""), urllib.parse.quote(pod, safe="")
    )
    return f"{base}{path}?{urllib.parse.urlencode(query)}"


@dataclass
class ExecStream:
    connection: ClientConnection
    subprotocol: str
    pending: list[tuple[int, bytes]] = field(default_factory=list)

    @classmethod
    async def open(
        cls,
        credentials: GrantCredentials,
        namespace: str,
        pod: str,
        container: str,
        command: list[str],
        *,
        tty: bool = True,
        open_timeout: float = 15.0,
        subprotocols: tuple[str, ...] = SUBPROTOCOLS,
        url: str | None = None,
    ) -> ExecStream:
        url = url or exec_url(credentials.server, namespace, pod, container, command, tty)
        try:
            connection = await connect(
                url,
                ssl=grant_ssl_context(credentials.ca_pem) if url.startswith("wss://") else None,
                additional_headers={"Authorization": f"Bearer {credentials.token}"},
                logger=_WS_LOG,
                subprotocols=[Subprotocol(p) for p in subprotocols],
                compression=None,
                max_size=None,
                open_timeout=open_timeout,
                ping_interval=20,
                ping_timeout=20,
                # Large reads from the API server: fewer, bigger frames for throughput.
                max_queue=64,
                write_limit=256 * 1024,
            )
        except InvalidStatus as exc:
            status = exc.response.status_code
            message = _status_message(exc.response.body) or f"HTTP {status}"
            raise ExecError(message, status=status) from None
        except (OSError, TimeoutError) as exc:
            raise ExecError(f"cannot reach the cluster API: {exc.__class__.__name__}") from None
        return cls(connection=connection, subprotocol=connection.subprotocol or "")

    async def send_stdin(self, data: bytes) -> None:
        for start in range(0, len(data), STDIN_CHUNK):
            await self.connection.send(bytes([STDIN]) + data[start : start + STDIN_CHUNK])

    async def resize(self, cols: int, rows: int) -> None:
        payload = json.dumps({"Width": cols, "Height": rows}).encode()
        await self.connection.send(bytes([RESIZE]) + payload)

    async def recv(self) -> tuple[int, bytes] | None:
        """The next (channel, data) message, or None once the stream has ended."""
        if self.pending:
            return self.pending.pop(0)
        while True:
            try:
                message = await self.connection.recv()
            except ConnectionClosed:
                return None
            if isinstance(message, str):
                message = message.encode()
            if len(message) < 1:
                continue
            channel, data = message[0], message[1:]
            if not data and channel != ERROR:
                continue  # v4 servers announce each channel with an empty frame
            return channel, data

    async def hang_up(self) -> None:
        """Best effort to end the shell before the stream closes.

        Container runtimes (kwok, and often real ones) do NOT kill an exec'd process when its
        stream goes away: the shell would live on, detached, until the pod restarts. So, like a
        terminal hanging up: Ctrl-C (interrupts a foreground program), then Ctrl-D (ends the
        shell at an empty prompt). Sent apart because the TTY flushes pending input on Ctrl-C.
        A full-screen program that ignores both keeps running; nobody can reach it any more.
        """
        with contextlib.suppress(ConnectionClosed):
            await self.send_stdin(b"\x03")
            await asyncio.sleep(0.05)
            await self.send_stdin(b"\x04")
            await asyncio.sleep(0.05)

    async def close(self) -> None:
        try:
            if self.subprotocol.startswith("v5"):
                await asyncio.wait_for(self.connection.send(bytes([CLOSE, STDIN])), 1.0)
        except (ConnectionClosed, TimeoutError):
            pass
        await self.connection.close()


def _status_message(body: bytes | bytearray | None) -> str:
    if not body:
        return ""
    try:
        status = json.loads(body)
    except ValueError:
        return body[:200].decode(errors="replace")
    return str(status.get("message") or status.get("reason") or "")


def status_failed(data: bytes) -> str | None:
    """The failure message of an error-channel Status, or None for Success."""
    try:
        status = json.loads(data or b"{}")
    except ValueError:
        return data[:200].decode(errors="replace") or "exec failed"
    if status.get("status") == "Success":
        return None
    return str(status.get("message") or status.get("reason") or "exec failed")


async def open_shell(
    credentials: GrantCredentials,
    namespace: str,
    pod: str,
    container: str,
    *,
    cols: int,
    rows: int,
    shells: tuple[str, ...] = DEFAULT_SHELLS,
    subprotocols: tuple[str, ...] = SUBPROTOCOLS,
) -> tuple[ExecStream, str]:
    """Start the first shell of *shells* that exists in the container (bash, then sh).

    A missing executable is only reported after the upgrade, on the error channel, so each
    attempt waits briefly for either output (the shell runs) or an error Status (try the next).
    """
    last_error = "no shell configured"
    for shell in shells:
        stream = await ExecStream.open(
            credentials, namespace, pod, container, [shell], subprotocols=subprotocols
        )
        # A missing shell may already have been reported and the stream closed: the error
        # frame is still buffered and read below.
        with contextlib.suppress(ConnectionClosed):
            await stream.resize(cols, rows)
        try:
            first = await asyncio.wait_for(stream.recv(), SHELL_PROBE_SECONDS)
        except TimeoutError:
            return stream, shell  # silent but alive: a shell waiting for input
        if first is None:
            last_error = f"{shell}: exec ended at once"
        elif first[0] == ERROR:
            failure = status_failed(first[1])
            if failure is None:
                last_error = f"{shell}: exited at once"
            else:
                last_error = f"{shell}: {failure}"
        else:
            stream.pending.append(first)
            return stream, shell
        await stream.close()
    raise ExecError(f"no usable shell in the container ({last_error})")


ATTACH_WAIT_SECONDS = 30.0


async def open_attach(
    credentials: GrantCredentials,
    namespace: str,
    pod: str,
    container: str,
    *,
    cols: int,
    rows: int,
    wait_seconds: float = ATTACH_WAIT_SECONDS,
) -> tuple[ExecStream, str]:
    """Attach to a (debug) container's terminal; ``"attach"`` stands where a shell's name goes.

    A debug container just added may not run yet: a real kubelet refuses the attach until it
    does, so a refusal other than 401/403/404 is retried each second for *wait_seconds*.
    """
    url = attach_url(credentials.server, namespace, pod, container)
    deadline = asyncio.get_running_loop().time() + wait_seconds
    stream: ExecStream | None = None
    while stream is None:
        try:
            stream = await ExecStream.open(credentials, namespace, pod, container, [], url=url)
        except ExecError as exc:
            if exc.status in (401, 403, 404) or asyncio.get_running_loop().time() >= deadline:
                raise
            await asyncio.sleep(1.0)
    with contextlib.suppress(ConnectionClosed):
        await stream.resize(cols, rows)
    return stream, "attach"
