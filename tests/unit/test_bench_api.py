"""Benchmark: the REST API's list of 1,000 resources in one page (latency and query count)."""

from __future__ import annotations

import statistics
import time

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext

from .conftest import client_for
from .test_dashboard import make_rows

RESOURCES = 1000
RUNS = 5


@pytest.mark.bench
@pytest.mark.django_db
def test_bench_api_list_of_1000_resources():
    cache.clear()
    make_rows(RESOURCES)  # a third ready, a third failing, a third pending; one Secret each
    api = client_for("viewers")
    for params in (
        {"pageSize": 1000},
        {"pageSize": 1000, "ordering": "status,-expiresAt"},
        {"status": "failing"},
    ):
        api.get("/api/v1/awsecrimagepullsecrets/", params)  # warm up
        times, size = [], 0
        for _ in range(RUNS):
            with CaptureQueriesContext(connection) as queries:
                started = time.perf_counter()
                response = api.get("/api/v1/awsecrimagepullsecrets/", params)
                times.append(time.perf_counter() - started)
            assert response.status_code == 200
            size = len(response.content)
        print(
            f"\nGET /api/v1/awsecrimagepullsecrets/ {params} ({len(response.json()['results'])} of "
            f"{RESOURCES}): median {statistics.median(times) * 1000:.0f} ms (min {min(times) * 1000:.0f}, "
            f"max {max(times) * 1000:.0f}) over {RUNS} requests, {len(queries)} queries, {size // 1024} KiB"
        )
