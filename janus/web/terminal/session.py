"""One terminal session: a browser WebSocket bridged to one exec stream in one container.

The session ends — data stops flowing at once, the browser is told why, then the shell is
hung up and its exec stream closed — on whichever comes first: the grant's expiry (a
server-side deadline, moved by extensions), a revocation seen by the watcher, the idle timeout
(the session only; the grant stays), the shell exiting, the browser leaving. The reason is
sent to the browser, stored with the session and logged.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import hashlib
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState
from websockets.exceptions import ConnectionClosed

from janus.logs import event
from janus.resource import AccessRequestView
from janus.web import metrics
from janus.web.db import SessionStore
from janus.web.recording import AsciicastRecorder
from janus.web.terminal import protocol
from janus.web.terminal.exec_stream import (
    ERROR,
    ExecError,
    ExecStream,
    open_attach,
    open_shell,
    status_failed,
)
from janus.web.terminal.grants import GrantCredentials, earliest
from janus.web.terminal.ledger_report import SessionReport, SessionReporter
from janus.web.terminal.watcher import SessionRegistry

log = logging.getLogger("janus.web.terminal")

EXPIRY_WARNING_SECONDS = 300
COUNTDOWN_EVERY_SECONDS = 15  # also keeps idle proxies from cutting a quiet connection
RECORDING_FLUSH_SECONDS = 1.0
# How often a terminal confirms that its user is still signed in (the login session that opened
# it not ended by logout or expiry, membership still confirmed): a cheap database read.
ACCESS_CHECK_SECONDS = 15.0

# Recording is a condition of access (issue 11 item 4): when it cannot go on, neither can the
# session, and the user is told why.
RECORDING_LIMIT_MESSAGE = (
    "The session ended: its recording reached the size limit. Recording is a condition of "
    "access; open a new session to continue."
)
SIGNED_OUT_MESSAGE = (
    "The session ended: you are signed out (logged out, the login session expired, or your "
    "organization membership could not be confirmed)."
)
RECORDING_FAILED_MESSAGE = (
    "The session ended: recording failed (the audit database refused the write). Recording "
    "is a condition of access."
)
# Shown in the terminal before the first keystroke when input is recorded.
INPUT_RECORDED_NOTICE = (
    b"\r\n\x1b[1;33m[janus] This session records everything you type, including input the "
    b"screen does not show (such as passwords).\x1b[0m\r\n\r\n"
)


@dataclass
class SessionLimits:
    idle_timeout_seconds: int
    max_recording_bytes: int
    record_input: bool = False

    @property
    def idle_warning_seconds(self) -> float:
        return min(60.0, self.idle_timeout_seconds / 3)


class TerminalSession:
    def __init__(
        self,
        *,
        ws: WebSocket,
        grant: AccessRequestView,
        credentials: GrantCredentials,
        user: str,
        target: protocol.OpenRequest,
        registry: SessionRegistry,
        store: SessionStore,
        limits: SessionLimits,
        access_check: Callable[[], bool] | None = None,
        reporter: SessionReporter | None = None,
        attach: bool = False,
    ) -> None:
        self.ws = ws
        # Attach to the container's own terminal (a pod-debug grant's debug container) instead
        # of exec'ing a shell in it.
        self.attach = attach
        self.grant = grant
        self.cr_name = grant.name
        self.credentials = credentials
        self.user = user
        self.target = target
        self.registry = registry
        self.store = store
        self.limits = limits
        self.access_check = access_check
        # Reports the session as a TerminalSession for the ledger (None: not reported).
        self.reporter = reporter
        self._report: SessionReport | None = None
        # The earlier of the CR's and the Secret's expiry: never past either.
        self.expires_at = earliest(grant.expires_at, credentials.expires_at)
        self.bytes_in = 0
        self.bytes_out = 0
        self.session_id: int | None = None
        self._last_input = time.monotonic()
        self._stopped = asyncio.Event()
        self._deadline_moved = asyncio.Event()
        self._reason: tuple[str, str] | None = None
        self._stream: ExecStream | None = None
        self._recorder: AsciicastRecorder | None = None
        self._send_lock = asyncio.Lock()
        # The stored recording's running SHA-256 and size (advanced only by committed chunks).
        self._digest = hashlib.sha256()
        self._recorded_bytes = 0

    # ---- called by the watcher (same event loop) --------------------------------------------

    def stop(self, reason: str, message: str) -> None:
        if self._reason is None:
            self._reason = (reason, message)
        self._stopped.set()

    def set_expiry(self, expires_at: dt.datetime | None) -> None:
        if expires_at != self.expires_at:
            self.expires_at = expires_at
            self._deadline_moved.set()

    # ---- lifecycle ----------------------------------------------------------------------------

    async def run(self) -> None:
        target = self.target
        self.session_id = await asyncio.to_thread(
            self.store.open_session,
            cr_name=self.cr_name,
            user=self.user,
            cluster=self.grant.cluster,
            namespace=self.grant.namespace,
            pod=target.pod,
            container=target.container,
        )
        # Registered before the exec starts: a revocation during the slow part still counts.
        self.registry.add(self)
        try:
            await self._run_registered()
        finally:
            self.registry.remove(self)

    async def _run_registered(self) -> None:
        target = self.target
        opener = open_attach if self.attach else open_shell
        try:
            self._stream, shell = await opener(
                self.credentials,
                self.grant.namespace,
                target.pod,
                target.container,
                cols=target.cols,
                rows=target.rows,
            )
        except ExecError as exc:
            await self._finish("exec-failed", str(exc))
            return
        if self._stopped.is_set():  # revoked while the exec was starting
            await self._finish(*self._reason_or("grant-ended", "The grant ended."))
            return
        await asyncio.to_thread(self.store.set_shell, self._session_id, shell)
        self._recorder = AsciicastRecorder(
            target.cols,
            target.rows,
            title=f"{self.cr_name} {target.pod}/{target.container}",
            shell_name=shell,
            max_bytes=self.limits.max_recording_bytes,
            record_input=self.limits.record_input,
        )
        # The header is stored before any data flows: a database that cannot take it ends the
        # session now rather than after the user has seen output nobody recorded.
        if self.limits.record_input:
            await asyncio.to_thread(self.store.set_records_input, self._session_id, True)
        if not await self._flush_recording():
            await self._finish(*self._reason_or("recording-failed", RECORDING_FAILED_MESSAGE))
            return
        event(log, "terminal.opened", request=self.cr_name, session=self._session_id,
              user=self.user, namespace=self.grant.namespace, pod=target.pod,
              container=target.container, shell=shell, protocol=self._stream.subprotocol)
        if self.reporter is not None:
            self._report = await self.reporter.opened(
                self.grant, session_id=self._session_id, user=self.user, pod=target.pod,
                container=target.container)
        await self._send_control(
            protocol.connected(self._session_id, shell, target.pod, target.container,
                               records_input=self.limits.record_input)
        )
        await self._send_control(protocol.countdown(self.expires_at))
        if self.limits.record_input:
            # Said in the terminal itself, before the pumps start: no keystroke is read (let
            # alone sent) before the user has been told that keystrokes are recorded.
            self._recorder.marker("notice: input is recorded")
            async with self._send_lock:
                await self.ws.send_bytes(INPUT_RECORDED_NOTICE)
        workers = [
            asyncio.create_task(self._pump_from_browser(), name="from-browser"),
            asyncio.create_task(self._pump_to_browser(), name="to-browser"),
            asyncio.create_task(self._watch_deadline(), name="deadline"),
            asyncio.create_task(self._watch_idle(), name="idle"),
            asyncio.create_task(self._flush_recording_forever(), name="recording"),
            asyncio.create_task(self._watch_access(), name="access"),
            asyncio.create_task(self._stopped.wait(), name="stopped"),
        ]
        try:
            await asyncio.wait(workers, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for worker in workers:
                worker.cancel()
            await asyncio.gather(*workers, return_exceptions=True)
        await self._finish(*self._reason_or("closed", "The session ended."))

    @property
    def _session_id(self) -> int:
        assert self.session_id is not None
        return self.session_id

    def _reason_or(self, reason: str, message: str) -> tuple[str, str]:
        return self._reason or (reason, message)

    async def _finish(self, reason: str, message: str) -> None:
        # By now the pumps are cancelled: nothing flows between browser and pod any more.
        # Tell the browser why and close its socket, then end the shell and its stream.
        if self._recorder is not None:
            self._recorder.marker(f"closed: {reason}")
        with contextlib.suppress(Exception):
            await self._send_control(protocol.closed(reason, message))
        with contextlib.suppress(Exception):
            if self.ws.client_state != WebSocketState.DISCONNECTED:
                await self.ws.close(code=protocol.close_code(reason), reason=reason[:100])
        if self._stream is not None:
            with contextlib.suppress(Exception):
                if reason != "exited":
                    await asyncio.wait_for(self._stream.hang_up(), 1.0)
                await asyncio.wait_for(self._stream.close(), 2.0)
        await self._flush_recording()
        try:
            await asyncio.to_thread(
                self.store.close_session, self._session_id, reason, self.bytes_in, self.bytes_out
            )
        except Exception as exc:
            event(log, "terminal.close_not_stored", level=logging.ERROR, session=self._session_id,
                  error=f"{exc.__class__.__name__}: {exc}"[:300])
        if self._report is not None:
            # After the last flush: the size and SHA-256 are those of the stored recording.
            await self._report.closed(
                reason=reason, bytes_in=self.bytes_in, bytes_out=self.bytes_out,
                recording_size=self._recorded_bytes,
                recording_sha256=self._digest.hexdigest() if self._recorded_bytes else None)
        metrics.SESSION_CLOSES.labels(reason).inc()
        event(log, "terminal.closed", request=self.cr_name, session=self._session_id,
              user=self.user, reason=reason, bytes_in=self.bytes_in, bytes_out=self.bytes_out)

    # ---- data paths -------------------------------------------------------------------------

    async def _send_control(self, message: dict[str, object]) -> None:
        async with self._send_lock:
            await self.ws.send_text(json.dumps(message))

    async def _pump_from_browser(self) -> None:
        try:
            await self._copy_from_browser()
        except ConnectionClosed:
            # The pod side ended first; _pump_to_browser reports why.
            await asyncio.sleep(1.0)
            self.stop("exited", "The shell ended.")

    async def _copy_from_browser(self) -> None:
        assert self._stream is not None
        while True:
            try:
                message = await self.ws.receive()
            except (WebSocketDisconnect, RuntimeError):
                self.stop("client-closed", "The browser closed the terminal.")
                return
            if message["type"] == "websocket.disconnect":
                self.stop("client-closed", "The browser closed the terminal.")
                return
            data = message.get("bytes")
            if data is not None:
                # Keystrokes and pastes: binary frames only, so a pasted JSON text stays input.
                self.bytes_in += len(data)
                self._last_input = time.monotonic()
                if self._recorder is not None and not self._recorder.input(data):
                    self.stop("recording-limit", RECORDING_LIMIT_MESSAGE)
                    return
                await self._stream.send_stdin(data)
                continue
            control = protocol.parse_control(message.get("text") or "")
            if isinstance(control, protocol.Resize):
                self._last_input = time.monotonic()
                await self._stream.resize(control.cols, control.rows)
                if self._recorder is not None:
                    self._recorder.resize(control.cols, control.rows)

    async def _pump_to_browser(self) -> None:
        assert self._stream is not None and self._recorder is not None
        while True:
            received = await self._stream.recv()
            if received is None:
                self.stop("exited", "The shell ended.")
                return
            channel, data = received
            if channel == ERROR:
                failure = status_failed(data)
                message = f"The shell ended: {failure}" if failure else "The shell ended."
                self.stop("exited", message)
                return
            self.bytes_out += len(data)
            if not self._recorder.output(data):
                # Past the cap: this output is neither recorded nor shown; the session ends.
                self.stop("recording-limit", RECORDING_LIMIT_MESSAGE)
                return
            async with self._send_lock:
                await self.ws.send_bytes(data)

    # ---- timers -----------------------------------------------------------------------------

    async def _watch_deadline(self) -> None:
        warned = False
        last_countdown = time.monotonic()
        while True:
            self._deadline_moved.clear()
            sleep = float(COUNTDOWN_EVERY_SECONDS)
            if self.expires_at is not None:
                remaining = (self.expires_at - dt.datetime.now(dt.UTC)).total_seconds()
                if remaining <= 0:
                    self.stop("expired", "The grant expired.")
                    return
                if remaining <= EXPIRY_WARNING_SECONDS and not warned:
                    warned = True
                    await self._send_control(protocol.warning("expiry", remaining))
                sleep = min(sleep, remaining)
                if not warned:
                    sleep = min(sleep, remaining - EXPIRY_WARNING_SECONDS)
            if time.monotonic() - last_countdown >= COUNTDOWN_EVERY_SECONDS:
                last_countdown = time.monotonic()
                await self._send_control(protocol.countdown(self.expires_at))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._deadline_moved.wait(), sleep)
            if self._deadline_moved.is_set():
                warned = False  # an extension: warn again before the new deadline
                await self._send_control(protocol.countdown(self.expires_at))

    async def _watch_idle(self) -> None:
        timeout = float(self.limits.idle_timeout_seconds)
        warn_at = timeout - self.limits.idle_warning_seconds
        warned_for: float | None = None
        while True:
            idle = time.monotonic() - self._last_input
            if idle >= timeout:
                self.stop("idle", "Closed after inactivity; the grant is still active.")
                return
            if idle >= warn_at and warned_for != self._last_input:
                warned_for = self._last_input
                await self._send_control(protocol.warning("idle", timeout - idle))
            await asyncio.sleep(min(1.0, max(0.05, timeout - idle)))

    async def _watch_access(self) -> None:
        """End the session when its user is no longer signed in (logout, expiry, membership)."""
        if self.access_check is None:
            await self._stopped.wait()
            return
        while True:
            await asyncio.sleep(ACCESS_CHECK_SECONDS)
            try:
                allowed = await asyncio.to_thread(self.access_check)
            except Exception as exc:
                event(log, "terminal.access_check_failed", level=logging.WARNING,
                      session=self._session_id, error=f"{exc.__class__.__name__}: {exc}"[:300])
                allowed = False  # cannot tell is no
            if not allowed:
                self.stop("signed-out", SIGNED_OUT_MESSAGE)
                return

    async def _flush_recording_forever(self) -> None:
        while True:
            await asyncio.sleep(RECORDING_FLUSH_SECONDS)
            if not await self._flush_recording():
                return  # the session is stopping: recording could not go on

    async def _flush_recording(self) -> bool:
        """Store what was recorded since the last flush; False (and the session told to stop)
        when the database refuses it."""
        if self._recorder is None:
            return True
        text = self._recorder.take_pending()
        if not text:
            return True
        data = text.encode()
        digest = self._digest.copy()
        digest.update(data)
        try:
            await asyncio.to_thread(
                self.store.append_recording, self._session_id, self._next_seq(), text,
                sha256=digest.hexdigest(), size=self._recorded_bytes + len(data),
            )
        except Exception as exc:
            event(log, "terminal.recording_failed", level=logging.ERROR, request=self.cr_name,
                  session=self._session_id, user=self.user,
                  error=f"{exc.__class__.__name__}: {exc}"[:300])
            self.stop("recording-failed", RECORDING_FAILED_MESSAGE)
            return False
        self._digest = digest
        self._recorded_bytes += len(data)
        metrics.RECORDING_BYTES.inc(len(data))
        return True

    _seq = 0

    def _next_seq(self) -> int:
        self._seq += 1
        return self._seq
