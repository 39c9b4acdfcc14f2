"""A pod on the chart's real node pulls from ECR with no imagePullSecrets in its spec: its
namespace's `default` ServiceAccount holds the pull Secret, because ecrcontrol patched it
(`spec.serviceAccounts`).

The ECR registry host is the local registry (devstack/registry.py, fixture `ecr_registry`), which
lets in only username AWS with an unexpired password the local ECR issued, as ECR's registry does.
How the host resolves: the node's containerd has a registry config directory of its own
(`config_path`), where `Node.serve_registry` writes `<ECR_HOST>/hosts.toml` sending every pull of
`ECR_HOST/...` to the registry's https://127.0.0.1:<port> with the registry's CA. Nothing global
changes (no /etc/hosts entry, no DNS, no port 443), and a refused pull never falls back to AWS.
The kubelet's credentials reach the registry because it passes them to containerd without a server
address (containerd's ParseAuth then gives them to whichever host serves the image).

The counter-cases prove the patched ServiceAccount is what lets the pod in: the same pod under a
ServiceAccount the resource does not list, and in a namespace it does not target, gets the
registry's 401.

Runs after the other install modules (file order), whose releases are uninstalled by then: two
releases would both reconcile the same custom resources.
"""

from __future__ import annotations

import base64
import datetime
import json
import urllib.error
import urllib.request
from collections.abc import Iterator

import boto3
import pytest

from devstack.registry import LocalRegistry

from .conftest import ECR_HOST, ECR_IMAGE, ECR_REGION, ECR_REPOSITORY, ECR_TAG, Release, installed
from .test_install import wait_for

# The first test of a cold run also builds the node's images (debootstrap, pip): minutes, not seconds.
pytestmark = pytest.mark.timeout(1200)

NAME, NAMESPACE = "ecrreach", "ecrcontrol-reach"
RESOURCE, SECRET = f"{NAME}-pull", "ecr-pull"
TEAM, OUTSIDER = "reach-team", "reach-outsider"  # targeted by the resource / not targeted
UNLISTED = "unlisted"  # a ServiceAccount of TEAM the resource does not list

MANIFEST = f"""
apiVersion: v1
kind: Namespace
metadata: {{name: {TEAM}}}
---
apiVersion: v1
kind: Namespace
metadata: {{name: {OUTSIDER}}}
---
apiVersion: v1
kind: ServiceAccount
metadata: {{name: {UNLISTED}, namespace: {TEAM}}}
---
apiVersion: aws.zakariaamine.com/v1alpha2
kind: ClusterAWSECRImagePullSecret
metadata: {{name: {RESOURCE}}}
spec:
  secretName: {SECRET}
  namespaces: [{TEAM}]
  serviceAccounts: [default]
  awsAccess:
    accessKeyId: AKIAIOSFODNN7EXAMPLE
    secretAccessKey: local-ecr-accepts-any-key
    region: {ECR_REGION}
"""


@pytest.fixture(scope="module")
def reach_release(node, product_image, local_ecr, ecr_registry) -> Iterator[Release]:
    with installed(node, local_ecr.url, NAME, NAMESPACE) as rel:
        yield rel
        rel.kubectl("delete", "clusterawsecrimagepullsecret", RESOURCE, "--ignore-not-found", check=False)
        for namespace in (TEAM, OUTSIDER):
            rel.kubectl("delete", "namespace", namespace, "--wait=false", "--ignore-not-found", check=False)


def registry_get(registry: LocalRegistry, path: str, credentials: str | None = None) -> tuple[int, dict]:
    request = urllib.request.Request(registry.url + path)
    if credentials is not None:
        request.add_header("Authorization", "Basic " + base64.b64encode(credentials.encode()).decode())
    try:
        with urllib.request.urlopen(request, timeout=10, context=registry.ssl_context()) as response:
            return response.status, dict(response.headers)
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers)


def docker_credentials(ecr_url: str) -> str:
    """`AWS:<password>` from a GetAuthorizationToken at the local ECR, as `aws ecr get-login-password`."""
    client = boto3.client(
        "ecr",
        region_name=ECR_REGION,
        endpoint_url=ecr_url,
        aws_access_key_id="AKIAREGISTRYPROBE000",
        aws_secret_access_key="local-ecr-accepts-any-key",
    )
    (data,) = client.get_authorization_token()["authorizationData"]
    assert data["proxyEndpoint"] == f"https://{ECR_HOST}"
    return base64.b64decode(data["authorizationToken"]).decode()


