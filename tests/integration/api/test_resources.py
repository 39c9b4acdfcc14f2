"""Scripts with a token drive pull secrets through the REST API, against the real stack: create and
see the Secret in the cluster, change with If-Match (412 when stale, 409 when a kubectl edit came
in between), a webhook denial as a 400 on its field, delete, refresh now, filters."""

from __future__ import annotations

import time

import pytest
from kubernetes import client

from ..helpers import (
    CANARY_SECRET,
    get_namespaced_resource,
    kubectl,
    read_secret,
    unique,
    wait_for,
)

URL = "/api/v1/awsecrimagepullsecrets/"


def manifest(
    namespace: str, name: str, secret_name: str = "ecr-pull", key_id: str = "AKIAIOSFODNN7EXAMPLE"
) -> dict:
    return {
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "awsAccess": {"accessKeyId": key_id, "secretAccessKey": CANARY_SECRET, "region": "eu-west-1"},
            "secretName": secret_name,
        },
    }


def wait_ready(api, pk: int) -> dict:
    def ready():
        body = api.get(f"{URL}{pk}/").json()
        return body["status"]["ready"] and body

    ready.__doc__ = f"resource {pk} is Ready in the API"
    return wait_for(ready, timeout=60)


def test_create_through_the_api_and_the_secret_appears_in_the_cluster(operator_api, kube_api, namespace):
    response = operator_api.post(URL, json=manifest(namespace, "pull"))
    assert response.status_code == 201, response.text
    body = response.json()
    assert response.headers["Location"].endswith(f"{URL}{body['id']}/")
    assert response.headers["ETag"] == f'"{body["metadata"]["uid"]}.1"'
    assert get_namespaced_resource(kube_api, namespace, "pull")["metadata"]["uid"] == body["metadata"]["uid"]
    secret = wait_for(lambda: read_secret(kube_api, namespace, "ecr-pull"), timeout=60)
    assert secret.type == "kubernetes.io/dockerconfigjson"
    ready = wait_ready(operator_api, body["id"])
    assert ready["status"]["reason"] == "SecretsUpdated" and ready["status"]["expiresAt"]
    assert ready["status"]["namespaces"][0]["state"] == "synced"
    again = operator_api.post(URL, json=manifest(namespace, "pull"))
    assert again.status_code == 409
    assert "already exists in the cluster" in again.json()["detail"]


def test_a_stale_if_match_is_412_and_the_cluster_keeps_the_newer_change(operator_api, kube_api, namespace):
    created = operator_api.post(URL, json=manifest(namespace, "pull")).json()
    url = f"{URL}{created['id']}/"
    first = operator_api.get(url)
    etag = first.headers["ETag"]
    changed = operator_api.patch(
        url, json={"spec": {"awsAccess": {"region": "us-east-1"}}}, headers={"If-Match": etag}
    )
    assert changed.status_code == 200, changed.text
    assert changed.headers["ETag"] != etag and changed.json()["metadata"]["generation"] == 2
    stale = operator_api.patch(
        url, json={"spec": {"awsAccess": {"region": "eu-central-1"}}}, headers={"If-Match": etag}
    )
    assert stale.status_code == 412
    assert "has changed since you read it" in stale.json()["detail"]
    assert get_namespaced_resource(kube_api, namespace, "pull")["spec"]["awsAccess"]["region"] == "us-east-1"
    assert operator_api.delete(url, headers={"If-Match": etag}).status_code == 412


def test_a_kubectl_edit_the_mirror_has_not_seen_yet_is_a_409_not_overwritten(
    operator_api, stack, control_plane, kube_api, namespace
):
    created = operator_api.post(URL, json=manifest(namespace, "pull")).json()
    url = f"{URL}{created['id']}/"
    etag = operator_api.get(url).headers["ETag"]
    stack["operator"].controller.stop()  # the mirror no longer follows the cluster
    edit = kubectl(
        control_plane,
        "-n",
        namespace,
        "patch",
        "awsecrimagepullsecret",
        "pull",
        "--type=merge",
        "-p",
        '{"spec":{"awsAccess":{"region":"ap-south-1"}}}',
    )
    assert edit.returncode == 0, edit.stderr
    response = operator_api.patch(
        url, json={"spec": {"awsAccess": {"region": "us-west-2"}}}, headers={"If-Match": etag}
    )
    assert response.status_code == 409
    assert response.json()["detail"] == (
        f"AWSECRImagePullSecret {namespace}/pull was changed in the cluster since you loaded it "
        "(generation 2, you edited generation 1): reload it and make your edit again."
    )
    assert get_namespaced_resource(kube_api, namespace, "pull")["spec"]["awsAccess"]["region"] == "ap-south-1"
    assert operator_api.delete(url, headers={"If-Match": etag}).status_code == 409
    assert get_namespaced_resource(kube_api, namespace, "pull")


