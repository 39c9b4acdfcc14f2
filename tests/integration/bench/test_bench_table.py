"""Benchmark (`make bench`): the issue's side-by-side table, ecrcontrol's column measured here.

The Go seed operator's column is quoted from issue 11 (measured there on the same kind of control
plane and local ECR); it cannot be run here. Webhooks on, tokens that expire 12 hours ahead,
ecrcontrol in ECRCONTROL_BENCH_TABLE_MODE (default "embedded": the embedded default, one process
hosting every role; or "workers-N", see conftest.py).
"""

from __future__ import annotations

import collections
import datetime
import os
import statistics
import time
import uuid

import pytest
from kubernetes import client

from ..helpers import (
    GROUP,
    VERSION,
    aws_access,
    create_cluster_resource,
    create_namespaced_resource,
    get_namespaced_resource,
    is_ready,
    read_secret,
    wait_for,
)
from . import measure
from .conftest import create_namespaced, denial_line

# Minutes of measuring, not the suite's 300 s per test.
pytestmark = [pytest.mark.bench, pytest.mark.django_db(transaction=True), pytest.mark.timeout(3600)]

MODE = os.environ.get("ECRCONTROL_BENCH_TABLE_MODE", "embedded")
IDLE_SECONDS = float(os.environ.get("ECRCONTROL_BENCH_TABLE_IDLE_SECONDS", "120"))
GO = {  # issue 11, "Go seed operator" column
    "one": "0.21 s",
    "100x100": "3.9 s (p95 2.4 s)",
    "100x10": "3.7 s",
    "cluster": "0.52 s",
    "idle": "0.09 % of a core",
    "memory": "100-110 MB",
    "ecr": "200",
    "restore": "never within 180 s",
}


def _apply_many(parallel_api, keys, key, run, denials) -> dict:
    started: dict = {}

    def create(ns, name, i):
        body = {
            "apiVersion": f"{GROUP}/{VERSION}",
            "kind": "AWSECRImagePullSecret",
            "metadata": {"name": name, "namespace": ns},
            "spec": {"awsAccess": aws_access(key_id=key[0], secret=key[1]), "secretName": f"t-{run}-{i}"},
        }

        def call(api):
            started[(ns, name)] = time.monotonic()
            create_namespaced(api, body, denials)

        return call

    parallel_api([create(ns, name, i) for i, (ns, name) in enumerate(keys)])
    return started


