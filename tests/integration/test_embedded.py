"""The embedded default's reconciles read their resource and their managed Secrets from the
controller's watches (secrets_app/kube/store.py) instead of GETting them, and a write made from a
store that lagged behind the cluster is done again from a fresh read."""

from __future__ import annotations

import base64
import datetime
import json

import pytest
from kubernetes import client

from secrets_app.kube import store
from secrets_app.kube.kinds import GROUP, NAMESPACED
from secrets_app.models import Cluster
from secrets_app.services.reconcile import reconcile

from .bench.measure import api_requests, between
from .helpers import (
    create_namespaced_resource,
    delete_all_resources,
    get_namespaced_resource,
    is_ready,
    read_secret,
    unique,
    wait_for,
    wait_for_reason,
)

RESOURCES = 3


def _expiries(api, namespace: str) -> dict[str, str]:
    """The token expiry of each managed Secret in the namespace, read with one LIST (not a GET each)."""
    secrets = client.CoreV1Api(api).list_namespaced_secret(
        namespace, label_selector="app.kubernetes.io/managed-by=ecrcontrol"
    )
    return {s.metadata.name: s.metadata.annotations["expiry"] for s in secrets.items}


def test_embedded_refresh_reads_nothing_from_the_api_server(kube_api, start_operator, ecr, namespace):
    # Tokens that live 8 s: each resource comes due every 4 s (ECRCONTROL_MIN_REFRESH_SECONDS=1).
    ecr.token_lifetime = datetime.timedelta(seconds=8)
    start_operator(ecr.url, embedded=True, ECRCONTROL_MIN_REFRESH_SECONDS="1")
    key_id = unique("AKIAEMBEDDED").upper()  # tokens of its own, not ones earlier tests' Secrets hold
    for i in range(RESOURCES):
        create_namespaced_resource(kube_api, namespace, f"r{i}", secret_name=f"pull-{i}", key_id=key_id)
    first = wait_for(lambda: (found := _expiries(kube_api, namespace)) and len(found) == RESOURCES and found)
    before = api_requests(kube_api)
    wait_for(
        lambda: all(p != first[n] for n, p in _expiries(kube_api, namespace).items()),
        timeout=30,
        interval=0.5,
    )
    after = api_requests(kube_api)
    delta = between(before, after)
    assert delta.get(("PUT", "secrets", ""), 0) >= RESOURCES, delta  # every Secret was refreshed
    # ... from what the watches saw: no GET of a Secret or of a resource (the test only LISTs).
    assert delta.get(("GET", "secrets", ""), 0) == 0, delta
    assert delta.get(("GET", "awsecrimagepullsecrets", ""), 0) == 0, delta
    for i in range(RESOURCES):
        assert is_ready(get_namespaced_resource(kube_api, namespace, f"r{i}"))


def test_embedded_creates_new_secrets_without_reading_them_and_still_reports_a_foreign_one(
    kube_api, start_operator, ecr, namespace
):
    core = client.CoreV1Api(kube_api)
    core.create_namespaced_secret(
        namespace, client.V1Secret(metadata=client.V1ObjectMeta(name="taken"), string_data={"mine": "yes"})
    )
    start_operator(ecr.url, embedded=True)
    before = api_requests(kube_api)
    for i in range(RESOURCES):
        create_namespaced_resource(kube_api, namespace, f"r{i}", secret_name=f"pull-{i}")
    for i in range(RESOURCES):
        wait_for(lambda i=i: is_ready(get_namespaced_resource(kube_api, namespace, f"r{i}")))
    delta = between(before, api_requests(kube_api))
    # Absent from the complete store of managed Secrets: created without a GET first.
    assert delta.get(("GET", "secrets", ""), 0) == 0, delta
    assert delta.get(("POST", "secrets", ""), 0) == RESOURCES, delta
    # A Secret in the way that is not ours is not in that store: the create fails, and the GET
    # that follows tells whose it is.
    create_namespaced_resource(kube_api, namespace, "intruder", secret_name="taken")
    condition = wait_for_reason(
        lambda: get_namespaced_resource(kube_api, namespace, "intruder"), "SecretsFailed"
    )
    assert "a Secret named taken already exists in namespace" in condition["message"]
    assert set(core.read_namespaced_secret("taken", namespace).data) == {"mine"}


@pytest.fixture
def in_process(control_plane, our_crds, ecr, monkeypatch, transactional_db, kube_api):
    """Reconciles run in the test process against the real API server, through the default Cluster.
    The resources made are deleted afterwards (as start_operator does), not left to the namespace's
    slower deletion for the next test's operator to find."""
    from secrets_app.kube import connection

    monkeypatch.setenv("KUBECONFIG", str(control_plane.kubeconfig))
    monkeypatch.setenv("AWS_ENDPOINT_URL_ECR", ecr.url)
    connection.reset()
    cluster = Cluster.default()
    yield cluster
    for what in (NAMESPACED.kind, store.SECRETS):
        store.register(cluster.pk, what, None)
    connection.reset()
    delete_all_resources(kube_api)


