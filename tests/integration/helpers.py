"""Small helpers shared by the integration tests."""

from __future__ import annotations

import base64
import json
import subprocess
import time
import uuid

import pytest
from kubernetes import client
from kubernetes.client.rest import ApiException

from devstack import binaries

GROUP, VERSION = "aws.zakariaamine.com", "v1alpha2"
CANARY_SECRET = "CANARY0secret0key0never0leaves0the0cluster0"  # 43 chars of key-like text


def b64(value: str) -> str:
    return base64.b64encode(value.encode()).decode()


def denial(call) -> str:
    """The message the API server gave the client for a request it denied (`call` must raise)."""
    with pytest.raises(ApiException) as error:
        call()
    return json.loads(error.value.body)["message"]


def put_key_secret(api, namespace: str, name: str, key_id: str, secret: str = CANARY_SECRET) -> None:
    """Create or replace a Secret holding AWS keys under spec.awsAccess.secretRef's default keys."""
    core = client.CoreV1Api(api)
    body = client.V1Secret(
        metadata=client.V1ObjectMeta(name=name),
        data={"AWS_ACCESS_KEY_ID": b64(key_id), "AWS_SECRET_ACCESS_KEY": b64(secret)},
    )
    try:
        core.replace_namespaced_secret(name, namespace, body)
    except ApiException as exc:
        if exc.status != 404:
            raise
        core.create_namespaced_secret(namespace, body)


def wait_for(check, timeout: float = 30.0, interval: float = 0.2):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout}s: {check.__doc__ or check}; last: {last!r}")


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def aws_access(key_id: str = "AKIAIOSFODNN7EXAMPLE", secret: str = CANARY_SECRET, region="eu-west-1") -> dict:
    return {"accessKeyId": key_id, "secretAccessKey": secret, "region": region}


def create_cluster_resource(api, name: str, namespaces: list[str], secret_name="ecr-pull", **access) -> dict:
    body = {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "ClusterAWSECRImagePullSecret",
        "metadata": {"name": name},
        "spec": {"awsAccess": aws_access(**access), "secretName": secret_name, "namespaces": namespaces},
    }
    return client.CustomObjectsApi(api).create_cluster_custom_object(
        GROUP, VERSION, "clusterawsecrimagepullsecrets", body
    )


def create_namespaced_resource(api, namespace: str, name: str, secret_name="ecr-pull", **access) -> dict:
    body = {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "AWSECRImagePullSecret",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"awsAccess": aws_access(**access), "secretName": secret_name},
    }
    return client.CustomObjectsApi(api).create_namespaced_custom_object(
        GROUP, VERSION, namespace, "awsecrimagepullsecrets", body
    )


def get_cluster_resource(api, name: str) -> dict:
    return client.CustomObjectsApi(api).get_cluster_custom_object(
        GROUP, VERSION, "clusterawsecrimagepullsecrets", name
    )


def get_cluster_resource_or_none(api, name: str) -> dict | None:
    try:
        return get_cluster_resource(api, name)
    except ApiException as exc:
        if exc.status == 404:
            return None
        raise


def get_namespaced_resource(api, namespace: str, name: str) -> dict:
    return client.CustomObjectsApi(api).get_namespaced_custom_object(
        GROUP, VERSION, namespace, "awsecrimagepullsecrets", name
    )


def ready_condition(body: dict) -> dict | None:
    return next((c for c in (body.get("status") or {}).get("conditions") or [] if c["type"] == "Ready"), None)


def wait_for_reason(read, reason: str) -> dict:
    """The Ready condition of the resource `read()` returns, once its reason is `reason`."""

    def has_reason():
        condition = ready_condition(read())
        return condition and condition["reason"] == reason and condition

    has_reason.__doc__ = f"the Ready condition has reason {reason}"
    return wait_for(has_reason)


def is_ready(body: dict) -> bool:
    condition = ready_condition(body)
    return bool(condition and condition["status"] == "True")


def read_secret(api, namespace: str, name: str):
    try:
        return client.CoreV1Api(api).read_namespaced_secret(name, namespace)
    except ApiException as exc:
        if exc.status == 404:
            return None
        raise


def docker_config(secret) -> dict:
    return json.loads(base64.b64decode(secret.data[".dockerconfigjson"]))


def create_namespace(api, name: str) -> None:
    client.CoreV1Api(api).create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=name)))


def delete_all_resources(api) -> None:
    """Delete every AWSECRImagePullSecret and ClusterAWSECRImagePullSecret (deletes always pass admission)."""
    custom = client.CustomObjectsApi(api)
    custom.delete_collection_cluster_custom_object(GROUP, VERSION, "clusterawsecrimagepullsecrets")
    for item in custom.list_cluster_custom_object(GROUP, VERSION, "awsecrimagepullsecrets")["items"]:
        meta = item["metadata"]
        try:
            custom.delete_namespaced_custom_object(
                GROUP, VERSION, meta["namespace"], "awsecrimagepullsecrets", meta["name"]
            )
        except ApiException as exc:
            if exc.status != 404:  # gone meanwhile: its namespace is being deleted
                raise


def kubectl(control_plane, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    """Run the real kubectl against the local control plane; never raises on failure."""
    return subprocess.run(
        [str(binaries.ensure_binaries() / "kubectl"), f"--kubeconfig={control_plane.kubeconfig}", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
    )
