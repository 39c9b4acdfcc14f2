"""Benchmarks at scale: the real control plane with the webhooks on, ECR on moto (IAM enforced)
behind two local ECR fronts that count calls (one for the webhooks, one for the operator), and
the operator's real processes in the configuration under test.

Sizes come from the environment so that a quick run can check the benchmarks themselves:
ECRCONTROL_BENCH_COUNT (resources, default 1000), ECRCONTROL_BENCH_IDLE_SECONDS (default 600),
ECRCONTROL_BENCH_MODES (default "embedded,workers-2,workers-4").

Modes: "embedded" is the embedded default as `make run` and the chart's SQLite mode run it: one
gunicorn process hosting the web, controller and worker roles (ECRCONTROL_EMBEDDED=1), whose
webhooks are registered in place of the module's web server's for the test. "workers-N": the
module's web server, `manage.py controller` and N django-q2 worker processes.
"""

from __future__ import annotations

import collections
import dataclasses
import json
import os
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from kubernetes import client, config
from kubernetes.client.rest import ApiException

from devstack.ecr import LocalECR
from devstack.webserver import WebServer

from ..helpers import GROUP, VERSION, delete_all_resources, wait_for
from ..operator import process_env
from ..webhooks.conftest import mint_key, proxy, set_registered, web_server, webhooks  # noqa: F401 - fixtures

COUNT = int(os.environ.get("ECRCONTROL_BENCH_COUNT", "1000"))
IDLE_SECONDS = float(os.environ.get("ECRCONTROL_BENCH_IDLE_SECONDS", "600"))
MODES = os.environ.get("ECRCONTROL_BENCH_MODES", "embedded,workers-2,workers-4").split(",")
IDENTITIES = 5
MANAGED_BY = "app.kubernetes.io/managed-by=ecrcontrol"  # the managed Secrets' label
# Production defaults where the tests speed things up (tests/integration/operator.py).
BENCH_SETTINGS = {"ECRCONTROL_LOG_LEVEL": "INFO", "ECRCONTROL_RECONCILE_LEASE_SECONDS": "60"}


@pytest.fixture(scope="module")
def operator_ecr(strict_moto) -> Iterator[LocalECR]:
    """The operator's own local ECR (AWS's throttling quota included), so that its calls are
    counted apart from the webhooks'."""
    with LocalECR(strict_moto.url) as ecr:
        yield ecr


@pytest.fixture
def identities(mint_key) -> list[tuple[str, str]]:  # noqa: F811
    """New IAM users for each run: a token of an earlier run (still held by its Secrets, which
    workers share tokens through) must not spare this run its ECR calls."""
    run = uuid.uuid4().hex[:6]
    return [mint_key(f"bench-{run}-{i}") for i in range(IDENTITIES)]


@pytest.fixture(scope="module")
def parallel_api(control_plane):
    """Clients for applying many objects at once (the client's connection pool is per ApiClient)."""
    apis = [config.new_client_from_config(config_file=str(control_plane.kubeconfig)) for _ in range(8)]

    def run(calls: list) -> None:
        with ThreadPoolExecutor(len(apis)) as pool:
            futures = [pool.submit(call, apis[i % len(apis)]) for i, call in enumerate(calls)]
            for future in futures:
                future.result()

    yield run
    for api in apis:
        api.close()


@pytest.fixture(scope="module")
def bench_namespaces(kube_api, parallel_api) -> list[str]:
    """COUNT // 2 namespaces (at least 100, for the issue table), created once for the module."""
    names = [f"bench-{i:03d}" for i in range(max(100, COUNT // 2))]
    existing = {n.metadata.name for n in client.CoreV1Api(kube_api).list_namespace().items}

    def create(name):
        return lambda api: client.CoreV1Api(api).create_namespace(
            client.V1Namespace(metadata=client.V1ObjectMeta(name=name))
        )

    def delete(name):
        return lambda api: client.CoreV1Api(api).delete_namespace(name)

    parallel_api([create(n) for n in names if n not in existing])
    yield names
    delete_all_resources(kube_api)
    parallel_api([delete(n) for n in names])


@dataclasses.dataclass
class Running:
    roles: dict[str, int]  # role name -> pid (a role's process tree is measured from it)
    webhook_ecr: LocalECR | None  # the webhooks' own ECR front; None: they share the operator's
    logs: Callable[[], str]


@pytest.fixture
def start_mode(kube_api, control_plane, webhooks, proxy, operator_ecr, start_operator, tmp_path):  # noqa: F811
    """Start ecrcontrol in a bench mode (see the module's docstring) against operator_ecr."""
    hosted: list[WebServer] = []

    def start(mode: str) -> Running:
        if mode == "embedded":
            env = process_env(
                control_plane.kubeconfig,
                operator_ecr.url,
                ECRCONTROL_EMBEDDED="1",
                ECRCONTROL_LOCK_DIR=str(tmp_path / "locks"),
                **BENCH_SETTINGS,
            )
            web = WebServer(env)
            hosted.append(web)
            web.start()
            web.process.wait_until(lambda: "leading: watching" in web.log_path.read_text(), 30, "leading")
            set_registered(kube_api, web, True)
            return Running({"web+controller+worker": web.process.pid}, None, web.log_path.read_text)
        op = start_operator(
            operator_ecr.url, ECRCONTROL_WORKERS=mode.removeprefix("workers-"), **BENCH_SETTINGS
        )
        return Running({"web": webhooks.process.pid, **op.roles()}, proxy, op.logs)

    yield start
    for web in hosted:
        set_registered(kube_api, webhooks, True)
        web.stop()


def create_namespaced(api, body: dict, denials: collections.Counter) -> None:
    """Create an AWSECRImagePullSecret as a GitOps tool would: a denied create (e.g. the webhook
    could not reach ECR, throttled) is counted by its message and tried again a second later."""
    for attempt in range(30):
        try:
            client.CustomObjectsApi(api).create_namespaced_custom_object(
                GROUP, VERSION, body["metadata"]["namespace"], "awsecrimagepullsecrets", body
            )
            return
        except ApiException as exc:
            message = json.loads(exc.body or "{}").get("message", str(exc.reason)) if exc.body else exc.reason
            denials[f"{exc.status}: {str(message)[:160]}"] += 1
            if attempt == 29:
                raise
            time.sleep(1)


def denial_line(denials: collections.Counter) -> str:
    if not denials:
        return "no create was denied"
    return f"{sum(denials.values())} creates denied and retried: " + "; ".join(
        f"{count}x {message}" for message, count in denials.most_common(3)
    )


def wait_until_no_managed_secrets(kube_api, timeout: float = 600) -> None:
    core = client.CoreV1Api(kube_api)
    wait_for(
        lambda: not core.list_secret_for_all_namespaces(label_selector=MANAGED_BY, limit=1).items,
        timeout=timeout,
        interval=1,
    )
