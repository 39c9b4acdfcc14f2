"""The controller role: watch every cluster and hand reconciles to the workers.

Cluster rows are re-read every RESCAN_SECONDS: a new row starts a ClusterController (with its own
stop event), a removed row stops its controller, and a row whose connection settings changed is
restarted. No restart of the process is needed when clusters are added in the admin.

With leader election (the default; ECRCONTROL_LEADER_ELECTION=0 turns it off for a single
replica) only the holder of the Lease runs controllers: they start when it starts leading and are
stopped the moment it stops.

The role runs wherever it is hosted: `manage.py controller` (its own process), `manage.py
embedded` (with the worker threads), or the web role's process in the embedded default
(`secrets_app.embedded`).
"""

from __future__ import annotations

import logging
import threading

from django.conf import settings
from django.db import close_old_connections

from ..models import Cluster
from ..monitoring import health
from . import leadership
from .runner import ClusterController

log = logging.getLogger(__name__)

RESCAN_SECONDS = 2.0


def _settings(cluster: Cluster) -> tuple:
    return (cluster.name, cluster.kubeconfig_path, cluster.context, cluster.in_cluster)


class Running:
    """One cluster's controller thread and its own stop event."""

    def __init__(self, cluster: Cluster) -> None:
        self.settings = _settings(cluster)
        self.stop_event = threading.Event()
        self.controller = ClusterController(cluster, self.stop_event)
        self.thread = threading.Thread(target=self.controller.run, name=f"controller-{cluster.name}")
        self.thread.start()

    def stop(self) -> None:
        self.controller.stop()
        self.thread.join(timeout=10)


class ControllerRole:
    def __init__(self, stop: threading.Event) -> None:
        self.stop_event = stop
        self.running: dict[int, Running] = {}
        self.warned: dict[int, str] = {}
        self.leading = threading.Event()
        self.lock = threading.Lock()  # between the scan loop and the elector's callbacks
        self.elector = None

    def start(self) -> None:
        """Start electing (or leading at once)."""
        Cluster.default()
        if settings.ECRCONTROL_LEADER_ELECTION:
            self.elector = leadership.from_settings(
                self._started_leading, self._stopped_leading, self.stop_event
            )
            self.elector.start()
            log.info("controller %s waiting for leadership", self.elector.lock.identity)
        else:
            self.leading.set()
            self._sync()

    @property
    def watching(self) -> int:
        """How many clusters it watches now."""
        return len(self.running)

    def run(self) -> None:
        """Re-read the Cluster rows until the stop event is set (or Ctrl-C); then stop every watch."""
        try:
            while not self.stop_event.wait(RESCAN_SECONDS):
                self._sync()
        except KeyboardInterrupt:
            self.stop_event.set()
        if self.elector:
            self.elector.join(timeout=15)  # steps down (stopping the controllers) and releases the Lease
        self._stop_all()

    def readiness(self) -> list[str]:
        """What keeps this controller from being ready (an empty list: ready)."""
        problems = []
        if self.elector and not self.elector.known:
            problems.append("leadership unknown: the Lease could not be read yet")
        if self.leading.is_set():
            with self.lock:
                for each in self.running.values():
                    problems += [
                        f"watch {loop.name} not established yet"
                        for loop in each.controller.loops
                        if loop.lists == 0
                    ]
        return problems

    def readiness_with_database(self) -> list[str]:
        return health.database_problems() + self.readiness()

    def _started_leading(self) -> None:
        self.leading.set()
        self._sync()
        log.info("leading: watching %d cluster(s)", len(self.running))

    def _stopped_leading(self) -> None:
        """Stop every watch and the enqueueing now: another replica may be leading in seconds."""
        self.leading.clear()
        self._stop_all()

    def _stop_all(self) -> None:
        for each in list(self.running.values()):
            each.stop_event.set()  # at once, even while a scan holds the lock; then wait for each
        with self.lock:
            for each in self.running.values():
                each.stop()
            self.running.clear()

    def _sync(self) -> None:
        """While leading: start controllers for new Cluster rows, stop those of removed or changed rows."""
        with self.lock:
            if self.leading.is_set():
                self._sync_locked()

    def _sync_locked(self) -> None:
        running = self.running
        try:
            clusters = {c.pk: c for c in Cluster.objects.all()}
        except Exception:
            log.exception("cannot read the Cluster rows; keeping the current watches")
            return
        finally:
            close_old_connections()
        for pk in list(running):
            if pk not in clusters or _settings(clusters[pk]) != running[pk].settings:
                log.info("stopping the controller of cluster %s", running[pk].settings[0])
                running.pop(pk).stop()
        for pk, cluster in clusters.items():
            if pk in running:
                continue
            try:
                running[pk] = Running(cluster)
            except Exception as exc:  # e.g. its kubeconfig cannot be loaded: try again at the next scan
                if self.warned.get(pk) != str(exc):  # say it once, not every scan
                    log.warning("cannot watch cluster %s yet: %s", cluster.name, exc)
                self.warned[pk] = str(exc)
                continue
            self.warned.pop(pk, None)
            log.info("watching cluster %s", cluster.name)
