"""Benchmark (`make bench`): the dashboard, the list and change pages and the REST API's lists at scale.

N AWSECRImagePullSecrets (ECRCONTROL_BENCH_VIEW_SIZES, default "1000,3000,10000") in N/10
namespaces, each with its managed Secret row, mostly Ready (1 in 20 failing, 1 in 100 pending),
plus a few ClusterAWSECRImagePullSecrets and manual refresh records: rows made through the real
models with bulk_create, on the database the session runs on (SQLite by default,
ECRCONTROL_TEST_DATABASE=postgres for PostgreSQL). Each view is requested
ECRCONTROL_BENCH_VIEW_RUNS times (default 30) through Django's test client, after one warm-up
request: p50 and p95 of the wall time, and the SQL queries of one request, which should be the
same at every size. Figures are printed, never asserted on.

No control plane: the cluster's connection test and a resource's Kubernetes Events (the change
page reads them from the cluster) are answered at once, so that only the database's and Django's
share of the time is measured.
"""

from __future__ import annotations

import datetime
import os
import statistics
import time

import pytest
from django.contrib.auth.models import User
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from secrets_app.choices import IdentityKind, ResourceKind, SecretState
from secrets_app.models import (
    Cluster,
    ClusterPullSecret,
    IdentityRefresh,
    ManagedSecret,
    NamespacedPullSecret,
)
from secrets_app.services import connectivity
from secrets_app.services.reporting import events
from tests.unit.conftest import client_for

pytestmark = [pytest.mark.bench, pytest.mark.django_db(transaction=True), pytest.mark.timeout(3600)]

SIZES = [int(n) for n in os.environ.get("ECRCONTROL_BENCH_VIEW_SIZES", "1000,3000,10000").split(",")]
RUNS = int(os.environ.get("ECRCONTROL_BENCH_VIEW_RUNS", "30"))
PER_NAMESPACE = 10
CLUSTER_RESOURCES = 20
KEYS = [f"AKIABENCH{i:011d}" for i in range(5)]
REGIONS = ("eu-west-1", "us-east-1")
NOW = datetime.datetime.now(datetime.UTC)
API_LIST = "/api/v1/awsecrimagepullsecrets/"
CHANGELIST = "/admin/secrets_app/namespacedpullsecret/"


def status_of(i: int) -> tuple[bool | None, str, str]:
    """Mostly Ready: 1 in 20 failing (bad credentials), 1 in 100 pending (not reconciled yet)."""
    if i % 20 == 7:
        return False, "GetAWSAuthTokenFailed", "UnrecognizedClientException: the security token is invalid"
    if i % 100 == 42:
        return None, "", ""
    return True, "SecretsUpdated", ""


def add_resources(cluster: Cluster, start: int, stop: int) -> None:
    """Resources start..stop-1: resource i in namespace bench-{i // 10}, with its managed Secret."""
    rows, secrets = [], []
    for i in range(start, stop):
        ready, reason, message = status_of(i)
        namespace, name, uid = f"bench-{i // PER_NAMESPACE:04d}", f"pull-{i:05d}", f"bench-uid-{i}"
        written = NOW - datetime.timedelta(hours=3, seconds=i)
        key, region = KEYS[i % len(KEYS)], REGIONS[i % len(REGIONS)]
        rows.append(
            NamespacedPullSecret(
                cluster=cluster,
                namespace=namespace,
                name=name,
                uid=uid,
                resource_version=str(1000 + i),
                generation=1,
                secret_name=f"ecr-{i % PER_NAMESPACE}",
                access_key_id=key,
                region=region,
                aws_access={"accessKeyId": key, "region": region},
                identity_kind=IdentityKind.INLINE,
                ready=ready,
                reason=reason,
                message=message,
                observed_generation=1 if ready is not None else None,
                last_refresh=written if ready else None,
                expires_at=written + datetime.timedelta(hours=12) if ready else None,
                next_refresh=written + datetime.timedelta(hours=6) if ready else None,
                transition_time=written if ready is not None else None,
                synced_at=NOW,
                requeue_at=written + datetime.timedelta(hours=6),
                failures=0 if ready is not False else 3,
            )
        )
        secrets.append(
            ManagedSecret(
                cluster=cluster,
                namespace=namespace,
                name=f"ecr-{i % PER_NAMESPACE}",
                owner_kind=ResourceKind.NAMESPACED,
                owner_namespace=namespace,
                owner_name=name,
                owner_uid=uid,
                state={True: SecretState.SYNCED, False: SecretState.FAILED, None: SecretState.PENDING}[ready],
                resource_version=str(5000 + i),
                last_written=written if ready else None,
                expires_at=written + datetime.timedelta(hours=12) if ready else None,
                last_error=message,
            )
        )
    NamespacedPullSecret.objects.bulk_create(rows, batch_size=1000)
    ManagedSecret.objects.bulk_create(secrets, batch_size=1000)