def test_a_webhook_denial_is_a_400_with_its_message_on_the_field_it_concerns(
    operator_api, kube_api, namespace
):
    client.CoreV1Api(kube_api).create_namespaced_secret(
        namespace, client.V1Secret(metadata=client.V1ObjectMeta(name="taken"), string_data={"a": "b"})
    )
    response = operator_api.post(URL, json=manifest(namespace, "pull", secret_name="taken"))
    assert response.status_code == 400
    body = response.json()
    assert body["spec"]["secretName"] == [
        f"secret taken already exists in namespace {namespace}, you can choose a different name: it is not "
        "managed by ecrcontrol, so change spec.secretName or delete that Secret first"
    ]
    assert "denied the request" in body["detail"]
    assert operator_api.get(URL, params={"namespace": namespace}).json()["count"] == 0


def test_delete_removes_the_resource_and_its_secret(operator_api, kube_api, namespace):
    created = operator_api.post(URL, json=manifest(namespace, "pull")).json()
    wait_for(lambda: read_secret(kube_api, namespace, "ecr-pull"), timeout=60)
    url = f"{URL}{created['id']}/"
    response = operator_api.delete(url, headers={"If-Match": operator_api.get(url).headers["ETag"]})
    assert response.status_code == 204
    wait_for(lambda: read_secret(kube_api, namespace, "ecr-pull") is None, timeout=60)
    assert operator_api.get(url).status_code == 404
    assert operator_api.delete(url).status_code == 404


def test_refresh_now_rewrites_the_secret_and_a_second_one_is_429_with_retry_after(
    operator_api, kube_api, namespace
):
    created = operator_api.post(URL, json=manifest(namespace, "pull", key_id=unique("AKIAREFRESH"))).json()
    wait_ready(operator_api, created["id"])
    before = read_secret(kube_api, namespace, "ecr-pull").metadata.resource_version
    # moto hands out the same password every time, and the annotations have one-second resolution:
    # let a second pass so the new token's refresh point is visibly a new one.
    time.sleep(1.1)
    response = operator_api.post(f"{URL}{created['id']}/refresh/")
    assert response.status_code == 202, response.text
    assert response.json()["region"] == "eu-west-1"
    wait_for(
        lambda: read_secret(kube_api, namespace, "ecr-pull").metadata.resource_version != before, timeout=60
    )
    again = operator_api.post(f"{URL}{created['id']}/refresh/")
    assert again.status_code == 429
    assert 1 <= int(again.headers["Retry-After"]) <= 60
    assert "next manual refresh is allowed at" in again.json()["detail"]


def test_filters_find_the_failing_ones(operator_api, ecr, kube_api, namespace):
    good = operator_api.post(
        URL, json=manifest(namespace, "good", secret_name="good", key_id=unique("AKIAGOOD"))
    )
    wait_ready(operator_api, good.json()["id"])
    ecr.unreachable = True
    try:
        bad = operator_api.post(
            URL, json=manifest(namespace, "bad", secret_name="bad", key_id=unique("AKIABAD"))
        )
        assert bad.status_code == 201

        def failing():
            found = operator_api.get(URL, params={"namespace": namespace, "status": "failing"}).json()
            return [r["metadata"]["name"] for r in found["results"]]

        assert wait_for(failing, timeout=60) == ["bad"]
    finally:
        ecr.unreachable = False
    listed = operator_api.get(URL, params={"namespace": namespace, "ordering": "-name"}).json()
    assert [r["metadata"]["name"] for r in listed["results"]] == ["good", "bad"]
    ready = operator_api.get(
        URL, params={"namespace": namespace, "status": "ready", "secretName": "good"}
    ).json()
    assert [r["metadata"]["name"] for r in ready["results"]] == ["good"]
    secrets = operator_api.get("/api/v1/secrets/", params={"namespace": namespace, "state": "synced"}).json()
    assert [s["metadata"]["name"] for s in secrets["results"]] == ["good"]
    summary = operator_api.get("/api/v1/summary/").json()["clusters"][0]
    assert summary["resources"]["failing"] >= 1 and summary["apiServer"]["reachable"] is True
    assert operator_api.get(URL, params={"status": "nonsense"}).status_code == 400


@pytest.mark.parametrize("role", ["viewer", "operator"])
def test_bad_input_is_400_never_500(api_as, role, namespace):
    api = api_as(role)
    expected = 400 if role == "operator" else 403
    for body in ("{", "[]", '"x"', "null", '{"metadata": 5}', "x" * 70000):
        response = api.post(URL, data=body, headers={"Content-Type": "application/json"})
        assert response.status_code == expected, (body[:20], response.text)


