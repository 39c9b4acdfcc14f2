"""The recent Kubernetes Events of a custom resource, read from its cluster (for its admin page).

A cluster that cannot be reached gives an error to show, not an exception: the rest of the page
comes from the mirror rows and still works.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field

from ...kube.errors import KubeError
from ...models import PullSecretResource
from ..clusters import kube_for

MSG_UNREACHABLE = "Events of {name} could not be read from cluster {cluster}: {reason}"
EVENTS_NAMESPACE = "default"  # where the controller records Events of cluster-scoped resources


@dataclass(frozen=True)
class Event:
    type: str
    reason: str
    message: str
    count: int
    last_seen: datetime.datetime | None


@dataclass
class Events:
    items: list[Event] = field(default_factory=list)
    error: str = ""


def _time(value: str | None) -> datetime.datetime | None:
    if not value:
        return None
    try:
        return datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def recent(row: PullSecretResource, limit: int = 20) -> Events:
    """The newest `limit` Events about the row's object, or the error that kept us from reading them."""
    if not row.uid:
        return Events()
    namespace = getattr(row, "namespace", "") or EVENTS_NAMESPACE
    try:
        found = kube_for(row.cluster).list_events(namespace, row.uid, limit=limit)
    except KubeError as exc:
        return Events(error=MSG_UNREACHABLE.format(name=row, cluster=row.cluster, reason=exc.message))
    return Events(
        items=[
            Event(
                type=e.get("type") or "",
                reason=e.get("reason") or "",
                message=e.get("message") or "",
                count=e.get("count") or 1,
                last_seen=_time(e.get("lastTimestamp") or e.get("eventTime")),
            )
            for e in found
        ]
    )
