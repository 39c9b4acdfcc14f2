"""The web role serving the admission webhooks over TLS, registered with the real API server.

Webhook configurations are cluster-wide, so they are registered for this folder's tests only and
removed afterwards; the other tests see resources admitted without them (as after an install
where the webhook is absent), which the controller must handle on its own.
"""

from __future__ import annotations

import contextlib
import json
import urllib.request
from collections.abc import Iterator

import boto3
import pytest
from kubernetes import client
from kubernetes.client.rest import ApiException

from devstack.ecr import LocalECR
from devstack.webserver import WebServer
from secrets_app.kube.api import Kube
from secrets_app.webhooks import registration

from ..helpers import GROUP, VERSION, delete_all_resources, wait_for
from ..operator import process_env

ECR_PULL_POLICY = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "ecr:GetAuthorizationToken", "Resource": "*"}],
}


@pytest.fixture(scope="module")
def proxy(strict_moto) -> Iterator[LocalECR]:
    """ECR for the webhook and the operator: the local ECR in front of moto enforcing IAM."""
    with LocalECR(strict_moto.url) as ecr:
        yield ecr


@pytest.fixture(scope="module")
def mint_key(strict_moto):
    """A new IAM user allowed ecr:GetAuthorizationToken, and its access key: (id, secret)."""

    def mint(user: str) -> tuple[str, str]:
        # moto lets the next 3 calls through unauthenticated, then enforces IAM again.
        urllib.request.urlopen(
            urllib.request.Request(
                f"{strict_moto.url}/moto-api/reset-auth",
                data=b"3",
                method="POST",
                headers={"Content-Type": "text/plain"},
            ),
            timeout=10,
        )
        iam = boto3.client(
            "iam",
            endpoint_url=strict_moto.url,
            region_name="us-east-1",
            aws_access_key_id="bootstrap",
            aws_secret_access_key="bootstrap",
        )
        iam.create_user(UserName=user)
        iam.put_user_policy(UserName=user, PolicyName="ecr-pull", PolicyDocument=json.dumps(ECR_PULL_POLICY))
        key = iam.create_access_key(UserName=user)["AccessKey"]
        return key["AccessKeyId"], key["SecretAccessKey"]

    return mint


@pytest.fixture(scope="module")
def web_server(control_plane, our_crds, django_db_setup, proxy, tmp_path_factory) -> Iterator[WebServer]:
    locks = str(tmp_path_factory.mktemp("web-locks"))  # its verdicts, not an earlier run's
    with WebServer(process_env(control_plane.kubeconfig, proxy.url, ECRCONTROL_LOCK_DIR=locks)) as web:
        yield web


def _probe_denied(api) -> bool:
    """Whether the validating webhook answers: a dry-run create it must deny."""
    probe = {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "ClusterAWSECRImagePullSecret",
        "metadata": {"name": "webhook-probe"},
        "spec": {"secretName": "probe", "namespaces": ["default"]},
    }
    try:
        client.CustomObjectsApi(api).create_cluster_custom_object(
            GROUP, VERSION, "clusterawsecrimagepullsecrets", probe, dry_run="All"
        )
    except ApiException as exc:
        return "spec.awsAccess is missing" in (exc.body or "")
    return False


def set_registered(api, web: WebServer, on: bool) -> None:
    """Register (or remove) the webhook configurations and wait until the API server acts on it."""
    kube = Kube(api)
    if on:
        registration.register(kube, web.url, web.ca.cert_pem)
    else:
        registration.unregister(kube)
    try:
        wait_for(lambda: _probe_denied(api) is on, timeout=30)
    except AssertionError as exc:
        raise AssertionError(
            f"webhooks {'not' if on else 'still'} in effect: {exc}\n{web.process.log_tail(40)}"
        ) from None


@contextlib.contextmanager
def registered(api, web: WebServer, on: bool = True) -> Iterator[None]:
    """The webhooks in effect (or, with on=False, out of effect) for the duration."""
    set_registered(api, web, on)
    try:
        yield
    finally:
        set_registered(api, web, not on)


@pytest.fixture(scope="module")
def webhooks(kube_api, web_server) -> Iterator[WebServer]:
    """The webhooks registered with the local API server, and in effect."""
    with registered(kube_api, web_server):
        yield web_server


@pytest.fixture(autouse=True)
def no_resources_left(kube_api) -> Iterator[None]:
    yield
    delete_all_resources(kube_api)
