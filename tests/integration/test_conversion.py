"""A deprecated v1alpha1 AWSECRCredential becomes a ClusterAWSECRImagePullSecret of the same name."""

from kubernetes import client
from kubernetes.client.rest import ApiException

from .helpers import (
    GROUP,
    aws_access,
    create_namespace,
    get_cluster_resource_or_none,
    is_ready,
    read_secret,
    unique,
    wait_for,
)


def test_legacy_credential_is_converted_and_its_secrets_appear(kube_api, operator):
    ns = unique("ns")
    create_namespace(kube_api, ns)
    name = unique("legacy")
    custom = client.CustomObjectsApi(kube_api)
    custom.create_cluster_custom_object(
        GROUP,
        "v1alpha1",
        "awsecrcredentials",
        {
            "apiVersion": f"{GROUP}/v1alpha1",
            "kind": "AWSECRCredential",
            "metadata": {"name": name, "labels": {"team": "a"}},
            "spec": {"awsAccess": aws_access(), "secretName": "legacy-pull", "namespaces": [ns]},
        },
    )
    body = wait_for(lambda: (b := get_cluster_resource_or_none(kube_api, name)) and is_ready(b) and b)
    assert body["metadata"]["labels"] == {"team": "a"}
    assert body["spec"]["namespaces"] == [ns]
    assert read_secret(kube_api, ns, "legacy-pull") is not None

    def legacy_gone():
        """the v1alpha1 object was deleted after conversion"""
        try:
            custom.get_cluster_custom_object(GROUP, "v1alpha1", "awsecrcredentials", name)
        except ApiException as exc:
            return exc.status == 404
        return False

    wait_for(legacy_gone)
