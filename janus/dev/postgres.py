"""A throwaway PostgreSQL server for tests and ``janus dev``: Debian's binaries, a temporary data
directory, 127.0.0.1 and a free port, password authentication.

PostgreSQL refuses to run as root, so when this process is root the server runs as the
``postgres`` system user the Debian package creates (through ``setpriv``, which keeps the
environment and needs no PAM session). ``scripts/install-postgresql.sh`` installs the package.

    with LocalPostgres.start() as pg:
        engine = create_engine(pg.url("janus"))
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import secrets
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from janus.dev.controlplane.ports import free_port

SUPERUSER = "janus"
RUN_AS = "postgres"  # the Debian package's system user, used when we are root


class PostgresMissing(RuntimeError):
    """Debian's PostgreSQL server binaries are not installed."""


def find_bindir() -> Path:
    """The directory with ``initdb``, ``pg_ctl`` and ``postgres``: $JANUS_PG_BINDIR, else the
    newest /usr/lib/postgresql/<version>/bin (Debian keeps them off $PATH)."""
    configured = os.environ.get("JANUS_PG_BINDIR")
    candidates = [configured] if configured else sorted(
        glob.glob("/usr/lib/postgresql/*/bin"),
        key=lambda p: int(Path(p).parent.name) if Path(p).parent.name.isdigit() else 0,
        reverse=True,
    )
    for candidate in candidates:
        if candidate and all((Path(candidate) / b).is_file() for b in ("initdb", "pg_ctl")):
            return Path(candidate)
    where = f"in $JANUS_PG_BINDIR ({configured})" if configured else \
        "under /usr/lib/postgresql/*/bin"
    raise PostgresMissing(
        f"PostgreSQL server binaries (initdb, pg_ctl) not found {where} "
        "(scripts/install-postgresql.sh installs Debian's postgresql package)")


def _demote() -> list[str]:
    """The command prefix that runs a binary as an unprivileged user ([] when not root)."""
    if os.geteuid() != 0:
        return []
    try:
        pwd.getpwnam(RUN_AS)
    except KeyError:
        raise PostgresMissing(f"running as root and there is no {RUN_AS!r} system user "
                              "to run the server as (Debian's postgresql package creates it)"
                              ) from None
    return ["setpriv", f"--reuid={RUN_AS}", f"--regid={RUN_AS}", "--init-groups", "--"]


@dataclass
class LocalPostgres:
    bindir: Path
    datadir: Path
    workdir: Path
    port: int
    password: str
    host: str = "127.0.0.1"
    started_in: float = 0.0

    @classmethod
    def start(cls, *, bindir: Path | None = None, timeout: float = 60.0) -> LocalPostgres:
        """initdb a fresh cluster in a temporary directory and start it; raise on failure."""
        began = time.monotonic()
        bindir = bindir or find_bindir()
        prefix = _demote()
        workdir = Path(tempfile.mkdtemp(prefix="janus-pg-"))
        datadir = workdir / "data"
        password = secrets.token_urlsafe(24)
        pwfile = workdir / "pwfile"
        pwfile.write_text(password + "\n")
        pwfile.chmod(0o600)
        if prefix:
            entry = pwd.getpwnam(RUN_AS)
            os.chown(workdir, entry.pw_uid, entry.pw_gid)
            os.chown(pwfile, entry.pw_uid, entry.pw_gid)
        workdir.chmod(0o700)
        pg = cls(bindir=bindir, datadir=datadir, workdir=workdir, port=free_port(),
                 password=password)
        try:
            pg._run(prefix, "initdb", "-D", str(datadir), "-U", SUPERUSER,
                    f"--pwfile={pwfile}", "--auth=scram-sha-256", "--encoding=UTF8",
                    "--locale=C", "--no-sync")
            pwfile.unlink()
            # Loopback TCP only; the unix socket lives in the private work directory.
            options = (f"-c listen_addresses={pg.host} -c port={pg.port} "
                       f"-c unix_socket_directories={workdir} -c fsync=off "
                       "-c synchronous_commit=off -c full_page_writes=off "
                       "-c max_connections=200")
            pg._run(prefix, "pg_ctl", "-D", str(datadir), "-l", str(workdir / "server.log"),
                    "-o", options, "-w", "-t", str(int(timeout)), "start")
        except BaseException:
            pg._cleanup()
            raise
        pg.started_in = time.monotonic() - began
        return pg

    def _run(self, prefix: list[str], binary: str, *args: str) -> None:
        result = subprocess.run([*prefix, str(self.bindir / binary), *args],
                                capture_output=True, text=True, cwd=self.workdir, check=False)
        if result.returncode != 0:
            log = self.workdir / "server.log"
            tail = log.read_text()[-2000:] if log.exists() else ""
            raise RuntimeError(f"{binary} failed ({result.returncode}): "
                               f"{result.stderr.strip()[-2000:]} {tail}")

    def url(self, database: str = "postgres", driver: str = "postgresql+psycopg") -> str:
        """A SQLAlchemy URL for *database* (see :meth:`create_database`)."""
        return (f"{driver}://{SUPERUSER}:{self.password}@{self.host}:{self.port}/{database}")

    def create_database(self, name: str) -> str:
        """CREATE DATABASE *name* (a fresh one per test keeps tests independent); its URL."""
        import psycopg

        with psycopg.connect(host=self.host, port=self.port, user=SUPERUSER,
                             password=self.password, dbname="postgres",
                             autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')  # name from the caller, never user input
        return self.url(name)

    def stop(self) -> None:
        """Stop the server (fast shutdown) and delete its data. A server that does not stop
        in time (a loaded machine) is killed by the PID it wrote, never left running."""
        pid = self._postmaster_pid()
        try:
            if self.datadir.exists():
                subprocess.run([*_demote(), str(self.bindir / "pg_ctl"), "-D", str(self.datadir),
                                "-m", "fast", "-w", "stop"], capture_output=True,
                               cwd=self.workdir, check=False, timeout=60)
        except subprocess.TimeoutExpired:
            pass
        finally:
            if pid is not None and self._postmaster_pid() == pid:
                with contextlib.suppress(OSError):
                    os.kill(pid, signal.SIGKILL)
            self._cleanup()

    def _postmaster_pid(self) -> int | None:
        """The server's PID from postmaster.pid (first line), None when it is not running."""
        try:
            return int((self.datadir / "postmaster.pid").read_text().split("\n", 1)[0])
        except (OSError, ValueError):
            return None

    def restart(self) -> None:
        """Stop and start the same server (data kept): a database restart under load."""
        # -l again: without it the new postmaster would write to (and hold open) our pipe.
        subprocess.run([*_demote(), str(self.bindir / "pg_ctl"), "-D", str(self.datadir),
                        "-l", str(self.workdir / "server.log"), "-m", "fast", "-w", "restart"],
                       capture_output=True, cwd=self.workdir, check=True, timeout=120)

    def _cleanup(self) -> None:
        shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self) -> LocalPostgres:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
