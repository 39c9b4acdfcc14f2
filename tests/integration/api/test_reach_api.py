"""The reach fields through the REST API against the real stack (issue 21): a
ClusterAWSECRImagePullSecret created with a namespace selector, ServiceAccounts and another
registry reaches the cluster as written, its Secret lands in the selected namespace with both
registries and the default ServiceAccount patched (read back in status.namespaces); PATCH replaces
and null removes; the filters find it; bad input is a 400 on its field and nothing is written; a
resource without the fields is written exactly as before."""

from __future__ import annotations

import pytest
from kubernetes import client

from ..helpers import (
    CANARY_SECRET,
    docker_config,
    get_cluster_resource,
    get_namespaced_resource,
    read_secret,
    unique,
    wait_for,
)

CLUSTER_URL = "/api/v1/clusterawsecrimagepullsecrets/"
URL = "/api/v1/awsecrimagepullsecrets/"
ACCESS = {"accessKeyId": "AKIAIOSFODNN7EXAMPLE", "secretAccessKey": CANARY_SECRET, "region": "eu-west-1"}
OTHER = {"accountId": "210987654321", "region": "eu-west-1"}


@pytest.fixture
def labelled(kube_api, namespace) -> str:
    """The test's namespace, with a label of its own for a selector to match."""
    body = {"metadata": {"labels": {"reach-api": namespace}}}
    client.CoreV1Api(kube_api).patch_namespace(namespace, body)
    return namespace


@pytest.fixture
def cleanup(operator_api):
    """URLs of resources to delete after the test (cluster-scoped ones outlive its namespace)."""
    urls: list[str] = []
    yield urls
    for url in urls:
        operator_api.delete(url)


def test_a_selector_service_accounts_and_registries_through_the_api_reach_the_cluster(
    operator_api, kube_api, labelled, cleanup
):
    name = unique("reach")
    body = {
        "metadata": {"name": name},
        "spec": {
            "awsAccess": ACCESS,
            "secretName": "ecr-reach",
            "namespaceSelector": {"matchLabels": {"reach-api": labelled}},
            "serviceAccounts": ["default"],
            "registries": [OTHER],
        },
    }
    response = operator_api.post(CLUSTER_URL, json=body)
    assert response.status_code == 201, response.text
    created = response.json()
    url = f"{CLUSTER_URL}{created['id']}/"
    cleanup.append(url)
    assert created["spec"]["namespaceSelector"] == {"matchLabels": {"reach-api": labelled}}
    assert "namespaces" not in created["spec"]
    spec = get_cluster_resource(kube_api, name)["spec"]
    assert spec["namespaceSelector"] == {"matchLabels": {"reach-api": labelled}} and "namespaces" not in spec
    assert spec["serviceAccounts"] == ["default"] and spec["registries"] == [OTHER]

    secret = wait_for(lambda: read_secret(kube_api, labelled, "ecr-reach"), timeout=60)
    hosts = set(docker_config(secret)["auths"])
    assert "210987654321.dkr.ecr.eu-west-1.amazonaws.com" in hosts and len(hosts) == 2

    def patched():
        found = operator_api.get(url).json()["status"]["namespaces"]
        return found and found[0].get("serviceAccounts") == ["default"] and found

    (result,) = wait_for(patched, timeout=60)
    assert result["namespace"] == labelled and result["state"] == "synced"
    account = client.CoreV1Api(kube_api).read_namespaced_service_account("default", labelled)
    assert "ecr-reach" in [ref.name for ref in account.image_pull_secrets or []]

    def names(**params):
        return [r["metadata"]["name"] for r in operator_api.get(CLUSTER_URL, params=params).json()["results"]]

    assert name in names(serviceAccount="default") and name in names(registryAccount="210987654321")
    assert name not in names(serviceAccount="builder") and name not in names(registryAccount="123456789012")

    etag = operator_api.get(url).headers["ETag"]
    changed = operator_api.patch(
        url,
        json={"spec": {"serviceAccounts": None, "registries": [OTHER, {**OTHER, "region": "us-east-1"}]}},
        headers={"If-Match": etag},
    )
    assert changed.status_code == 200, changed.text
    spec = get_cluster_resource(kube_api, name)["spec"]
    assert "serviceAccounts" not in spec and len(spec["registries"]) == 2
    assert spec["namespaceSelector"] == {"matchLabels": {"reach-api": labelled}}  # not given: kept
    assert "serviceAccounts" not in changed.json()["spec"]


@pytest.mark.parametrize(
    ("spec", "path", "message"),
    [
        (
            {"registries": [{"accountId": "12", "region": "eu-west-1"}]},
            ("registries", "0", "accountId"),
            "spec.registries[0].accountId '12' is not an AWS account ID: use its 12 digits, such as "
            "123456789012.",
        ),
        (
            {"serviceAccounts": ["*", "default"]},
            ("serviceAccounts",),
            "spec.serviceAccounts: '*' selects every ServiceAccount and cannot be listed with names: use "
            '["*"] alone.',
        ),
    ],
)
def test_bad_input_is_a_400_on_its_field_and_nothing_reaches_the_cluster(
    operator_api, namespace, spec, path, message
):
    body = {
        "metadata": {"name": "pull", "namespace": namespace},
        "spec": {"awsAccess": ACCESS, "secretName": "s"},
    }
    body["spec"].update(spec)
    response = operator_api.post(URL, json=body)
    assert response.status_code == 400, response.text
    found = response.json()["spec"]
    for part in path:
        found = found[part]
    assert found == [message]
    assert operator_api.get(URL, params={"namespace": namespace}).json()["count"] == 0


def test_a_cluster_resource_with_neither_namespaces_nor_a_selector_is_a_400_on_namespaces(operator_api):
    body = {"metadata": {"name": unique("none")}, "spec": {"awsAccess": ACCESS, "secretName": "s"}}
    response = operator_api.post(CLUSTER_URL, json=body)
    assert response.status_code == 400, response.text
    assert response.json()["spec"]["namespaces"] == [
        "spec.namespaces is empty and spec.namespaceSelector is not set: list at least one namespace, "
        "or select them by label."
    ]


def test_a_resource_without_the_new_fields_is_written_as_before(operator_api, kube_api, namespace):
    body = {
        "metadata": {"name": "plain", "namespace": namespace},
        "spec": {"awsAccess": ACCESS, "secretName": "s"},
    }
    response = operator_api.post(URL, json=body)
    assert response.status_code == 201, response.text
    assert set(response.json()["spec"]) == {"awsAccess", "secretName"}
    spec = get_namespaced_resource(kube_api, namespace, "plain")["spec"]
    assert set(spec) == {"awsAccess", "secretName"}
    secret = wait_for(lambda: read_secret(kube_api, namespace, "s"), timeout=60)
    assert len(docker_config(secret)["auths"]) == 1
