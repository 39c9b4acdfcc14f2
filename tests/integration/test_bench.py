"""Benchmarks (`make bench`): print figures, assert nothing about time. Not part of `make test`."""

from __future__ import annotations

import statistics
import time

import pytest

from .helpers import (
    create_namespace,
    create_namespaced_resource,
    get_namespaced_resource,
    is_ready,
    unique,
    wait_for,
)

pytestmark = pytest.mark.bench


def test_bench_apply_to_ready_and_ecr_calls_for_shared_identity(kube_api, operator, ecr):
    durations = []
    for _ in range(5):
        ns = unique("bench")
        create_namespace(kube_api, ns)
        started = time.monotonic()
        create_namespaced_resource(kube_api, ns, "one")
        wait_for(lambda: is_ready(get_namespaced_resource(kube_api, ns, "one")), interval=0.05)  # noqa: B023
        durations.append(time.monotonic() - started)
    calls_before = ecr.token_calls

    ns = unique("bench20")
    create_namespace(kube_api, ns)
    started = time.monotonic()
    for i in range(20):
        create_namespaced_resource(kube_api, ns, f"r{i}", secret_name=f"pull-{i}")
    for i in range(20):
        wait_for(lambda: is_ready(get_namespaced_resource(kube_api, ns, f"r{i}")), interval=0.05)  # noqa: B023
    all_ready = time.monotonic() - started
    print()
    print(
        f"apply -> Ready, one AWSECRImagePullSecret: median {statistics.median(durations):.2f}s "
        f"(runs: {', '.join(f'{d:.2f}' for d in durations)})"
    )
    print(
        f"20 resources sharing one identity: all Ready in {all_ready:.2f}s, "
        f"ECR GetAuthorizationToken calls: {ecr.token_calls - calls_before} "
        f"(first 5 single runs together: {calls_before})"
    )
