"""An API server that answers 429 while hundreds of resources are created at once.

A control plane of this module's own, with a small `--max-requests-inflight` and
`--max-mutating-requests-inflight`. With priority and fairness on (the default), the two are
summed into the server's total concurrency, shared out among the priority levels; a request
that finds its level's seats taken waits in a queue, and is answered 429 (with Retry-After) when
the queue is full. The default levels queue up to 50 requests in each of 6 queues per flow, more
than a few hundred creates ever fill, so the operator's and the GitOps tool's ServiceAccounts
are put in a level of their own with one seat and short queues, as a cluster administrator
would for a noisy client. The operator must back off, converge, lose no resource and write
each Secret exactly once (kube-apiserver's own `apiserver_request_total` counts the writes).
"""

from __future__ import annotations

import base64
import collections
import json
import re
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from kubernetes import client, config
from kubernetes.client.rest import ApiException

from devstack.controlplane import ControlPlane

from .conftest import CHART_CRDS, apply_crds
from .helpers import GROUP, VERSION, create_namespace, create_namespaced_resource, is_ready, wait_for
from .operator import Operator

RESOURCES = 300
NAMESPACES = 6
THREADS = 32
HOME = "overload-system"
CLIENTS = ("ecrcontrol", "gitops")  # ServiceAccounts in HOME
LEVEL = "ecrcontrol-overload"
RBAC_GROUP = "rbac.authorization.k8s.io"
_SAMPLE = re.compile(r"^apiserver_request_total\{(?P<labels>[^}]*)\} (?P<value>\S+)$")
_LABEL = re.compile(r'(\w+)="([^"]*)"')


@pytest.fixture(scope="module")
def overloaded() -> ControlPlane:
    # 2 + 1 seats in all: the smallest levels get one each. Admin requests (system:masters) are
    # exempt: the test's own reads and counts always get through.
    args = ("--max-requests-inflight=2", "--max-mutating-requests-inflight=1")
    with ControlPlane(apiserver_args=args) as cp:
        admin = config.new_client_from_config(config_file=str(cp.kubeconfig))
        apply_crds(admin, CHART_CRDS)
        throttle(admin)
        admin.close()
        yield cp


def throttle(admin: client.ApiClient) -> None:
    """A priority level of one seat that lends none and borrows none, for the operator's and the
    GitOps tool's ServiceAccounts (kube-controller-manager's stay where they are), with 2 queues
    of 2 (a flow gets one): past two waiting requests of a client, the API server answers 429."""
    flowcontrol = client.FlowcontrolApiserverV1Api(admin)
    flowcontrol.create_priority_level_configuration(
        {
            "metadata": {"name": LEVEL},
            "spec": {
                "type": "Limited",
                "limited": {
                    "nominalConcurrencyShares": 1,
                    "lendablePercent": 0,
                    "borrowingLimitPercent": 0,
                    "limitResponse": {
                        "type": "Queue",
                        "queuing": {"queues": 2, "handSize": 1, "queueLengthLimit": 2},
                    },
                },
            },
        }
    )
    flowcontrol.create_flow_schema(
        {
            "metadata": {"name": LEVEL},
            "spec": {
                "priorityLevelConfiguration": {"name": LEVEL},
                "matchingPrecedence": 500,  # before the default "service-accounts" schema (9000)
                "distinguisherMethod": {"type": "ByUser"},
                "rules": [
                    {
                        "subjects": [
                            {"kind": "ServiceAccount", "serviceAccount": {"name": name, "namespace": HOME}}
                            for name in CLIENTS
                        ],
                        "resourceRules": [
                            {
                                "verbs": ["*"],
                                "apiGroups": ["*"],
                                "resources": ["*"],
                                "namespaces": ["*"],
                                "clusterScope": True,
                            }
                        ],
                        "nonResourceRules": [{"verbs": ["*"], "nonResourceURLs": ["*"]}],
                    }
                ],
            },
        }
    )
    # The API server picks up new flow control objects within a moment.
    time.sleep(1)


def service_account_kubeconfig(cp: ControlPlane, admin: client.ApiClient, name: str, path: Path) -> Path:
    """A kubeconfig of a ServiceAccount bound to cluster-admin: RBAC is not what this tests, flow
    control is (system:masters, the admin kubeconfig's group, is exempt from it)."""
    core, rbac = client.CoreV1Api(admin), client.RbacAuthorizationV1Api(admin)
    try:
        core.create_namespace({"metadata": {"name": HOME}})
    except ApiException as exc:
        if exc.status != 409:
            raise
    core.create_namespaced_service_account(HOME, {"metadata": {"name": name}})
    rbac.create_cluster_role_binding(
        {
            "metadata": {"name": f"overload-{name}"},
            "roleRef": {"apiGroup": RBAC_GROUP, "kind": "ClusterRole", "name": "cluster-admin"},
            "subjects": [{"kind": "ServiceAccount", "name": name, "namespace": HOME}],
        }
    )
    token = core.create_namespaced_service_account_token(
        name, HOME, {"spec": {"expirationSeconds": 3600}}
    ).status.token
    kubeconfig = json.loads(cp.kubeconfig.read_text())
    kubeconfig["users"] = [{"name": "admin", "user": {"token": token}}]
    path.write_text(json.dumps(kubeconfig))
    return path


