"""The controller loop for one cluster: watch threads, burst coalescing, and due requeues.

Watch callbacks only note which resources need a reconcile and wake the loop; the loop hands the
noted set to the workers once per resource, however many events arrived meanwhile (a burst that
arrives while a batch is being handed out is coalesced into the next batch). Rows whose
`requeue_at` has come (refresh due, backoff over, or a worker that died mid-task) are handed out
again; a lease pushes `requeue_at` forward meanwhile, so a lost task is retried but a running one
is not doubled.

Due rows are looked for every second for ACTIVE_SECONDS after reconciles were handed out (they
write their `requeue_at` when they finish, and a backoff of a second or two must not wait);
otherwise the loop sleeps until the earliest `requeue_at` it saw (a reconcile still running holds
its lease there), or IDLE_SCAN_SECONDS at most (rows another process may have moved earlier: a
"refresh now" that failed). Idle, that is one look every half minute, not every second.
"""

from __future__ import annotations

import datetime
import functools
import logging
import threading
import time

from django.conf import settings
from django.db import close_old_connections, transaction
from django.db.models import Min

from ..kube import store, watching
from ..kube.kinds import BY_NAME, CLUSTER, LEGACY, NAMESPACED
from ..models import Cluster
from ..services import mirror, queue
from ..services.clusters import kube_for
from ..services.secrets import dockerconfig
from .handlers import Handlers, Key

log = logging.getLogger(__name__)

ACTIVE_SCAN_SECONDS = 1.0  # how late an ended backoff may be noticed while reconciles run
ACTIVE_SECONDS = 10.0  # that long after a hand-out (most reconciles finish well within it)
IDLE_SCAN_SECONDS = 30.0  # the longest sleep without a look at the rows


