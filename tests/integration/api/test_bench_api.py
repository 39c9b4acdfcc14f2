"""Benchmark: a list of 1,000 resources through the real web role (gunicorn over TLS), as a script
sees it. The in-process figure with its query count is tests/unit/test_bench_api.py."""

from __future__ import annotations

import statistics
import time

import pytest

from tests.unit.test_dashboard import make_rows

from .conftest import Api

RESOURCES = 1000
RUNS = 5


@pytest.mark.bench
def test_bench_api_list_of_1000_resources_over_https(web, transactional_db):
    from secrets_app import roles
    from secrets_app.services import accounts

    roles.ensure_groups()
    make_rows(RESOURCES)
    api = Api(web.url, str(web.ca_file), accounts.api_token("bench", role="viewer"))
    for params in ({"pageSize": 1000}, {"status": "failing", "ordering": "expiresAt"}):
        api.get("/api/v1/awsecrimagepullsecrets/", params=params)  # warm up
        times = []
        for _ in range(RUNS):
            started = time.perf_counter()
            response = api.get("/api/v1/awsecrimagepullsecrets/", params=params)
            times.append(time.perf_counter() - started)
            assert response.status_code == 200
        print(
            f"\nHTTPS GET /api/v1/awsecrimagepullsecrets/ {params}: {len(response.json()['results'])} rows, "
            f"median {statistics.median(times) * 1000:.0f} ms (min {min(times) * 1000:.0f}, "
            f"max {max(times) * 1000:.0f}) over {RUNS} requests, {len(response.content) // 1024} KiB"
        )
