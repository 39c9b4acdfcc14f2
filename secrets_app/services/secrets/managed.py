"""The Secrets a pull secret manages, per namespace, as the mirror knows them.

Shown by the dashboard's resource page and in the REST API's `status.namespaces`. For a list of
resources, `secrets_of` loads every row's Secrets in one query.
"""

from __future__ import annotations

from collections.abc import Iterable

from ...models import ClusterPullSecret, ManagedSecret, PullSecretResource

Found = dict[tuple[int, str], dict[str, ManagedSecret]]


def targets(row: PullSecretResource) -> list[str]:
    """The namespaces the resource's spec asks for a Secret in."""
    return list(row.namespaces) if isinstance(row, ClusterPullSecret) else [row.namespace]


def secrets_of(rows: Iterable[PullSecretResource]) -> Found:
    """The Secret rows of every resource in `rows`, by (cluster id, owner uid), then namespace: one query."""
    rows = [row for row in rows if row.uid]
    found: Found = {}
    if not rows:
        return found
    uids = {row.uid for row in rows}
    for secret in ManagedSecret.objects.filter(owner_uid__in=uids).order_by("namespace", "pk"):
        found.setdefault((secret.cluster_id, secret.owner_uid), {})[secret.namespace] = secret
    return found


def by_namespace(row: PullSecretResource, found: Found) -> list[tuple[str, ManagedSecret | None]]:
    """Each namespace the resource manages a Secret in, with that Secret's row (None: not yet), then
    the Secrets of namespaces no longer listed, until they are removed."""
    rows = dict(found.get((row.cluster_id, row.uid), {}))
    listed = [(ns, rows.pop(ns, None)) for ns in targets(row)]
    return listed + sorted(rows.items())


def secrets_by_namespace(row: PullSecretResource) -> list[tuple[str, ManagedSecret | None]]:
    """`by_namespace` for one resource."""
    return by_namespace(row, secrets_of([row]))
