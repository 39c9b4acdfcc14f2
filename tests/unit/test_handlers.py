"""The controller's handling of watch events, against the database only (no cluster)."""

from __future__ import annotations

import datetime

import pytest

from secrets_app.aws.ecr import Token
from secrets_app.controller.handlers import Handlers
from secrets_app.kube.kinds import CLUSTER, NAMESPACED
from secrets_app.models import Cluster, NamespacedPullSecret
from secrets_app.services import mirror
from secrets_app.services.secrets import dockerconfig

pytestmark = pytest.mark.django_db
NOW = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)


def body(resource_version: str, generation: int = 1) -> dict:
    return {
        "apiVersion": NAMESPACED.api_version,
        "kind": NAMESPACED.kind,
        "metadata": {
            "name": "pull",
            "namespace": "a",
            "uid": "u-1",
            "resourceVersion": resource_version,
            "generation": generation,
        },
        "spec": {"secretName": "ecr-pull", "awsAccess": {"accessKeyId": "AKIA", "region": "eu-west-1"}},
    }


@pytest.fixture
def handlers():
    queued = []
    handlers = Handlers(Cluster.default(), queued.append)
    handlers.queued = queued
    return handlers


def test_a_resource_written_from_the_database_is_reconciled_even_when_its_event_comes_late(handlers):
    # The writer stores the version it created before the controller sees the event.
    mirror.upsert(handlers.cluster, NAMESPACED, body("100"))
    handlers.resource_changed(NAMESPACED, body("100"), deleted=False)
    assert handlers.queued == [(NAMESPACED.kind, "a", "pull")]


def test_a_list_forgets_rows_of_deleted_objects_but_not_one_created_after_its_snapshot(handlers):
    listed_at = datetime.datetime.now(datetime.UTC)
    mirror.upsert(handlers.cluster, NAMESPACED, body("100"))  # the writer's create, after the list began
    handlers.resources_listed(NAMESPACED, [], listed_at)
    assert NamespacedPullSecret.objects.filter(name="pull").exists()
    # A list asked for after that row was synced, without the object: it was deleted.
    handlers.resources_listed(NAMESPACED, [], datetime.datetime.now(datetime.UTC))
    assert not NamespacedPullSecret.objects.filter(name="pull").exists()


def test_our_own_status_write_is_not_mistaken_for_an_edit(handlers):
    row, _ = mirror.upsert(handlers.cluster, NAMESPACED, body("100"))
    type(row).objects.filter(pk=row.pk).update(observed_generation=1, resource_version="101")
    handlers.resource_changed(NAMESPACED, body("101"), deleted=False)
    assert handlers.queued == []


def test_our_status_write_seen_before_the_reconcile_recorded_it_is_not_reconciled_again(handlers):
    # The creation was queued; the reconcile's status write (same generation) arrives before the
    # reconcile stored its resourceVersion: nothing in the spec changed, so no second reconcile.
    handlers.resource_changed(NAMESPACED, body("100"), deleted=False)
    handlers.resource_changed(NAMESPACED, body("101"), deleted=False)
    assert handlers.queued == [(NAMESPACED.kind, "a", "pull")]


def test_a_spec_edit_is_reconciled(handlers):
    handlers.resource_changed(NAMESPACED, body("100"), deleted=False)
    handlers.resource_changed(NAMESPACED, body("102", generation=2), deleted=False)
    assert handlers.queued == [(NAMESPACED.kind, "a", "pull")] * 2


def secret(data: str, tamper: bool = False) -> dict:
    desired = dockerconfig.desired_secret(
        body("100"),
        "a",
        Token("r.example", "AWS", data, NOW + datetime.timedelta(hours=12), NOW),
        NOW + datetime.timedelta(hours=6),
        "id",
        "source",
        lambda *parts: "seal",
    )
    desired["metadata"]["resourceVersion"] = "7"
    if tamper:
        desired["data"][dockerconfig.DATA_KEY] = "eyJhdXRocyI6IHt9fQ=="
    return desired


def test_our_secret_as_we_wrote_it_needs_no_reconcile(handlers):
    handlers.secret_changed(secret("pw"))
    assert handlers.queued == []


def test_a_secret_edited_or_deleted_by_hand_is_reconciled(handlers):
    handlers.secret_changed(secret("pw", tamper=True))
    handlers.secret_changed(secret("pw"), deleted=True)
    assert handlers.queued == [(NAMESPACED.kind, "a", "pull")] * 2


