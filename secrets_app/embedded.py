"""The controller and worker roles as threads of one process (the embedded default): `manage.py
embedded` hosts them alone; the web role's gunicorn worker hosts them when ECRCONTROL_EMBEDDED=1
(`ecrcontrol/gunicorn.py`), so that the embedded default is one Python process (the Kubernetes
client, boto3 and Django loaded once) instead of two.

The roles stay separate in code: the controller's reconciles go to the worker threads
(`queue.use_local`) instead of django-q2's broker, and the threads also take the broker's tasks
(the web role's "refresh now").
"""

from __future__ import annotations

import os
import threading

from .controller.role import ControllerRole
from .services import queue
from .worker.threads import WorkerThreads


class Embedded:
    def __init__(self) -> None:
        self.stop_event = threading.Event()
        threads = int(os.environ.get("ECRCONTROL_WORKER_THREADS", "8"))
        # The broker only brings "refresh now" from the web role: a check every 2 s is plenty.
        self.workers = WorkerThreads(threads, threading.Event(), poll=2.0)
        self.controller = ControllerRole(self.stop_event)
        self.readiness_with_database = self.controller.readiness_with_database
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start the worker threads and the controller."""
        self.workers.start()
        queue.use_local(self.workers.submit)
        self.controller.start()

    @property
    def watching(self) -> int:
        return self.controller.watching

    def run(self) -> None:
        """The controller's loop until the stop event is set; then the workers finish their tasks."""
        try:
            self.controller.run()
        finally:
            queue.use_local(None)
            self.workers.stop()

    def start_in_background(self) -> None:
        self.start()
        self._thread = threading.Thread(target=self.run, name="embedded-roles", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        """Step down (the Lease is released), stop every watch, finish the running tasks."""
        self.stop_event.set()
        if self._thread:
            self._thread.join(timeout)
