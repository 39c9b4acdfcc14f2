"""Benchmark (`make bench`): COUNT AWSECRImagePullSecrets in COUNT/10 namespaces sharing 5 identities,
one ClusterAWSECRImagePullSecret over COUNT/2 namespaces, a refresh of them all, then idle.

Printed per operator configuration (mode): time to Ready (p50/p95/max), ECR calls, API writes
counted by kube-apiserver (apiserver_request_total), CPU seconds and resident memory of each role.
Nothing here asserts on time; the figures are for the issue note.

Making them due: the operator's local ECR issues tokens that expire TOKEN_SECONDS after issue, so
every resource comes due at half of that, as after six real hours; tokens fetched by the refresh
live 12 hours, so that the idle period that follows is really idle.
"""

from __future__ import annotations

import collections
import datetime
import os
import time
import uuid

import pytest
from kubernetes import client

from ..helpers import GROUP, VERSION, aws_access, create_cluster_resource, delete_all_resources
from . import measure
from .conftest import (
    COUNT,
    IDENTITIES,
    IDLE_SECONDS,
    MODES,
    create_namespaced,
    denial_line,
    wait_until_no_managed_secrets,
)

# Minutes of measuring, not the suite's 300 s per test.
pytestmark = [pytest.mark.bench, pytest.mark.django_db(transaction=True), pytest.mark.timeout(4 * 3600)]

TOKEN_SECONDS = float(os.environ.get("ECRCONTROL_BENCH_TOKEN_SECONDS", "240"))
READY_TIMEOUT = 900.0


def _namespaced(namespace: str, name: str, secret_name: str, key: tuple[str, str]) -> dict:
    return {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "AWSECRImagePullSecret",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"awsAccess": aws_access(key_id=key[0], secret=key[1]), "secretName": secret_name},
    }


def _create(body: dict, started: dict, key, denials):
    def call(api):
        started[key] = time.monotonic()
        create_namespaced(api, body, denials)

    return call


