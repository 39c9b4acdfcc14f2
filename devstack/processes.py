"""Child processes that die with their parent, log to a file, and say why when they fail.

"Die with the parent" holds down the tree, even when the parent is killed with SIGKILL and no
cleanup of ours runs: each child asks the kernel for SIGKILL when its parent dies
(PR_SET_PDEATHSIG), and the Python children we start (marked by DIE_WITH_PARENT_ENV) do the same
for every process they fork, such as django-q2's sentinel and workers or gunicorn's workers
(the product's side of that is `secrets_app.lifecycle`).

This module imports only the standard library (and `secrets_app.lifecycle`, which does too): the
lean processes of `make run` (devstack/supervise.py, the local ECR's) run it without site-packages.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from secrets_app.lifecycle import DIE_WITH_PARENT_ENV, die_with_parent

# The checkout that holds devstack: devstack is not installed, so a lean interpreter is told where.
CHECKOUT = Path(__file__).resolve().parent.parent


class ComponentError(RuntimeError):
    """A local component did not start; the message carries the tail of its log."""


def terminate_on_sigterm() -> None:
    """Turn SIGTERM into SystemExit so `with` blocks clean up, as they do on Ctrl-C."""
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))


def lean_python(module: str, *args: str) -> tuple[list[str], dict[str, str]]:
    """The command line and environment to run one of devstack's stdlib-only modules in an
    interpreter without site-packages (-S): none of the project's dependencies can load there."""
    path = os.pathsep.join(filter(None, [str(CHECKOUT), os.environ.get("PYTHONPATH")]))
    return [sys.executable, "-S", "-m", module, *args], {**os.environ, "PYTHONPATH": path}


def free_port() -> int:
    return free_ports(1)[0]


def free_ports(count: int) -> list[int]:
    """`count` different free ports (each socket is held until all are chosen: one at a time, the
    kernel may hand out the same port twice)."""
    sockets = [socket.socket() for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


class Process:
    def __init__(self, name: str, argv: list[str], log_path: Path, env: dict[str, str] | None = None):
        self.name = name
        self.argv = argv
        self.log_path = log_path
        self.env = env
        self.popen: subprocess.Popen | _Inherited | None = None

    @classmethod
    def inherited(cls, name: str, pid: int, log_path: Path) -> Process:
        """A child that this process got from the program it replaced with execve (the same PID,
        so still its child): `running`, `stop` and `fail` work on it as on one started here."""
        process = cls(name, [], log_path)
        process.popen = _Inherited(pid)
        return process

    def start(self) -> Process:
        log = open(self.log_path, "ab")
        self.popen = subprocess.Popen(
            self.argv,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env={**(os.environ if self.env is None else self.env), DIE_WITH_PARENT_ENV: "1"},
            preexec_fn=die_with_parent,
            start_new_session=True,
        )
        log.close()
        return self

    @property
    def pid(self) -> int | None:
        return self.popen.pid if self.popen else None

    def running(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def log_tail(self, lines: int = 25) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return "(no log written)"
        return "\n".join(text.strip().splitlines()[-lines:])

    def fail(self, why: str) -> ComponentError:
        return ComponentError(f"{self.name} {why}. Last lines of {self.log_path}:\n{self.log_tail()}")

    def wait_until(self, check: Callable[[], bool], timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.running():
                raise self.fail(f"exited with code {self.popen.returncode} before it was {what}")
            try:
                if check():
                    return
            except Exception:  # noqa: S110 - not up yet; keep polling
                pass
            time.sleep(0.1)
        raise self.fail(f"was not {what} within {timeout:.0f}s")

    def stop(self, grace: float = 10.0) -> None:
        if not self.running():
            return
        try:
            os.killpg(self.popen.pid, signal.SIGTERM)
            self.popen.wait(grace)
        except subprocess.TimeoutExpired:
            os.killpg(self.popen.pid, signal.SIGKILL)
            self.popen.wait()
        except ProcessLookupError:
            pass


class _Inherited:
    """Popen's `pid`, `returncode`, `poll` and `wait` for a child Popen did not start."""

    def __init__(self, pid: int) -> None:
        self.pid, self.returncode = pid, None

    def poll(self) -> int | None:
        if self.returncode is None:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.poll() is None:
            if deadline is not None and time.monotonic() > deadline:
                raise subprocess.TimeoutExpired(str(self.pid), timeout)
            time.sleep(0.05)
        return self.returncode


class Component:
    """Something started and stopped as a unit; `with` guarantees the stop, even on Ctrl-C."""

    def start(self) -> None:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def __enter__(self):
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.stop()
