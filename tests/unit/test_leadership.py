"""The elector's policy with a fake Lease lock (the project's own kube wrapper): start on
winning, stop as soon as renewals fail for the renew deadline, release at shutdown."""

from __future__ import annotations

import threading
import time

from secrets_app.controller.leadership import Elector, Timing


class FakeLock:
    identity, namespace, name = "me", "default", "lease"

    def __init__(self) -> None:
        self.answers: list[bool] = []
        self.default = True
        self.observed = object()
        self.released = 0

    def try_acquire_or_renew(self, timeout: float = 5.0) -> bool:
        return self.answers.pop(0) if self.answers else self.default

    def release(self) -> None:
        self.released += 1


def run_elector(lock: FakeLock, timing: Timing):
    events: list[tuple[str, float]] = []
    stop = threading.Event()
    elector = Elector(
        lock,
        timing,
        lambda: events.append(("started", time.monotonic())),
        lambda: events.append(("stopped", time.monotonic())),
        stop,
    )
    elector.start()
    return elector, events, stop


def test_leader_stops_at_once_when_renewals_fail_for_the_renew_deadline():
    lock = FakeLock()
    elector, events, stop = run_elector(lock, Timing(lease=1.5, renew_deadline=1.0, retry=0.1))
    deadline = time.monotonic() + 5
    while not events and time.monotonic() < deadline:
        time.sleep(0.01)
    assert events[0][0] == "started" and elector.leading and elector.known
    lock.default = False  # the API server is gone
    failed_at = time.monotonic()
    while len(events) < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    stop.set()
    elector.join(5)
    assert events[1][0] == "stopped"
    assert 0.8 <= events[1][1] - failed_at <= 1.3  # the renew deadline, well before the lease ends
    assert not elector.leading


def test_standby_never_starts_and_a_leader_releases_the_lease_at_shutdown():
    standby_lock = FakeLock()
    standby_lock.default = False
    standby, events, stop = run_elector(standby_lock, Timing(lease=1.5, renew_deadline=1.0, retry=0.05))
    time.sleep(0.3)
    assert events == [] and not standby.leading and standby.known
    stop.set()
    standby.join(5)

    lock = FakeLock()
    leader, events, stop = run_elector(lock, Timing(lease=1.5, renew_deadline=1.0, retry=0.05))
    time.sleep(0.2)
    stop.set()
    leader.join(5)
    assert [e for e, _ in events] == ["started", "stopped"]
    assert lock.released == 1 and standby_lock.released == 1