def test_the_local_registry_lets_in_only_an_unexpired_token_the_local_ecr_issued(ecr):
    manifest = f"/v2/{ECR_REPOSITORY}/manifests/{ECR_TAG}"
    with LocalRegistry(ecr.accepts) as registry:
        status, headers = registry_get(registry, "/v2/")
        assert status == 401 and headers["WWW-Authenticate"].startswith("Basic realm="), headers
        # moto's own password for the account: the front answers fresh ones, never this.
        assert registry_get(registry, "/v2/", "AWS:123456789012-auth-token")[0] == 401
        credentials = docker_credentials(ecr.url)
        assert registry_get(registry, "/v2/", credentials)[0] == 200
        assert registry_get(registry, "/v2/", "AWS:" + credentials.upper().partition(":")[2])[0] == 401
        assert registry_get(registry, "/v2/", "ecr:" + credentials.partition(":")[2])[0] == 401
        assert registry_get(registry, manifest, credentials)[0] == 404  # let in; no image loaded here
        assert registry_get(registry, manifest)[0] == 401

        ecr.expires_at = datetime.datetime.now(datetime.UTC) - datetime.timedelta(minutes=1)
        expired = docker_credentials(ecr.url)
        assert registry_get(registry, "/v2/", expired)[0] == 401
        ecr.expires_at = None
        assert registry_get(registry, "/v2/", docker_credentials(ecr.url))[0] == 200


def pod(name: str, namespace: str, service_account: str = "default") -> dict:
    """A pod that names no pull Secret: only its ServiceAccount can give it one."""
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "serviceAccountName": service_account,
            "automountServiceAccountToken": False,
            "dnsPolicy": "Default",
            "terminationGracePeriodSeconds": 1,
            "containers": [{"name": "app", "image": ECR_IMAGE, "imagePullPolicy": "Always"}],
        },
    }


def container_state(release: Release, name: str, namespace: str) -> dict:
    statuses = release.json("get", "pod", name, "-n", namespace)["status"].get("containerStatuses") or [{}]
    return statuses[0].get("state", {})


def refused_pull(release: Release, name: str, namespace: str) -> str | None:
    """The pod's pull error once it is the registry's 401 (None before)."""
    waiting = container_state(release, name, namespace).get("waiting", {})
    message = waiting.get("message", "")
    if waiting.get("reason") in ("ErrImagePull", "ImagePullBackOff") and "401 Unauthorized" in message:
        return message
    return None


def test_a_pod_pulls_from_ecr_through_its_patched_default_service_account(reach_release, ecr_registry):
    release = reach_release
    path = release.values.parent / "reach.yaml"
    path.write_text(MANIFEST)
    release.kubectl("apply", "-f", str(path))

    # The Secret names the ECR host the node's registry serves, and `default` holds it (only it).
    def secret_registries():
        data = release.json("get", "secret", SECRET, "-n", TEAM)["data"][".dockerconfigjson"]
        return list(json.loads(base64.b64decode(data))["auths"])

    assert wait_for(secret_registries, 120, f"Secret {SECRET} in {TEAM}", release) == [ECR_HOST]

    def patched():
        account = release.json("get", "serviceaccount", "default", "-n", TEAM)
        return {"name": SECRET} in (account.get("imagePullSecrets") or [])

    wait_for(patched, 60, f"{SECRET} in the imagePullSecrets of {TEAM}/default", release)
    assert not release.json("get", "serviceaccount", UNLISTED, "-n", TEAM).get("imagePullSecrets")

    def status_lists_default():
        status = release.json("get", "clusterawsecrimagepullsecret", RESOURCE).get("status", {})
        return [n.get("serviceAccounts") for n in status.get("namespaces", []) if n.get("namespace") == TEAM]

    assert wait_for(status_lists_default, 30, "status.namespaces[].serviceAccounts", release) == [["default"]]

    pods = {
        "puller": pod("puller", TEAM),
        "unlisted": pod("unlisted", TEAM, service_account=UNLISTED),
        "outsider": pod("puller", OUTSIDER),
    }
    before = len(ecr_registry.requests)
    for key, body in pods.items():
        assert "imagePullSecrets" not in body["spec"]
        (path.parent / f"{key}.json").write_text(json.dumps(body))
        release.kubectl("apply", "-f", str(path.parent / f"{key}.json"))

    # Admission copies the ServiceAccount's imagePullSecrets into the pod: the kubelet pulls with them.
    stored = release.json("get", "pod", "puller", "-n", TEAM)["spec"]
    assert stored.get("imagePullSecrets") == [{"name": SECRET}]

    wait_for(
        lambda: "running" in container_state(release, "puller", TEAM),
        120,
        f"{TEAM}/puller running {ECR_IMAGE}",
        release,
    )
    manifest_path = f"/v2/{ECR_REPOSITORY}/manifests/{ECR_TAG}"
    served = [r for r in ecr_registry.requests[before:] if r.path == manifest_path and r.status == 200]
    assert served and all(r.authenticated for r in served), ecr_registry.requests[before:]

    # Without the patched ServiceAccount the same pod is refused by the registry.
    for name, namespace in (("unlisted", TEAM), ("puller", OUTSIDER)):
        message = wait_for(
            lambda: refused_pull(release, name, namespace),  # noqa: B023 - called within the iteration
            120,
            f"{namespace}/{name} refused with 401",
            release,
        )
        assert ECR_IMAGE in message
        assert "running" not in container_state(release, name, namespace)
    assert any(r.status == 401 and r.path == manifest_path for r in ecr_registry.requests[before:])
