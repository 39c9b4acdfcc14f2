"""Child processes that die with their parent, log to a file, and say why when they fail.

"Die with the parent" holds down the tree, even when the parent is killed with SIGKILL and no
cleanup of ours runs: each child asks the kernel for SIGKILL when its parent dies
(PR_SET_PDEATHSIG), and the Python children we start (marked by DIE_WITH_PARENT_ENV) do the same
for every process they fork, such as django-q2's sentinel and workers or gunicorn's workers
(the product's side of that is `secrets_app.lifecycle`).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from secrets_app.lifecycle import DIE_WITH_PARENT_ENV, die_with_parent


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