def add_cluster_resources(cluster: Cluster) -> None:
    """A few ClusterAWSECRImagePullSecrets, each in 5 namespaces with their Secrets, and the manual
    refresh records of the identities."""
    rows, secrets = [], []
    for i in range(CLUSTER_RESOURCES):
        namespaces = [f"bench-{(i * 5 + j):04d}" for j in range(5)]
        rows.append(
            ClusterPullSecret(
                cluster=cluster,
                name=f"shared-{i:02d}",
                uid=f"bench-cluster-uid-{i}",
                generation=1,
                observed_generation=1,
                secret_name="ecr-shared",
                access_key_id=KEYS[i % len(KEYS)],
                region=REGIONS[0],
                aws_access={"accessKeyId": KEYS[i % len(KEYS)], "region": REGIONS[0]},
                namespaces=namespaces,
                ready=True,
                reason="SecretsUpdated",
                expires_at=NOW + datetime.timedelta(hours=9),
                next_refresh=NOW + datetime.timedelta(hours=3),
                transition_time=NOW - datetime.timedelta(days=1),
            )
        )
        secrets += [
            ManagedSecret(
                cluster=cluster,
                namespace=ns,
                name="ecr-shared",
                owner_kind=ResourceKind.CLUSTER,
                owner_name=f"shared-{i:02d}",
                owner_uid=f"bench-cluster-uid-{i}",
                state=SecretState.SYNCED,
                last_written=NOW - datetime.timedelta(hours=3),
                expires_at=NOW + datetime.timedelta(hours=9),
            )
            for ns in namespaces
        ]
    ClusterPullSecret.objects.bulk_create(rows)
    ManagedSecret.objects.bulk_create(secrets)
    IdentityRefresh.objects.bulk_create(
        IdentityRefresh(access_key_id=key, region=REGIONS[0], requested_at=NOW - datetime.timedelta(hours=2))
        for key in KEYS
    )


def analyze() -> None:
    """PostgreSQL's planner statistics, as autovacuum would have them after such a load (SQLite
    databases are not analysed by Django or ecrcontrol, so neither are they here)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")


def percentile(ordered: list[float], fraction: float) -> float:
    return ordered[min(len(ordered) - 1, int(len(ordered) * fraction))]


def measure(client, url: str, params: dict | None = None) -> tuple[float, float, int]:
    """p50 and p95 in ms over RUNS requests, after a warm-up, and the queries of one request."""
    response = client.get(url, params or {})
    assert response.status_code == 200, (url, response.status_code)
    times = []
    for _ in range(RUNS):
        started = time.perf_counter()
        response = client.get(url, params or {})
        times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200
    with CaptureQueriesContext(connection) as queries:
        client.get(url, params or {})
    ordered = sorted(times)
    return statistics.median(ordered), percentile(ordered, 0.95), len(queries)


def test_bench_views_at_scale(monkeypatch):
    cache.clear()
    monkeypatch.setattr(connectivity, "test", lambda *args: connectivity.Connection(version="v1.36.3"))
    monkeypatch.setattr(events, "recent", lambda row, limit=20: events.Events())
    cluster = Cluster.default()
    add_cluster_resources(cluster)
    admin = Client()
    admin.force_login(User.objects.create_superuser("bench", password="x"))
    api = client_for("viewers")

    results: dict[str, dict[int, tuple[float, float, int]]] = {}
    made = 0
    for size in sorted(SIZES):
        add_resources(cluster, made, size)
        made = size
        analyze()
        middle = NamespacedPullSecret.objects.order_by("namespace", "name")[size // 2]
        pages = -(-size // 50)
        views = {
            "admin index (dashboard)": ("/admin/", None),
            "changelist page 1": (CHANGELIST, None),
            f"changelist middle page (p={pages // 2})": (CHANGELIST, {"p": pages // 2}),
            "change page": (f"{CHANGELIST}{middle.pk}/change/", None),
            "API list pageSize=100": (API_LIST, {"pageSize": 100}),
            "API list status=failing pageSize=100": (API_LIST, {"pageSize": 100, "status": "failing"}),
        }
        print(f"\n{size} AWSECRImagePullSecrets in {size // PER_NAMESPACE} namespaces ({connection.vendor}):")
        for label, (url, params) in views.items():
            key = label.split(" (p=")[0]
            client = api if url.startswith("/api/") else admin
            p50, p95, queries = measure(client, url, params)
            results.setdefault(key, {})[size] = (p50, p95, queries)
            print(f"  {label}: p50 {p50:.0f} ms, p95 {p95:.0f} ms over {RUNS} requests, {queries} queries")

    print(f"\nViews at scale on {connection.vendor} (p50 / p95 ms, queries; shared machine, noisy)")
    print("| view | " + " | ".join(f"{n:,}" for n in sorted(SIZES)) + " | queries constant |")
    print("|---|" + "---|" * len(SIZES) + "---|")
    for key, by_size in results.items():
        cells = [f"{p50:.0f} / {p95:.0f}, {q}q" for p50, p95, q in (by_size[n] for n in sorted(SIZES))]
        constant = "yes" if len({q for _, _, q in by_size.values()}) == 1 else "NO"
        print(f"| {key} | " + " | ".join(cells) + f" | {constant} |")
