"""Faults of the stores the roles depend on: PostgreSQL restarted while reconciles run, Redis
restarted with reconciles queued, and etcd compacted past a watch's resourceVersion (410 Gone)."""

from __future__ import annotations

import json
import os
import signal
import time
import urllib.error
import urllib.request
from collections import Counter

import pytest
from django.db import connections
from kubernetes import client

from devstack.datastores import RedisServer
from devstack.processes import free_port, free_ports
from tests import settings as test_settings

from .bench import measure
from .helpers import (
    create_namespaced_resource,
    get_namespaced_resource,
    is_ready,
    read_secret,
    wait_for,
)
from .scrape import scrape, value

LEASE_SECONDS = 5  # FAST_SETTINGS' ECRCONTROL_RECONCILE_LEASE_SECONDS


def all_ready(api, namespace: str, names: list[str]) -> bool:
    return all(is_ready(get_namespaced_resource(api, namespace, n)) for n in names)


@pytest.mark.skipif(
    test_settings.TEST_DATABASE != "postgres",
    reason="needs the PostgreSQL session: `make test` runs it (ECRCONTROL_TEST_DATABASE=postgres)",
)
def test_postgresql_restart_while_reconciles_run_loses_nothing(kube_api, start_operator, ecr, namespace):
    from devstack.datastores import test_postgres

    worker_port, controller_port = free_ports(2)
    op = start_operator(ecr.url, controller=False, ECRCONTROL_METRICS_BIND=f"127.0.0.1:{worker_port}")
    op.start_controller(ECRCONTROL_METRICS_BIND=f"127.0.0.1:{controller_port}")
    roles = [f"http://127.0.0.1:{port}" for port in (worker_port, controller_port)]
    wait_for(lambda: all(health(url, "/readyz")[0] == 200 for url in roles), timeout=30)
    names = [f"pg{i:02d}" for i in range(30)]
    for name in names[:15]:
        create_namespaced_resource(kube_api, namespace, name, secret_name=f"s-{name}")
    server = test_postgres()
    server.stop_server()  # clients are cut off mid-work
    try:
        for url in roles:  # not ready, and saying why; but alive (no restart by the kubelet)
            status, body = health(url, "/readyz")
            assert status == 503 and "database unreachable" in body["problems"][0], body
            assert health(url, "/healthz")[0] == 200
        time.sleep(2)
    finally:
        server.start()
        connections.close_all()  # this test process's own connection died with the server too
    for name in names[15:]:
        create_namespaced_resource(kube_api, namespace, name, secret_name=f"s-{name}")
    wait_for(lambda: all_ready(kube_api, namespace, names), timeout=120, interval=1.0)
    assert all(read_secret(kube_api, namespace, f"s-{n}") for n in names)
    wait_for(lambda: all(health(url, "/readyz")[0] == 200 for url in roles), timeout=30)
    assert op.controller.running() and op.worker.running()


def health(url: str, path: str) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(url + path, timeout=5) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as error:
        return error.code, json.load(error)


def test_redis_restart_with_reconciles_queued_loses_nothing(kube_api, start_operator, ecr, namespace):
    """Redis keeps no copy (no persistence, as a lost Redis pod): the reconciles queued in it are
    gone, and the controller hands them out again from `requeue_at` within the reconcile lease."""
    with RedisServer() as redis:
        op = start_operator(ecr.url, REDIS_URL=redis.url)
        create_namespaced_resource(kube_api, namespace, "warm")
        wait_for(lambda: is_ready(get_namespaced_resource(kube_api, namespace, "warm")), timeout=60)
        op.kill_worker()
        names = [f"rq{i:02d}" for i in range(20)]
        for name in names:
            create_namespaced_resource(kube_api, namespace, name, secret_name=f"s-{name}")
        import redis as redis_client

        queue = redis_client.Redis.from_url(redis.url)
        wait_for(lambda: queue.llen("django_q:ecrcontrol:q") >= 1, timeout=30)
        queue.close()
        redis.restart(down_seconds=1)  # the queue is lost
        restarted = time.monotonic()
        op.start_worker()
        wait_for(lambda: all_ready(kube_api, namespace, names), timeout=LEASE_SECONDS + 60, interval=0.5)
        assert time.monotonic() - restarted < LEASE_SECONDS + 60
        assert op.controller.running()


def test_a_watch_resumed_after_etcd_compaction_relists_and_misses_no_change(
    kube_api, control_plane, start_operator, ecr, namespace
):
    port = free_port()
    op = start_operator(ecr.url, controller=False)
    # No leader election here: the controller is frozen for a while below, which a leader must
    # answer by stepping down (and re-listing from scratch); this test is about its watches.
    op.start_controller(ECRCONTROL_METRICS_BIND=f"127.0.0.1:{port}", ECRCONTROL_LEADER_ELECTION="0")
    create_namespaced_resource(kube_api, namespace, "before", secret_name="s-before")
    steady = [f"steady{i}" for i in range(5)]  # right all along: the re-list must not rewrite them
    for name in steady:
        create_namespaced_resource(kube_api, namespace, name, secret_name=f"s-{name}")
    wait_for(lambda: all_ready(kube_api, namespace, ["before", *steady]), timeout=60)
    written = {n: read_secret(kube_api, namespace, f"s-{n}").metadata.resource_version for n in steady}
    metrics_url = f"http://127.0.0.1:{port}/metrics"
    gone_before = value(scrape(metrics_url), "ecrcontrol_watch_restarts_total", reason="gone")

    # Freeze the controller so that its watches keep their resourceVersions; restart the API server
    # (its watch cache starts afresh, and the frozen watches' connections die), make the changes it
    # must not miss, and compact etcd past them. Thawed, its watches resume from versions that are
    # gone: 410, then a re-list is the only way to see the changes.
    os.killpg(op.controller.pid, signal.SIGSTOP)
    try:
        control_plane.restart_apiserver()
        client.CoreV1Api(kube_api).delete_namespaced_secret("s-before", namespace)
        create_namespaced_resource(kube_api, namespace, "during", secret_name="s-during")
        control_plane.compact_etcd()
    finally:
        os.killpg(op.controller.pid, signal.SIGCONT)

    wait_for(lambda: is_ready(get_namespaced_resource(kube_api, namespace, "during")), timeout=90)
    wait_for(lambda: read_secret(kube_api, namespace, "s-before"), timeout=60)  # put back
    gone_after = value(scrape(metrics_url), "ecrcontrol_watch_restarts_total", reason="gone")
    assert gone_after > gone_before, op.controller.log_tail(60)
    assert "(410 Gone); re-listing" in op.controller.log_path.read_text()

    # The re-list hands every resource and Secret to the handlers again; the ones that were right
    # must cost no write. The restarted API server counts from zero, so its counters hold just the
    # requests since the freeze: the test's delete, and the two creates the changes call for.
    time.sleep(3)  # reconciles the re-list may have queued have run
    secret_writes = {
        k: v
        for k, v in measure.writes(Counter(), measure.api_requests(kube_api)).items()
        if k.endswith(" secrets")
    }
    assert secret_writes == {"DELETE secrets": 1, "POST secrets": 2}, secret_writes
    assert {
        n: read_secret(kube_api, namespace, f"s-{n}").metadata.resource_version for n in steady
    } == written
