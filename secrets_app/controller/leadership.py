"""Leader election for the controller role: only the holder of the Lease watches and enqueues.

client-go's loop: a candidate tries to acquire the Lease every `retry` seconds; the leader renews
it every `retry` seconds and, if no renewal has succeeded for `renew_deadline` seconds, stops
leading at once (before `lease` seconds pass and a standby may take over), then becomes a
candidate again. A clean shutdown releases the Lease so that a standby takes over without waiting.
"""

from __future__ import annotations

import logging
import os
import random
import socket
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings

from ..kube.election import LeaseLock
from ..monitoring.metrics import LEADER_TRANSITIONS, leader_gauge

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Timing:
    lease: float = 15.0
    renew_deadline: float = 10.0
    retry: float = 2.0


def default_identity() -> str:
    """The pod's name (its hostname) plus a random suffix, as client-go's examples do: a
    restarted container is a new candidate, not the old holder coming back."""
    return f"{socket.gethostname()}_{uuid.uuid4().hex[:8]}"


class Elector(threading.Thread):
    """Runs the election; calls `on_started()` when it starts leading and `on_stopped()` the
    moment it stops (lost renewal or shutdown). `leading` and `known` are for health checks."""

    def __init__(
        self,
        lock: LeaseLock,
        timing: Timing,
        on_started: Callable[[], None],
        on_stopped: Callable[[], None],
        stop: threading.Event,
    ) -> None:
        super().__init__(name="leader-election", daemon=True)
        self.lock, self.timing, self.stop_event = lock, timing, stop
        self.on_started, self.on_stopped = on_started, on_stopped
        self.leading = False
        self.known = False  # at least one round has been answered (leading or not)
        leader_gauge().set(0)

    def run(self) -> None:
        try:
            while not self.stop_event.is_set():
                if self.lock.try_acquire_or_renew():
                    self.known = True
                    self._lead()
                else:
                    self.known = self.known or self.lock.observed is not None
                    self.stop_event.wait(self.timing.retry * random.uniform(1.0, 1.2))  # noqa: S311
        finally:
            if self.leading:
                self._step_down("shutting down")
            self.lock.release()

    def _lead(self) -> None:
        self.leading = True
        leader_gauge().set(1)
        LEADER_TRANSITIONS.labels(to="leader").inc()
        log.info("leader election: %s is now the leader (lease %s)", self.lock.identity, self._where())
        self.on_started()
        last_renew = time.monotonic()
        while not self.stop_event.wait(self.timing.retry):
            left = self.timing.renew_deadline - (time.monotonic() - last_renew)
            if left > 0 and self.lock.try_acquire_or_renew(timeout=left):
                last_renew = time.monotonic()
            elif time.monotonic() - last_renew >= self.timing.renew_deadline:
                self._step_down(f"no renewal for {self.timing.renew_deadline:.0f}s")
                return

    def _step_down(self, why: str) -> None:
        self.leading = False
        leader_gauge().set(0)
        LEADER_TRANSITIONS.labels(to="standby").inc()
        log.warning("leader election: %s stopped leading (%s)", self.lock.identity, why)
        self.on_stopped()

    def _where(self) -> str:
        return f"{self.lock.namespace}/{self.lock.name}"


def lease_namespace() -> str:
    """The Lease lives in the controller's own namespace: POD_NAMESPACE (the chart sets it from
    the downward API), else the in-cluster service account's namespace, else `default`."""
    if settings.ECRCONTROL_LEADER_ELECTION_NAMESPACE:
        return settings.ECRCONTROL_LEADER_ELECTION_NAMESPACE
    path = "/var/run/secrets/kubernetes.io/serviceaccount/namespace"
    if os.path.exists(path):
        with open(path) as f:
            return f.read().strip()
    return "default"


def from_settings(on_started, on_stopped, stop: threading.Event) -> Elector:
    timing = Timing(
        lease=settings.ECRCONTROL_LEADER_ELECTION_LEASE_SECONDS,
        renew_deadline=settings.ECRCONTROL_LEADER_ELECTION_RENEW_SECONDS,
        retry=settings.ECRCONTROL_LEADER_ELECTION_RETRY_SECONDS,
    )
    lock = LeaseLock(
        namespace=lease_namespace(),
        name=settings.ECRCONTROL_LEADER_ELECTION_NAME,
        identity=settings.ECRCONTROL_LEADER_ELECTION_IDENTITY or default_identity(),
        lease_seconds=round(timing.lease),
    )
    return Elector(lock, timing, on_started, on_stopped, stop)
