"""The controller's handling of watch events, against the database only (no cluster)."""

from __future__ import annotations

import pytest

from secrets_app.controller.handlers import Handlers
from secrets_app.kube.kinds import NAMESPACED
from secrets_app.models import Cluster
from secrets_app.services import mirror

pytestmark = pytest.mark.django_db


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


def test_our_own_status_write_is_not_mistaken_for_an_edit(handlers):
    row, _ = mirror.upsert(handlers.cluster, NAMESPACED, body("100"))
    type(row).objects.filter(pk=row.pk).update(observed_generation=1, resource_version="101")
    handlers.resource_changed(NAMESPACED, body("101"), deleted=False)
    assert handlers.queued == []
