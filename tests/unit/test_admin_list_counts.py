"""The list pages at scale: each row's own Secrets counted for the page shown only, and the
failing-first order read from its index."""

from __future__ import annotations

import re

import pytest
from django.core.cache import cache
from django.db import connection

from secrets_app.choices import ResourceKind, SecretState
from secrets_app.models import Cluster, ManagedSecret, NamespacedPullSecret
from secrets_app.models.resources import health
from secrets_app.services import connectivity

from .test_dashboard import admin_client, make_rows  # noqa: F401 - fixture

pytestmark = pytest.mark.django_db
LIST = "/admin/secrets_app/namespacedpullsecret/"


@pytest.fixture(autouse=True)
def clusters_reachable(monkeypatch):
    cache.clear()
    monkeypatch.setattr(connectivity, "test", lambda *args: connectivity.Connection(version="v1.36.3"))


def secrets_ok(html: str) -> dict[str, str]:
    """Row (namespace/name) -> its "secrets ok" cell's count."""
    found = re.findall(r'>([\w-]+/[\w-]+)</a></th>.*?<td class="field-secrets_ok">(\d+/\d+)', html, re.S)
    return dict(found)


def test_a_row_counts_the_secrets_of_its_own_cluster_only(admin_client):  # noqa: F811
    make_rows(3)  # ns-0 ready (its Secret synced), ns-1 failing (its Secret failed), ns-2 pending
    other = Cluster.objects.create(name="second")
    NamespacedPullSecret.objects.create(
        cluster=other, namespace="ns-9", name="pull-9", uid="local-uid-0", secret_name="ecr"
    )  # the same uid as ns-0/pull-0's, in another cluster, without a Secret yet
    NamespacedPullSecret.objects.create(
        cluster=other, namespace="ns-8", name="pull-8", secret_name="ecr", region="eu-west-1"
    )  # not created in the cluster yet: no uid
    ManagedSecret.objects.create(
        cluster=Cluster.default(),
        namespace="ns-0",
        name="ecr-old",
        owner_kind=ResourceKind.NAMESPACED,
        owner_namespace="ns-0",
        owner_name="pull-0",
        owner_uid="local-uid-0",
        state=SecretState.FAILED,
    )  # a Secret of a former secretName, until it is removed
    counts = secrets_ok(admin_client.get(LIST).content.decode())
    assert counts == {
        "ns-0/pull-0": "1/1",
        "ns-1/pull-1": "0/1",
        "ns-2/pull-2": "0/1",
        "ns-9/pull-9": "0/1",
        "ns-8/pull-8": "0/1",
    }


def test_the_counts_follow_the_page_shown(admin_client):  # noqa: F811
    make_rows(120)  # 40 failing, 40 pending, 40 ready: failing first, 50 a page
    second = secrets_ok(admin_client.get(LIST, {"p": 2}).content.decode())
    third = secrets_ok(admin_client.get(LIST, {"p": 3}).content.decode())
    assert len(second) == 50 and len(third) == 20
    ready = {f"ns-{i}/pull-{i}" for i in range(0, 120, 3)}
    assert sorted(second.values()) == ["0/1"] * 30 + ["1/1"] * 20  # pending (no Secret synced), ready
    assert {row for row, n in second.items() if n == "1/1"} <= ready
    assert set(third) <= ready and set(third.values()) == {"1/1"}


@pytest.mark.skipif(connection.vendor != "sqlite", reason="PostgreSQL sorts a table this small instead")
def test_the_failing_first_order_is_read_from_its_index():
    """The admin list's default order (its -pk included) and the REST API's status order use the
    very expression of the index: a page is read from it, not sorted from every row."""
    make_rows(60)
    ordered = NamespacedPullSecret.objects.annotate(health=health()).order_by(
        "health", "namespace", "name", "-pk"
    )
    plan = ordered[50:100].explain()
    assert "aeps_failing_first" in plan and "TEMP B-TREE" not in plan
