"""A coordination.k8s.io/v1 Lease lock with client-go's leader-election semantics.

The Lease record holds `holderIdentity`, `leaseDurationSeconds`, `acquireTime`, `renewTime` and
`leaseTransitions`. Every write is an update with the resourceVersion that was read, so two
candidates can never both win the same round: the loser gets 409 Conflict. A candidate judges
expiry by its own clock from when it last saw the record change (client-go's `observedTime`), never
by comparing `renewTime` with its clock, so clock skew between replicas does not matter.
"""

from __future__ import annotations

import datetime
import json
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


def _now() -> str:
    """A MicroTime as the API server writes it."""
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class LeaseLock:
    """One Lease object in one namespace; `try_acquire_or_renew()` is one client-go round.

    The Lease travels as the API server's JSON (no client models: a renewal every two seconds is
    this role's steady idle work, and parsing it into models cost four times as much CPU)."""

    def __init__(self, namespace: str, name: str, identity: str, lease_seconds: int) -> None:
        self.namespace, self.name = namespace, name
        self.identity, self.lease_seconds = identity, lease_seconds
        self.api = client.CoordinationV1Api(connection.api_client())
        self.observed: Record | None = None
        self.observed_at = 0.0  # time.monotonic() when `observed` last changed
        self.timeout = REQUEST_TIMEOUT
        self._held: dict | None = None  # the Lease as our last successful write left it

    def _call(self, method, *args) -> dict:
        response = method(*args, _request_timeout=self.timeout, _preload_content=False)
        return json.loads(response.data)

    def _read(self) -> dict | None:
        try:
            return self._call(self.api.read_namespaced_lease, self.name, self.namespace)
        except ApiException as exc:
            if exc.status == 404:
                return None
            raise

    def _write(self, lease: dict) -> dict:
        """Update with the resourceVersion in `lease` (optimistic concurrency)."""
        return self._call(self.api.replace_namespaced_lease, self.name, self.namespace, lease)

    def _observe(self, lease: dict) -> Record:
        spec = lease.get("spec") or {}
        record = Record(
            holder=spec.get("holderIdentity") or "",
            lease_seconds=spec.get("leaseDurationSeconds") or self.lease_seconds,
            transitions=spec.get("leaseTransitions") or 0,
            resource_version=lease["metadata"]["resourceVersion"],
        )
        if record != self.observed:
            self.observed, self.observed_at = record, time.monotonic()
        return record

    def try_acquire_or_renew(self, timeout: float = REQUEST_TIMEOUT) -> bool:
        """True if this candidate holds the lease after the call. Raises nothing: an API server
        that cannot be reached or a lost race is simply "not leading this round". Each of the
        round's (at most three) calls gets `timeout` seconds."""
        self.timeout = max(0.2, timeout)
        try:
            return self._renew_held() or self._round()
        except ApiException as exc:
            if exc.status != 409:  # 409: another candidate updated it first
                log.warning("lease %s/%s: %s %s", self.namespace, self.name, exc.status, exc.reason)
            return False
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            log.warning("lease %s/%s: API server unreachable: %s", self.namespace, self.name, exc)
            return False

    def _renew_held(self) -> bool:
        """client-go's fast path: the leader renews the Lease as its last write left it, without
        reading it first; anything unexpected (someone else wrote it: 409) falls back to a round."""
        held, self._held = self._held, None
        if held is None or time.monotonic() >= self.observed_at + self.lease_seconds:
            return False
        held["spec"]["renewTime"] = _now()
        try:
            self._held = self._write(held)
        except ApiException as exc:
            if exc.status != 409:
                raise
            return False
        self._observe(self._held)
        return True

    def _round(self) -> bool:
        now = _now()
        lease = self._read()
        if lease is None:
            body = {
                "apiVersion": "coordination.k8s.io/v1",
                "kind": "Lease",
                "metadata": {"name": self.name, "namespace": self.namespace},
                "spec": self._spec(now, acquire_time=now, transitions=0),
            }
            self._held = self._call(self.api.create_namespaced_lease, self.namespace, body)
            self._observe(self._held)
            return True
        record = self._observe(lease)
        held_by_other = record.holder and record.holder != self.identity
        if held_by_other and time.monotonic() < self.observed_at + record.lease_seconds:
            return False
        if record.holder == self.identity:
            acquired = (lease.get("spec") or {}).get("acquireTime") or now
            spec = self._spec(now, acquire_time=acquired, transitions=record.transitions)
        else:  # free, or the holder let it expire: take it over
            spec = self._spec(now, acquire_time=now, transitions=record.transitions + 1)
        lease["spec"] = spec  # metadata keeps the resourceVersion read: optimistic concurrency
        self._held = self._write(lease)
        self._observe(self._held)
        return True

    def _spec(self, now: str, acquire_time: str, transitions: int) -> dict:
        return {
            "holderIdentity": self.identity,
            "leaseDurationSeconds": self.lease_seconds,
            "acquireTime": acquire_time,
            "renewTime": now,
            "leaseTransitions": transitions,
        }

    def release(self) -> None:
        """Give the lease up at a clean shutdown, so a standby takes over at once (client-go's
        ReleaseOnCancel): empty holder, one-second duration. Only if we still hold it."""
        self._held = None
        try:
            lease = self._read()
            if lease is None or (lease.get("spec") or {}).get("holderIdentity") != self.identity:
                return
            lease["spec"].update(holderIdentity="", leaseDurationSeconds=1, renewTime=_now())
            self._write(lease)
        except (ApiException, urllib3.exceptions.HTTPError, OSError) as exc:
            log.warning("lease %s/%s: could not release: %s", self.namespace, self.name, exc)

    def holder(self) -> str:
        """The holder last seen ("" if none or not read yet)."""
        return self.observed.holder if self.observed else ""


__all__ = ["LeaseLock"]