def test_bench_the_issue_table(
    kube_api, operator_ecr, identities, bench_namespaces, parallel_api, start_mode
):
    run = uuid.uuid4().hex[:6]
    operator_ecr.token_lifetime = datetime.timedelta(hours=12)
    running = start_mode(MODE)
    roles = running.roles
    hundred = bench_namespaces[:100]
    denials: collections.Counter = collections.Counter()
    ours: dict[str, str] = {}

    # 1 resource, apply to Ready: median of 5 (the first one also fetches the token).
    singles = []
    for i in range(5):
        ns = hundred[i]
        started = time.monotonic()
        create_namespaced_resource(
            kube_api,
            ns,
            f"one-{run}",
            secret_name=f"one-{run}",
            key_id=identities[0][0],
            secret=identities[0][1],
        )
        wait_for(lambda: is_ready(get_namespaced_resource(kube_api, ns, f"one-{run}")), interval=0.02)  # noqa: B023
        singles.append(time.monotonic() - started)
    ours["one"] = f"{statistics.median(singles):.2f} s (runs {', '.join(f'{d:.2f}' for d in singles)})"

    # 100 resources in 100 namespaces, one identity not used before: time to all Ready, and ECR calls.
    calls = operator_ecr.token_calls
    with measure.ReadyTimes(kube_api, "awsecrimagepullsecrets") as ready:
        keys = [(ns, f"h-{run}") for ns in hundred]
        begin = time.monotonic()
        started = _apply_many(parallel_api, keys, identities[1], f"h{run}", denials)
        ready.wait_all(set(keys), 600)
        total = max(ready.first_ready[k] for k in keys) - begin
        p95 = sorted(ready.first_ready[k] - started[k] for k in keys)[94]
        ours["100x100"] = f"{total:.1f} s (p95 {p95:.1f} s)"
        who = "operator" if running.webhook_ecr else "webhooks and operator"
        ours["ecr"] = f"{operator_ecr.token_calls - calls} ({who})"

        # 100 resources in 10 namespaces.
        keys = [(hundred[i % 10], f"t-{run}-{i}") for i in range(100)]
        begin = time.monotonic()
        _apply_many(parallel_api, keys, identities[2], f"t{run}", denials)
        ready.wait_all(set(keys), 600)
        ours["100x10"] = f"{max(ready.first_ready[k] for k in keys) - begin:.1f} s"

    # 1 ClusterAWSECRImagePullSecret over 100 namespaces: time until all its Secrets exist
    # (median of 3, as the issue's figures are).
    spans = []
    with measure.SecretTimes(kube_api) as secrets:
        for i in range(3):
            wanted = {(ns, f"c-{run}-{i}") for ns in hundred}
            begin = time.monotonic()
            create_cluster_resource(
                kube_api,
                f"c-{run}-{i}",
                hundred,
                secret_name=f"c-{run}-{i}",
                key_id=identities[0][0],
                secret=identities[0][1],
            )
            secrets.wait(lambda: wanted <= secrets.created.keys(), 600)  # noqa: B023
            spans.append(max(secrets.created[k] for k in wanted) - begin)
    ours["cluster"] = f"{statistics.median(spans):.2f} s (runs {', '.join(f'{d:.2f}' for d in spans)})"

    # Idle with the 205 + 3 resources: CPU of every role, and API writes (should be none).
    time.sleep(5)
    before_cpu = {role: measure.cpu_seconds(pid) for role, pid in roles.items()}
    before_requests = measure.api_requests(kube_api)
    time.sleep(IDLE_SECONDS)
    cpu = {
        role: (measure.cpu_seconds(pid) - before_cpu[role]) / IDLE_SECONDS * 100
        for role, pid in roles.items()
    }
    idle_writes = measure.operator_writes(measure.writes(before_requests, measure.api_requests(kube_api)))
    ours["idle"] = (
        f"{sum(cpu.values()):.2f} % of a core ({', '.join(f'{r} {c:.2f} %' for r, c in cpu.items())}; "
        f"{sum(idle_writes.values())} API writes in {IDLE_SECONDS:.0f} s)"
    )
    ours["memory"] = measure.memory_line(roles)

    # A deleted managed Secret restored.
    ns = hundred[0]
    original = read_secret(kube_api, ns, f"one-{run}")
    begin = time.monotonic()
    client.CoreV1Api(kube_api).delete_namespaced_secret(f"one-{run}", ns)
    wait_for(
        lambda: (s := read_secret(kube_api, ns, f"one-{run}")) and s.metadata.uid != original.metadata.uid,
        timeout=180,
        interval=0.02,
    )
    ours["restore"] = f"{time.monotonic() - begin:.2f} s"

    rows = [
        ("1 AWSECRImagePullSecret, apply to Ready", "one"),
        ("100 AWSECRImagePullSecrets (100 namespaces), all Ready", "100x100"),
        ("100 in 10 namespaces, all Ready", "100x10"),
        ("1 ClusterAWSECRImagePullSecret over 100 namespaces, all Secrets", "cluster"),
        ("idle CPU with 200 resources", "idle"),
        ("resident memory, all processes", "memory"),
        ("ECR calls for 100 creates of one identity", "ecr"),
        ("a deleted managed Secret restored", "restore"),
    ]
    print()
    print(f"The issue's table (ecrcontrol in mode {MODE!r}; Go column quoted from issue 11; shared machine)")
    print("| | Go seed operator | ecrcontrol |\n|---|---|---|")
    for label, key in rows:
        print(f"| {label} | {GO[key]} | {ours[key]} |")
    print(f"(100-resource applies: {denial_line(denials)})")
