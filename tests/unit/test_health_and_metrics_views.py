"""The web role's /healthz, /readyz and /metrics: no login, and gauges read from the database."""

from __future__ import annotations

import datetime

import pytest
from django.test import Client

from secrets_app.models import Cluster, ManagedSecret
from secrets_app.monitoring import health
from tests.integration.scrape import parse, value


@pytest.mark.django_db
def test_health_endpoints_answer_without_login():
    client = Client()
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").json() == {"status": "ok", "problems": []}


@pytest.mark.django_db
def test_readyz_is_503_with_the_reason_when_the_database_fails(monkeypatch):
    monkeypatch.setattr(health, "database_problems", lambda: ["database unreachable: OperationalError: gone"])
    response = Client().get("/readyz")
    assert response.status_code == 503
    assert response.json()["problems"] == ["database unreachable: OperationalError: gone"]
    assert Client().get("/healthz").status_code == 200  # liveness does not depend on the database


@pytest.mark.django_db
def test_metrics_count_managed_secrets_by_state_and_the_soonest_expiry():
    cluster = Cluster.default()
    soon = datetime.datetime.now(datetime.UTC) + datetime.timedelta(hours=2)
    for i, (state, expires) in enumerate([("synced", soon), ("synced", soon + datetime.timedelta(hours=1)),
                                          ("failed", None)]):  # fmt: skip
        ManagedSecret.objects.create(
            cluster=cluster, namespace="ns", name=f"s{i}", owner_kind="AWSECRImagePullSecret",
            owner_name="r", owner_uid=f"u{i}", state=state, expires_at=expires,
        )  # fmt: skip
    response = Client().get("/metrics")
    assert response.status_code == 200
    samples = parse(response.content.decode())
    assert value(samples, "ecrcontrol_managed_secrets", cluster=cluster.name, state="synced") == 2
    assert value(samples, "ecrcontrol_managed_secrets", cluster=cluster.name, state="failed") == 1
    assert value(samples, "ecrcontrol_managed_secrets", cluster=cluster.name, state="conflict") == 0
    soonest = value(samples, "ecrcontrol_secret_soonest_expiry_seconds", cluster=cluster.name)
    assert 7100 < soonest <= 7200
    assert value(samples, "ecrcontrol_queue_depth") == 0
    assert value(samples, "ecrcontrol_queue_oldest_age_seconds") == 0
