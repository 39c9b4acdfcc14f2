"""Several worker processes, still one ECR call per identity per refresh: the workers share the
token through the Secrets that hold it, under a short lock per identity (services.identity.tokens)."""

from __future__ import annotations

import re

import pytest
from kubernetes import client

from .helpers import GROUP, VERSION, create_namespaced_resource, docker_config, unique, wait_for

RESOURCES = 100


@pytest.mark.parametrize("workers", [2, 4])
def test_n_workers_make_one_ecr_call_per_identity_for_100_resources(
    kube_api, start_operator, ecr, namespace, workers
):
    operator = start_operator(ecr.url, ECRCONTROL_WORKERS=str(workers))
    key_id = unique("AKIAWORKERS").upper()  # not a key whose token an earlier test's Secrets still hold
    for i in range(RESOURCES):
        create_namespaced_resource(
            kube_api, namespace, f"r{i:03d}", secret_name=f"pull-{i:03d}", key_id=key_id
        )
    custom = client.CustomObjectsApi(kube_api)

    def all_ready():
        """every resource Ready"""
        items = custom.list_namespaced_custom_object(GROUP, VERSION, namespace, "awsecrimagepullsecrets")[
            "items"
        ]
        ready = [
            i
            for i in items
            if any(
                c["type"] == "Ready" and c["status"] == "True"
                for c in (i.get("status") or {}).get("conditions", [])
            )
        ]
        return len(ready) == RESOURCES

    wait_for(all_ready, timeout=300, interval=1)
    assert ecr.token_calls == 1
    secrets = (
        client.CoreV1Api(kube_api)
        .list_namespaced_secret(namespace, label_selector="app.kubernetes.io/managed-by=ecrcontrol")
        .items
    )
    assert len(secrets) == RESOURCES
    passwords = {auth["password"] for s in secrets for auth in docker_config(s)["auths"].values()}
    assert len(passwords) == 1
    # The reconciles really ran in several worker processes (django-q2 names them in its log).
    log = operator.worker.log_path.read_text()
    processes = set(re.findall(r"(\S+) processing [^\n]*'secrets_app\.tasks\.reconcile'", log))
    assert len(processes) >= 2, f"reconciles ran in {processes} only"
