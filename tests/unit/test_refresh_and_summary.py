"""Refresh now (per-identity minimum interval, forced token), the summary counts, and the roles."""

from __future__ import annotations

import datetime

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.test.utils import CaptureQueriesContext

from secrets_app import roles
from secrets_app.aws import ecr
from secrets_app.choices import SecretState
from secrets_app.models import Cluster, ClusterPullSecret, ManagedSecret, NamespacedPullSecret
from secrets_app.services import writer
from secrets_app.services.identity import refresh, tokens
from secrets_app.services.reporting import summary

from .conftest import inline_identity

pytestmark = pytest.mark.django_db
NOW = datetime.datetime.now(datetime.UTC)


def resource(name: str, ready: bool | None, key: str = "AKIA1", cluster: Cluster | None = None, **fields):
    return NamespacedPullSecret.objects.create(
        cluster=cluster or Cluster.default(),
        namespace="team",
        name=name,
        uid=f"uid-{name}",
        secret_name="ecr",
        access_key_id=key,
        region="eu-west-1",
        ready=ready,
        **fields,
    )


@pytest.fixture
def queued(monkeypatch):
    """Tasks handed to django-q2, instead of the broker (our own boundary: services.identity.refresh)."""
    calls = []
    monkeypatch.setattr(refresh, "async_task", lambda *args, **kwargs: calls.append(args))
    return calls


def test_a_refresh_is_queued_once_per_identity_and_a_second_click_is_told_when_it_may_be(queued, settings):
    settings.ECRCONTROL_MANUAL_REFRESH_SECONDS = 60
    first, second = resource("a", True), resource("b", True)
    before = datetime.datetime.now(datetime.UTC)
    assert refresh.request(first) == refresh.Identity("AKIA1", "eu-west-1")
    with pytest.raises(refresh.TooSoon) as too_soon:
        refresh.request(second)  # same identity, other resource
    assert queued == [(refresh.TASK, "AKIA1", "eu-west-1")]
    assert 60 <= (too_soon.value.allowed_at - before).total_seconds() <= 61
    assert "next manual refresh is allowed at" in str(too_soon.value)
    assert refresh.next_allowed(second) == too_soon.value.allowed_at


def test_a_refresh_is_allowed_again_after_the_interval(queued, settings):
    settings.ECRCONTROL_MANUAL_REFRESH_SECONDS = 0
    row = resource("a", True)
    refresh.request(row)
    refresh.request(row)
    assert len(queued) == 2
    assert refresh.next_allowed(row) is None


def test_bulk_refresh_starts_one_per_identity_and_reports_the_refused(queued, settings):
    settings.ECRCONTROL_MANUAL_REFRESH_SECONDS = 60
    rows = [resource("a", True), resource("b", True), resource("c", True, key="AKIA2")]
    refresh.request(rows[2])
    started, refused = refresh.request_many(rows)
    assert started == [refresh.Identity("AKIA1", "eu-west-1")]
    assert [type(e) for e in refused] == [refresh.TooSoon]


def test_a_resource_without_keys_cannot_be_refreshed(queued):
    with pytest.raises(refresh.RefreshRefused, match=r"fix its spec\.awsAccess"):
        refresh.request(resource("a", None, key=""))
    assert queued == []


def test_the_resources_of_an_identity_span_both_kinds_and_every_cluster():
    other = Cluster.objects.create(name="other")
    resource("a", True)
    resource("b", True, cluster=other)
    resource("c", True, key="AKIA2")
    ClusterPullSecret.objects.create(
        cluster=other, name="all", access_key_id="AKIA1", region="eu-west-1", namespaces=["x"]
    )
    found = sorted(str(r) for r in refresh.resources_of(refresh.Identity("AKIA1", "eu-west-1")))
    assert found == ["all", "team/a", "team/b"]


def test_a_manual_refresh_does_not_use_a_token_fetched_before_it(monkeypatch):
    fetched = []

    def get_token(credentials):
        fetched.append(datetime.datetime.now(datetime.UTC))
        now = fetched[-1]
        return ecr.Token("r", "AWS", f"pw{len(fetched)}", now + datetime.timedelta(hours=12), now)

    monkeypatch.setattr(tokens.ecr, "get_token", get_token)
    cache = tokens.TokenCache()
    credentials = inline_identity("AKIA1", "secret")
    assert cache.get(credentials).password == "pw1"
    assert cache.get(credentials).password == "pw1"  # cached
    since = datetime.datetime.now(datetime.UTC)
    assert cache.get(credentials, fetched_after=since).password == "pw2"
    assert cache.get(credentials, fetched_after=since).password == "pw2"  # shared by the others
    assert cache.calls == 2


