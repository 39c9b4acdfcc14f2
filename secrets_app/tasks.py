"""django-q2 task entry points. Thin: each calls a service."""

from __future__ import annotations

import datetime
import logging
import time

from .kube.errors import KubeError
from .kube.kinds import BY_NAME
from .models import Cluster
from .monitoring.metrics import RECONCILE_DURATION, RECONCILES
from .services import mirror, schedule
from .services.identity import refresh as refreshes
from .services.reconcile import reconcile as reconcile_resource

log = logging.getLogger(__name__)


def reconcile(
    cluster_id: int, kind: str, namespace: str, name: str, token_since: datetime.datetime | None = None
) -> None:
    """The broker's task (its arguments are stored, so it names the cluster by id)."""
    cluster = mirror.one(Cluster.objects.filter(pk=cluster_id))
    if cluster is not None:
        reconcile_in(cluster, kind, namespace, name, token_since)


def reconcile_in(
    cluster: Cluster, kind: str, namespace: str, name: str, token_since: datetime.datetime | None = None
) -> None:
    """Reconcile one resource of `cluster` (the worker threads of the controller's process are
    handed the controller's own Cluster row: no query for it)."""
    started, result = time.monotonic(), "error"
    try:
        _reconcile(cluster, kind, namespace, name, token_since)
        result = "ok"
    except _Retry:
        result = "retry"
    finally:
        RECONCILES.labels(kind=kind, result=result).inc()
        RECONCILE_DURATION.labels(kind=kind).observe(time.monotonic() - started)


class _Retry(Exception):
    """The reconcile was put back with a backoff (for the metrics' `result`)."""


def _reconcile(
    cluster: Cluster, kind: str, namespace: str, name: str, token_since: datetime.datetime | None
) -> None:
    try:
        reconcile_resource(cluster, kind, namespace, name, token_since=token_since)
    except KubeError as exc:
        # The API server failed us midway: nothing half-done stays wrong, since the next run
        # re-reads everything. Come back after a backoff.
        if kind not in mirror.MODELS:
            raise
        rows = mirror.model_for(BY_NAME[kind]).objects.filter(
            **mirror.lookup(cluster, BY_NAME[kind], namespace, name)
        )
        failures = mirror.failures(rows) + 1
        rows.update(
            failures=failures, requeue_at=datetime.datetime.now(datetime.UTC) + schedule.backoff(failures)
        )
        log.warning("reconcile %s %s/%s failed (%s); retrying with backoff", kind, namespace, name, exc)
        raise _Retry() from None


def refresh(access_key_id: str, region: str) -> None:
    """Refresh now: one new token for the identity, then every resource that uses it."""
    since = datetime.datetime.now(datetime.UTC)
    for row in refreshes.resources_of(refreshes.Identity(access_key_id, region)):
        kind = mirror.kind_of(row)
        reconcile(row.cluster_id, kind.kind, getattr(row, "namespace", ""), row.name, token_since=since)
