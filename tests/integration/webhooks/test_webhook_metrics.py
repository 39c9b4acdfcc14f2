"""The web role's /metrics (HTTPS, no login) counts admission reviews by webhook and result, summed
over gunicorn's worker processes (PROMETHEUS_MULTIPROC_DIR), and /readyz reports the database."""

from __future__ import annotations

import json
import urllib.request

import pytest
from kubernetes import client
from kubernetes.client.rest import ApiException

from ..helpers import GROUP, VERSION, unique
from ..scrape import parse, value

pytestmark = pytest.mark.django_db(transaction=True)


def get(web, path: str) -> tuple[int, bytes]:
    with urllib.request.urlopen(f"{web.url}{path}", timeout=10, context=web.ssl_context()) as response:
        return response.status, response.read()


def test_webhook_requests_are_counted_by_result(kube_api, webhooks):
    before = parse(get(webhooks, "/metrics")[1].decode())
    body = {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "ClusterAWSECRImagePullSecret",
        "metadata": {"name": unique("metrics")},
        "spec": {"secretName": "x", "namespaces": ["default"]},  # no awsAccess: denied
    }
    with pytest.raises(ApiException):
        client.CustomObjectsApi(kube_api).create_cluster_custom_object(
            GROUP, VERSION, "clusterawsecrimagepullsecrets", body
        )
    after = parse(get(webhooks, "/metrics")[1].decode())
    denied = "ecrcontrol_webhook_requests_total"
    assert value(after, denied, webhook="validate", result="denied") == (
        value(before, denied, webhook="validate", result="denied") + 1
    )
    assert value(after, "ecrcontrol_webhook_request_duration_seconds_count", webhook="validate") > value(
        before, "ecrcontrol_webhook_request_duration_seconds_count", webhook="validate"
    )
    status, ready = get(webhooks, "/readyz")
    assert status == 200 and json.loads(ready) == {"status": "ok", "problems": []}
    assert get(webhooks, "/healthz")[0] == 200
