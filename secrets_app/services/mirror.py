"""Cluster to database: upsert and delete mirror rows from custom resource bodies.

Rows are written with QuerySet.update/create so that no save signal can push them back.
"""

from __future__ import annotations

import datetime

from django.db import IntegrityError, transaction

from ..kube.kinds import CLUSTER, NAMESPACED, Kind
from ..models import Cluster, ClusterPullSecret, ManagedSecret, NamespacedPullSecret, PullSecretResource
from .identity.access import summary
from .identity.credentials import decode_key

MODELS: dict[str, type[PullSecretResource]] = {
    NAMESPACED.kind: NamespacedPullSecret,
    CLUSTER.kind: ClusterPullSecret,
}


def model_for(kind: Kind) -> type[PullSecretResource]:
    return MODELS[kind.kind]


def kind_of(row: PullSecretResource) -> Kind:
    return CLUSTER if isinstance(row, ClusterPullSecret) else NAMESPACED


def lookup(cluster: Cluster, kind: Kind, namespace: str, name: str) -> dict:
    fields = {"cluster": cluster, "name": name}
    if kind.namespaced:
        fields["namespace"] = namespace
    return fields


def spec_fields(kind: Kind, body: dict) -> dict:
    """Mirror columns from a body. The secret access key is never among them."""
    meta, spec = body["metadata"], body.get("spec") or {}
    access = spec.get("awsAccess") or {}
    identity = summary(body)
    fields = {
        "uid": meta["uid"],
        "resource_version": meta["resourceVersion"],
        "generation": meta.get("generation") or 0,
        "secret_name": spec.get("secretName") or "",
        "access_key_id": decode_key(access.get("accessKeyId") or ""),
        "region": access.get("region") or "",
        "identity_kind": identity["identity_kind"],
        "role_arn": identity["role_arn"],
        "aws_access": identity["aws_access"],
        "credentials_ref": identity["reference"],
        "service_accounts": _strings(spec.get("serviceAccounts")),
        "registries": _registries(spec.get("registries")),
        "synced_at": datetime.datetime.now(datetime.UTC),
    }
    if not kind.namespaced:
        fields["namespaces"] = list(spec.get("namespaces") or [])
        selector = spec.get("namespaceSelector")
        fields["namespace_selector"] = selector if isinstance(selector, dict) else None
    return fields


def _strings(value) -> list[str]:
    """A list of names as applied (the CRD and the webhook say what is wrong with it, not the mirror)."""
    return [item for item in value if isinstance(item, str)] if isinstance(value, list) else []


def _registries(value) -> list[dict]:
    """spec.registries as applied: {"accountId", "region"} items, the account ID as text (the API's
    registryAccount filter matches it quoted)."""
    if not isinstance(value, list):
        return []
    return [
        {"accountId": str(item.get("accountId", "")), "region": str(item.get("region", ""))}
        for item in value
        if isinstance(item, dict)
    ]


UNREAD = object()


def one(queryset):
    """The row a lookup by key matches, or None. Unsorted: `.first()` would sort by the model's
    ordering, which for the mirror models is a join with the Cluster table on every lookup."""
    return next(iter(queryset.order_by()[:1]), None)


def rows(cluster: Cluster, kind: Kind, brief: bool = False):
    """Every row of `kind` in `cluster` (unsorted). `brief`: only the fields that tell whether a
    listed object is news (a list of 10,000 then loads a fraction of each row)."""
    found = model_for(kind).objects.filter(cluster=cluster).order_by()
    if brief:
        keys = ("namespace", "name") if kind.namespaced else ("name",)
        found = found.only(*keys, "uid", "resource_version", "generation", "observed_generation")
    return found


def upsert(cluster: Cluster, kind: Kind, body: dict, row=UNREAD) -> tuple[PullSecretResource, bool]:
    """Create or update the row; returns (row, created). `row`: the row (or None) as the caller
    has just read it, which spares reading it again."""
    meta = body["metadata"]
    model = model_for(kind)
    key = lookup(cluster, kind, meta.get("namespace", ""), meta["name"])
    fields = spec_fields(kind, body)
    rows = model.objects.filter(**key)
    if row is UNREAD:
        row = one(rows)
    if row is not None and row.uid and row.uid != fields["uid"]:
        # Deleted and re-created under the same name: a new object, forget the old one's state.
        forget(cluster, kind, key.get("namespace", ""), meta["name"])
        row = None
    if row is not None and rows.filter(pk=row.pk).update(**fields):
        for name, value in fields.items():
            setattr(row, name, value)
        return row, False
    try:
        with transaction.atomic():
            return model.objects.create(**key, **fields), True
    except IntegrityError:  # created a moment ago by another process (the watch, or a writer's result)
        rows.update(**fields)
        return rows.get(), False


def failures(rows) -> int:
    """The consecutive failures recorded on the row `rows` matches (0 without a row)."""
    return one(rows.values_list("failures", flat=True)) or 0


def note_version(row: PullSecretResource, resource_version: str) -> None:
    """A change that left the spec alone: only the resourceVersion (for optimistic concurrency)."""
    type(row).objects.filter(pk=row.pk).update(
        resource_version=resource_version, synced_at=datetime.datetime.now(datetime.UTC)
    )


def forget(cluster: Cluster, kind: Kind, namespace: str, name: str) -> None:
    """Drop the resource's row and its Secrets' rows (matched by name too: the uid may be unknown)."""
    rows = model_for(kind).objects.filter(**lookup(cluster, kind, namespace, name))
    with transaction.atomic():  # one commit (a mass delete hands the watch thousands of these)
        uids = [uid for uid in rows.values_list("uid", flat=True) if uid]
        ManagedSecret.objects.filter(cluster=cluster, owner_uid__in=uids).delete()
        ManagedSecret.objects.filter(
            cluster=cluster, owner_kind=kind.kind, owner_namespace=namespace, owner_name=name
        ).delete()
        rows.delete()


def forget_missing(
    cluster: Cluster, kind: Kind, present_uids: set[str], listed_at: datetime.datetime
) -> None:
    """After a full list asked for at `listed_at`: drop rows of objects that no longer exist in the
    cluster. A row synced since then (an object the writer created after the list's snapshot) is
    kept: the watch that follows the list reports it, or its deletion."""
    stale = (
        model_for(kind)
        .objects.filter(cluster=cluster)
        .exclude(uid__in=present_uids)
        .exclude(uid="")
        .exclude(synced_at__gte=listed_at)
    )
    ManagedSecret.objects.filter(cluster=cluster, owner_uid__in=stale.values("uid")).delete()
    stale.delete()
