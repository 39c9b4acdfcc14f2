"""A throwaway PostgreSQL and Redis for tests and `make run`: Debian's `postgresql` and
`redis-server` packages, on free loopback ports, with their data in a temp dir removed on stop.

initdb and postgres refuse to run as root, so as root they run as the `postgres` user (created by
Debian's package) through `setpriv`. Both can be stopped and started again on the same port and
data (`restart()`), for the fault tests.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from .processes import Component, ComponentError, Process, free_port

START_TIMEOUT = 30.0
MSG_MISSING = "{what} not found: install Debian's `{package}` package (apt-get install {package})."


def postgres_bin() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    if not found:
        raise ComponentError(MSG_MISSING.format(what="PostgreSQL (initdb)", package="postgresql"))
    return Path(found[-1]).parent


def _port_open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


class PostgresServer(Component):
    """`url` is a DATABASE_URL for the superuser `ecrcontrol` (trust auth, loopback only)."""

    USER = "ecrcontrol"

    def __init__(self, database: str = "ecrcontrol") -> None:
        self.database = database
        self.workdir = Path(tempfile.mkdtemp(prefix="ecrcontrol-pg-"))
        self.data = self.workdir / "data"
        self.port = free_port()
        self.url = f"postgres://{self.USER}@127.0.0.1:{self.port}/{database}"
        self.process: Process | None = None
        self._as_user: list[str] = []
        if os.geteuid() == 0:
            user = pwd.getpwnam("postgres")
            os.chown(self.workdir, user.pw_uid, user.pw_gid)
            self._as_user = ["setpriv", f"--reuid={user.pw_uid}", f"--regid={user.pw_gid}", "--clear-groups"]

    def start(self) -> None:
        bindir = postgres_bin()
        if not self.data.exists():
            subprocess.run(
                [*self._as_user, str(bindir / "initdb"), "-D", str(self.data), "-U", self.USER,
                 "--auth=trust", "--encoding=UTF8", "--no-sync"],
                check=True, capture_output=True, timeout=120,
            )  # fmt: skip
        self.process = Process(
            "postgres",
            [
                *self._as_user,
                str(bindir / "postgres"),
                "-D", str(self.data),
                "-p", str(self.port),
                "-c", "listen_addresses=127.0.0.1",
                "-c", "unix_socket_directories=",
                "-c", "fsync=off",  # a test server: speed over durability
                "-c", "max_connections=200",
            ],
            self.workdir / "postgres.log",
        ).start()  # fmt: skip
        self.process.wait_until(self._accepts, START_TIMEOUT, "accepting connections")
        self._create_database()

    def _accepts(self) -> bool:
        result = subprocess.run(
            [str(postgres_bin() / "pg_isready"), "-h", "127.0.0.1", "-p", str(self.port)],
            capture_output=True,
            timeout=5,
        )
        return result.returncode == 0

    def _create_database(self) -> None:
        import psycopg

        with psycopg.connect(
            host="127.0.0.1", port=self.port, user=self.USER, dbname="postgres", autocommit=True
        ) as conn:
            if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (self.database,)).fetchone():
                conn.execute(f'CREATE DATABASE "{self.database}"')

    def stop_server(self) -> None:
        """Stop the server (fast shutdown, SIGINT: clients are disconnected), keeping its data."""
        if self.process and self.process.running():
            os.killpg(self.process.pid, signal.SIGINT)
            try:
                self.process.popen.wait(20)
            except subprocess.TimeoutExpired:
                self.process.stop(grace=0)

    def dump(self, database: str) -> str:
        """The database as SQL text (pg_dump), for tests that look for what must never be stored."""
        return subprocess.run(
            [str(postgres_bin() / "pg_dump"), "-h", "127.0.0.1", "-p", str(self.port), "-U", self.USER,
             database],
            check=True, capture_output=True, text=True, timeout=60,
        ).stdout  # fmt: skip

    def restart(self, down_seconds: float = 0.0) -> None:
        self.stop_server()
        time.sleep(down_seconds)
        self.start()

    def stop(self) -> None:
        self.stop_server()
        shutil.rmtree(self.workdir, ignore_errors=True)


class RedisServer(Component):
    """`url` is a REDIS_URL. No persistence: a restart empties it, as a lost Redis pod would."""

    def __init__(self) -> None:
        self.workdir = Path(tempfile.mkdtemp(prefix="ecrcontrol-redis-"))
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: Process | None = None

    def start(self) -> None:
        binary = shutil.which("redis-server") or "/usr/bin/redis-server"
        if not Path(binary).exists():
            raise ComponentError(MSG_MISSING.format(what="redis-server", package="redis-server"))
        self.process = Process(
            "redis-server",
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(self.workdir)],
            self.workdir / "redis.log",
        ).start()  # fmt: skip
        self.process.wait_until(lambda: _port_open(self.port), START_TIMEOUT, "accepting connections")

    def stop_server(self) -> None:
        if self.process:
            self.process.stop(grace=10)

    def restart(self, down_seconds: float = 0.0) -> None:
        self.stop_server()
        time.sleep(down_seconds)
        self.start()

    def stop(self) -> None:
        self.stop_server()
        shutil.rmtree(self.workdir, ignore_errors=True)


_session_servers: dict[type, PostgresServer | RedisServer] = {}


def _session_server(kind: type[PostgresServer] | type[RedisServer]):
    """One server of `kind` for a whole test session, started on first use, stopped at exit."""
    if kind not in _session_servers:
        import atexit

        server = kind()
        server.start()
        atexit.register(server.stop)
        _session_servers[kind] = server
    return _session_servers[kind]


def test_postgres() -> PostgresServer:
    """The session's PostgreSQL (ECRCONTROL_TEST_DATABASE=postgres)."""
    return _session_server(PostgresServer)


def test_redis() -> RedisServer:
    """The session's Redis (ECRCONTROL_TEST_BROKER=redis)."""
    return _session_server(RedisServer)


__all__ = ["PostgresServer", "RedisServer", "test_postgres", "test_redis"]