# -- AWS identities ------------------------------------------------------------------------------
ROLE = "arn:aws:iam::123456789012:role/ecr-puller"


def put_key_secret(kube_api, namespace: str, key_id: str, name: str = "aws-creds") -> None:
    client.CoreV1Api(kube_api).create_namespaced_secret(
        namespace,
        client.V1Secret(
            metadata=client.V1ObjectMeta(name=name),
            string_data={"AWS_ACCESS_KEY_ID": key_id, "AWS_SECRET_ACCESS_KEY": CANARY_SECRET},
        ),
    )


def test_keys_in_a_secret_through_the_api_ready_and_found_by_identity_then_switched_to_inline(
    operator_api, kube_api, ecr, namespace
):
    key_id = "AKIAAPISECRETREF0001"
    put_key_secret(kube_api, namespace, key_id)
    body = {
        "metadata": {"name": "by-ref", "namespace": namespace},
        "spec": {"awsAccess": {"region": "eu-west-1", "secretRef": {"name": "aws-creds"}}, "secretName": "s"},
    }
    response = operator_api.post(URL, json=body)
    assert response.status_code == 201, response.text
    created = response.json()
    assert created["spec"]["awsAccess"] == {"region": "eu-west-1", "secretRef": {"name": "aws-creds"}}
    assert (
        get_namespaced_resource(kube_api, namespace, "by-ref")["spec"]["awsAccess"]
        == body["spec"]["awsAccess"]
    )
    ready = wait_ready(operator_api, created["id"])
    assert ready["status"]["identity"] == {"kind": "secret", "accessKeyIdSuffix": key_id[-4:]}
    assert key_id in [s.access_key_id for s in ecr.token_signers]
    found = operator_api.get(URL, params={"namespace": namespace, "identity": "secret"}).json()["results"]
    assert [r["id"] for r in found] == [created["id"]]
    assert operator_api.get(URL, params={"namespace": namespace, "identity": "inline"}).json()["count"] == 0

    url = f"{URL}{created['id']}/"
    switch = {"spec": {"awsAccess": {"accessKeyId": "AKIAIOSFODNN7EXAMPLE"}}}
    refused = operator_api.patch(url, json=switch)
    assert refused.status_code == 400
    assert list(refused.json()["spec"]["awsAccess"]) == ["secretAccessKey"]
    switch["spec"]["awsAccess"]["secretAccessKey"] = CANARY_SECRET
    switched = operator_api.patch(url, json=switch, headers={"If-Match": response.headers["ETag"]})
    assert switched.status_code == 200, switched.text
    assert switched.json()["spec"]["awsAccess"] == {
        "accessKeyId": "AKIAIOSFODNN7EXAMPLE",
        "region": "eu-west-1",
    }
    access = get_namespaced_resource(kube_api, namespace, "by-ref")["spec"]["awsAccess"]
    assert "secretRef" not in access and set(access) == {"accessKeyId", "secretAccessKey", "region"}
    assert CANARY_SECRET not in refused.text + switched.text


def test_an_identity_the_rules_refuse_is_a_400_on_its_field_and_nothing_reaches_the_cluster(
    operator_api, kube_api, namespace
):
    body = {
        "metadata": {"name": "web-identity", "namespace": namespace},
        "spec": {
            "awsAccess": {
                "region": "eu-west-1",
                "serviceAccountRef": {"name": "puller", "namespace": "other"},
            },
            "secretName": "s",
        },
    }
    response = operator_api.post(URL, json=body)
    assert response.status_code == 400
    errors = response.json()["spec"]["awsAccess"]
    assert errors["roleArn"][0].startswith("spec.awsAccess.serviceAccountRef needs spec.awsAccess.roleArn")
    assert (
        "may reference only ServiceAccounts in its own namespace"
        in errors["serviceAccountRef"]["namespace"][0]
    )
    assert operator_api.get(URL, params={"namespace": namespace}).json()["count"] == 0
    body["spec"]["awsAccess"] = {
        "region": "eu-west-1",
        "serviceAccountRef": {"name": "puller"},
        "roleArn": ROLE,
    }
    accepted = operator_api.post(URL, json=body)
    assert accepted.status_code == 201, accepted.text
    assert accepted.json()["spec"]["awsAccess"]["roleArn"] == ROLE
    found = operator_api.get(URL, params={"roleArn": ROLE, "namespace": namespace}).json()["results"]
    assert [r["metadata"]["name"] for r in found] == ["web-identity"]