def namespace(name: str, **labels) -> dict:
    return {"metadata": {"name": name, "labels": labels}, "status": {"phase": "Active"}}


def selecting(handlers, **spec) -> None:
    body = {
        "apiVersion": CLUSTER.api_version,
        "kind": CLUSTER.kind,
        "metadata": {"name": "sel", "uid": "u-sel", "resourceVersion": "1", "generation": 1},
        "spec": {"secretName": "ecr-pull", "awsAccess": {"region": "eu-west-1"}, **spec},
    }
    mirror.upsert(handlers.cluster, CLUSTER, body)


def test_a_namespace_labelled_in_or_out_of_a_selection_is_reconciled_for_it(handlers):
    selecting(handlers, namespaceSelector={"matchLabels": {"team": "a"}})
    handlers.namespace_changed(namespace("n1"))  # not selected, nothing of ours there
    assert handlers.queued == []
    handlers.namespace_changed(namespace("n1", team="a"))  # labelled in
    assert handlers.queued == [(CLUSTER.kind, "", "sel")]
    # Labelled out before the reconcile that wrote its Secret recorded it (no ManagedSecret row):
    # the labels of its last event tell that it was selected.
    handlers.queued.clear()
    handlers.namespace_changed(namespace("n1", team="b"))
    assert handlers.queued == [(CLUSTER.kind, "", "sel")]
    handlers.queued.clear()
    handlers.namespace_changed(namespace("n1", team="c"))  # still out: nothing to do
    assert handlers.queued == []


def test_a_service_account_missing_the_entry_is_reconciled_only_for_the_resources_that_want_it(handlers):
    selecting(handlers, namespaces=["n1"], serviceAccounts=["builder"])
    account = {"metadata": {"name": "builder", "namespace": "n1"}, "imagePullSecrets": [{"name": "other"}]}
    handlers.service_account_changed(account)
    assert handlers.queued == [(CLUSTER.kind, "", "sel")]
    handlers.queued.clear()
    handlers.service_account_changed({**account, "imagePullSecrets": [{"name": "ecr-pull"}]})  # holds it
    handlers.service_account_changed(
        {**account, "metadata": {"name": "default", "namespace": "n1"}}
    )  # unlisted
    handlers.service_account_changed(
        {**account, "metadata": {"name": "builder", "namespace": "n2"}}
    )  # untargeted
    assert handlers.queued == []


def test_a_service_account_event_reads_only_its_namespace_s_resources_that_want_service_accounts(
    handlers, django_assert_max_num_queries
):
    def resource(ns: str, name: str, **spec) -> None:
        meta = {
            "name": name,
            "namespace": ns,
            "uid": f"u-{ns}-{name}",
            "resourceVersion": "1",
            "generation": 1,
        }
        spec = {"secretName": "ecr-pull", "awsAccess": {"region": "eu-west-1"}, **spec}
        mirror.upsert(handlers.cluster, NAMESPACED, {"metadata": meta, "spec": spec})

    resource("n1", "wants", serviceAccounts=["builder"])
    resource("n1", "plain")
    for i in range(20):  # other namespaces' resources are not read for n1's ServiceAccount
        resource(f"other-{i}", "wants", serviceAccounts=["builder"])
    account = {"metadata": {"name": "builder", "namespace": "n1"}}
    assert [key for key, _ in handlers._service_account_readers("n1")] == [(NAMESPACED.kind, "n1", "wants")]
    with django_assert_max_num_queries(2):
        handlers.service_account_changed(account)
    assert handlers.queued == [(NAMESPACED.kind, "n1", "wants")]
    assert len(handlers._service_account_readers()) == 21  # a relist reads them all, once


def test_a_relist_of_resources_already_mirrored_reads_their_rows_in_one_query(
    handlers, django_assert_num_queries
):
    bodies = []
    for i in range(20):
        item = body("1")
        item["metadata"].update(name=f"r{i}", uid=f"u-{i}")
        mirror.upsert(handlers.cluster, NAMESPACED, item)
        bodies.append(item)
    NamespacedPullSecret.objects.update(observed_generation=1)  # reconciled already
    with django_assert_num_queries(3):  # the rows, and forget_missing's two deletes of rows not listed
        handlers.resources_listed(NAMESPACED, bodies, NOW)
    assert handlers.queued == []  # as mirrored: nothing to reconcile
