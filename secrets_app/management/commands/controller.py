"""The controller role: watch every cluster and hand reconciles to the django-q2 workers.

Cluster rows are re-read every RESCAN_SECONDS: a new row starts a ClusterController (with its own
stop event), a removed row stops its controller, and a row whose connection settings changed is
restarted. No restart of the process is needed when clusters are added in the admin.
"""

import logging
import signal
import sys
import threading

from django.core.management.base import BaseCommand
from django.db import close_old_connections

from secrets_app.controller.runner import ClusterController
from secrets_app.models import Cluster

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


class Command(BaseCommand):
    help = "Watch the custom resources, managed Secrets and Namespaces of each cluster; enqueue reconciles."

    def handle(self, *args, **options) -> None:
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        Cluster.default()
        running: dict[int, Running] = {}
        self.warned: dict[int, str] = {}
        self._sync(running)
        self.stdout.write(f"controller watching {len(running)} cluster(s)", ending="\n")
        self.stdout.flush()
        try:
            while not stop.wait(RESCAN_SECONDS):
                self._sync(running)
        except KeyboardInterrupt:
            stop.set()
        for each in running.values():
            each.stop()
        sys.exit(0)

    def _sync(self, running: dict[int, "Running"]) -> None:
        """Start controllers for new Cluster rows, stop those of removed or changed rows."""
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
