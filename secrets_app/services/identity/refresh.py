"""Refresh now: a new ECR token for an identity, and every Secret that uses it rewritten at once.

Asked for from the dashboard's button and the REST API. At most one manual refresh per identity
and region per `ECRCONTROL_MANUAL_REFRESH_SECONDS`, shared by every caller, so a click storm cannot
exhaust the ECR quota. The work runs in a worker (`tasks.refresh`). An identity is named as the
mirror rows know it, without anything secret (`identity_of`): the access key ID for keys in the
resource, else the kind and the Secret or ServiceAccount it reads; a role adds "as <role ARN>".
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from django.conf import settings
from django.db import IntegrityError, transaction
from django_q.tasks import async_task

from ...choices import IdentityKind
from ...models import ClusterPullSecret, IdentityRefresh, NamespacedPullSecret, PullSecretResource
from ..secrets.dockerconfig import rfc3339

TASK = "secrets_app.tasks.refresh"
MSG_TOO_SOON = (
    "{key} in {region} was refreshed by hand at {last}; the next manual refresh is allowed "
    "at {allowed} (one per {interval:.0f} s per AWS identity and region, to spare the ECR quota)."
)
MSG_NO_IDENTITY = "{row} has no AWS identity and region yet: fix its spec.awsAccess first."


class RefreshRefused(Exception):
    """The refresh was not started; the message says why and, for `TooSoon`, when it may be."""


class TooSoon(RefreshRefused):
    def __init__(self, message: str, allowed_at: datetime.datetime) -> None:
        super().__init__(message)
        self.allowed_at = allowed_at


@dataclass(frozen=True)
class Identity:
    access_key_id: str  # the identity's name (`identity_of`): the access key ID for inline keys
    region: str


def identity_of(row: PullSecretResource) -> Identity:
    """The row's AWS identity, named without anything secret."""
    if row.identity_kind == IdentityKind.INLINE:
        name = row.access_key_id
    else:
        name = " ".join(part for part in (row.identity_kind, row.credentials_ref) if part)
    if name and row.role_arn:
        name = f"{name} as {row.role_arn}"
    return Identity(name, row.region)


def _interval() -> datetime.timedelta:
    return datetime.timedelta(seconds=settings.ECRCONTROL_MANUAL_REFRESH_SECONDS)


def request(row: PullSecretResource) -> Identity:
    """Start a refresh of the row's identity, or raise `RefreshRefused`/`TooSoon`."""
    identity = identity_of(row)
    if not identity.access_key_id or not identity.region:
        raise RefreshRefused(MSG_NO_IDENTITY.format(row=row))
    _claim(identity)
    async_task(
        TASK,
        identity.access_key_id,
        identity.region,
        task_name=f"refresh {identity.access_key_id} {identity.region}",
        group="refresh",
        save=False,
    )
    return identity


def request_many(rows: Iterable[PullSecretResource]) -> tuple[list[Identity], list[RefreshRefused]]:
    """One refresh per distinct identity among `rows`: (started, refused)."""
    started, refused, seen = [], [], set()
    for row in rows:
        if identity_of(row) in seen:
            continue
        seen.add(identity_of(row))
        try:
            started.append(request(row))
        except RefreshRefused as exc:
            refused.append(exc)
    return started, refused


def _claim(identity: Identity) -> None:
    """Record the request, or raise TooSoon if the last one for this identity is too recent."""
    now = datetime.datetime.now(datetime.UTC)
    key = {"access_key_id": identity.access_key_id, "region": identity.region}
    with transaction.atomic():
        if IdentityRefresh.objects.filter(**key, requested_at__lte=now - _interval()).update(
            requested_at=now
        ):
            return
        last = IdentityRefresh.objects.filter(**key).values_list("requested_at", flat=True).first()
        if last is None:
            try:
                with transaction.atomic():
                    IdentityRefresh.objects.create(**key, requested_at=now)
                return
            except IntegrityError:  # someone else claimed it a moment ago
                last = IdentityRefresh.objects.get(**key).requested_at
    allowed = last + _interval()
    raise TooSoon(
        MSG_TOO_SOON.format(
            key=identity.access_key_id,
            region=identity.region,
            last=rfc3339(last),
            allowed=rfc3339(allowed),
            interval=_interval().total_seconds(),
        ),
        allowed,
    )


def next_allowed(row: PullSecretResource) -> datetime.datetime | None:
    """When a manual refresh of the row's identity is allowed again; None if it is allowed now."""
    identity = identity_of(row)
    last = (
        IdentityRefresh.objects.filter(access_key_id=identity.access_key_id, region=identity.region)
        .values_list("requested_at", flat=True)
        .first()
    )
    if last is None or last + _interval() <= datetime.datetime.now(datetime.UTC):
        return None
    return last + _interval()


def resources_of(identity: Identity) -> Iterator[PullSecretResource]:
    """Every mirrored resource, in every cluster, that uses the identity."""
    for model in (NamespacedPullSecret, ClusterPullSecret):
        for row in model.objects.filter(region=identity.region).select_related("cluster"):
            if identity_of(row) == identity:
                yield row