@pytest.mark.parametrize("lag", ["edited since", "deleted since"])
def test_a_write_from_a_stale_store_is_done_again_from_a_fresh_read(kube_api, in_process, namespace, lag):
    cluster = in_process
    resource = create_namespaced_resource(kube_api, namespace, "stale", secret_name="pull")
    reconcile(cluster, NAMESPACED.kind, namespace, "stale")  # no store yet: GETs, creates the Secret
    ours = client.ApiClient().sanitize_for_serialization(read_secret(kube_api, namespace, "pull"))

    # The store still holds an older version of the Secret, one that no longer looks current (so
    # the reconcile writes), while the cluster has moved on: edited by hand, or deleted.
    seen = json.loads(json.dumps(ours))
    seen["data"][".dockerconfigjson"] = base64.b64encode(b'{"auths": {}}').decode()
    secrets, resources = store.Store(), store.Store()
    secrets.replace([seen])
    resources.replace([get_namespaced_resource(kube_api, namespace, "stale")])
    store.register(cluster.pk, store.SECRETS, secrets)
    store.register(cluster.pk, NAMESPACED.kind, resources)
    core = client.CoreV1Api(kube_api)
    if lag == "edited since":
        core.patch_namespaced_secret("pull", namespace, {"metadata": {"labels": {"edited": "by-hand"}}})
    else:
        core.delete_namespaced_secret("pull", namespace)

    before = api_requests(kube_api)
    reconcile(cluster, NAMESPACED.kind, namespace, "stale")
    after = api_requests(kube_api)

    delta = between(before, after)
    assert delta.get(("GET", "awsecrimagepullsecrets", ""), 0) == 0, delta  # the resource: from the store
    # The write from the store's version was refused (409 edited, 404 deleted), then done again
    # from one fresh read.
    assert delta.get(("PUT", "secrets", ""), 0) == 1, delta
    assert delta.get(("GET", "secrets", ""), 0) == 1, delta
    now = read_secret(kube_api, namespace, "pull")
    assert now is not None and now.data[".dockerconfigjson"] == ours["data"][".dockerconfigjson"]
    if lag == "edited since":
        assert now.metadata.labels["edited"] == "by-hand"  # the fresh read held our data: kept as is
    else:
        assert delta.get(("POST", "secrets", ""), 0) == 1, delta  # created again
    body = get_namespaced_resource(kube_api, namespace, "stale")
    assert is_ready(body), body.get("status")
    assert body["metadata"]["uid"] == resource["metadata"]["uid"]


def test_a_status_written_after_a_spec_edit_leaves_the_row_on_the_version_it_mirrored(
    kube_api, in_process, namespace
):
    """A reconcile that read generation 1 writes its status after a kubectl edit made generation 2:
    the status patch returns generation 2's resourceVersion, which the row (still generation 1's
    spec, as the watch has not brought the edit yet) must not take, or a delete from the dashboard
    or the API would pass its precondition and drop the edit unseen."""
    from secrets_app.services import mirror, writer

    cluster = in_process
    create_namespaced_resource(kube_api, namespace, "edited", secret_name="pull")
    first = get_namespaced_resource(kube_api, namespace, "edited")
    row, _ = mirror.upsert(cluster, NAMESPACED, first)
    resources = store.Store()
    resources.replace([first])
    store.register(cluster.pk, NAMESPACED.kind, resources)
    kubectl_edit = {"spec": {"awsAccess": {"region": "ap-south-1"}}}
    client.CustomObjectsApi(kube_api).patch_namespaced_custom_object(
        GROUP, NAMESPACED.version, namespace, NAMESPACED.plural, "edited", kubectl_edit
    )

    reconcile(cluster, NAMESPACED.kind, namespace, "edited")  # from the store: generation 1

    now = get_namespaced_resource(kube_api, namespace, "edited")
    assert now["metadata"]["generation"] == 2 and now["status"]["observedGeneration"] == 1  # it wrote
    row.refresh_from_db()
    assert (row.generation, row.resource_version) == (1, first["metadata"]["resourceVersion"])
    assert row.ready  # the status fields are the reconcile's all the same
    with pytest.raises(writer.WriteConflict, match="generation 2, you edited generation 1"):
        writer.delete_from_cluster(row)
    kept = get_namespaced_resource(kube_api, namespace, "edited")
    assert kept["spec"]["awsAccess"]["region"] == "ap-south-1"
