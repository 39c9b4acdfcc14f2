"""A kubectl-applied resource yields working, fresh docker pull Secrets, reported in its status."""

from __future__ import annotations

import base64
import datetime
import time

from kubernetes import client

from secrets_app.services.reconcile import EVENTS_APART

from .helpers import (
    create_cluster_resource,
    create_namespace,
    create_namespaced_resource,
    docker_config,
    get_cluster_resource,
    get_namespaced_resource,
    is_ready,
    kubectl,
    read_secret,
    ready_condition,
    unique,
    wait_for,
    wait_for_reason,
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


def test_a_cluster_resource_over_many_namespaces_records_a_few_events_not_one_each(kube_api, operator):
    namespaces = [unique("ns") for _ in range(EVENTS_APART + 3)]
    for ns in namespaces:
        create_namespace(kube_api, ns)
    name = unique("caeps")
    create_cluster_resource(kube_api, name, namespaces)
    body = wait_for(lambda: (b := get_cluster_resource(kube_api, name)) and is_ready(b) and b, timeout=30)

    def created_events():
        events = client.CoreV1Api(kube_api).list_namespaced_event(
            "default", field_selector=f"involvedObject.uid={body['metadata']['uid']}"
        )
        return [e.message for e in events.items if e.reason == "SecretCreationSuccess"]

    messages = wait_for(lambda: len(found := created_events()) == EVENTS_APART and found, timeout=30)
    apart = sorted(m for m in messages if not m.startswith("(combined"))
    assert len(apart) == EVENTS_APART - 1
    assert len([m for m in messages if m.startswith("(combined from 4 similar events) ")]) == 1
    # Every namespace is named once, apart or in the combined event.
    named = [ns for ns in namespaces for m in messages if f"in namespace {ns}" in m]
    assert sorted(named) == sorted(namespaces), messages


def test_namespaced_resource_gets_a_ready_secret_and_events(kube_api, operator, namespace):
    created = create_namespaced_resource(kube_api, namespace, "pull")
    body = wait_for(lambda: (b := get_namespaced_resource(kube_api, namespace, "pull")) and is_ready(b) and b)
    assert_valid_pull_secret(read_secret(kube_api, namespace, "ecr-pull"), created)
    events = wait_for(  # events are recorded after the status is written
        lambda: (
            client.CoreV1Api(kube_api)
            .list_namespaced_event(namespace, field_selector=f"involvedObject.uid={body['metadata']['uid']}")
            .items
        )
    )
    assert [(e.reason, e.message) for e in events] == [
        ("SecretCreationSuccess", f"secret ecr-pull created successfully in namespace {namespace}")
    ]


def _time(value: str) -> datetime.datetime:
    return datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))


def test_a_token_from_the_realistic_ecr_expires_in_12_hours_is_refreshed_at_half_and_reads_well(
    kube_api, control_plane, operator, ecr, namespace
):
    # A key of its own: a Secret an earlier test left behind (its namespace still being deleted)
    # holds a token of the default key, which the operator would share instead of calling ECR.
    created = create_namespaced_resource(kube_api, namespace, "fresh", key_id=unique("AKIAFRESH").upper())
    body = wait_for(
        lambda: (b := get_namespaced_resource(kube_api, namespace, "fresh")) and is_ready(b) and b
    )
    secret = read_secret(kube_api, namespace, "ecr-pull")
    assert_valid_pull_secret(secret, created)

    now = datetime.datetime.now(datetime.UTC)
    expiry = _time(secret.metadata.annotations["expiry"])
    assert datetime.timedelta(hours=11, minutes=58) < expiry - now <= datetime.timedelta(hours=12)
    status = body["status"]
    assert _time(status["expiresAt"]) == expiry
    refreshed, next_refresh = _time(status["lastRefreshTime"]), _time(status["nextRefreshTime"])
    # Half of the token's lifetime (6 h after it was fetched; seconds of rounding either way).
    assert abs((next_refresh - refreshed) - datetime.timedelta(hours=6)) < datetime.timedelta(seconds=5)
    assert _time(secret.metadata.annotations["ecrcontrol.io/refresh-at"]) == next_refresh
    assert ecr.token_calls == 1

    listing = kubectl(control_plane, "get", "aeps", "-n", namespace)
    assert listing.returncode == 0, listing.stderr
    header, row = listing.stdout.splitlines()
    assert header.split() == ["NAME", "READY", "SECRET", "EXPIRES", "AGE"]
    assert "<invalid>" not in row
    assert row.split()[:4] == ["fresh", "True", "ecr-pull", status["expiresAt"]]  # RFC 3339, UTC
    wide = kubectl(control_plane, "get", "aeps", "-n", namespace, "-o", "wide")
    header, row = wide.stdout.splitlines()
    assert header.split() == [
        "NAME",
        "READY",
        "SECRET",
        "EXPIRES",
        "AGE",
        "NEXT",
        "REFRESH",
        "IDENTITY",
        "ROLE",
        "SERVICE",
        "ACCOUNTS",
    ]
    assert row.split()[5:] == [status["nextRefreshTime"], "inline"]  # no role, no ServiceAccounts: empty


def test_an_expiry_in_the_past_clock_skew_does_not_cause_a_refresh_loop(kube_api, operator, ecr, namespace):
    ecr.expires_at = datetime.datetime.now(datetime.UTC) - datetime.timedelta(hours=1)
    create_namespaced_resource(kube_api, namespace, "skewed", key_id=unique("AKIASKEWED").upper())
    body = wait_for(
        lambda: (b := get_namespaced_resource(kube_api, namespace, "skewed")) and is_ready(b) and b
    )
    wait_for_reason(lambda: get_namespaced_resource(kube_api, namespace, "skewed"), "SecretsUpdated")
    secret = read_secret(kube_api, namespace, "ecr-pull")
    version = secret.metadata.resource_version
    # Not trusted: the next refresh is from the documented 12 h lifetime, hours ahead.
    next_refresh = _time(body["status"]["nextRefreshTime"])
    assert next_refresh - datetime.datetime.now(datetime.UTC) > datetime.timedelta(hours=5)
    time.sleep(5)  # several lease and watch cycles: a loop would show here
    assert ecr.token_calls == 1
    assert read_secret(kube_api, namespace, "ecr-pull").metadata.resource_version == version
