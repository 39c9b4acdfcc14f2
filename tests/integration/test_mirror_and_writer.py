"""The database mirrors the cluster both ways, with optimistic concurrency from the database side."""

from __future__ import annotations

import pytest
from kubernetes import client

from secrets_app.models import Cluster, ClusterPullSecret, NamespacedPullSecret
from secrets_app.services import writer

from .helpers import (
    CANARY_SECRET,
    GROUP,
    VERSION,
    create_cluster_resource,
    create_namespace,
    get_cluster_resource,
    is_ready,
    read_secret,
    unique,
    wait_for,
)

PLURAL = "clusterawsecrimagepullsecrets"


@pytest.fixture
def kubeconfig_env(control_plane, monkeypatch):
    """The test process writes to the cluster through the default Cluster row, like the admin will."""
    from secrets_app.kube import connection

    monkeypatch.setenv("KUBECONFIG", str(control_plane.kubeconfig))
    connection.reset()
    yield
    connection.reset()


def test_mirror_rows_follow_create_edit_and_delete(kube_api, operator):
    ns = unique("ns")
    create_namespace(kube_api, ns)
    name = unique("caeps")
    created = create_cluster_resource(kube_api, name, [ns], region="us-east-2")
    row = wait_for(lambda: ClusterPullSecret.objects.filter(name=name, ready=True).first())
    assert (row.uid, row.secret_name, row.namespaces, row.region, row.access_key_id) == (
        created["metadata"]["uid"],
        "ecr-pull",
        [ns],
        "us-east-2",
        "AKIAIOSFODNN7EXAMPLE",
    )
    assert row.cluster == Cluster.default()

    custom = client.CustomObjectsApi(kube_api)
    custom.patch_cluster_custom_object(GROUP, VERSION, PLURAL, name, {"spec": {"secretName": "renamed"}})
    wait_for(lambda: ClusterPullSecret.objects.get(name=name).secret_name == "renamed")
    wait_for(lambda: read_secret(kube_api, ns, "renamed"))
    wait_for(lambda: read_secret(kube_api, ns, "ecr-pull") is None)
    body = get_cluster_resource(kube_api, name)
    row = ClusterPullSecret.objects.get(name=name)
    assert row.generation == body["metadata"]["generation"] == 2

    custom.delete_cluster_custom_object(GROUP, VERSION, PLURAL, name)
    wait_for(lambda: not ClusterPullSecret.objects.filter(name=name).exists())


def test_database_edit_reaches_the_cluster_and_a_conflicting_one_is_refused(
    kube_api, operator, kubeconfig_env
):
    ns = unique("ns")
    create_namespace(kube_api, ns)
    name = unique("caeps")
    create_cluster_resource(kube_api, name, [ns])
    row = wait_for(lambda: ClusterPullSecret.objects.filter(name=name, ready=True).first())

    extra = unique("extra")
    create_namespace(kube_api, extra)
    row.namespaces = [ns, extra]
    saved = writer.save_to_cluster(row)
    assert get_cluster_resource(kube_api, name)["spec"]["namespaces"] == [ns, extra]
    assert get_cluster_resource(kube_api, name)["spec"]["awsAccess"]["secretAccessKey"] == CANARY_SECRET
    wait_for(lambda: read_secret(kube_api, extra, "ecr-pull"))

    stale = ClusterPullSecret.objects.get(pk=saved.pk)
    client.CustomObjectsApi(kube_api).patch_cluster_custom_object(
        GROUP, VERSION, PLURAL, name, {"spec": {"secretName": "kubectl-wins"}}
    )
    stale.secret_name = "admin-loses"
    with pytest.raises(writer.WriteConflict) as error:
        writer.save_to_cluster(stale)
    assert "was changed in the cluster since you loaded it" in str(error.value)
    assert "reload it and make your edit again" in str(error.value)
    assert get_cluster_resource(kube_api, name)["spec"]["secretName"] == "kubectl-wins"


def test_database_create_sends_the_secret_key_to_the_cluster_only(
    kube_api, operator, kubeconfig_env, namespace
):
    row = NamespacedPullSecret(
        cluster=Cluster.default(),
        namespace=namespace,
        name="from-admin",
        secret_name="admin-pull",
        access_key_id="AKIAIOSFODNN7EXAMPLE",
        region="eu-west-1",
    )
    with pytest.raises(writer.WriteError, match="a secret access key is required to create it"):
        writer.save_to_cluster(row)
    saved = writer.save_to_cluster(row, secret_access_key=CANARY_SECRET)
    assert saved.uid
    wait_for(lambda: read_secret(kube_api, namespace, "admin-pull"))
    body = client.CustomObjectsApi(kube_api).get_namespaced_custom_object(
        GROUP, VERSION, namespace, "awsecrimagepullsecrets", "from-admin"
    )
    assert body["spec"]["awsAccess"]["secretAccessKey"] == CANARY_SECRET
    assert CANARY_SECRET not in repr(list(NamespacedPullSecret.objects.values()))
    wait_for(lambda: NamespacedPullSecret.objects.get(pk=saved.pk).ready)

    writer.delete_from_cluster(NamespacedPullSecret.objects.get(pk=saved.pk))
    wait_for(lambda: read_secret(kube_api, namespace, "admin-pull") is None, timeout=60)
    assert not NamespacedPullSecret.objects.filter(pk=saved.pk).exists()