def test_summary_counts_per_cluster_in_a_constant_number_of_queries():
    local, other = Cluster.default(), Cluster.objects.create(name="other")
    soon = NOW + datetime.timedelta(hours=1)
    for i in range(30):
        resource(f"ok{i}", True, expires_at=NOW + datetime.timedelta(hours=5 + i), next_refresh=soon)
    resource("bad", False, reason="GetAWSAuthTokenFailed")
    resource("new", None, cluster=other)
    ClusterPullSecret.objects.create(cluster=local, name="c", ready=False, namespaces=["x"])
    for state in (SecretState.SYNCED, SecretState.FAILED, SecretState.CONFLICT):
        ManagedSecret.objects.create(
            cluster=local, namespace=state, name="ecr", owner_uid=state, state=state, expires_at=soon
        )
    with CaptureQueriesContext(connection) as queries:
        found = {s.cluster.name: s for s in summary.clusters()}
    assert len(queries) == 4
    assert found["local"].resources == {"ready": 30, "failing": 2, "pending": 0, "total": 32}
    assert found["local"].secrets == {"pending": 0, "synced": 1, "failed": 1, "conflict": 1, "total": 3}
    assert found["local"].soonest_expiry == soon
    assert found["local"].next_refresh == soon
    assert found["other"].resources == {"ready": 0, "failing": 0, "pending": 1, "total": 1}


def test_failing_resources_of_both_kinds_are_listed_longest_failing_first():
    resource("recent", False, reason="SecretsFailed", transition_time=NOW)
    resource("old", False, reason="InvalidSpec", transition_time=NOW - datetime.timedelta(days=1))
    resource("fine", True)
    ClusterPullSecret.objects.create(
        cluster=Cluster.default(),
        name="cl",
        ready=False,
        reason="GetAWSAuthTokenFailed",
        transition_time=NOW - datetime.timedelta(hours=1),
        namespaces=["x"],
    )
    rows = [summary.Problem(*row) for row in summary.failing()[:10]]
    assert [(p.kind, p.namespace, p.name, p.reason) for p in rows] == [
        ("AWSECRImagePullSecret", "team", "old", "InvalidSpec"),
        ("ClusterAWSECRImagePullSecret", "", "cl", "GetAWSAuthTokenFailed"),
        ("AWSECRImagePullSecret", "team", "recent", "SecretsFailed"),
    ]
    assert summary.failing().count() == 3


def test_the_roles_exist_with_view_only_and_edit_permissions():
    viewers = set(Group.objects.get(name=roles.VIEWERS).permissions.values_list("codename", flat=True))
    operators = set(Group.objects.get(name=roles.OPERATORS).permissions.values_list("codename", flat=True))
    assert viewers == {
        "view_cluster",
        "view_namespacedpullsecret",
        "view_clusterpullsecret",
        "view_managedsecret",
    }
    assert viewers < operators
    assert {"add_namespacedpullsecret", "change_clusterpullsecret", "delete_cluster"} <= operators
    assert not any(code.endswith("_managedsecret") and not code.startswith("view") for code in operators)


def test_a_webhook_denial_is_split_into_messages_on_the_fields_they_name():
    message = (
        "admission webhook \"vaeps.ecrcontrol.io\" denied the request: spec.awsAccess.region 'EU' is not "
        "an AWS region name: use one such as eu-west-1.; secret ecr in namespace a is already managed by "
        "b: choose a different spec.secretName, or remove namespace a from b first; could not validate"
    )
    assert writer.field_errors(message) == {
        "spec.awsAccess.region": [
            "spec.awsAccess.region 'EU' is not an AWS region name: use one such as eu-west-1."
        ],
        "spec.secretName": [
            "secret ecr in namespace a is already managed by b: choose a different spec.secretName, "
            "or remove namespace a from b first"
        ],
        "": ["could not validate"],
    }


def test_a_schema_rejection_names_its_field():
    message = 'AWSECRImagePullSecret "x" is invalid: spec.secretName: Invalid value: "A": must be lower case'
    assert writer.field_errors(message) == {"spec.secretName": [message]}
