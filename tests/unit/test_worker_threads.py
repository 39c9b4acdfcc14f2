"""The embedded worker threads: each resource queued once, and never run twice at the same time."""

from __future__ import annotations

import threading
import time

import pytest

from secrets_app.worker import threads


@pytest.fixture
def runs(monkeypatch):
    """Replace the reconcile task: record each run; a run of "block" waits for `release`."""
    record = {"runs": [], "release": threading.Event(), "started": threading.Event()}

    def reconcile(name, *args):
        record["runs"].append(name)
        if name == "block":
            record["started"].set()
            record["release"].wait(5)

    monkeypatch.setattr(threads.tasks, "reconcile_in", reconcile)
    monkeypatch.setattr(threads, "get_broker", lambda: None)
    return record


def test_a_resource_asked_for_again_before_its_turn_runs_once(runs):
    workers = threads.WorkerThreads(1, threading.Event(), poll=60).start()
    workers.submit("block", ("block",))
    runs["started"].wait(5)
    for _ in range(3):
        workers.submit("a", ("a",))
    runs["release"].set()
    workers.stop()
    assert runs["runs"] == ["block", "a"]


def test_a_resource_asked_for_while_it_runs_runs_once_more_afterwards(runs):
    workers = threads.WorkerThreads(2, threading.Event(), poll=60).start()
    workers.submit("block", ("block",))
    runs["started"].wait(5)
    workers.submit("block", ("block",))
    workers.submit("block", ("block",))
    assert runs["runs"] == ["block"]  # not a second thread on the same resource
    runs["release"].set()
    deadline = time.monotonic() + 5
    while runs["runs"].count("block") < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    workers.stop()
    assert runs["runs"] == ["block", "block"]