@pytest.mark.parametrize("mode", MODES)
def test_bench_at_scale(mode, kube_api, operator_ecr, identities, bench_namespaces, parallel_api, start_mode):
    _clean_slate(kube_api)  # an earlier mode's resources, and their Secrets the GC deletes, out of the counts
    run = uuid.uuid4().hex[:6]
    namespaces = bench_namespaces[: max(1, COUNT // 10)]
    cluster_namespaces = bench_namespaces[: max(1, COUNT // 2)]
    operator_ecr.token_lifetime = datetime.timedelta(seconds=TOKEN_SECONDS)
    running = start_mode(mode)
    roles = running.roles
    probe = measure.Probe(kube_api, operator_ecr, running.webhook_ecr, roles)
    print()
    print(
        f"== {mode}: {COUNT} AWSECRImagePullSecrets in {len(namespaces)} namespaces, "
        f"{IDENTITIES} identities; webhooks on; machine shared with other jobs (wall times are noisy)"
    )
    print(f"  memory at start: {measure.memory_line(roles)}")

    # 1. COUNT namespaced resources, applied at once.
    started: dict = {}
    denials: collections.Counter = collections.Counter()
    keys = [(namespaces[i % len(namespaces)], f"r-{run}-{i}") for i in range(COUNT)]
    bodies = [
        _namespaced(ns, name, f"pull-{run}-{i}", identities[i % IDENTITIES])
        for i, (ns, name) in enumerate(keys)
    ]
    with (
        measure.ReadyTimes(kube_api, "awsecrimagepullsecrets") as ready,
        measure.SecretTimes(kube_api) as secrets,
    ):
        begin = time.monotonic()
        parallel_api([_create(body, started, key, denials) for body, key in zip(bodies, keys, strict=True)])
        applied = time.monotonic() - begin
        all_ready = ready.wait_all(set(keys), READY_TIMEOUT)
        done = max(ready.first_ready.get(k, time.monotonic()) for k in keys) - begin
        latencies = [ready.first_ready[k] - started[k] for k in keys if k in ready.first_ready]
        print(
            f"  {COUNT} applied at once (in {applied:.1f} s): all Ready {done:.1f} s after the first apply"
            f"{'' if all_ready else ' (NOT ALL READY: timed out)'}; "
            f"per resource {measure.percentiles(latencies)}"
        )
        print(f"    {denial_line(denials)}")
        probe.report("apply", COUNT)

        # 2. One ClusterAWSECRImagePullSecret over COUNT/2 namespaces.
        probe.reset()
        cluster_name, cluster_secret = f"c-{run}", f"cpull-{run}"
        wanted = {(ns, cluster_secret) for ns in cluster_namespaces}
        begin = time.monotonic()
        create_cluster_resource(
            kube_api,
            cluster_name,
            cluster_namespaces,
            secret_name=cluster_secret,
            key_id=identities[0][0],
            secret=identities[0][1],
        )
        all_there = secrets.wait(lambda: wanted <= secrets.created.keys(), READY_TIMEOUT)
        last = max(secrets.created.get(k, time.monotonic()) for k in wanted) - begin
        print(
            f"  1 ClusterAWSECRImagePullSecret over {len(cluster_namespaces)} namespaces: all Secrets exist "
            f"{last:.1f} s after the apply{'' if all_there else ' (NOT ALL: timed out)'}"
        )
        probe.report("cluster resource", len(cluster_namespaces))

        # 3. The refresh: every token comes due at half its lifetime; the new ones live 12 h.
        operator_ecr.token_lifetime = datetime.timedelta(hours=12)
        ours = {(ns, f"pull-{run}-{i}") for i, (ns, _) in enumerate(keys)} | wanted
        with secrets.lock:
            before = {k: secrets.expiry[k] for k in ours if k in secrets.expiry}
        due = _earliest_refresh(kube_api, ours)
        wait = (due - datetime.datetime.now(datetime.UTC)).total_seconds()
        due_clock = time.monotonic() + wait
        print(f"  waiting {max(wait, 0):.0f} s until the first refresh is due")
        time.sleep(max(wait - 2, 0))
        probe.reset()
        refreshed = secrets.wait(
            lambda: all(secrets.expiry.get(k, ("",))[0] != before.get(k, ("",))[0] for k in ours),
            READY_TIMEOUT,
        )
        last = max(secrets.expiry[k][1] for k in ours if k in secrets.expiry)
        print(
            f"  refresh of {len(ours)} Secrets: done {last - due_clock:.1f} s after the first became due"
            f"{'' if refreshed else ' (NOT ALL REFRESHED: timed out)'}"
        )
        time.sleep(5)  # let the status writes that follow the last Secret land in the count
        probe.report("refresh", len(ours))

    # 4. Idle.
    probe.reset()
    time.sleep(IDLE_SECONDS)
    result = probe.report(f"idle {IDLE_SECONDS:.0f} s", len(ours))
    cores = {r: c / IDLE_SECONDS * 100 for r, c in result["cpu"].items()}
    print(
        f"    idle CPU, % of a core: {', '.join(f'{r} {c:.2f} %' for r, c in cores.items())}; "
        f"total {sum(cores.values()):.2f} %"
    )
    print(f"  memory after: {measure.memory_line(roles)}")
    errors = [line for line in running.logs().splitlines() if " ERROR " in line or "Traceback" in line]
    print(f"  operator log: {len(errors)} ERROR/Traceback lines{': ' + errors[0][:200] if errors else ''}")


def _clean_slate(kube_api) -> None:
    """No resources, and none of their Secrets left for the garbage collector to delete."""
    delete_all_resources(kube_api)
    wait_until_no_managed_secrets(kube_api)


def _earliest_refresh(kube_api, keys: set) -> datetime.datetime:
    """The earliest refresh-at annotation among the Secrets (when the first refresh is due)."""
    earliest = None
    core = client.CoreV1Api(kube_api)
    for secret in core.list_secret_for_all_namespaces(
        label_selector="app.kubernetes.io/managed-by=ecrcontrol"
    ).items:
        if (secret.metadata.namespace, secret.metadata.name) not in keys:
            continue
        value = (secret.metadata.annotations or {}).get("ecrcontrol.io/refresh-at")
        if value:
            when = datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
            earliest = when if earliest is None else min(earliest, when)
    return earliest or datetime.datetime.now(datetime.UTC)