def requests_by_code(admin: client.ApiClient) -> collections.Counter:
    """apiserver_request_total by (verb, resource, subresource, code), from kube-apiserver's /metrics."""
    response = admin.call_api(
        "/metrics", "GET", auth_settings=["BearerToken"], _preload_content=False, _return_http_data_only=True
    )
    counts: collections.Counter = collections.Counter()
    for line in response.data.decode().splitlines():
        if found := _SAMPLE.match(line):
            labels = dict(_LABEL.findall(found["labels"]))
            key = tuple(labels.get(name, "") for name in ("verb", "resource", "subresource", "code"))
            counts[key] += int(float(found["value"]))
    return counts


def create_retrying_429(api: client.ApiClient, namespace: str, name: str) -> int:
    """Create a resource as a GitOps tool would: sent again after a 429's Retry-After (a 409 after
    a retry is our own earlier attempt that did get through). Returns the 429s it met."""
    refusals = 0
    while True:
        try:
            create_namespaced_resource(api, namespace, name, secret_name=f"pull-{name}")
            return refusals
        except ApiException as exc:
            if exc.status == 409 and refusals:
                return refusals
            if exc.status != 429:
                raise
            refusals += 1
            time.sleep(float(exc.headers.get("Retry-After", "1")))


def test_an_api_server_answering_429_during_a_mass_create_loses_nothing_and_writes_each_secret_once(
    overloaded, transactional_db, ecr, tmp_path
):
    admin = config.new_client_from_config(config_file=str(overloaded.kubeconfig))
    operator_kubeconfig = service_account_kubeconfig(overloaded, admin, "ecrcontrol", tmp_path / "op.yaml")
    gitops_kubeconfig = service_account_kubeconfig(overloaded, admin, "gitops", tmp_path / "gitops.yaml")
    gitops = config.new_client_from_config(config_file=str(gitops_kubeconfig))
    gitops.configuration.connection_pool_maxsize = THREADS
    gitops = client.ApiClient(gitops.configuration)
    namespaces = [f"ovl-{i}" for i in range(NAMESPACES)]
    for namespace in namespaces:
        create_namespace(admin, namespace)
    wanted = {(namespaces[i % NAMESPACES], f"r{i:03d}") for i in range(RESOURCES)}

    op = Operator(operator_kubeconfig, ecr.url, tmp_path).start_embedded()
    try:
        before = requests_by_code(admin)
        started = time.monotonic()
        with ThreadPoolExecutor(THREADS) as pool:
            gitops_429s = sum(pool.map(lambda key: create_retrying_429(gitops, *key), sorted(wanted)))
        created = time.monotonic() - started

        custom = client.CustomObjectsApi(admin)

        def not_ready() -> list[str]:
            items = custom.list_cluster_custom_object(GROUP, VERSION, "awsecrimagepullsecrets")["items"]
            assert {(i["metadata"]["namespace"], i["metadata"]["name"]) for i in items} == wanted
            return [i["metadata"]["name"] for i in items if not is_ready(i)]

        wait_for(lambda: not not_ready(), timeout=150, interval=1.0)
        converged = time.monotonic() - started
        time.sleep(2)  # reconciles still queued (status echoes) must find nothing to write
        counts = requests_by_code(admin)
        log = op.logs()
    finally:
        op.stop()

    # Every resource has its Secret, exactly one, with the content a reconcile writes.
    resources = {
        (i["metadata"]["namespace"], i["metadata"]["name"]): i
        for i in client.CustomObjectsApi(admin).list_cluster_custom_object(
            GROUP, VERSION, "awsecrimagepullsecrets"
        )["items"]
    }
    listed = client.CoreV1Api(admin).list_secret_for_all_namespaces(_preload_content=False)
    secrets = [s for s in json.loads(listed.data)["items"] if s["metadata"]["namespace"] in namespaces]
    by_key = collections.Counter((s["metadata"]["namespace"], s["metadata"]["name"]) for s in secrets)
    assert by_key == collections.Counter({(ns, f"pull-{name}"): 1 for ns, name in wanted})
    for secret in secrets:
        meta = secret["metadata"]
        owner = resources[(meta["namespace"], meta["name"].removeprefix("pull-"))]
        assert [ref["uid"] for ref in meta["ownerReferences"]] == [owner["metadata"]["uid"]]
        assert secret["type"] == "kubernetes.io/dockerconfigjson"
        auths = json.loads(base64.b64decode(secret["data"][".dockerconfigjson"]))["auths"]
        (entry,) = auths.values()
        assert entry["username"] == "AWS" and entry["password"]

    # No duplicate write: one successful create per Secret and no rewrite, by the API server's count.
    delta = counts - before
    secret_writes = {k: v for k, v in delta.items() if k[1] == "secrets" and k[0] in ("POST", "PUT", "PATCH")}
    throttled = {k: v for k, v in delta.items() if k[3] == "429"}
    summary = (
        f"created in {created:.1f}s, all Ready after {converged:.1f}s; Secret writes {secret_writes}; "
        f"429s {throttled}; GitOps met {gitops_429s}"
    )
    print(summary)
    assert secret_writes.get(("POST", "secrets", "", "201")) == RESOURCES, summary
    assert not [k for k in secret_writes if k[0] in ("PUT", "PATCH") and k[3].startswith("2")], summary

    # ... and the API server really did refuse requests, the operator's among them.
    assert sum(throttled.values()) > 0, summary
    assert gitops_429s > 0, summary
    assert "answered 429" in log, summary
