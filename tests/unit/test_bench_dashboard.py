"""Benchmark: the dashboard and the list page with 1,000 resources (render time, query count)."""

from __future__ import annotations

import statistics
import time

import pytest
from django.contrib.auth.models import User
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext

from secrets_app.services import connectivity

from .test_dashboard import make_rows

RESOURCES = 1000
RUNS = 5


@pytest.mark.bench
@pytest.mark.django_db
def test_bench_dashboard_with_1000_resources(client, monkeypatch):
    cache.clear()
    monkeypatch.setattr(connectivity, "test", lambda *args: connectivity.Connection(version="v1.36.3"))
    make_rows(RESOURCES)  # a third ready, a third failing, a third pending; one Secret each
    client.force_login(User.objects.create_superuser("bench", password="x"))
    for url in ("/admin/", "/admin/secrets_app/namespacedpullsecret/"):
        client.get(url)  # warm up (templates compiled, caches filled)
        times = []
        for _ in range(RUNS):
            with CaptureQueriesContext(connection) as queries:
                started = time.perf_counter()
                assert client.get(url).status_code == 200
                times.append(time.perf_counter() - started)
        print(
            f"\n{url} with {RESOURCES} resources: median {statistics.median(times) * 1000:.0f} ms "
            f"(min {min(times) * 1000:.0f}, max {max(times) * 1000:.0f}) over {RUNS} renders, "
            f"{len(queries)} queries"
        )
