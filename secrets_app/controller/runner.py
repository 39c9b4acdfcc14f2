"""The controller loop for one cluster: watch threads, burst coalescing, and due requeues.

Watch callbacks only note which resources need a reconcile; every FLUSH_SECONDS the noted set is
handed to the workers once per resource, however many events arrived. Rows whose `requeue_at` has
come (refresh due, backoff over, or a worker that died mid-task) are handed out again; a lease
pushes `requeue_at` forward meanwhile, so a lost task is retried but a running one is not doubled.
"""

from __future__ import annotations

import datetime
import functools
import logging
import threading

from django.conf import settings
from django.db import close_old_connections

from ..kube import watching
from ..kube.kinds import BY_NAME, CLUSTER, LEGACY, NAMESPACED
from ..models import Cluster
from ..services import mirror, queue
from ..services.clusters import kube_for
from .handlers import Handlers, Key

log = logging.getLogger(__name__)

FLUSH_SECONDS = 0.25
DUE_SCAN_SECONDS = 1.0


class ClusterController:
    def __init__(self, cluster: Cluster, stop: threading.Event) -> None:
        self.cluster = cluster
        self.stop_event = stop
        self._pending: dict[Key, None] = {}
        self._lock = threading.Lock()
        self.handlers = Handlers(cluster, self.request)
        kube = kube_for(cluster)
        self.loops = [
            watching.WatchLoop(
                watching.resources_source(kube, kind),
                _db(functools.partial(self.handlers.resources_listed, kind)),
                _db(functools.partial(self.handlers.resource_changed, kind)),
                stop,
                label=f"{cluster.name}-",
            )
            for kind in (NAMESPACED, CLUSTER, LEGACY)
        ]
        self.loops += [
            watching.WatchLoop(
                watching.managed_secrets_source(kube),
                _db(self.handlers.secrets_listed),
                _db(self.handlers.secret_changed),
                stop,
                label=f"{cluster.name}-",
            ),
            watching.WatchLoop(
                watching.namespaces_source(kube),
                _db(self.handlers.namespaces_listed),
                _db(lambda obj, deleted: None if deleted else self.handlers.namespace_changed(obj)),
                stop,
                label=f"{cluster.name}-",
            ),
        ]

    def request(self, key: Key) -> None:
        with self._lock:
            self._pending[key] = None

    def run(self) -> None:
        for loop in self.loops:
            loop.start()
        last_scan = 0.0
        clock = 0.0
        while not self.stop_event.wait(FLUSH_SECONDS):
            clock += FLUSH_SECONDS
            try:
                if clock - last_scan >= DUE_SCAN_SECONDS:
                    last_scan = clock
                    self._scan_due()
                self.flush()
            except Exception:
                log.exception("controller loop error; continuing")
            finally:
                close_old_connections()
        for loop in self.loops:
            loop.stop()

    def flush(self) -> None:
        with self._lock:
            keys, self._pending = list(self._pending), {}
        if not keys:
            return
        lease = datetime.datetime.now(datetime.UTC) + datetime.timedelta(
            seconds=settings.ECRCONTROL_RECONCILE_LEASE_SECONDS
        )
        for done, (kind_name, namespace, name) in enumerate(keys):
            kind = BY_NAME[kind_name]
            try:
                if kind is not LEGACY:
                    mirror.model_for(kind).objects.filter(
                        **mirror.lookup(self.cluster, kind, namespace, name)
                    ).update(requeue_at=lease)
                queue.enqueue(self.cluster.pk, kind_name, namespace, name)
            except Exception:
                # The database or the broker is down (a restart): keep the rest for the next flush.
                with self._lock:
                    for key in keys[done:]:
                        self._pending.setdefault(key, None)
                raise

    def _scan_due(self) -> None:
        now = datetime.datetime.now(datetime.UTC)
        for kind in (NAMESPACED, CLUSTER):
            due = mirror.model_for(kind).objects.filter(cluster=self.cluster, requeue_at__lte=now)
            for row in due.only("name", *(["namespace"] if kind.namespaced else [])):
                self.request((kind.kind, getattr(row, "namespace", ""), row.name))


def _db(callback):
    """Watch callbacks run in their own threads: give each call fresh database connections."""

    @functools.wraps(callback)
    def wrapper(*args):
        try:
            return callback(*args)
        finally:
            close_old_connections()

    return wrapper
