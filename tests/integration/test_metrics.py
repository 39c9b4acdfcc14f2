"""/metrics is scraped while resources change: the values move with them. The worker and the
controller share one PROMETHEUS_MULTIPROC_DIR (as the roles of one pod do), so each endpoint
serves every process's metrics; the gauges read from the database come from the web's /metrics."""

from __future__ import annotations

import json
import urllib.request

from django.test import Client

from secrets_app.localdev.processes import free_port

from .helpers import (
    create_cluster_resource,
    create_namespace,
    get_cluster_resource,
    is_ready,
    unique,
    wait_for,
)
from .scrape import parse, scrape, value


def web_metrics() -> dict:
    response = Client().get("/metrics")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/plain")
    return parse(response.content.decode())


def test_metrics_move_as_resources_change(kube_api, start_operator, ecr, tmp_path):
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    worker_port, controller_port = free_port(), free_port()
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
        for path in ("/healthz", "/readyz"):
            with urllib.request.urlopen(url + path, timeout=5) as response:
                assert json.load(response)["status"] == "ok"

    before = scrape(worker_url)
    assert value(before, "ecrcontrol_leader") == 1  # written by the controller, read through the shared dir
    reconciles_before = value(before, "ecrcontrol_reconciles_total", result="ok")
    ecr_before = value(before, "ecrcontrol_ecr_requests_total", outcome="success")
    synced_before = value(web_metrics(), "ecrcontrol_managed_secrets", cluster="default", state="synced")

    namespaces = [unique("m"), unique("m")]
    for ns in namespaces:
        create_namespace(kube_api, ns)
    name = unique("metrics")
    create_cluster_resource(kube_api, name, namespaces)
    wait_for(lambda: is_ready(get_cluster_resource(kube_api, name)), timeout=60)

    after = scrape(worker_url)
    assert value(after, "ecrcontrol_reconciles_total", result="ok") > reconciles_before
    assert value(after, "ecrcontrol_reconcile_duration_seconds_count") >= 1
    assert value(after, "ecrcontrol_ecr_requests_total", outcome="success") == ecr_before + 1
    web = web_metrics()
    assert value(web, "ecrcontrol_managed_secrets", cluster="default", state="synced") == synced_before + 2
    soonest = value(web, "ecrcontrol_secret_soonest_expiry_seconds", cluster="default")
    assert 6 * 3600 < soonest <= 12 * 3600 + 60  # the local ECR's tokens live 12 hours

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
    wait_for(lambda: value(web_metrics(), "ecrcontrol_queue_depth") == 0, timeout=30)
    assert value(web_metrics(), "ecrcontrol_queue_oldest_age_seconds") == 0
