"""Admission of spec.awsAccess's identities, by the real API server calling the webhooks over TLS."""

from __future__ import annotations

import pytest
import yaml
from kubernetes import client

from secrets_app.kube.kinds import GROUP

from ..helpers import VERSION, denial, kubectl, put_key_secret, unique

pytestmark = pytest.mark.django_db(transaction=True)
ROLE = "arn:aws:iam::123456789012:role/ecr-puller"
REJECTED_KEY_ID = "AKIAREJECTEDEXAMPLE1"


def namespaced(namespace: str, name: str, access: dict) -> dict:
    return {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "AWSECRImagePullSecret",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"awsAccess": {"region": "eu-west-1", **access}, "secretName": name},
    }


def create(api, body: dict) -> dict:
    custom = client.CustomObjectsApi(api)
    if body["kind"] == "AWSECRImagePullSecret":
        namespace = body["metadata"]["namespace"]
        return custom.create_namespaced_custom_object(
            GROUP, VERSION, namespace, "awsecrimagepullsecrets", body
        )
    return custom.create_cluster_custom_object(GROUP, VERSION, "clusterawsecrimagepullsecrets", body)


@pytest.fixture(scope="module")
def valid_key(mint_key):
    return mint_key("identity-admission")


@pytest.mark.parametrize("field", ["secretRef", "serviceAccountRef"])
def test_a_namespaced_resource_referencing_another_namespace_is_denied_with_the_reason(
    kube_api, webhooks, namespace, field
):
    access = {field: {"name": "creds", "namespace": "kube-system"}}
    if field == "serviceAccountRef":
        access["roleArn"] = ROLE
    message = denial(lambda: create(kube_api, namespaced(namespace, "pull", access)))
    assert f"spec.awsAccess.{field}.namespace is 'kube-system'" in message
    assert f"in its own namespace '{namespace}'" in message


def test_the_operators_own_identity_is_denied_to_a_namespaced_resource_and_the_denial_says_why(
    kube_api, webhooks, namespace
):
    message = denial(lambda: create(kube_api, namespaced(namespace, "pull", {})))
    assert "would use the operator's own AWS identity" in message
    assert "ECRCONTROL_AMBIENT_CREDENTIALS=cluster" in message


def test_a_cluster_resource_may_use_the_operators_own_identity(kube_api, webhooks, namespace):
    body = {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "ClusterAWSECRImagePullSecret",
        "metadata": {"name": unique("ambient")},
        "spec": {
            "awsAccess": {"region": "eu-west-1", "roleArn": ROLE},
            "secretName": "p",
            "namespaces": [namespace],
        },
    }
    assert create(kube_api, body)["spec"]["awsAccess"] == {"region": "eu-west-1", "roleArn": ROLE}


def test_a_secret_that_does_not_exist_yet_is_allowed_and_kubectl_shows_a_warning(
    control_plane, kube_api, webhooks, namespace
):
    manifest = namespaced(namespace, "pull", {"secretRef": {"name": "aws-creds"}})
    result = kubectl(control_plane, "apply", "-f", "-", stdin=yaml.safe_dump(manifest))
    assert result.returncode == 0, result.stderr
    assert (
        f"Warning: the Secret {namespace}/aws-creds named in spec.awsAccess.secretRef does not exist"
        in result.stderr
    )


def test_keys_in_a_referenced_secret_are_checked_and_checked_again_after_they_change(
    kube_api, webhooks, proxy, namespace, valid_key
):
    put_key_secret(kube_api, namespace, "aws-creds", *valid_key)
    create(kube_api, namespaced(namespace, "first", {"secretRef": {"name": "aws-creds"}}))
    assert any(s.access_key_id == valid_key[0] for s in proxy.token_signers)

    # The verdict for the old keys must not answer for the Secret's new ones.
    put_key_secret(kube_api, namespace, "aws-creds", REJECTED_KEY_ID, "not-a-real-secret-key")
    message = denial(
        lambda: create(kube_api, namespaced(namespace, "second", {"secretRef": {"name": "aws-creds"}}))
    )
    assert "invalid or missing permissions" in message and "InvalidClientTokenId" in message
    assert "not-a-real-secret-key" not in message


def test_a_web_identity_without_a_role_is_denied_naming_the_field(kube_api, webhooks, namespace):
    message = denial(
        lambda: create(kube_api, namespaced(namespace, "pull", {"serviceAccountRef": {"name": "puller"}}))
    )
    assert "serviceAccountRef" in message and "roleArn" in message


def test_two_base_identities_at_once_are_denied(kube_api, webhooks, namespace, valid_key):
    access = {
        "accessKeyId": valid_key[0],
        "secretAccessKey": valid_key[1],
        "secretRef": {"name": "aws-creds"},
    }
    message = denial(lambda: create(kube_api, namespaced(namespace, "pull", access)))
    assert "secretRef" in message and "accessKeyId" in message
