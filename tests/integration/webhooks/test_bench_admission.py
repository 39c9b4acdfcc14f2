"""Benchmark (`make bench`): the latency the webhooks add to a create, with ECR on moto."""

from __future__ import annotations

import statistics
import time

import pytest

from ..helpers import create_namespaced_resource, unique
from .conftest import registered

# The web role reads the database: make pytest-django create it even when only this test runs.
pytestmark = [pytest.mark.bench, pytest.mark.django_db(transaction=True)]
RUNS = 30


def _create_times(api, namespace: str, key: tuple[str, str]) -> list[float]:
    durations = []
    for _ in range(RUNS):
        started = time.monotonic()
        create_namespaced_resource(
            api, namespace, unique("b"), secret_name=unique("pull"), key_id=key[0], secret=key[1]
        )
        durations.append((time.monotonic() - started) * 1000)
    return durations


def _summary(durations: list[float]) -> str:
    ordered = sorted(durations)
    return f"median {statistics.median(ordered):.1f} ms, p90 {ordered[int(len(ordered) * 0.9)]:.1f} ms"


def test_bench_latency_the_webhooks_add_to_a_create(kube_api, web_server, mint_key, proxy, namespace):
    key = mint_key(unique("bench"))
    without = _create_times(kube_api, namespace, key)
    calls = proxy.token_calls
    with registered(kube_api, web_server):
        with_webhooks = _create_times(kube_api, namespace, key)
    print()
    print(f"create AWSECRImagePullSecret, {RUNS} runs each (ECR: moto with IAM, via a local proxy)")
    print(f"  without webhooks: {_summary(without)}")
    print(f"  with webhooks:    {_summary(with_webhooks)} ({proxy.token_calls - calls} ECR calls)")
    print(
        f"  added by the webhooks (median difference): "
        f"{statistics.median(with_webhooks) - statistics.median(without):.1f} ms"
    )
