"""`make run` (manage.py runlocal), as a new user runs it: the sample comes up Ready with a readable
12 h expiry, and killing it with SIGKILL (no cleanup of ours runs) leaves no process behind."""

from __future__ import annotations

import datetime
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

from devstack.processes import free_port
from devstack.stack import AWS_CONFIGURED_BY
from tests.settings import BASE_DIR

from .helpers import wait_for

RUN_MARKER = "ECRCONTROL_TEST_RUN"  # in the environment of runlocal, so of every process it starts
STARTUP_TIMEOUT = 240


def processes_with(marker: str) -> dict[int, str]:
    """Live processes (not zombies) whose environment carries the marker: {pid: command line}."""
    found = {}
    needle = marker.encode()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if needle not in (entry / "environ").read_bytes().split(b"\0"):
                continue
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:  # gone meanwhile, or not ours to read
            continue
        if state != "Z":
            found[int(entry.name)] = cmdline.strip()
    return found


def test_make_run_shows_a_readable_expiry_and_a_sigkill_leaves_no_process_behind(tmp_path):
    run_id = uuid.uuid4().hex
    marker = f"{RUN_MARKER}={run_id}"
    env = {k: v for k, v in os.environ.items() if k not in (*AWS_CONFIGURED_BY, "KUBECONFIG", "DATABASE_URL")}
    env.update(
        {
            RUN_MARKER: run_id,
            "DJANGO_SETTINGS_MODULE": "ecrcontrol.settings",
            "DJANGO_DEBUG": "1",
            "ECRCONTROL_DATA_DIR": str(tmp_path / "data"),
            "TMPDIR": str(tmp_path),  # its temp dirs, which a SIGKILL leaves behind, go with tmp_path
            "ECRCONTROL_PORT": str(free_port()),
        }
    )
    run = subprocess.Popen(
        [sys.executable, str(BASE_DIR / "manage.py"), "runlocal"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        env=env,
        text=True,
    )
    lines: list[str] = []

    def read() -> None:
        for line in run.stdout:
            lines.append(line)

    threading.Thread(target=read, daemon=True).start()
    try:
        wait_for(
            lambda: any("Press Ctrl-C to stop" in line for line in lines) or run.poll() is not None,
            timeout=STARTUP_TIMEOUT,
            interval=0.5,
        )
        output = "".join(lines)
        assert run.poll() is None, f"runlocal exited with {run.returncode}:\n{output}"

        # The sample as printed: EXPIRES is a time a person can read, 12 h ahead; not <invalid>.
        listing = output.split("Sample applied", 1)[1].splitlines()[1:3]
        header, row = listing[0].split(), listing[1].split()
        assert header[:3] == ["NAME", "READY", "SECRET"] and "EXPIRES" in header, output
        assert row[:3] == ["sample", "True", "ecr-pull"], output
        assert "<invalid>" not in listing[1]
        expires = datetime.datetime.fromisoformat(row[header.index("EXPIRES")].replace("Z", "+00:00"))
        left = expires - datetime.datetime.now(datetime.UTC)
        assert datetime.timedelta(hours=11, minutes=50) < left <= datetime.timedelta(hours=12), output

        started = processes_with(marker)
        commands = "\n".join(started.values())
        # The embedded default: gunicorn's worker process hosts the web, controller and worker
        # roles; gunicorn's master forked it, and the fork must not be left behind either.
        for what in ("etcd", "kube-apiserver", "moto.server", "gunicorn"):
            assert what in commands, f"{what} is not running:\n{commands}"
        assert "manage.py embedded" not in commands and "manage.py controller" not in commands, commands
        assert sum("gunicorn" in c for c in started.values()) == 2, commands

        os.kill(run.pid, signal.SIGKILL)
        run.wait(10)
        deadline = time.monotonic() + 10
        while (left_over := processes_with(marker)) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not left_over, "left running after SIGKILL of runlocal:\n" + "\n".join(
            f"{pid} {cmd}" for pid, cmd in left_over.items()
        )
    finally:
        if run.poll() is None:
            run.kill()
            run.wait()
        for pid in processes_with(marker):  # only this run's processes, by pid
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
