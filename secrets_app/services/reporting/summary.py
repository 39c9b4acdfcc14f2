"""What the dashboard and the REST API summary show: per cluster counts, and what is failing.

A constant number of queries, whatever the number of resources: one aggregate per model.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from typing import NamedTuple

from django.db.models import CharField, Count, Min, Q, QuerySet, Value

from ...choices import ResourceKind, SecretState
from ...models import Cluster, ClusterPullSecret, ManagedSecret, NamespacedPullSecret

RESOURCE_STATES = {
    "ready": Q(ready=True),
    "failing": Q(ready=False),
    "pending": Q(ready__isnull=True),
}


@dataclass
class ClusterSummary:
    cluster: Cluster
    resources: dict[str, int] = field(default_factory=lambda: dict.fromkeys((*RESOURCE_STATES, "total"), 0))
    secrets: dict[str, int] = field(default_factory=lambda: dict.fromkeys((*SecretState.values, "total"), 0))
    soonest_expiry: datetime.datetime | None = None
    next_refresh: datetime.datetime | None = None


def _earliest(*values):
    present = [v for v in values if v is not None]
    return min(present) if present else None


def clusters() -> list[ClusterSummary]:
    """One summary per cluster, in name order (4 queries in all)."""
    summaries = {c.pk: ClusterSummary(c) for c in Cluster.objects.all()}
    resource_aggregates = {
        **{f"n_{state}": Count("pk", filter=q) for state, q in RESOURCE_STATES.items()},
        "n_total": Count("pk"),
        "soonest_expiry": Min("expires_at"),
        "next_refresh": Min("next_refresh"),
    }
    for model in (NamespacedPullSecret, ClusterPullSecret):
        for row in model.objects.values("cluster").annotate(**resource_aggregates).order_by():
            summary = summaries.get(row["cluster"])
            if summary is None:
                continue
            for key in summary.resources:
                summary.resources[key] += row[f"n_{key}"]
            summary.soonest_expiry = _earliest(summary.soonest_expiry, row["soonest_expiry"])
            summary.next_refresh = _earliest(summary.next_refresh, row["next_refresh"])
    secret_aggregates = {
        **{f"n_{state}": Count("pk", filter=Q(state=state)) for state in SecretState.values},
        "n_total": Count("pk"),
        "soonest_expiry": Min("expires_at", filter=Q(state=SecretState.SYNCED)),
    }
    for row in ManagedSecret.objects.values("cluster").annotate(**secret_aggregates).order_by():
        summary = summaries.get(row["cluster"])
        if summary is None:
            continue
        for key in summary.secrets:
            summary.secrets[key] = row[f"n_{key}"]
        summary.soonest_expiry = _earliest(summary.soonest_expiry, row["soonest_expiry"])
    return list(summaries.values())


PROBLEM_COLUMNS = ("id", "kind", "cluster_name", "namespace", "name", "reason", "message", "since")


class Problem(NamedTuple):
    id: int
    kind: str
    cluster_name: str
    namespace: str
    name: str
    reason: str
    message: str
    since: datetime.datetime | None


def failing() -> QuerySet:
    """Every failing resource of both kinds, longest failing first, as `values_list` rows in
    PROBLEM_COLUMNS order (one query per page; wrap a row in `Problem(*row)`)."""
    columns = ("id", "kind", "cluster__name", "namespace", "name", "reason", "message", "transition_time")
    namespaced = (
        NamespacedPullSecret.objects.filter(ready=False)
        .annotate(kind=Value(ResourceKind.NAMESPACED.value, CharField()))
        .values_list(*columns)
        .order_by()
    )
    cluster = (
        ClusterPullSecret.objects.filter(ready=False)
        .annotate(kind=Value(ResourceKind.CLUSTER.value, CharField()), namespace=Value("", CharField()))
        .values_list(*columns)
        .order_by()
    )
    return namespaced.union(cluster, all=True).order_by("transition_time", "name")
