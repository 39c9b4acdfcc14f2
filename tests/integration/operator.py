"""The operator's real processes (controller and django-q2 worker) for integration tests."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from secrets_app.localdev.processes import Process
from tests.settings import BASE_DIR, TEST_DB

FAST_SETTINGS = {
    "ECRCONTROL_RECONCILE_LEASE_SECONDS": "5",
    "ECRCONTROL_BACKOFF_BASE_SECONDS": "0.5",
    "ECRCONTROL_BACKOFF_MAX_SECONDS": "4",
    "ECRCONTROL_PERMANENT_RETRY_SECONDS": "1800",
    "ECRCONTROL_WORKERS": "1",
    "ECRCONTROL_LOG_LEVEL": "DEBUG",
}


def process_env(kubeconfig: Path, ecr_url: str, **settings: str) -> dict[str, str]:
    """The environment of ecrcontrol's processes in tests: the test database, cluster and ECR."""
    return {
        **os.environ,
        **FAST_SETTINGS,
        **settings,
        "DJANGO_SETTINGS_MODULE": "ecrcontrol.settings",
        "DJANGO_SECRET_KEY": "test-only-not-secret",
        "DATABASE_URL": f"sqlite:///{TEST_DB}",
        "KUBECONFIG": str(kubeconfig),
        "AWS_ENDPOINT_URL_ECR": ecr_url,
    }


class Operator:
    def __init__(self, kubeconfig: Path, ecr_url: str, logdir: Path, **settings: str) -> None:
        self.logdir = logdir
        # Its own lock directory: what one test's workers shared must not answer for the next's.
        settings = {"ECRCONTROL_LOCK_DIR": str(logdir / "locks"), **settings}
        self.env = process_env(kubeconfig, ecr_url, **settings)
        self.worker: Process | None = None
        self.controller: Process | None = None

    def _manage(self, name: str, *args: str) -> Process:
        return Process(
            name,
            [sys.executable, str(BASE_DIR / "manage.py"), *args],
            self.logdir / f"{name}.log",
            env=self.env,
        ).start()

    def start_worker(self) -> None:
        self.worker = self._manage("worker", "qcluster")
        self.worker.wait_until(lambda: "Q Cluster" in self.worker.log_tail(200), 30, "running")

    def start_controller(self) -> None:
        self.controller = self._manage("controller", "controller")
        self.controller.wait_until(
            lambda: "controller watching" in self.controller.log_path.read_text(), 30, "watching"
        )

    def start(self) -> Operator:
        self.start_worker()
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
        for process in (self.controller, self.worker):
            if process:
                process.stop(grace=5)

    def logs(self) -> str:
        return "\n".join(p.read_text(errors="replace") for p in self.logdir.glob("*.log"))
