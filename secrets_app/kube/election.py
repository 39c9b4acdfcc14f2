"""A coordination.k8s.io/v1 Lease lock with client-go's leader-election semantics.

The Lease record holds `holderIdentity`, `leaseDurationSeconds`, `acquireTime`, `renewTime` and
`leaseTransitions`. Every write is an update with the resourceVersion that was read, so two
candidates can never both win the same round: the loser gets 409 Conflict. A candidate judges
expiry by its own clock from when it last saw the record change (client-go's `observedTime`), never
by comparing `renewTime` with its clock, so clock skew between replicas does not matter.
"""

from __future__ import annotations

import datetime
import logging
import time
from dataclasses import dataclass

import urllib3
from kubernetes import client
from kubernetes.client.rest import ApiException

from . import connection

log = logging.getLogger(__name__)

REQUEST_TIMEOUT = 5.0  # seconds for one call; a round is given less near the renew deadline


@dataclass(frozen=True)
class Record:
    holder: str
    lease_seconds: int
    transitions: int
    resource_version: str


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


class LeaseLock:
    """One Lease object in one namespace; `try_acquire_or_renew()` is one client-go round."""

    def __init__(self, namespace: str, name: str, identity: str, lease_seconds: int) -> None:
        self.namespace, self.name = namespace, name
        self.identity, self.lease_seconds = identity, lease_seconds
        self.api = client.CoordinationV1Api(connection.api_client())
        self.observed: Record | None = None
        self.observed_at = 0.0  # time.monotonic() when `observed` last changed
        self.timeout = REQUEST_TIMEOUT

    def _read(self) -> client.V1Lease | None:
        try:
            return self.api.read_namespaced_lease(self.name, self.namespace, _request_timeout=self.timeout)
        except ApiException as exc:
            if exc.status == 404:
                return None
            raise

    def _observe(self, lease: client.V1Lease) -> Record:
        spec = lease.spec
        record = Record(
            holder=spec.holder_identity or "",
            lease_seconds=spec.lease_duration_seconds or self.lease_seconds,
            transitions=spec.lease_transitions or 0,
            resource_version=lease.metadata.resource_version,
        )
        if record != self.observed:
            self.observed, self.observed_at = record, time.monotonic()
        return record

    def try_acquire_or_renew(self, timeout: float = REQUEST_TIMEOUT) -> bool:
        """True if this candidate holds the lease after the call. Raises nothing: an API server
        that cannot be reached or a lost race is simply "not leading this round". Each of the
        round's (at most two) calls gets `timeout` seconds."""
        self.timeout = max(0.2, timeout)
        try:
            return self._round()
        except ApiException as exc:
            if exc.status != 409:  # 409: another candidate updated it first
                log.warning("lease %s/%s: %s %s", self.namespace, self.name, exc.status, exc.reason)
            return False
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            log.warning("lease %s/%s: API server unreachable: %s", self.namespace, self.name, exc)
            return False

    def _round(self) -> bool:
        now = _now()
        lease = self._read()
        if lease is None:
            body = client.V1Lease(
                metadata=client.V1ObjectMeta(name=self.name, namespace=self.namespace),
                spec=self._spec(now, acquire_time=now, transitions=0),
            )
            created = self.api.create_namespaced_lease(self.namespace, body, _request_timeout=self.timeout)
            self._observe(created)
            return True
        record = self._observe(lease)
        held_by_other = record.holder and record.holder != self.identity
        if held_by_other and time.monotonic() < self.observed_at + record.lease_seconds:
            return False
        if record.holder == self.identity:
            spec = self._spec(now, acquire_time=lease.spec.acquire_time, transitions=record.transitions)
        else:  # free, or the holder let it expire: take it over
            spec = self._spec(now, acquire_time=now, transitions=record.transitions + 1)
        lease.spec = spec  # metadata keeps the resourceVersion read: optimistic concurrency
        updated = self.api.replace_namespaced_lease(
            self.name, self.namespace, lease, _request_timeout=self.timeout
        )
        self._observe(updated)
        return True

    def _spec(self, now: datetime.datetime, acquire_time, transitions: int) -> client.V1LeaseSpec:
        return client.V1LeaseSpec(
            holder_identity=self.identity,
            lease_duration_seconds=self.lease_seconds,
            acquire_time=acquire_time,
            renew_time=now,
            lease_transitions=transitions,
        )

    def release(self) -> None:
        """Give the lease up at a clean shutdown, so a standby takes over at once (client-go's
        ReleaseOnCancel): empty holder, one-second duration. Only if we still hold it."""
        try:
            lease = self._read()
            if lease is None or lease.spec.holder_identity != self.identity:
                return
            lease.spec.holder_identity = ""
            lease.spec.lease_duration_seconds = 1
            lease.spec.renew_time = _now()
            self.api.replace_namespaced_lease(self.name, self.namespace, lease, _request_timeout=self.timeout)
        except (ApiException, urllib3.exceptions.HTTPError, OSError) as exc:
            log.warning("lease %s/%s: could not release: %s", self.namespace, self.name, exc)

    def holder(self) -> str:
        """The holder last seen ("" if none or not read yet)."""
        return self.observed.holder if self.observed else ""


__all__ = ["LeaseLock"]
