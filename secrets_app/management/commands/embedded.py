"""`manage.py embedded`: the controller and worker roles in one process (the embedded default).

One process instead of qcluster's five plus the controller's: a fraction of the memory, no broker
polling between a watch event and its reconcile, and one ECR token cache for every reconcile. The
roles stay separate in code: this command is the controller command with `secrets_app.worker`
threads started beside it, and the controller's reconciles handed to them (`queue.use_local`).
"""

import os
import threading

from secrets_app.services import queue
from secrets_app.worker.threads import WorkerThreads

from .controller import Command as ControllerCommand


class Command(ControllerCommand):
    help = "Run the controller and the worker in one process (SQLite embedded default, small clusters)."
    # Django's system checks import every URLconf, view and serializer (about 10 MB this role never
    # uses); `migrate` runs them before the roles start.
    requires_system_checks = []

    def handle(self, *args, **options) -> None:
        threads = int(os.environ.get("ECRCONTROL_WORKER_THREADS", "8"))
        # The broker only brings "refresh now" from the web role: a check every 2 s is plenty.
        workers = WorkerThreads(threads, threading.Event(), poll=2.0).start()
        queue.use_local(workers.submit)
        try:
            super().handle(*args, **options)
        finally:
            queue.use_local(None)
            workers.stop()
