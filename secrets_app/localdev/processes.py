"""Child processes that die with their parent, log to a file, and say why when they fail.

"Die with the parent" holds down the tree, even when the parent is killed with SIGKILL and no
cleanup of ours runs: each child asks the kernel for SIGKILL when its parent dies
(PR_SET_PDEATHSIG), and the Python children we start (marked by DIE_WITH_PARENT_ENV) do the same
for every process they fork, such as django-q2's sentinel and workers or gunicorn's workers.
"""

from __future__ import annotations

import ctypes
import os
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path

_PR_SET_PDEATHSIG = 1
# Set in the environment of every process started here: its own forks die with it as well.
DIE_WITH_PARENT_ENV = "ECRCONTROL_DIE_WITH_PARENT"


class ComponentError(RuntimeError):
    """A local component did not start; the message carries the tail of its log."""


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


def _die_with_parent() -> None:
    # Linux only: the kernel sends SIGKILL to the child when the parent dies, even from SIGKILL,
    # so a killed test run or `make run` never leaves an etcd or API server behind.
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    except OSError:
        pass


_forking = {"main_thread": False}


def _note_forking_thread() -> None:
    _forking["main_thread"] = threading.current_thread() is threading.main_thread()


def _fork_dies_with_parent() -> None:
    # The kernel ties PDEATHSIG to the thread that forked: a fork from a short-lived thread would
    # be killed when that thread ends, so only forks of the main thread (django-q2's and
    # gunicorn's process managers fork from it) ask for it.
    if _forking["main_thread"]:
        _die_with_parent()


def forks_die_with_parent() -> None:
    """In a process started here (DIE_WITH_PARENT_ENV set): every fork of its main thread dies
    with it. Called once at startup (secrets_app's AppConfig.ready); a no-op elsewhere."""
    if os.environ.get(DIE_WITH_PARENT_ENV) and not getattr(forks_die_with_parent, "done", False):
        os.register_at_fork(before=_note_forking_thread, after_in_child=_fork_dies_with_parent)
        forks_die_with_parent.done = True


class Process:
    def __init__(self, name: str, argv: list[str], log_path: Path, env: dict[str, str] | None = None):
        self.name = name
        self.argv = argv
        self.log_path = log_path
        self.env = env
        self.popen: subprocess.Popen | None = None

    def start(self) -> Process:
        log = open(self.log_path, "ab")
        self.popen = subprocess.Popen(
            self.argv,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env={**(os.environ if self.env is None else self.env), DIE_WITH_PARENT_ENV: "1"},
            preexec_fn=_die_with_parent,
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
