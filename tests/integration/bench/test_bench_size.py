"""Benchmark (`make bench`, `make bench BENCH_SIZE=10000`): issue 22's targets at one size.

SIZE AWSECRImagePullSecrets (ECRCONTROL_BENCH_SIZE, default 1000) in SIZE/10 namespaces, one
identity, webhooks on, ecrcontrol in each of ECRCONTROL_BENCH_MODES (default "embedded": the
embedded default as `make run` runs it; "workers-2" on PostgreSQL + Redis: run with
ECRCONTROL_TEST_DATABASE=postgres ECRCONTROL_TEST_BROKER=redis). Phases, each printed:

1. admission: ADMISSION creates from one client with the webhooks unregistered, then registered;
2. keep pace: SIZE creates, as fast as one client can (sequential), until all are Ready;
3. fan-out: one ClusterAWSECRImagePullSecret over 300, then over 1,000 namespaces;
4. restart: ecrcontrol stopped and started with everything in place;
5. idle: IDLE seconds between refreshes;
6. floor: a plain client (8 connections) rewriting SIZE Secrets, the API server's own time;
7. refresh: every token comes due at once (the local ECR issues the keep-pace phase's token with a
   lifetime that puts its refresh point after phase 6; the refresh's own tokens live 12 h).

Memory is the resident set of ecrcontrol's processes (/proc), CPU their utime + stime, ECR calls
the local ECR's count, API writes kube-apiserver's own apiserver_request_total. Nothing here
asserts on time; the figures go into the README's table.
"""

from __future__ import annotations

import collections
import datetime
import json
import os
import ssl
import statistics
import time
import urllib.request
import uuid

import pytest
from django_q.brokers import get_broker
from kubernetes import client
from kubernetes.client.rest import ApiException

from devstack.processes import free_port
from devstack.webserver import WebServer
from secrets_app.kube.kinds import OWNER_UID_LABEL
from secrets_app.models import NamespacedPullSecret

from ..helpers import GROUP, VERSION, aws_access, create_cluster_resource, wait_for
from ..operator import process_env
from ..webhooks.conftest import set_registered
from . import measure
from .conftest import (
    BENCH_SETTINGS,
    MANAGED_BY,
    create_namespaced,
    denial_line,
    wait_until_no_managed_secrets,
)

pytestmark = [pytest.mark.bench, pytest.mark.django_db(transaction=True), pytest.mark.timeout(4 * 3600)]

SIZE = int(os.environ.get("ECRCONTROL_BENCH_SIZE", "1000"))
MODES = os.environ.get("ECRCONTROL_BENCH_MODES", "embedded").split(",")
ADMISSION = int(os.environ.get("ECRCONTROL_BENCH_ADMISSION", str(min(SIZE, 1000))))
FAN_OUT = [int(n) for n in os.environ.get("ECRCONTROL_BENCH_FAN_OUT", "300,1000").split(",")]
IDLE_SECONDS = float(os.environ.get("ECRCONTROL_BENCH_IDLE_SECONDS", "60"))
NAMESPACES = max(SIZE // 10, *FAN_OUT)
READY_TIMEOUT = 1800.0
PLURAL = "awsecrimagepullsecrets"


def _body(namespace: str, name: str, key: tuple[str, str]) -> dict:
    return {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "AWSECRImagePullSecret",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"awsAccess": aws_access(key_id=key[0], secret=key[1]), "secretName": name},
    }


def _create_one_by_one(api, bodies: list[dict], started: dict | None = None) -> list[float]:
    """Create each body in turn from one client; the latency of each create."""
    latencies, denials = [], collections.Counter()
    for body in bodies:
        begin = time.monotonic()
        if started is not None:
            started[(body["metadata"]["namespace"], body["metadata"]["name"])] = begin
        create_namespaced(api, body, denials)
        latencies.append(time.monotonic() - begin)
    if denials:
        print(f"    {denial_line(denials)}")
    return latencies


