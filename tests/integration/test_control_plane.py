"""The local control plane is a real Kubernetes: API objects, garbage collection, CRDs, cleanup."""

from __future__ import annotations

import base64
import json
import os
import shutil
import signal
import subprocess
import sys

import pytest
import yaml
from kubernetes import client
from kubernetes.client.rest import ApiException

from devstack.controlplane import ControlPlane

from .conftest import seed_crds_dir
from .helpers import wait_for


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is dead for our purposes.
    with open(f"/proc/{pid}/stat") as stat:
        return stat.read().split(")")[-1].split()[0] != "Z"


def test_creates_namespace_and_dockerconfigjson_secret_and_reads_it_back(kube_api, namespace):
    core = client.CoreV1Api(kube_api)
    config = {"auths": {"123456789012.dkr.ecr.us-east-1.amazonaws.com": {"auth": "QVdTOnB3"}}}
    core.create_namespaced_secret(
        namespace,
        client.V1Secret(
            metadata=client.V1ObjectMeta(name="pull"),
            type="kubernetes.io/dockerconfigjson",
            string_data={".dockerconfigjson": json.dumps(config)},
        ),
    )
    secret = core.read_namespaced_secret("pull", namespace)
    assert secret.type == "kubernetes.io/dockerconfigjson"
    assert json.loads(base64.b64decode(secret.data[".dockerconfigjson"])) == config
    assert core.read_namespace(namespace).status.phase == "Active"


def test_api_server_rejects_an_invalid_dockerconfigjson(kube_api, namespace):
    core = client.CoreV1Api(kube_api)
    with pytest.raises(ApiException) as error:
        core.create_namespaced_secret(
            namespace,
            client.V1Secret(
                metadata=client.V1ObjectMeta(name="bad"),
                type="kubernetes.io/dockerconfigjson",
                string_data={".dockerconfigjson": "not json"},
            ),
        )
    assert error.value.status == 422


def test_garbage_collector_deletes_a_configmap_whose_owner_is_deleted(kube_api, namespace):
    core = client.CoreV1Api(kube_api)
    owner = core.create_namespaced_config_map(
        namespace, client.V1ConfigMap(metadata=client.V1ObjectMeta(name="owner"))
    )
    reference = client.V1OwnerReference(
        api_version="v1", kind="ConfigMap", name="owner", uid=owner.metadata.uid
    )
    core.create_namespaced_config_map(
        namespace,
        client.V1ConfigMap(metadata=client.V1ObjectMeta(name="dependent", owner_references=[reference])),
    )
    core.delete_namespaced_config_map("owner", namespace)

    def dependent_gone():
        """the controller-manager's garbage collector removed the dependent"""
        names = [cm.metadata.name for cm in core.list_namespaced_config_map(namespace).items]
        return "dependent" not in names

    wait_for(dependent_gone, timeout=60)


def test_namespace_deletion_completes(kube_api):
    core = client.CoreV1Api(kube_api)
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name="doomed-ns")))
    core.create_namespaced_config_map("doomed-ns", client.V1ConfigMap(metadata=client.V1ObjectMeta(name="x")))
    core.delete_namespace("doomed-ns")

    def namespace_gone():
        """the namespace controller finished deleting the namespace"""
        try:
            core.read_namespace("doomed-ns")
        except ApiException as exc:
            return exc.status == 404
        return False

    wait_for(namespace_gone, timeout=60)


@pytest.mark.parametrize(
    "crd_file, plural, namespaced",
    [
        ("aws.zakariaamine.com_awsecrimagepullsecrets.yaml", "awsecrimagepullsecrets", True),
        ("aws.zakariaamine.com_clusterawsecrimagepullsecrets.yaml", "clusterawsecrimagepullsecrets", False),
    ],
)
def test_seed_crd_is_established_and_serves_objects(kube_api, namespace, crd_file, plural, namespaced):
    extensions = client.ApiextensionsV1Api(kube_api)
    manifest = yaml.safe_load((seed_crds_dir() / crd_file).read_text())
    name = manifest["metadata"]["name"]
    try:
        extensions.create_custom_resource_definition(manifest)
    except ApiException as exc:
        if exc.status != 409:  # already created by the other parameter set or an earlier test
            raise

    def established():
        """the CRD has the Established condition"""
        crd = extensions.read_custom_resource_definition(name)
        return any(c.type == "Established" and c.status == "True" for c in crd.status.conditions or [])

    wait_for(established)
    custom = client.CustomObjectsApi(kube_api)
    spec = {
        "awsAccess": {"accessKeyId": "AKIAEXAMPLE", "secretAccessKey": "c2VjcmV0", "region": "eu-west-1"},
        "secretName": "ecr-pull",
    }
    body = {
        "apiVersion": "aws.zakariaamine.com/v1alpha2",
        "kind": manifest["spec"]["names"]["kind"],
        "metadata": {"name": f"obj-{namespace}"},
        "spec": spec if namespaced else {**spec, "namespaces": [namespace]},
    }
    args = ("aws.zakariaamine.com", "v1alpha2")
    if namespaced:
        custom.create_namespaced_custom_object(*args, namespace, plural, body)
        listed = custom.list_namespaced_custom_object(*args, namespace, plural)["items"]
    else:
        custom.create_cluster_custom_object(*args, plural, body)
        listed = custom.list_cluster_custom_object(*args, plural)["items"]
        custom.delete_cluster_custom_object(*args, plural, body["metadata"]["name"])
    assert [
        item["spec"]["secretName"] for item in listed if item["metadata"]["name"] == f"obj-{namespace}"
    ] == ["ecr-pull"]


def test_reports_its_version_as_v1_36(kube_api):
    info = client.VersionApi(kube_api).get_code()
    assert (info.major, info.minor, info.git_version) == ("1", "36", "v1.36.3")


def test_stop_leaves_no_process_or_directory_behind():
    with ControlPlane() as cp:
        pids = cp.pids()
        workdir = cp.workdir
        assert len(pids) == 3 and all(pid_alive(pid) for pid in pids)
    assert not any(pid_alive(pid) for pid in pids)
    assert not workdir.exists()


def test_a_killed_parent_takes_the_control_plane_down_with_it(tmp_path):
    """Even SIGKILL of the owning process (no cleanup code runs) leaves no etcd or API server."""
    script = (
        "import json, sys, time\n"
        "from devstack.controlplane import ControlPlane\n"
        "cp = ControlPlane(); cp.start()\n"
        "print(json.dumps([cp.pids(), str(cp.workdir)]), flush=True)\n"
        "time.sleep(600)\n"
    )
    child = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        pids, workdir = json.loads(child.stdout.readline())
        assert pids and all(pid_alive(pid) for pid in pids)
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
    wait_for(lambda: not any(pid_alive(pid) for pid in pids), timeout=15)
    shutil.rmtree(workdir)  # nothing could remove it: its owner was SIGKILLed
