"""The operator's real processes (controller and django-q2 worker) for integration tests."""

from __future__ import annotations

import os
import sys
import uuid
from pathlib import Path

from devstack.processes import Process
from tests.settings import BASE_DIR, TEST_DATABASE_URL, TEST_REDIS_URL

FAST_SETTINGS = {
    "ECRCONTROL_RECONCILE_LEASE_SECONDS": "5",
    "ECRCONTROL_BACKOFF_BASE_SECONDS": "0.5",
    "ECRCONTROL_BACKOFF_MAX_SECONDS": "4",
    "ECRCONTROL_PERMANENT_RETRY_SECONDS": "1800",
    "ECRCONTROL_WORKERS": "1",
    "ECRCONTROL_LOG_LEVEL": "DEBUG",
}


def process_env(kubeconfig: Path, ecr_url: str, **settings: str) -> dict[str, str]:
    """The environment of ecrcontrol's processes in tests: the test database, cluster and ECR.
    Each operator gets a Lease of its own unless a test shares one between its controllers, so
    that a controller killed by one test does not hold up the next test's for a lease duration."""
    return {
        **os.environ,
        **FAST_SETTINGS,
        "ECRCONTROL_LEADER_ELECTION_NAME": f"ecrcontrol-test-{uuid.uuid4().hex[:8]}",
        **({"REDIS_URL": TEST_REDIS_URL} if TEST_REDIS_URL else {}),
        **settings,
        "DJANGO_SETTINGS_MODULE": "ecrcontrol.settings",
        "DJANGO_SECRET_KEY": "test-only-not-secret",
        "DATABASE_URL": TEST_DATABASE_URL,
        "KUBECONFIG": str(kubeconfig),
        "AWS_ENDPOINT_URL_ECR": ecr_url,
        "AWS_ENDPOINT_URL_STS": ecr_url,  # the local ECR front serves STS too
    }


class Operator:
    def __init__(self, kubeconfig: Path, ecr_url: str, logdir: Path, **settings: str) -> None:
        self.logdir = logdir
        # Its own lock directory: what one test's workers shared must not answer for the next's.
        settings = {"ECRCONTROL_LOCK_DIR": str(logdir / "locks"), **settings}
        self.env = process_env(kubeconfig, ecr_url, **settings)
        self.worker: Process | None = None
        self.controller: Process | None = None
        self.extra: list[Process] = []  # further controllers (leader election tests)

    def _manage(self, name: str, *args: str, **settings: str) -> Process:
        return Process(
            name,
            [sys.executable, str(BASE_DIR / "manage.py"), *args],
            self.logdir / f"{name}.log",
            env={**self.env, **settings},
        ).start()

    def start_worker(self) -> None:
        self.worker = self._manage("worker", "worker")
        self.worker.wait_until(lambda: "Q Cluster" in self.worker.log_tail(200), 30, "running")

    def start_controller(self, name: str = "controller", leading: bool = True, **settings: str) -> Process:
        """Start a controller; wait until it leads (`leading`), or only until it runs (a standby)."""
        process = self._manage(name, "controller", **settings)
        elects = {**self.env, **settings}.get("ECRCONTROL_LEADER_ELECTION", "1") != "0"
        mark = "is now the leader" if leading and elects else "controller watching"
        process.wait_until(lambda: mark in process.log_path.read_text(), 30, mark)
        if name == "controller":
            self.controller = process
        else:
            self.extra.append(process)
        return process

    def start(self, controller: bool = True) -> Operator:
        self.start_worker()
        if controller:
            self.start_controller()
        return self

    def start_embedded(self) -> Operator:
        """Controller and worker in one process (`manage.py embedded`), as in the embedded default."""
        self.controller = self._manage("embedded", "embedded")
        self.controller.wait_until(
            lambda: "controller watching" in self.controller.log_path.read_text(), 30, "watching"
        )
        return self

    def roles(self) -> dict[str, int]:
        """The process id of each running role (a role's process tree is measured from it)."""
        if self.worker is None:
            return {"controller+worker": self.controller.pid}
        return {"worker": self.worker.pid, "controller": self.controller.pid}

    def kill_worker(self) -> None:
        """SIGKILL the whole worker process group: no cleanup runs, as in an OOM kill."""
        import signal

        os.killpg(self.worker.pid, signal.SIGKILL)
        self.worker.popen.wait()

    def stop(self) -> None:
        for process in (*self.extra, self.controller, self.worker):
            if process:
                process.stop(grace=5)

    def logs(self) -> str:
        return "\n".join(p.read_text(errors="replace") for p in self.logdir.glob("*.log"))
