"""/metrics is scraped while resources change: the values move with them. The worker and the
controller share one PROMETHEUS_MULTIPROC_DIR (as the roles of one pod do), so each endpoint
serves every process's metrics; the gauges read from the database come from the web's /metrics."""

from __future__ import annotations

import datetime
import json
import urllib.error
import urllib.request
import uuid

from django.test import Client

from devstack.processes import free_ports
from secrets_app.models.clusters import DEFAULT_CLUSTER_NAME

from .helpers import (
    create_cluster_resource,
    create_namespace,
    get_cluster_resource,
    is_ready,
    read_secret,
    unique,
    wait_for,
)
from .scrape import parse, scrape, value


def web_metrics() -> dict:
    response = Client().get("/metrics")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/plain")
    return parse(response.content.decode())


def readyz(url: str) -> tuple[int, list[str]]:
    try:
        with urllib.request.urlopen(url + "/readyz", timeout=5) as response:
            return response.status, json.load(response)["problems"]
    except urllib.error.HTTPError as error:
        return error.code, json.load(error)["problems"]


def test_metrics_move_as_resources_change(kube_api, start_operator, ecr, tmp_path):
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    worker_port, controller_port = free_ports(2)
    op = start_operator(
        ecr.url,
        controller=False,
        PROMETHEUS_MULTIPROC_DIR=str(metrics_dir),
        ECRCONTROL_METRICS_BIND=f"127.0.0.1:{worker_port}",
    )
    op.start_controller(ECRCONTROL_METRICS_BIND=f"127.0.0.1:{controller_port}")
    worker_url = f"http://127.0.0.1:{worker_port}/metrics"
    controller_url = f"http://127.0.0.1:{controller_port}"
    for url in (f"http://127.0.0.1:{worker_port}", controller_url):
        with urllib.request.urlopen(url + "/healthz", timeout=5) as response:
            assert json.load(response)["status"] == "ok"
        wait_for(lambda url=url: readyz(url) == (200, []), timeout=30)  # e.g. the watches' first lists

    before = scrape(worker_url)
    assert value(before, "ecrcontrol_leader") == 1  # written by the controller, read through the shared dir
    reconciles_before = value(before, "ecrcontrol_reconciles_total", result="ok")
    ecr_before = value(before, "ecrcontrol_ecr_requests_total", outcome="success")
    synced_before = value(
        web_metrics(), "ecrcontrol_managed_secrets", cluster=DEFAULT_CLUSTER_NAME, state="synced"
    )

    namespaces = [unique("m"), unique("m")]
    for ns in namespaces:
        create_namespace(kube_api, ns)
    name = unique("metrics")
    # An identity of its own: a fresh Secret of the shared test identity would lend its token.
    key_id = "AKIAMETRICS" + uuid.uuid4().hex[:9].upper()
    create_cluster_resource(kube_api, name, namespaces, key_id=key_id)
    wait_for(lambda: is_ready(get_cluster_resource(kube_api, name)), timeout=60)

    after = scrape(worker_url)
    assert value(after, "ecrcontrol_reconciles_total", result="ok") > reconciles_before
    assert value(after, "ecrcontrol_reconcile_duration_seconds_count") >= 1
    assert value(after, "ecrcontrol_ecr_requests_total", outcome="success") == ecr_before + 1
    web = web_metrics()
    assert (
        value(web, "ecrcontrol_managed_secrets", cluster=DEFAULT_CLUSTER_NAME, state="synced")
        == synced_before + 2
    )
    soonest = value(web, "ecrcontrol_secret_soonest_expiry_seconds", cluster=DEFAULT_CLUSTER_NAME)
    # the same as the `expiry` annotation of the Secrets in the cluster (moto's may lie in the past)
    annotated = min(
        datetime.datetime.fromisoformat(read_secret(kube_api, ns, "ecr-pull").metadata.annotations["expiry"])
        for ns in namespaces
    )
    assert abs(soonest - (annotated - datetime.datetime.now(datetime.UTC)).total_seconds()) < 10

    # ECR fails for a new identity: counted with the outcome and AWS's error code
    ecr.fail_with = 503
    failing = unique("metrics-fail")
    create_cluster_resource(
        kube_api, failing, namespaces[:1], secret_name="other", key_id="AKIAFAILING00000001"
    )
    wait_for(
        lambda: value(scrape(worker_url), "ecrcontrol_ecr_requests_total", outcome="error") > 0, timeout=60
    )
    ecr.fail_with = None

    # queue: with the worker gone, reconciles wait in the queue and age there
    op.kill_worker()
    queued = unique("metrics-queued")
    create_cluster_resource(kube_api, queued, namespaces[:1], secret_name="queued")
    wait_for(lambda: value(web_metrics(), "ecrcontrol_queue_depth") >= 1, timeout=30)
    wait_for(lambda: value(web_metrics(), "ecrcontrol_queue_oldest_age_seconds") >= 1.0, timeout=30)
    op.start_worker()
    wait_for(lambda: is_ready(get_cluster_resource(kube_api, queued)), timeout=60)

    def empty_queue_has_no_age():  # one scrape: the failing resource's retries enqueue meanwhile
        samples = web_metrics()
        depth = value(samples, "ecrcontrol_queue_depth")
        return depth == 0 and value(samples, "ecrcontrol_queue_oldest_age_seconds") == 0

    wait_for(empty_queue_has_no_age, timeout=30)
