"""The REST API's query parameters (django-filter): each filter, ordering with a stable tiebreak,
pagination, and bad values refused with a message per parameter."""

from __future__ import annotations

import datetime

import pytest
from django.core.cache import cache

from secrets_app.models import Cluster, ClusterPullSecret, NamespacedPullSecret

from .conftest import client_for
from .test_dashboard import make_rows

pytestmark = pytest.mark.django_db
URL = "/api/v1/awsecrimagepullsecrets/"
NOW = datetime.datetime.now(datetime.UTC)


@pytest.fixture
def api():
    cache.clear()
    make_rows(9)  # pull-0..8 in ns-0..8: ready, failing, pending in turn
    return client_for("viewers")


def names(api, **params) -> list[str]:
    response = api.get(URL, params)
    assert response.status_code == 200, response.content
    return [r["metadata"]["name"] for r in response.json()["results"]]


def test_filters_by_status_reason_namespace_name_and_secret_name(api):
    assert names(api, status="failing") == ["pull-1", "pull-4", "pull-7"]
    assert names(api, status="pending") == ["pull-2", "pull-5", "pull-8"]
    assert names(api, status="ready", reason="SecretsUpdated") == ["pull-0", "pull-3", "pull-6"]
    assert names(api, namespace="ns-4") == ["pull-4"]
    assert names(api, name="pull-5") == ["pull-5"]
    NamespacedPullSecret.objects.filter(name="pull-2").update(secret_name="other", region="us-east-1")
    assert names(api, secretName="other") == ["pull-2"]
    assert names(api, region="us-east-1") == ["pull-2"]


def test_filters_by_cluster_and_expiry(api):
    make_rows(2, Cluster.objects.create(name="second"))
    assert len(names(api, cluster="second")) == 2
    assert names(api, cluster="nowhere") == []  # like any filter that matches nothing
    cutoff = (NOW + datetime.timedelta(hours=12, minutes=2, seconds=30)).isoformat()
    assert names(api, cluster="local", expiresBefore=cutoff) == ["pull-0", "pull-1", "pull-2"]


def test_cluster_scoped_resources_filter_by_a_listed_namespace():
    cluster = Cluster.default()
    for name, namespaces in (("a", ["team-a", "team-b"]), ("b", ["team-ab"]), ("c", ["team-b"])):
        ClusterPullSecret.objects.create(
            cluster=cluster, name=name, secret_name="s", region="eu-west-1", namespaces=namespaces
        )
    api = client_for("viewers")
    found = api.get("/api/v1/clusterawsecrimagepullsecrets/", {"namespace": "team-b"}).json()["results"]
    assert [r["metadata"]["name"] for r in found] == ["a", "c"]  # not team-ab


def test_ordering_is_stable_and_empty_values_sort_last(api):
    assert names(api, ordering="status")[:3] == ["pull-1", "pull-4", "pull-7"]  # failing first, then by id
    NamespacedPullSecret.objects.filter(name="pull-3").update(expires_at=None)
    assert (
        names(api, ordering="-expiresAt")[0] == "pull-8" and names(api, ordering="-expiresAt")[-1] == "pull-3"
    )
    assert names(api, ordering="expiresAt")[-1] == "pull-3"
    NamespacedPullSecret.objects.update(region="eu-west-1")
    by_region = names(api, ordering="region")
    assert by_region == sorted(by_region, key=lambda n: int(n.split("-")[1]))  # ties broken by id


def test_pages_follow_the_order_without_overlap(api):
    first = api.get(URL, {"pageSize": 4, "ordering": "status"}).json()
    second = api.get(URL, {"pageSize": 4, "ordering": "status", "page": 2}).json()
    third = api.get(URL, {"pageSize": 4, "ordering": "status", "page": 3}).json()
    seen = [r["id"] for page in (first, second, third) for r in page["results"]]
    assert first["count"] == 9 and len(seen) == len(set(seen)) == 9
    assert first["next"].endswith("ordering=status&page=2&pageSize=4") or "page=2" in first["next"]
    assert api.get(URL, {"page": 99}).status_code == 404


@pytest.mark.parametrize(
    ("params", "field", "message"),
    [
        (
            {"status": "broken"},
            "status",
            "Select a valid choice. broken is not one of the available choices.",
        ),
        (
            {"expiresBefore": ""},
            "expiresBefore",
            "give a date and time, e.g. 2026-12-01T06:00:00Z, or leave the parameter out.",
        ),
        ({"pageSize": "0"}, "pageSize", "must be a whole number from 1 to 1000."),
        ({"pageSize": "1001"}, "pageSize", "must be a whole number from 1 to 1000."),
        ({"pageSize": "null"}, "pageSize", "must be a whole number from 1 to 1000."),
        ({"expiresBefore": "tomorrow"}, "expiresBefore", "Enter a valid date/time."),
        (
            {"ordering": "secretAccessKey"},
            "ordering",
            "Select a valid choice. secretAccessKey is not one of the available choices.",
        ),
    ],
)
def test_bad_parameter_values_are_400_with_a_message_per_parameter(api, params, field, message):
    response = api.get(URL, params)
    assert response.status_code == 400
    assert response.json() == {field: [message]}


def test_filters_by_identity_kind_and_role(api):
    role = "arn:aws:iam::123456789012:role/ecr-puller"
    NamespacedPullSecret.objects.filter(name="pull-1").update(
        identity_kind="secret", access_key_id="", credentials_ref="ns-1/aws-creds", role_arn=role
    )
    NamespacedPullSecret.objects.filter(name="pull-2").update(identity_kind="serviceAccount", role_arn=role)
    NamespacedPullSecret.objects.filter(name="pull-3").update(identity_kind="ambient")
    assert names(api, identity="secret") == ["pull-1"]
    assert names(api, identity="serviceAccount") == ["pull-2"]
    assert names(api, identity="ambient") == ["pull-3"]
    assert len(names(api, identity="inline")) == 6
    assert names(api, roleArn=role) == ["pull-1", "pull-2"]
    assert names(api, roleArn=role, identity="secret") == ["pull-1"]
    assert names(api, roleArn="arn:aws:iam::123456789012:role/other") == []
    found = api.get("/api/v1/clusterawsecrimagepullsecrets/", {"identity": "ambient"})
    assert found.status_code == 200 and found.json()["results"] == []


def test_an_unknown_identity_kind_is_a_400_naming_the_parameter(api):
    response = api.get(URL, {"identity": "keys"})
    assert response.status_code == 400
    assert response.json() == {
        "identity": ["Select a valid choice. keys is not one of the available choices."]
    }