class ClusterController:
    def __init__(self, cluster: Cluster, stop: threading.Event) -> None:
        self.cluster = cluster
        self.stop_event = stop
        self._pending: dict[Key, None] = {}
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._handed_out_at = -float("inf")  # time.monotonic() of the last flush with keys
        kube = kube_for(cluster)
        self.handlers = Handlers(cluster, self.request, kube)
        # Reconciles in this process (the embedded default) read what the watches saw.
        # The namespaces are kept in any case: the handlers match them against selectors.
        kept = (
            (NAMESPACED.kind, CLUSTER.kind, store.SECRETS, store.SERVICE_ACCOUNTS) if queue.is_local() else ()
        )
        self.stores = {what: store.Store() for what in (*kept, store.NAMESPACES)}
        self.handlers.namespaces = self.stores[store.NAMESPACES]
        self.loops = [
            watching.WatchLoop(
                watching.resources_source(kube, kind),
                *self._filling(
                    kind.kind,
                    functools.partial(self.handlers.resources_listed, kind),
                    functools.partial(self.handlers.resource_changed, kind),
                ),
                stop,
                label=f"{cluster.name}-",
            )
            for kind in (NAMESPACED, CLUSTER, LEGACY)
        ]
        self.loops += [
            watching.WatchLoop(
                watching.managed_secrets_source(kube),
                *self._filling(store.SECRETS, self.handlers.secrets_listed, self.handlers.secret_changed),
                stop,
                label=f"{cluster.name}-",
                slim=dockerconfig.slim,  # a hash of each Secret's data, not the token itself
            ),
            # Secrets that resources take their AWS keys from (spec.awsAccess.secretRef).
            watching.WatchLoop(
                watching.secret_metadata_source(kube),
                self.handlers.credentials_listed,
                lambda obj, deleted: self.handlers.credentials_changed(obj),
                stop,
                label=f"{cluster.name}-",
            ),
            watching.WatchLoop(
                watching.namespaces_source(kube),
                *self._filling(
                    store.NAMESPACES,
                    self.handlers.namespaces_listed,
                    self.handlers.namespace_changed,
                ),
                stop,
                label=f"{cluster.name}-",
            ),
            # ServiceAccounts to give the pull Secret to (spec.serviceAccounts).
            watching.WatchLoop(
                watching.service_accounts_source(kube),
                *self._filling(
                    store.SERVICE_ACCOUNTS,
                    self.handlers.service_accounts_listed,
                    lambda obj, deleted: None if deleted else self.handlers.service_account_changed(obj),
                ),
                stop,
                label=f"{cluster.name}-",
            ),
        ]

    def _filling(self, what: str, on_list, on_event) -> tuple:
        """The watch callbacks, filling the store of `what` first (if kept) so that the reconciles
        they ask for read what they saw."""
        kept = self.stores.get(what)
        if kept is None:
            return _db(on_list), _db(on_event)

        def listed(items, listed_at):
            kept.replace(items)
            on_list(items, listed_at)

        def changed(obj, deleted):
            if kept.apply(obj, deleted):  # else a version this process's reconcile wrote: no news
                on_event(obj, deleted)

        return _db(listed), _db(changed)

    def request(self, key: Key, leased: bool = False) -> None:
        """Reconcile `key` soon. `leased`: its row's lease is written already (the due scan)."""
        with self._lock:
            self._pending[key] = self._pending.get(key, False) or leased
        self._wake.set()

    def run(self) -> None:
        """Until the stop event is set: hand out requests as soon as they come, and due rows."""
        for what, kept in self.stores.items():
            store.register(self.cluster.pk, what, kept)
        for loop in self.loops:
            loop.start()
        next_scan = 0.0
        while not self.stop_event.is_set():
            self._wake.wait(max(0.0, next_scan - time.monotonic()))
            self._wake.clear()
            if self.stop_event.is_set():
                break
            try:
                if time.monotonic() >= next_scan:
                    self._scan_due()
                    next_scan = self._next_scan()
                if self.flush():
                    next_scan = min(next_scan, time.monotonic() + ACTIVE_SCAN_SECONDS)
            except Exception:
                log.exception("controller loop error; continuing")
                next_scan = time.monotonic() + ACTIVE_SCAN_SECONDS  # e.g. the database is down: not a spin
            finally:
                close_old_connections()
        for what in self.stores:  # its watches stop: reconciles read the API server again
            store.register(self.cluster.pk, what, None)
        for loop in self.loops:
            loop.stop()

    def stop(self) -> None:
        self.stop_event.set()
        self._wake.set()

    def flush(self) -> bool:
        """Hand the pending keys out; whether there were any."""
        with self._lock:
            keys, self._pending = dict(self._pending), {}
        if not keys:
            return False
        lease = _lease_end()
        try:
            with transaction.atomic():  # one commit for the whole batch, not one per row and task
                for (kind_name, namespace, name), leased in keys.items():
                    kind = BY_NAME[kind_name]
                    if kind is not LEGACY and not leased:
                        mirror.model_for(kind).objects.filter(
                            **mirror.lookup(self.cluster, kind, namespace, name)
                        ).update(requeue_at=lease)
                    queue.enqueue(self.cluster, kind_name, namespace, name)
        except Exception:
            # The database or the broker is down (a restart): keep the batch for the next flush
            # (a key handed out twice is reconciled twice, which is harmless).
            with self._lock:
                for key, leased in keys.items():
                    self._pending.setdefault(key, leased)
            raise
        self._handed_out_at = time.monotonic()
        return True

    def _next_scan(self) -> float:
        """When to look for due rows again (a time.monotonic() value)."""
        now = time.monotonic()
        if now - self._handed_out_at < ACTIVE_SECONDS:
            return now + ACTIVE_SCAN_SECONDS
        wait = IDLE_SCAN_SECONDS
        earliest = self._earliest_requeue()
        if earliest is not None:
            wait = min(wait, (earliest - datetime.datetime.now(datetime.UTC)).total_seconds())
        return now + max(wait, 0.0)

    def _scan_due(self) -> None:
        """Request the due rows, their leases written in one go."""
        now = datetime.datetime.now(datetime.UTC)
        for kind in (NAMESPACED, CLUSTER):
            # Plain tuples, and no sort (the models' default ordering).
            due = mirror.model_for(kind).objects.filter(cluster=self.cluster, requeue_at__lte=now).order_by()
            if kind.namespaced:
                keys = [(kind.kind, ns, name) for ns, name in due.values_list("namespace", "name")]
            else:
                keys = [(kind.kind, "", name) for name in due.values_list("name", flat=True)]
            if keys:  # one write leases them all (a refresh makes a thousand due at once)
                due.update(requeue_at=_lease_end())
            for key in keys:
                self.request(key, leased=True)

    def _earliest_requeue(self) -> datetime.datetime | None:
        """The earliest `requeue_at` (a running reconcile's lease counts); None: none. One already
        past counts too: it came due after the scan read the clock, and is looked for at once."""
        soonest = [
            mirror.model_for(kind)
            .objects.filter(cluster=self.cluster)
            .aggregate(soonest=Min("requeue_at"))["soonest"]
            for kind in (NAMESPACED, CLUSTER)
        ]
        return min((when for when in soonest if when is not None), default=None)


def _lease_end() -> datetime.datetime:
    """Until when a handed-out reconcile holds its row (see the module's docstring)."""
    return datetime.datetime.now(datetime.UTC) + datetime.timedelta(
        seconds=settings.ECRCONTROL_RECONCILE_LEASE_SECONDS
    )


def _db(callback):
    """Watch callbacks run in their own threads: give each call fresh database connections."""

    @functools.wraps(callback)
    def wrapper(*args):
        try:
            return callback(*args)
        finally:
            close_old_connections()

    return wrapper
