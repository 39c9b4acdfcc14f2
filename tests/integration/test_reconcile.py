"""A kubectl-applied resource yields working, fresh docker pull Secrets, reported in its status."""

from __future__ import annotations

import base64
import datetime

from kubernetes import client

from .helpers import (
    create_cluster_resource,
    create_namespace,
    create_namespaced_resource,
    docker_config,
    get_cluster_resource,
    get_namespaced_resource,
    is_ready,
    read_secret,
    ready_condition,
    unique,
    wait_for,
)

MOTO_REGISTRY = "123456789012.dkr.ecr.eu-west-1.amazonaws.com"


def assert_valid_pull_secret(secret, owner: dict) -> None:
    assert secret.type == "kubernetes.io/dockerconfigjson"
    auths = docker_config(secret)["auths"]
    assert list(auths) == [MOTO_REGISTRY]
    entry = auths[MOTO_REGISTRY]
    assert entry["username"] == "AWS" and entry["password"]
    assert base64.b64decode(entry["auth"]).decode() == f"AWS:{entry['password']}"
    datetime.datetime.fromisoformat(secret.metadata.annotations["expiry"].replace("Z", "+00:00"))
    assert secret.metadata.labels["app.kubernetes.io/managed-by"] == "ecrcontrol"
    [ref] = secret.metadata.owner_references
    assert (ref.kind, ref.name, ref.uid) == (
        owner["kind"],
        owner["metadata"]["name"],
        owner["metadata"]["uid"],
    )


def test_cluster_resource_gets_ready_secrets_in_three_namespaces(kube_api, operator):
    namespaces = [unique("ns") for _ in range(3)]
    for ns in namespaces:
        create_namespace(kube_api, ns)
    name = unique("caeps")
    create_cluster_resource(kube_api, name, namespaces)

    body = wait_for(lambda: (b := get_cluster_resource(kube_api, name)) and is_ready(b) and b, timeout=30)
    condition = ready_condition(body)
    assert condition["reason"] == "SecretsUpdated"
    assert condition["message"].startswith(
        "AWS ECR secret with type kubernetes.io/dockerconfigjson have been created/updated successfully in "
        f"namespaces: [{' '.join(namespaces)}] next update at: "
    )
    status = body["status"]
    assert status["observedGeneration"] == body["metadata"]["generation"]
    assert [n["namespace"] for n in status["namespaces"] if n["ready"]] == namespaces
    assert status["nextRefreshTime"] > status["lastRefreshTime"]
    for ns in namespaces:
        assert_valid_pull_secret(read_secret(kube_api, ns, "ecr-pull"), body)


def test_namespaced_resource_gets_a_ready_secret_and_events(kube_api, operator, namespace):
    created = create_namespaced_resource(kube_api, namespace, "pull")
    body = wait_for(lambda: (b := get_namespaced_resource(kube_api, namespace, "pull")) and is_ready(b) and b)
    assert_valid_pull_secret(read_secret(kube_api, namespace, "ecr-pull"), created)
    events = client.CoreV1Api(kube_api).list_namespaced_event(
        namespace, field_selector=f"involvedObject.uid={body['metadata']['uid']}"
    )
    assert [(e.reason, e.message) for e in events.items] == [
        ("SecretCreationSuccess", f"secret ecr-pull created successfully in namespace {namespace}")
    ]