def _ms(values: list[float]) -> str:
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]
    return f"p50 {statistics.median(ordered) * 1000:.1f} ms, p95 {p95 * 1000:.1f} ms"


class _Ecrcontrol:
    """ecrcontrol in one bench mode, restartable with everything in place."""

    def __init__(self, mode, kube_api, control_plane, operator_ecr, webhooks, start_operator, tmp_path):
        self.mode, self.kube_api, self.control_plane = mode, kube_api, control_plane
        self.ecr, self.webhooks, self.start_operator, self.tmp_path = (
            operator_ecr,
            webhooks,
            start_operator,
            tmp_path,
        )
        # One Lease for the restarts: a clean stop releases it, as in production.
        self.settings = {
            **BENCH_SETTINGS,
            "ECRCONTROL_LEADER_ELECTION_NAME": f"bench-{uuid.uuid4().hex[:6]}",
            "MALLOC_ARENA_MAX": "2",  # as the image sets it (Dockerfile)
        }
        self.web: WebServer | None = None
        self.op = None

    def start(self) -> float:
        """Start; seconds until /readyz answers 200 (the watches have listed)."""
        begin = time.monotonic()
        if self.mode == "embedded":
            env = process_env(
                self.control_plane.kubeconfig,
                self.ecr.url,
                ECRCONTROL_EMBEDDED="1",
                ECRCONTROL_LOCK_DIR=str(self.tmp_path / "locks"),
                **self.settings,
            )
            self.web = WebServer(env)
            self.web.start()
            url, context = self.web.url, self.web.ssl_context()
        else:
            port = free_port()
            self.op = self.start_operator(
                self.ecr.url,
                controller=False,
                ECRCONTROL_WORKERS=self.mode.removeprefix("workers-"),
                **self.settings,
            )
            self.op.start_controller(ECRCONTROL_METRICS_BIND=f"127.0.0.1:{port}")
            url, context = f"http://127.0.0.1:{port}", None
        wait_for(lambda: _ready(url, context), timeout=120, interval=0.1)
        ready = time.monotonic() - begin
        if self.web:
            set_registered(self.kube_api, self.web, True)
        return ready

    def stop(self) -> None:
        if self.web:
            set_registered(self.kube_api, self.webhooks, True)  # the module's web server's again
            self.web.stop()
            self.web = None
        if self.op:
            self.op.stop()
            self.op = None

    @property
    def roles(self) -> dict[str, int]:
        if self.web:
            return {"web+controller+worker": self.web.process.pid}
        return {"web": self.webhooks.process.pid, **self.op.roles()}

    @property
    def registered_web(self) -> WebServer:
        return self.web or self.webhooks

    def logs(self) -> str:
        return self.web.log_path.read_text() if self.web else self.op.logs()


def _ready(url: str, context: ssl.SSLContext | None) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/readyz", timeout=2, context=context) as response:
            return response.status == 200
    except OSError:
        return False


@pytest.fixture(scope="module")
def size_namespaces(kube_api, parallel_api) -> list[str]:
    names = [f"size-{i:04d}" for i in range(NAMESPACES)]
    existing = {n.metadata.name for n in client.CoreV1Api(kube_api).list_namespace().items}
    parallel_api(
        [
            lambda api, n=n: client.CoreV1Api(api).create_namespace(
                client.V1Namespace(metadata=client.V1ObjectMeta(name=n))
            )
            for n in names
            if n not in existing
        ]
    )
    yield names
    parallel_api([lambda api, n=n: client.CoreV1Api(api).delete_namespace(n) for n in names])


def _delete_resources(kube_api, parallel_api, keys: list[tuple[str, str]]) -> None:
    def delete(ns, name):
        def call(api):
            try:
                client.CustomObjectsApi(api).delete_namespaced_custom_object(GROUP, VERSION, ns, PLURAL, name)
            except ApiException as exc:
                if exc.status != 404:
                    raise

        return call

    parallel_api([delete(ns, name) for ns, name in keys])


