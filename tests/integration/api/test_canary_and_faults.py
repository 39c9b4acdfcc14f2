"""The secret key never leaves the cluster through the API (responses, logs, database), and a
cluster whose API server is down still answers reads from the mirror while writes get 503."""

from __future__ import annotations

import datetime
import json
import subprocess

from devstack.processes import free_port
from tests.settings import TEST_DB

from ..helpers import CANARY_SECRET, wait_for

URL = "/api/v1/awsecrimagepullsecrets/"


def test_the_secret_key_never_appears_in_a_response_or_the_database(operator_api, api_as, stack, namespace):
    access = {"accessKeyId": "AKIAIOSFODNN7EXAMPLE", "secretAccessKey": CANARY_SECRET, "region": "eu-west-1"}
    manifest = {
        "metadata": {"name": "pull", "namespace": namespace},
        "spec": {"awsAccess": access, "secretName": "s"},
    }
    responses = [operator_api.post(URL, json=manifest)]
    pk = responses[0].json()["id"]
    wait_for(lambda: operator_api.get(f"{URL}{pk}/").json()["status"]["ready"], timeout=60)
    bad = json.loads(json.dumps(manifest))
    bad["spec"]["awsAccess"]["secretAccessKey"] = [CANARY_SECRET]
    bad["spec"]["awsAccess"]["region"] = "nowhere"
    responses += [
        operator_api.post(URL, json=manifest),  # 409: exists
        operator_api.post(URL, json=bad),  # 400
        operator_api.patch(f"{URL}{pk}/", json={"spec": {"awsAccess": {"secretAccessKey": CANARY_SECRET}}}),
        operator_api.put(f"{URL}{pk}/", json=manifest),
        api_as("viewer").patch(f"{URL}{pk}/", json=manifest),
    ]
    for url in (URL, f"{URL}{pk}/", "/api/v1/secrets/", "/api/v1/summary/", "/api/schema/"):
        responses.append(operator_api.get(url))
    for response in responses:
        assert CANARY_SECRET not in response.text, (response.request.method, response.url)
        assert CANARY_SECRET not in str(response.headers)
    files = [str(p) for p in TEST_DB.parent.glob(TEST_DB.name + "*")]
    found = subprocess.run(["grep", "-a", "-l", CANARY_SECRET, *files], capture_output=True, text=True)
    assert found.stdout == "", f"the secret key is in {found.stdout}"
    # the web role's log is checked when the module's web server stops; the worker's and controller's
    # after each test (tests/integration/stack.py)


def test_keys_in_a_secret_never_appear_in_a_response_or_the_database(
    operator_api, kube_api, stack, namespace
):
    """The canary as the secret key in a Secret that a resource reads its keys from."""
    from kubernetes import client

    client.CoreV1Api(kube_api).create_namespaced_secret(
        namespace,
        client.V1Secret(
            metadata=client.V1ObjectMeta(name="aws-creds"),
            string_data={"AWS_ACCESS_KEY_ID": "AKIACANARYREF0000001", "AWS_SECRET_ACCESS_KEY": CANARY_SECRET},
        ),
    )
    manifest = {
        "metadata": {"name": "by-ref", "namespace": namespace},
        "spec": {"awsAccess": {"region": "eu-west-1", "secretRef": {"name": "aws-creds"}}, "secretName": "s"},
    }
    responses = [operator_api.post(URL, json=manifest)]
    assert responses[0].status_code == 201, responses[0].text
    pk = responses[0].json()["id"]
    ready = wait_for(
        lambda: (r := operator_api.get(f"{URL}{pk}/").json())["status"]["ready"] and r, timeout=60
    )
    assert ready["status"]["identity"] == {"kind": "secret", "accessKeyIdSuffix": "0001"}
    refused = json.loads(json.dumps(manifest))
    refused["spec"]["awsAccess"]["secretAccessKey"] = CANARY_SECRET  # beside a secretRef: two identities
    responses += [
        operator_api.post(URL, json=refused),
        operator_api.patch(f"{URL}{pk}/", json={"spec": {"awsAccess": {"secretAccessKey": CANARY_SECRET}}}),
        operator_api.put(f"{URL}{pk}/", json=refused),
    ]
    assert [r.status_code for r in responses[1:]] == [400, 400, 400]
    for url in (URL, f"{URL}{pk}/", "/api/v1/secrets/", "/api/v1/summary/"):
        responses.append(operator_api.get(url))
    for response in responses:
        assert CANARY_SECRET not in response.text, (response.request.method, response.url)
    files = [str(p) for p in TEST_DB.parent.glob(TEST_DB.name + "*")]
    found = subprocess.run(["grep", "-a", "-l", CANARY_SECRET, *files], capture_output=True, text=True)
    assert found.stdout == "", f"the secret key is in {found.stdout}"


def test_a_cluster_that_is_down_answers_reads_from_the_mirror_and_writes_get_503(operator_api, tmp_path):
    from secrets_app.models import Cluster, NamespacedPullSecret

    kubeconfig = tmp_path / "down.yaml"
    server = f"https://127.0.0.1:{free_port()}"  # nothing listens there
    kubeconfig.write_text(
        json.dumps(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "current-context": "down",
                "clusters": [
                    {"name": "down", "cluster": {"server": server, "insecure-skip-tls-verify": True}}
                ],
                "contexts": [{"name": "down", "context": {"cluster": "down", "user": "u"}}],
                "users": [{"name": "u", "user": {"token": "t"}}],
            }
        )
    )
    down = Cluster.objects.create(name="down", kubeconfig_path=str(kubeconfig))
    synced = datetime.datetime(2026, 1, 2, 3, 4, 5, tzinfo=datetime.UTC)
    row = NamespacedPullSecret.objects.create(
        cluster=down,
        namespace="team-a",
        name="pull",
        uid="u-1",
        generation=1,
        secret_name="s",
        access_key_id="AKIAIOSFODNN7EXAMPLE",
        region="eu-west-1",
        ready=True,
        reason="SecretsUpdated",
        synced_at=synced,
    )
    listed = operator_api.get(URL, params={"cluster": "down"})
    assert listed.status_code == 200
    (item,) = listed.json()["results"]
    assert item["syncedAt"] == "2026-01-02T03:04:05Z" and item["status"]["ready"] is True
    changed = operator_api.patch(f"{URL}{row.pk}/", json={"spec": {"secretName": "t"}})
    assert changed.status_code == 503
    assert changed.json()["detail"].startswith(
        "AWSECRImagePullSecret team-a/pull was not written: the cluster's API server did not answer"
    )
    manifest = {
        "metadata": {"cluster": "down", "name": "new", "namespace": "team-a"},
        "spec": {
            "awsAccess": {"accessKeyId": "AKIA", "secretAccessKey": "k", "region": "eu-west-1"},
            "secretName": "s",
        },
    }
    assert operator_api.post(URL, json=manifest).status_code == 503
    assert operator_api.delete(f"{URL}{row.pk}/").status_code == 503
    summary = {c["cluster"]: c for c in operator_api.get("/api/v1/summary/").json()["clusters"]}
    assert summary["down"]["apiServer"]["reachable"] is False and summary["down"]["resources"]["ready"] == 1
