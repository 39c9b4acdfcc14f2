"""`mirror.one_writer`: on SQLite, the writers of one process take turns on a lock (not SQLite's
sleeping busy handler), and a writer already inside a transaction is never made to wait for it."""

from __future__ import annotations

import threading
import time

import pytest
from django.db import connection, transaction

from secrets_app.models import Cluster
from secrets_app.services import mirror


@pytest.mark.django_db(transaction=True)
def test_writers_of_one_process_take_turns():
    cluster_pk = Cluster.default().pk
    inside, release = threading.Event(), threading.Event()
    order: list[str] = []

    def first():
        with mirror.one_writer():
            Cluster.objects.filter(pk=cluster_pk).update(name="first")
            order.append("first in")
            inside.set()
            release.wait(5)
            order.append("first out")
        connection.close()

    def second():
        inside.wait(5)
        with mirror.one_writer():
            order.append("second in")
            Cluster.objects.filter(pk=cluster_pk).update(name="second")
        connection.close()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    inside.wait(5)
    time.sleep(0.3)  # long enough for the second to have entered, were it not kept out
    assert mirror._sqlite_writer.locked()  # the second waits on it, not in SQLite's busy handler
    release.set()
    for thread in threads:
        thread.join(10)
    assert order == ["first in", "first out", "second in"]
    assert Cluster.objects.get(pk=cluster_pk).name == "second"


@pytest.mark.django_db(transaction=True)
def test_a_writer_inside_a_transaction_does_not_wait_for_the_lock():
    # Another thread holds the lock (a writer queued for SQLite's write lock, which this
    # transaction holds): waiting for it here would deadlock until SQLite's busy timeout.
    cluster_pk = Cluster.default().pk
    held, done = threading.Event(), threading.Event()

    def holder():
        with mirror._sqlite_writer:
            held.set()
            done.wait(10)

    thread = threading.Thread(target=holder)
    thread.start()
    held.wait(5)
    try:
        with transaction.atomic():
            started = time.monotonic()
            with mirror.one_writer():
                Cluster.objects.filter(pk=cluster_pk).update(name="inside")
            waited = time.monotonic() - started
    finally:
        done.set()
        thread.join(10)
    assert waited < 1.0
    assert Cluster.objects.get(pk=cluster_pk).name == "inside"
