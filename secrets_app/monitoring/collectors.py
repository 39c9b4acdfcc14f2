"""Gauges read from the database at scrape time: one answer for the whole deployment, whichever
replica is scraped, and nothing to keep in sync between processes."""

from __future__ import annotations

import datetime
import logging

from django.db import close_old_connections
from django.db.models import Count, Min
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from ..choices import SecretState
from ..models import Cluster, ManagedSecret

log = logging.getLogger(__name__)


class DatabaseCollector(Collector):
    def collect(self):
        try:
            yield from self._secrets()
            yield from self._queue()
        except Exception:  # a scrape must not fail because the database blinked
            log.exception("metrics: cannot read the database")
        finally:
            close_old_connections()

    def _secrets(self):
        by_state = GaugeMetricFamily(
            "ecrcontrol_managed_secrets",
            "Docker Secrets ecrcontrol manages, by cluster and state (pending, synced, failed, conflict).",
            labels=["cluster", "state"],
        )
        soonest = GaugeMetricFamily(
            "ecrcontrol_secret_soonest_expiry_seconds",
            "Seconds until the soonest expiry among a cluster's synced Secrets (negative: already expired).",
            labels=["cluster"],
        )
        names = dict(Cluster.objects.values_list("pk", "name"))
        counts = {(pk, state): 0 for pk in names for state in SecretState.values}
        for row in ManagedSecret.objects.values("cluster_id", "state").annotate(n=Count("id")):
            counts[(row["cluster_id"], row["state"])] = row["n"]
        for (pk, state), n in sorted(counts.items()):
            by_state.add_metric([names.get(pk, str(pk)), state], n)
        now = datetime.datetime.now(datetime.UTC)
        expiries = (
            ManagedSecret.objects.filter(state=SecretState.SYNCED, expires_at__isnull=False)
            .values("cluster_id")
            .annotate(soonest=Min("expires_at"))
        )
        for row in expiries:
            soonest.add_metric([names.get(row["cluster_id"], "")], (row["soonest"] - now).total_seconds())
        yield by_state
        yield soonest

    def _queue(self):
        from django_q.brokers import get_broker

        broker = get_broker()
        depth = GaugeMetricFamily(
            "ecrcontrol_queue_depth", "Tasks (reconciles, refreshes) waiting in the django-q2 queue."
        )
        depth.add_metric([], broker.queue_size())
        yield depth
        oldest = oldest_enqueued(broker)
        age = GaugeMetricFamily(
            "ecrcontrol_queue_oldest_age_seconds",
            "Age of the oldest task waiting in the queue (0 when it is empty).",
        )
        now = datetime.datetime.now(datetime.UTC)
        age.add_metric([], max(0.0, (now - oldest).total_seconds()) if oldest else 0.0)
        yield age


def oldest_enqueued(broker) -> datetime.datetime | None:
    """When the oldest waiting task was enqueued: the ORM broker's `lock` of an unclaimed row is
    its enqueue time; with Redis, the head of the list carries django-q2's `started` stamp."""
    from django.utils import timezone
    from django_q.brokers.orm import ORM
    from django_q.conf import Conf
    from django_q.models import OrmQ
    from django_q.signing import SignedPackage

    if isinstance(broker, ORM):
        waiting = OrmQ.objects.using(Conf.ORM).filter(key=broker.list_key, lock__lte=timezone.now())
        return waiting.aggregate(oldest=Min("lock"))["oldest"]
    if Conf.REDIS:
        head = broker.connection.lindex(broker.list_key, 0)
        return SignedPackage.loads(head)["started"] if head else None
    return None