def _wait_no_managed_secrets(kube_api, parallel_api, namespaces: list[str], timeout: float = 900) -> None:
    """Delete the managed Secrets of deleted resources at once: the garbage collector would take
    minutes (kube-controller-manager's client does 20 requests a second)."""
    parallel_api(
        [
            lambda api, ns=ns: client.CoreV1Api(api).delete_collection_namespaced_secret(
                ns, label_selector=MANAGED_BY
            )
            for ns in namespaces
        ]
    )
    wait_until_no_managed_secrets(kube_api, timeout)


@pytest.mark.parametrize("mode", MODES)
def test_bench_at_size(
    mode,
    kube_api,
    control_plane,
    operator_ecr,
    webhooks,
    mint_key,
    size_namespaces,
    parallel_api,
    start_operator,
    tmp_path,
):
    run = uuid.uuid4().hex[:6]
    main_key, admission_key = mint_key(f"size-{run}"), mint_key(f"size-{run}-adm")
    namespaces = size_namespaces[: max(1, SIZE // 10)]
    operator_ecr.token_lifetime = datetime.timedelta(hours=12)
    ecrcontrol = _Ecrcontrol(mode, kube_api, control_plane, operator_ecr, webhooks, start_operator, tmp_path)
    print()
    print(
        f"== {mode}: {SIZE} AWSECRImagePullSecrets in {len(namespaces)} namespaces, 1 identity, "
        f"webhooks on; {os.cpu_count()} cores"
    )
    ready_seconds = ecrcontrol.start()
    probe = measure.Probe(kube_api, operator_ecr, None, ecrcontrol.roles)
    print(f"  started: /readyz after {ready_seconds:.1f} s; memory {measure.memory_line(ecrcontrol.roles)}")

    # 1. Admission: creates with and without the webhooks, under the same operator.
    bodies = [
        _body(size_namespaces[-1 - i % len(namespaces)], f"adm-{run}-{i}", admission_key)
        for i in range(2 * ADMISSION)
    ]
    set_registered(kube_api, ecrcontrol.registered_web, False)
    without = _create_one_by_one(kube_api, bodies[:ADMISSION])
    set_registered(kube_api, ecrcontrol.registered_web, True)
    with_webhooks = _create_one_by_one(kube_api, bodies[ADMISSION:])
    print(
        f"  admission, {ADMISSION} creates from one client: without webhooks {_ms(without)}; "
        f"with {_ms(with_webhooks)}; added p50 "
        f"{(statistics.median(with_webhooks) - statistics.median(without)) * 1000:.1f} ms"
    )
    _delete_resources(
        kube_api, parallel_api, [(b["metadata"]["namespace"], b["metadata"]["name"]) for b in bodies]
    )
    _wait_no_managed_secrets(kube_api, parallel_api, size_namespaces)
    # ... and until the controller has handled their deletions (one watch thread hands on a kind's
    # events in order: the keep-pace creates would queue behind 2,000 deletions).
    wait_for(
        lambda: not NamespacedPullSecret.objects.filter(name__startswith=f"adm-{run}").exists(), timeout=600
    )
    if mode != "embedded":  # ... and the workers have taken the reconciles those deletions queued
        wait_for(lambda: get_broker().queue_size() == 0, timeout=600)
    measure.wait_quiet(ecrcontrol.roles)  # ... and run them

    # The keep-pace token's refresh point comes after phase 6 (estimated from the creates above).
    estimate = SIZE * statistics.mean(with_webhooks) * 1.3 + 200 + IDLE_SECONDS + SIZE * 0.02
    operator_ecr.token_lifetime = datetime.timedelta(seconds=2 * estimate)

    # 2. Keep pace.
    keys = [(namespaces[i % len(namespaces)], f"r-{run}-{i}") for i in range(SIZE)]
    started: dict = {}
    with (
        measure.ReadyTimes(kube_api, PLURAL) as ready,
        measure.SecretTimes(kube_api) as secrets,
    ):
        probe.reset()
        begin = time.monotonic()
        latencies = _create_one_by_one(kube_api, [_body(ns, name, main_key) for ns, name in keys], started)
        last_create = time.monotonic()
        all_ready = ready.wait_all(set(keys), READY_TIMEOUT)
        last_ready = max(ready.first_ready.get(k, time.monotonic()) for k in keys)
        to_ready = [ready.first_ready[k] - started[k] for k in keys if k in ready.first_ready]
        print(
            f"  keep pace: {SIZE} created one by one in {last_create - begin:.1f} s "
            f"({SIZE / (last_create - begin):.0f}/s, create {_ms(latencies)}); last Ready "
            f"{last_ready - last_create:.2f} s after the last create"
            f"{'' if all_ready else ' (NOT ALL READY: timed out)'}; "
            f"apply->Ready {measure.percentiles(to_ready)}"
        )
        probe.report("keep pace", SIZE)
        print(f"    memory: {measure.memory_line(ecrcontrol.roles)}")

        # 3. Fan-out.
        for count in FAN_OUT:
            probe.reset()
            name = f"fan-{run}-{count}"
            wanted = {(ns, name) for ns in size_namespaces[:count]}
            begin = time.monotonic()
            created = create_cluster_resource(
                kube_api,
                name,
                size_namespaces[:count],
                secret_name=name,
                key_id=main_key[0],
                secret=main_key[1],
            )
            all_there = secrets.wait(lambda wanted=wanted: wanted <= secrets.created.keys(), READY_TIMEOUT)
            last = max(secrets.created.get(k, time.monotonic()) for k in wanted) - begin
            print(
                f"  fan-out over {count} namespaces: every Secret {last:.2f} s after the create"
                f"{'' if all_there else ' (NOT ALL: timed out)'}"
            )
            client.CustomObjectsApi(kube_api).delete_cluster_custom_object(
                GROUP, VERSION, "clusterawsecrimagepullsecrets", name
            )
            owned = f"{OWNER_UID_LABEL}={created['metadata']['uid']}"  # not left to the garbage collector
            parallel_api(
                [
                    lambda api, ns=ns, owned=owned: client.CoreV1Api(api).delete_collection_namespaced_secret(
                        ns, label_selector=owned
                    )
                    for ns in size_namespaces[:count]
                ]
            )
        secrets.wait(lambda: not any(k[1].startswith(f"fan-{run}") for k in secrets.created), 600)

        # 4. Restart with everything in place.
        probe.reset()
        before = ecrcontrol.roles
        ecrcontrol.stop()
        ready_seconds = ecrcontrol.start()
        probe.roles = ecrcontrol.roles
        # The restarted processes' CPU since they started; a role kept running (workers mode's web)
        # from the reading before the stop.
        probe.cpu = {
            role: probe.cpu[role] if before.get(role) == pid else 0.0 for role, pid in probe.roles.items()
        }
        time.sleep(30)  # what the restarted watches hand out is done well within this
        print(f"  restart with {SIZE} in place: /readyz after {ready_seconds:.1f} s")
        probe.report("restart (and 30 s after)", SIZE)
        print(f"    memory: {measure.memory_line(ecrcontrol.roles)}")
        # For comparison, glibc's default number of malloc arenas (up to 8 per core in a process
        # of many threads, each holding freed memory), then back to the image's setting.
        for arenas in ("", "2"):
            ecrcontrol.stop()
            ecrcontrol.settings.pop("MALLOC_ARENA_MAX", None)
            ecrcontrol.settings.update({"MALLOC_ARENA_MAX": arenas} if arenas else {})
            ecrcontrol.start()
            time.sleep(30)
            if not arenas:
                print(
                    f"    memory with glibc's default arenas instead: {measure.memory_line(ecrcontrol.roles)}"
                )
        probe.roles = ecrcontrol.roles

        # 5. Idle (between refreshes: the keep-pace token is not due yet).
        probe.reset()
        time.sleep(IDLE_SECONDS)
        result = probe.report(f"idle {IDLE_SECONDS:.0f} s", SIZE)
        cores = sum(result["cpu"].values()) / IDLE_SECONDS * 100
        print(f"    idle CPU: {cores:.2f} % of a core")

        # 6. The floor: the API server's own time for SIZE Secret writes from a plain client; and
        # for the writes ecrcontrol's refresh makes (a Secret and its resource's status each).
        floor = _floor(kube_api, parallel_api, size_namespaces[-1], run)
        print(f"  floor: a plain client (8 connections) rewrote {SIZE} Secrets in {floor:.1f} s")
        same_floor = _floor(
            kube_api, parallel_api, size_namespaces[-1], run, like=_a_resource(kube_api, keys[0])
        )
        print(
            f"  floor of the same writes: {SIZE} Secrets and {SIZE} statuses (of a copy of the "
            f"resource's CRD that nothing watches) in {same_floor:.1f} s"
        )

        # 7. Refresh: every Secret's token comes due at once.
        with secrets.lock:
            before = {key: secrets.expiry.get(key) for key in keys}  # each Secret is named as its resource
        due = _earliest_refresh(kube_api)
        wait = (due - datetime.datetime.now(datetime.UTC)).total_seconds()
        operator_ecr.token_lifetime = datetime.timedelta(hours=12)
        if wait < 0:
            print(f"  (the refresh came due {-wait:.0f} s before this phase: the estimate was short)")
        print(f"  waiting {max(wait, 0):.0f} s until the refresh is due")
        time.sleep(max(wait - 1, 0))
        due_clock = time.monotonic() + min(wait, 1)
        probe.reset()
        wanted = set(before)
        refreshed = secrets.wait(
            lambda: all(secrets.expiry.get(k, ("",))[0] != (before[k] or ("",))[0] for k in wanted),
            READY_TIMEOUT,
        )
        last = max(secrets.expiry[k][1] for k in wanted if k in secrets.expiry) - due_clock
        print(
            f"  refresh of {len(wanted)} Secrets ({len(namespaces)} namespaces, 1 identity): "
            f"done {last:.1f} s after it came due ({last / floor:.2f}x the floor, "
            f"{last / same_floor:.2f}x the floor of the same writes)"
            f"{'' if refreshed else ' (NOT ALL: timed out)'}; "
            f"old tokens' lifetime {2 * estimate:.0f} s, so the last refresh was {estimate - last:.0f} s "
            "before the old token's expiry"
        )
        time.sleep(5)  # the status writes after the last Secret
        probe.report("refresh", len(wanted))
        print(f"    memory: {measure.memory_line(ecrcontrol.roles)}")
    errors = [line for line in ecrcontrol.logs().splitlines() if " ERROR " in line or "Traceback" in line]
    print(f"  log: {len(errors)} ERROR/Traceback lines{': ' + errors[0][:200] if errors else ''}")
    ecrcontrol.stop()
    _delete_resources(kube_api, parallel_api, keys)
    _wait_no_managed_secrets(kube_api, parallel_api, size_namespaces)


def _floor(kube_api, parallel_api, namespace: str, run: str, like: dict | None = None) -> float:
    """Seconds for SIZE Secret replaces of the managed Secrets' size from 8 connections; with
    `like` (a resource), each followed by a merge patch of its status (lastRefreshTime changed)
    onto a copy of it under FLOOR_GROUP, as ecrcontrol's refresh patches each resource's status."""
    status = like["status"] if like else None
    payload = {".dockerconfigjson": "x" * 2400}
    names = [f"floor-{run}-{i}" for i in range(SIZE)]

    def create(name):
        def call(api):
            client.CoreV1Api(api).create_namespaced_secret(
                namespace, {"metadata": {"name": name}, "data": payload}
            )
            if status is not None:
                client.CustomObjectsApi(api).create_namespaced_custom_object(
                    FLOOR_GROUP,
                    VERSION,
                    namespace,
                    FLOOR_PLURAL,
                    {
                        "apiVersion": f"{FLOOR_GROUP}/{VERSION}",
                        "kind": "FloorPullSecret",
                        "metadata": {"name": name},
                        "spec": like["spec"],
                    },
                )

        return call

    def replace(name):
        def call(api):
            client.CoreV1Api(api).replace_namespaced_secret(
                name, namespace, {"metadata": {"name": name}, "data": {".dockerconfigjson": "y" * 2400}}
            )
            if status is not None:
                changed = {**status, "lastRefreshTime": datetime.datetime.now(datetime.UTC).isoformat()}
                client.CustomObjectsApi(api).patch_namespaced_custom_object_status(
                    FLOOR_GROUP, VERSION, namespace, FLOOR_PLURAL, name, {"status": changed}
                )

        return call

    if status is not None:
        _install_floor_crd(kube_api)
    parallel_api([create(n) for n in names])
    begin = time.monotonic()
    parallel_api([replace(n) for n in names])
    elapsed = time.monotonic() - begin
    client.CoreV1Api(kube_api).delete_collection_namespaced_secret(namespace)
    if status is not None:
        client.CustomObjectsApi(kube_api).delete_collection_namespaced_custom_object(
            FLOOR_GROUP, VERSION, namespace, FLOOR_PLURAL
        )
    return elapsed


FLOOR_GROUP, FLOOR_PLURAL = "floor.bench.ecrcontrol.test", "floorpullsecrets"


def _install_floor_crd(kube_api) -> None:
    """AWSECRImagePullSecret's CRD (schema, status subresource) under another group, which neither
    ecrcontrol nor its webhooks watch: the API server's cost of a status patch, alone."""
    extensions = client.ApiextensionsV1Api(kube_api)
    ours = extensions.read_custom_resource_definition(f"{PLURAL}.{GROUP}", _preload_content=False)
    crd = json.loads(ours.data)
    crd["metadata"] = {"name": f"{FLOOR_PLURAL}.{FLOOR_GROUP}"}
    crd.pop("status", None)
    crd["spec"]["group"] = FLOOR_GROUP
    crd["spec"]["names"] = {
        "plural": FLOOR_PLURAL,
        "singular": "floorpullsecret",
        "kind": "FloorPullSecret",
        "listKind": "FloorPullSecretList",
    }
    crd["spec"]["versions"] = [v for v in crd["spec"]["versions"] if v["name"] == VERSION]
    crd["spec"]["versions"][0]["storage"] = True
    crd["spec"].pop("conversion", None)
    try:
        extensions.create_custom_resource_definition(crd)
    except ApiException as exc:
        if exc.status != 409:
            raise
    wait_for(
        lambda: any(
            c.type == "Established" and c.status == "True"
            for c in extensions.read_custom_resource_definition(crd["metadata"]["name"]).status.conditions
            or []
        ),
        timeout=60,
    )


def _a_resource(kube_api, key: tuple[str, str]) -> dict:
    """One of the resources, with the status ecrcontrol wrote: what the floor's objects copy."""
    return client.CustomObjectsApi(kube_api).get_namespaced_custom_object(
        GROUP, VERSION, key[0], PLURAL, key[1]
    )


def _earliest_refresh(kube_api) -> datetime.datetime:
    earliest = None
    for secret in _managed(kube_api):
        value = (secret["metadata"].get("annotations") or {}).get("ecrcontrol.io/refresh-at")
        if value:
            when = datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
            earliest = when if earliest is None else min(earliest, when)
    return earliest or datetime.datetime.now(datetime.UTC)


def _managed(kube_api) -> list[dict]:
    response = client.CoreV1Api(kube_api).list_secret_for_all_namespaces(
        label_selector=MANAGED_BY, _preload_content=False
    )
    return json.loads(response.data)["items"]
