"""`make run` (manage.py runlocal), as a new user runs it: the sample comes up Ready with a readable
12 h expiry; once up, it waits as a lean supervisor (devstack/supervise.py) that SIGTERM stops with
everything it started; killing it with SIGKILL (no cleanup of ours runs) leaves no process behind."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from devstack.processes import free_port
from devstack.stack import AWS_CONFIGURED_BY, LocalECRProcess
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


def wait_until_gone(marker: str, timeout: float = 10) -> dict[int, str]:
    """The processes still carrying the marker after `timeout` ({} once all are gone)."""
    deadline = time.monotonic() + timeout
    while (left_over := processes_with(marker)) and time.monotonic() < deadline:
        time.sleep(0.2)
    return left_over


@dataclasses.dataclass
class Run:
    process: subprocess.Popen
    marker: str
    output: str  # what it printed up to "Press Ctrl-C to stop."

    def env(self, name: str) -> str:
        """A value of its printed `export NAME=value` lines."""
        return next(
            line.split("=", 1)[1] for line in self.output.splitlines() if line.startswith(f"export {name}=")
        )


@contextlib.contextmanager
def make_run(tmp_path: Path, **extra_env: str) -> Iterator[Run]:
    """`manage.py runlocal` started as `make run` does, once it says "Press Ctrl-C to stop.";
    afterwards every process of this run (found by a marker in its environment) is killed."""
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
            **extra_env,
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
        yield Run(run, marker, output)
    finally:
        if run.poll() is None:
            run.kill()
            run.wait()
        for pid in processes_with(marker):  # only this run's processes, by pid
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


def test_make_run_shows_a_readable_expiry_and_a_sigkill_leaves_no_process_behind(tmp_path):
    with make_run(tmp_path) as run:
        # The sample as printed: EXPIRES is a time a person can read, 12 h ahead; not <invalid>.
        output = run.output
        listing = output.split("Sample applied", 1)[1].splitlines()[1:3]
        header, row = listing[0].split(), listing[1].split()
        assert header[:3] == ["NAME", "READY", "SECRET"] and "EXPIRES" in header, output
        assert row[:3] == ["sample", "True", "ecr-pull"], output
        assert "<invalid>" not in listing[1]
        expires = datetime.datetime.fromisoformat(row[header.index("EXPIRES")].replace("Z", "+00:00"))
        left = expires - datetime.datetime.now(datetime.UTC)
        assert datetime.timedelta(hours=11, minutes=50) < left <= datetime.timedelta(hours=12), output

        started = processes_with(run.marker)
        commands = "\n".join(started.values())
        # The embedded default: gunicorn's worker process hosts the web, controller and worker
        # roles; gunicorn's master forked it, and the fork must not be left behind either.
        for what in ("etcd", "kube-apiserver", "moto.server", "devstack.ecr", "gunicorn"):
            assert what in commands, f"{what} is not running:\n{commands}"
        assert "manage.py embedded" not in commands and "manage.py controller" not in commands, commands
        assert sum("gunicorn" in c for c in started.values()) == 2, commands

        os.kill(run.process.pid, signal.SIGKILL)
        run.process.wait(10)
        left_over = wait_until_gone(run.marker)
        assert not left_over, "left running after SIGKILL of runlocal:\n" + "\n".join(
            f"{pid} {cmd}" for pid, cmd in left_over.items()
        )


def test_make_run_waits_in_a_lean_supervisor_that_sigterm_stops_with_everything(tmp_path):
    with make_run(tmp_path) as run:
        # runlocal became the supervisor (same PID, so the others are still its children), an
        # interpreter that loaded nothing from site-packages: no Django, no clients, no cryptography.
        proc = Path(f"/proc/{run.process.pid}")
        assert b"devstack.supervise" in (proc / "cmdline").read_bytes()
        mapped = {line.split()[-1] for line in (proc / "maps").read_text().splitlines() if "/" in line}
        assert not [path for path in mapped if "site-packages" in path], sorted(mapped)
        children = (proc / "task" / str(run.process.pid) / "children").read_text().split()
        assert len(children) == 5, children  # etcd, kube-apiserver, kube-controller-manager, local ECR, web

        # The local ECR front, in its own process now, answers like AWS (an unsigned call is refused).
        request = urllib.request.Request(
            run.env("AWS_ENDPOINT_URL_ECR"),
            data=b"{}",
            headers={"X-Amz-Target": "AmazonEC2ContainerRegistry_V20150921.GetAuthorizationToken"},
        )
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, timeout=10)
        assert refused.value.headers["x-amzn-ErrorType"] == "MissingAuthenticationTokenException"

        run.process.send_signal(signal.SIGTERM)
        assert run.process.wait(60) == 143
        left_over = wait_until_gone(run.marker)
        assert not left_over, "left running after SIGTERM of runlocal:\n" + "\n".join(
            f"{pid} {cmd}" for pid, cmd in left_over.items()
        )
        assert not list(tmp_path.glob("ecrcontrol-*")), "temp dirs left behind"


def test_make_runs_local_ecr_takes_its_knobs_from_the_environment(monkeypatch):
    monkeypatch.setenv("ECRCONTROL_LOCAL_ECR_RATE", "0.001")
    monkeypatch.setenv("ECRCONTROL_LOCAL_ECR_BURST", "1")
    with LocalECRProcess() as ecr:
        client = boto3.client(
            "ecr",
            endpoint_url=ecr.url,
            region_name="eu-west-1",
            aws_access_key_id="AKIAKNOBSTEST0000001",
            aws_secret_access_key="knobs-test",  # moto accepts any key
            config=Config(retries={"max_attempts": 1}),
        )
        client.get_authorization_token()
        with pytest.raises(ClientError) as throttled:
            client.get_authorization_token()
        assert throttled.value.response["Error"]["Code"] == "ThrottlingException"
