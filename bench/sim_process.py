"""The GitHub simulator in a process of its own, driven from the benchmark's process.

A benchmark that runs the simulator in the receiver's process measures both at once: they share
one interpreter lock, so every simulated API answer slows the receiver down and the other way
round. :class:`SimProcess` starts :class:`janus.dev.github_sim.GitHubSimulator` in a child
process (``spawn``: nothing inherited) and forwards method calls over a pipe, so the harness
code written for the in-process simulator (``sim.push(...)``, ``sim.merge(...)``) drives it
unchanged. Only the control calls cross the pipe; Janus talks to it over HTTP, as to GitHub.
"""

from __future__ import annotations

import multiprocessing as mp
import threading
from typing import Any


def _serve(conn: Any) -> None:
    from janus.dev.github_sim import GitHubSimulator

    sim = GitHubSimulator.start()
    conn.send(sim.base_url)
    try:
        while True:
            message = conn.recv()
            if message is None:
                break
            kind, name, args, kwargs = message
            try:
                if kind == "attr":  # a dotted attribute path, e.g. "app.rate_limits.used"
                    value: Any = sim
                    for part in name.split("."):
                        value = getattr(value, part)
                    result = ("ok", _plain(value))
                else:
                    result = ("ok", _plain(getattr(sim, name)(*args, **kwargs)))
            except Exception as exc:  # sent back and raised in the caller
                result = ("error", f"{type(exc).__name__}: {exc}")
            conn.send(result)
    finally:
        sim.stop()


def _plain(value: Any) -> Any:
    """What crosses the pipe: plain data only (dicts and lists are copied)."""
    if isinstance(value, dict):  # copied first: the simulator's threads may be adding to it
        return {k: _plain(v) for k, v in dict(value).items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, str | int | float | bool | bytes):
        return value
    return repr(value)


class SimProcess:
    """A running simulator in a child process; attribute access forwards method calls."""

    def __init__(self) -> None:
        ctx = mp.get_context("spawn")
        self._conn, child = ctx.Pipe()
        self._proc = ctx.Process(target=_serve, args=(child,), daemon=True)
        self._proc.start()
        self.base_url: str = self._conn.recv()
        self.pid = self._proc.pid
        self._lock = threading.Lock()

    def _call(self, kind: str, name: str, args: tuple[Any, ...] = (),
              kwargs: dict[str, Any] | None = None) -> Any:
        with self._lock:
            self._conn.send((kind, name, args, kwargs or {}))
            status, value = self._conn.recv()
        if status == "error":
            raise RuntimeError(f"simulator {name}: {value}")
        return value

    def attr(self, path: str) -> Any:
        return self._call("attr", path)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        return lambda *args, **kwargs: self._call("call", name, args, kwargs)

    def stop(self) -> None:
        with self._lock:
            self._conn.send(None)
        self._proc.join(30)
        if self._proc.is_alive():
            self._proc.kill()

    def __enter__(self) -> SimProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
