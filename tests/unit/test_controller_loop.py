"""The controller loop's hand-out of due rows, against the database only (no cluster, no threads)."""

from __future__ import annotations

import datetime
import threading
import time

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from secrets_app.controller import runner
from secrets_app.models import Cluster, ClusterPullSecret, NamespacedPullSecret
from secrets_app.services import queue

pytestmark = pytest.mark.django_db

KUBECONFIG = """apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:1"}}]
users: [{name: u, user: {token: t}}]
contexts: [{name: c, context: {cluster: c, user: u}}]
current-context: c
"""


@pytest.fixture
def controller(tmp_path, monkeypatch):
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(KUBECONFIG)
    cluster = Cluster.objects.create(name="c", kubeconfig_path=str(kubeconfig))
    handed: list[tuple] = []
    monkeypatch.setattr(queue, "enqueue", lambda *args: handed.append(args))
    built = runner.ClusterController(cluster, threading.Event())  # its watches are not started
    built.handed = handed
    return built


def test_due_rows_are_leased_in_one_write_handed_out_once_and_the_next_due_time_is_known(controller):
    now = datetime.datetime.now(datetime.UTC)
    cluster = controller.cluster
    due = NamespacedPullSecret.objects.create(
        cluster=cluster, namespace="a", name="due", uid="1", requeue_at=now - datetime.timedelta(seconds=1)
    )
    later = NamespacedPullSecret.objects.create(
        cluster=cluster, namespace="a", name="later", uid="2", requeue_at=now + datetime.timedelta(hours=1)
    )
    ClusterPullSecret.objects.create(
        cluster=cluster, name="all", uid="3", namespaces=["a"], requeue_at=now - datetime.timedelta(seconds=1)
    )

    controller._scan_due()
    due.refresh_from_db()
    assert due.requeue_at > now + datetime.timedelta(seconds=30)  # leased: not due again meanwhile
    assert controller._earliest_requeue() == due.requeue_at < later.requeue_at  # the lease runs out first
    with CaptureQueriesContext(connection) as queries:
        assert controller.flush()
    assert sorted(controller.handed) == [
        (cluster, "AWSECRImagePullSecret", "a", "due"),
        (cluster, "ClusterAWSECRImagePullSecret", "", "all"),
    ]
    assert not [q for q in queries if q["sql"].startswith("UPDATE")]  # the scan leased them already
    assert not controller.flush()  # nothing more to hand out


def test_a_key_a_watch_event_asks_for_is_leased_by_the_hand_out(controller):
    row = NamespacedPullSecret.objects.create(cluster=controller.cluster, namespace="a", name="r", uid="1")
    controller.request(("AWSECRImagePullSecret", "a", "r"))
    assert controller.flush()
    row.refresh_from_db()
    assert row.requeue_at > datetime.datetime.now(datetime.UTC) + datetime.timedelta(seconds=30)
    assert controller.handed == [(controller.cluster, "AWSECRImagePullSecret", "a", "r")]


def test_idle_the_loop_sleeps_until_the_next_due_row_and_after_a_hand_out_looks_every_second(controller):
    assert controller._next_scan() - time.monotonic() == pytest.approx(runner.IDLE_SCAN_SECONDS, abs=0.5)
    soon = datetime.datetime.now(datetime.UTC) + datetime.timedelta(seconds=5)
    NamespacedPullSecret.objects.create(
        cluster=controller.cluster, namespace="a", name="r", uid="1", requeue_at=soon
    )
    assert 3 < controller._next_scan() - time.monotonic() <= 5
    controller.request(("AWSECRImagePullSecret", "a", "r"))
    controller.flush()
    assert controller._next_scan() - time.monotonic() <= runner.ACTIVE_SCAN_SECONDS


def test_a_row_that_came_due_just_after_the_scan_read_the_clock_is_looked_for_at_once(controller):
    # The scan ran a moment before the row's time (a timer may fire a little early); by the time
    # the next scan is planned the row is due, and the loop must not sleep the idle half minute.
    due = datetime.datetime.now(datetime.UTC) + datetime.timedelta(milliseconds=50)
    NamespacedPullSecret.objects.create(
        cluster=controller.cluster, namespace="a", name="r", uid="1", requeue_at=due
    )
    controller._scan_due()
    assert controller.handed == [] and not controller._pending  # not due yet at the scan
    time.sleep(0.1)
    assert controller._next_scan() - time.monotonic() <= 0.01