def test_cluster_resource_with_invalid_spec_is_reported_not_ready(kube_api, operator):
    name = unique("nosecret")
    body = {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "ClusterAWSECRImagePullSecret",
        "metadata": {"name": name},
        "spec": {"namespaces": ["default"]},  # valid under the seed CRD, useless in practice
    }
    client.CustomObjectsApi(kube_api).create_cluster_custom_object(GROUP, VERSION, PLURAL, body)
    body = wait_for(lambda: (b := get_cluster_resource(kube_api, name)).get("status") and b)
    condition = body["status"]["conditions"][0]
    assert (condition["status"], condition["reason"]) == ("False", "InvalidSpec")
    assert "spec.secretName is missing" in condition["message"]
    assert "spec.awsAccess is missing" in condition["message"]
    assert not is_ready(body)


# -- AWS identities written from the database ------------------------------------------------------
SECRET_KEY_ID = "AKIAFROMSECRET000001"


def put_key_secret(api, namespace: str, name: str = "aws-creds", key_id: str = SECRET_KEY_ID) -> None:
    """A Secret with the keys under the default names; the secret key is the canary."""
    client.CoreV1Api(api).create_namespaced_secret(
        namespace,
        client.V1Secret(
            metadata=client.V1ObjectMeta(name=name),
            string_data={"AWS_ACCESS_KEY_ID": key_id, "AWS_SECRET_ACCESS_KEY": CANARY_SECRET},
        ),
    )


def test_database_create_with_keys_in_a_secret_is_ready_and_no_key_is_stored(
    kube_api, operator, ecr, kubeconfig_env, namespace
):
    put_key_secret(kube_api, namespace)
    row = NamespacedPullSecret(
        cluster=Cluster.default(),
        namespace=namespace,
        name="from-secret",
        secret_name="secret-pull",
        region="eu-west-1",
        identity_kind="secret",
        aws_access={"secretRef": {"name": "aws-creds"}},
    )
    saved = writer.save_to_cluster(row)
    body = client.CustomObjectsApi(kube_api).get_namespaced_custom_object(
        GROUP, VERSION, namespace, "awsecrimagepullsecrets", "from-secret"
    )
    assert body["spec"]["awsAccess"] == {"secretRef": {"name": "aws-creds"}, "region": "eu-west-1"}
    assert (saved.identity_kind, saved.credentials_ref, saved.access_key_id) == (
        "secret",
        f"{namespace}/aws-creds",
        "",
    )
    wait_for(lambda: NamespacedPullSecret.objects.get(pk=saved.pk).ready, timeout=60)
    assert read_secret(kube_api, namespace, "secret-pull") is not None
    assert SECRET_KEY_ID in [s.access_key_id for s in ecr.token_signers]
    assert CANARY_SECRET not in repr(list(NamespacedPullSecret.objects.values()))


def test_switching_the_identity_kind_removes_the_other_kinds_fields_in_the_cluster(
    kube_api, operator, ecr, kubeconfig_env
):
    ns, name = unique("ns"), unique("caeps")
    create_namespace(kube_api, ns)
    put_key_secret(kube_api, ns)
    create_cluster_resource(kube_api, name, [ns])  # inline keys
    row = wait_for(lambda: ClusterPullSecret.objects.filter(name=name, ready=True).first(), timeout=60)

    row.identity_kind = "secret"
    row.aws_access = {"secretRef": {"name": "aws-creds", "namespace": ns}}
    saved = writer.save_to_cluster(row)
    access = get_cluster_resource(kube_api, name)["spec"]["awsAccess"]
    assert access == {"region": "eu-west-1", "secretRef": {"name": "aws-creds", "namespace": ns}}
    assert (saved.identity_kind, saved.access_key_id, saved.credentials_ref) == (
        "secret",
        "",
        f"{ns}/aws-creds",
    )

    def reconciled_with_the_secret():
        current = ClusterPullSecret.objects.get(pk=saved.pk)
        return current.ready and current.observed_generation == current.generation and current

    row = wait_for(reconciled_with_the_secret, timeout=60)
    wait_for(lambda: SECRET_KEY_ID in [s.access_key_id for s in ecr.token_signers], timeout=30)

    row.identity_kind, row.access_key_id = "inline", "AKIAIOSFODNN7EXAMPLE"
    with pytest.raises(writer.WriteError, match="required to switch to keys in the resource"):
        writer.save_to_cluster(row)
    writer.save_to_cluster(row, secret_access_key=CANARY_SECRET)
    access = get_cluster_resource(kube_api, name)["spec"]["awsAccess"]
    assert set(access) == {"region", "accessKeyId", "secretAccessKey"}
    wait_for(lambda: ClusterPullSecret.objects.get(pk=saved.pk).identity_kind == "inline", timeout=30)
    assert CANARY_SECRET not in repr(list(ClusterPullSecret.objects.values()))


def test_the_cluster_refuses_a_web_identity_without_a_role_on_the_role_field(
    kube_api, operator, kubeconfig_env, namespace
):
    row = NamespacedPullSecret(
        cluster=Cluster.default(),
        namespace=namespace,
        name="no-role",
        secret_name="s",
        region="eu-west-1",
        identity_kind="serviceAccount",
        aws_access={"serviceAccountRef": {"name": "puller"}},
    )
    with pytest.raises(writer.WriteError) as error:
        writer.save_to_cluster(row)
    assert "roleArn" in str(error.value)
    assert list(error.value.fields) == ["spec.awsAccess.roleArn"], error.value.fields
    assert not NamespacedPullSecret.objects.filter(name="no-role").exists()
