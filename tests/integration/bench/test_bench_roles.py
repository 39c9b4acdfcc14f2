"""Benchmark (`make bench`): STS and ECR calls for 100 resources assuming one role, per refresh.

100 AWSECRImagePullSecrets in 10 namespaces, all with the same base keys and `roleArn`, against the
local ECR + STS; the tokens live 40 s so that refreshes come quickly (refresh at half the lifetime).
Prints the calls of the first sync and of each of the next refreshes, counted at the local front.
"""

from __future__ import annotations

import datetime
import time

import pytest
from kubernetes import client

from ..helpers import CANARY_SECRET, GROUP, VERSION, create_namespace, is_ready, unique, wait_for

pytestmark = [pytest.mark.bench, pytest.mark.timeout(900)]

ROLE = "arn:aws:iam::123456789012:role/ecr-puller"
RESOURCES, NAMESPACES, REFRESHES = 100, 10, 3


def test_bench_sts_and_ecr_calls_per_refresh_for_100_resources_on_one_role(kube_api, start_operator, ecr):
    ecr.token_lifetime = datetime.timedelta(seconds=40)
    start_operator(ecr.url, embedded=True, ECRCONTROL_MIN_REFRESH_SECONDS="1")
    custom = client.CustomObjectsApi(kube_api)
    namespaces = [unique("bench-role") for _ in range(NAMESPACES)]
    for ns in namespaces:
        create_namespace(kube_api, ns)
    access = {"region": "eu-west-1", "accessKeyId": "AKIABENCHROLEBASE001", "secretAccessKey": CANARY_SECRET}
    started = time.monotonic()
    for i in range(RESOURCES):
        ns = namespaces[i % NAMESPACES]
        body = {
            "apiVersion": f"{GROUP}/{VERSION}",
            "kind": "AWSECRImagePullSecret",
            "metadata": {"name": f"r{i}", "namespace": ns},
            "spec": {"awsAccess": {**access, "roleArn": ROLE}, "secretName": f"pull-{i}"},
        }
        custom.create_namespaced_custom_object(GROUP, VERSION, ns, "awsecrimagepullsecrets", body)

    def all_ready():
        items = custom.list_cluster_custom_object(GROUP, VERSION, "awsecrimagepullsecrets")["items"]
        return (
            sum(1 for item in items if item["metadata"]["namespace"] in namespaces and is_ready(item))
            == RESOURCES
        )

    wait_for(all_ready, timeout=120)
    print(
        f"\n[bench roles] {RESOURCES} resources on one role in {NAMESPACES} namespaces: all Ready in "
        f"{time.monotonic() - started:.1f} s with {len(ecr.sts_calls)} STS and {ecr.token_calls} ECR calls"
    )
    for refresh in range(1, REFRESHES + 1):
        ecr.reset_counters()
        wait_for(lambda: ecr.token_calls >= 1, timeout=60)
        time.sleep(10)  # the rest of this refresh's rewrites (the next is ~20 s after this one)
        roles = sorted({s.role_arn for s in ecr.token_signers})
        actions = ", ".join(sorted({c.action for c in ecr.sts_calls})) or "none"
        print(
            f"[bench roles] refresh {refresh}: {len(ecr.sts_calls)} STS calls ({actions}), "
            f"{ecr.token_calls} ECR calls, signed by {roles}"
        )
