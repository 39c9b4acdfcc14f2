"""The REST API's reach fields (spec.namespaceSelector, spec.serviceAccounts, spec.registries): read,
written, patched, filtered, documented, and bad input refused on its field with services.specs'
words; the mirror and the writer that carry them between the cluster and the rows."""

from __future__ import annotations

import pytest
from django.core.cache import cache

from secrets_app.api.serializers import (
    MSG_UNKNOWN,
    ClusterPullSecretSerializer,
    NamespacedPullSecretSerializer,
)
from secrets_app.choices import ResourceKind, SecretState
from secrets_app.kube.kinds import CLUSTER, NAMESPACED
from secrets_app.models import Cluster, ClusterPullSecret, ManagedSecret, NamespacedPullSecret
from secrets_app.services import mirror, spec_edits, specs
from secrets_app.services.writer import _spec, field_errors

from .conftest import REGISTRIES, SELECTOR, client_for, cluster_row, namespaced_body, namespaced_row

pytestmark = pytest.mark.django_db
CLUSTER_URL = "/api/v1/clusterawsecrimagepullsecrets/"
NAMESPACED_URL = "/api/v1/awsecrimagepullsecrets/"


@pytest.fixture(autouse=True)
def one_cluster():
    cache.clear()
    Cluster.default()


def cluster_body(**spec_changes) -> dict:
    body = namespaced_body(**spec_changes)
    body["metadata"] = {"name": "shared"}
    return body


def errors_of(serializer_class, data, instance=None, partial=False) -> dict:
    serializer = serializer_class(instance, data=data, partial=partial)
    assert not serializer.is_valid()
    return serializer.errors


# -- writing -------------------------------------------------------------------------------------
def test_a_create_carries_the_selector_the_service_accounts_and_the_registries():
    body = cluster_body(
        namespaceSelector=SELECTOR, serviceAccounts=["default", "builder"], registries=REGISTRIES
    )
    serializer = ClusterPullSecretSerializer(data=body)
    assert serializer.is_valid(), serializer.errors
    data = serializer.validated_data
    assert data["namespace_selector"] == SELECTOR and "namespaces" not in data
    assert data["service_accounts"] == ["default", "builder"]
    assert data["registries"] == REGISTRIES


def test_a_namespaced_resource_takes_service_accounts_and_registries_but_no_selector():
    serializer = NamespacedPullSecretSerializer(
        data=namespaced_body(serviceAccounts=["*"], registries=REGISTRIES)
    )
    assert serializer.is_valid(), serializer.errors
    assert serializer.validated_data["service_accounts"] == ["*"]
    errors = errors_of(NamespacedPullSecretSerializer, namespaced_body(namespaceSelector={}))
    assert errors == {"spec": {"namespaceSelector": [MSG_UNKNOWN]}}


def test_an_empty_selector_selects_every_namespace_and_needs_no_list():
    serializer = ClusterPullSecretSerializer(data=cluster_body(namespaceSelector={}))
    assert serializer.is_valid(), serializer.errors
    assert serializer.validated_data["namespace_selector"] == {}


def test_neither_a_list_nor_a_selector_is_refused_on_namespaces():
    assert errors_of(ClusterPullSecretSerializer, cluster_body()) == {
        "spec": {"namespaces": [specs.MSG_NAMESPACES_MISSING]}
    }


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        (
            {"registries": [{"accountId": "12", "region": "eu-west-1"}]},
            {
                "registries": {
                    "0": {
                        "accountId": [
                            "spec.registries[0].accountId '12' is not an AWS account ID: use its 12 digits, "
                            "such as 123456789012."
                        ]
                    }
                }
            },
        ),
        (
            {"registries": [REGISTRIES[0], REGISTRIES[0]]},
            {
                "registries": {
                    "1": [
                        "spec.registries[1] repeats account 123456789012 in region eu-west-1: list each "
                        "registry once."
                    ]
                }
            },
        ),
        (
            {"serviceAccounts": ["*", "default"]},
            {
                "serviceAccounts": [
                    "spec.serviceAccounts: '*' selects every ServiceAccount and cannot be listed with "
                    'names: use ["*"] alone.'
                ]
            },
        ),
        (
            {"serviceAccounts": ["default", "default"]},
            {
                "serviceAccounts": [
                    "spec.serviceAccounts lists 'default' more than once: list each ServiceAccount once."
                ]
            },
        ),
    ],
)
def test_a_rule_broken_is_refused_on_its_field_with_the_webhooks_words(spec, expected):
    body = cluster_body(namespaces=["a"], **spec)
    assert errors_of(ClusterPullSecretSerializer, body) == {"spec": expected}
    assert errors_of(NamespacedPullSecretSerializer, namespaced_body(**spec)) == {"spec": expected}


def test_selector_problems_are_on_the_selector_and_name_the_requirement():
    selector = {"matchExpressions": [{"key": "team", "operator": "Equals", "values": ["a"]}]}
    errors = errors_of(ClusterPullSecretSerializer, cluster_body(namespaceSelector=selector))
    ((message,),) = [errors["spec"]["namespaceSelector"]["matchExpressions"]["0"]["operator"]]
    assert message.startswith("spec.namespaceSelector.matchExpressions[0].operator 'Equals'")


@pytest.mark.parametrize(
    ("spec", "field", "message"),
    [
        ({"serviceAccounts": "default"}, "serviceAccounts", 'Expected a list of items but got type "str".'),
        ({"serviceAccounts": [7]}, "serviceAccounts", {0: ["must be a string."]}),
        (
            {"registries": [{"accountId": "123456789012"}]},
            "registries",
            {0: {"region": ["This field is required."]}},
        ),
        (
            {"registries": [{"accountId": "123456789012", "region": "eu-west-1", "host": "x"}]},
            "registries",
            {0: {"host": [MSG_UNKNOWN]}},
        ),
        (
            {"registries": [REGISTRIES[0]] * 21},
            "registries",
            "Ensure this field has no more than 20 elements.",
        ),
        (
            {"namespaceSelector": ["team=a"]},
            "namespaceSelector",
            {"non_field_errors": ["Invalid data. Expected a dictionary, but got list."]},
        ),
        (
            {"namespaceSelector": {"matchLabel": {"team": "a"}}},
            "namespaceSelector",
            {"matchLabel": [MSG_UNKNOWN]},
        ),
    ],
)
def test_a_malformed_field_is_refused_on_it_before_any_rule(spec, field, message):
    errors = errors_of(ClusterPullSecretSerializer, cluster_body(namespaces=["a"], **spec))
    found = errors["spec"][field]
    assert found == message or found == [message]


def test_the_representation_shows_the_fields_set_and_leaves_out_the_others():
    row = cluster_row(namespaces=[], namespace_selector={}, service_accounts=["*"], registries=REGISTRIES)
    spec = ClusterPullSecretSerializer(row).data["spec"]
    assert spec["namespaceSelector"] == {} and spec["serviceAccounts"] == ["*"]
    assert spec["registries"] == REGISTRIES and "namespaces" not in spec
    spec = ClusterPullSecretSerializer(cluster_row(name="plain", uid="u2")).data["spec"]
    assert set(spec) == {"awsAccess", "secretName", "namespaces"}


def test_status_namespaces_carry_the_service_accounts_patched_when_there_are_any():
    row = namespaced_row(service_accounts=["default", "builder"])
    ManagedSecret.objects.create(
        cluster=row.cluster,
        namespace="team-a",
        name="ecr-pull",
        owner_kind=ResourceKind.NAMESPACED,
        owner_namespace="team-a",
        owner_name="pull",
        owner_uid=row.uid,
        state=SecretState.SYNCED,
        service_accounts=["default"],
    )
    other = namespaced_row(name="other", uid="uid-b")
    ManagedSecret.objects.create(
        cluster=row.cluster,
        namespace="team-a",
        name="ecr-pull",
        owner_kind=ResourceKind.NAMESPACED,
        owner_namespace="team-a",
        owner_name="other",
        owner_uid=other.uid,
    )
    api = client_for("viewers")
    listed = {r["metadata"]["name"]: r for r in api.get(NAMESPACED_URL).json()["results"]}
    assert listed["pull"]["status"]["namespaces"][0]["serviceAccounts"] == ["default"]
    assert "serviceAccounts" not in listed["other"]["status"]["namespaces"][0]
    secrets = {s["owner"]["name"]: s for s in api.get("/api/v1/secrets/").json()["results"]}
    assert secrets["pull"]["serviceAccounts"] == ["default"] and secrets["other"]["serviceAccounts"] is None


# -- through the views, with the fake writer -------------------------------------------------------
def test_create_and_patch_through_the_api(writes):
    api = client_for("operators")
    body = cluster_body(namespaceSelector=SELECTOR, serviceAccounts=["default"], registries=REGISTRIES[:1])
    created = api.post(CLUSTER_URL, body, format="json")
    assert created.status_code == 201, created.content
    ((row, _),) = writes
    assert row.namespace_selector == SELECTOR and row.service_accounts == ["default"]
    assert created.json()["spec"]["registries"] == REGISTRIES[:1]
    url = f"{CLUSTER_URL}{created.json()['id']}/"
    patch = {"spec": {"serviceAccounts": ["*"], "registries": REGISTRIES, "namespaces": ["team-b"]}}
    patched = api.patch(url, patch, format="json")
    assert patched.status_code == 200, patched.content
    spec = patched.json()["spec"]
    assert spec["serviceAccounts"] == ["*"] and spec["registries"] == REGISTRIES
    assert spec["namespaceSelector"] == SELECTOR and spec["namespaces"] == ["team-b"]  # kept: not given
    removed = api.patch(url, {"spec": {"namespaceSelector": None, "serviceAccounts": None}}, format="json")
    assert removed.status_code == 200, removed.content
    spec = removed.json()["spec"]
    assert "namespaceSelector" not in spec and "serviceAccounts" not in spec
    assert ClusterPullSecret.objects.get().namespace_selector is None


def test_a_patch_replaces_a_registry_as_a_whole_so_its_fields_stay_required(writes):
    row = namespaced_row()
    api = client_for("operators")
    patch = {"spec": {"registries": [{"accountId": "123456789012"}]}}
    response = api.patch(f"{NAMESPACED_URL}{row.pk}/", patch, format="json")
    assert response.status_code == 400, response.content
    assert response.json() == {"spec": {"registries": {"0": {"region": ["This field is required."]}}}}
    selector = {"matchExpressions": [{"operator": "Exists"}]}
    response = api.patch(
        f"{CLUSTER_URL}{cluster_row().pk}/", {"spec": {"namespaceSelector": selector}}, format="json"
    )
    assert response.status_code == 400, response.content
    assert response.json() == {
        "spec": {"namespaceSelector": {"matchExpressions": {"0": {"key": ["This field is required."]}}}}
    }
    assert not writes


def test_a_patch_that_leaves_no_namespace_is_a_400_on_namespaces(writes):
    row = cluster_row(namespaces=["a"])
    api = client_for("operators")
    response = api.patch(f"{CLUSTER_URL}{row.pk}/", {"spec": {"namespaces": []}}, format="json")
    assert response.status_code == 400
    assert response.json() == {"spec": {"namespaces": [specs.MSG_NAMESPACES_MISSING]}}
    assert not writes


def test_an_update_is_not_refused_for_a_reach_problem_the_resource_already_had(writes):
    row = namespaced_row(service_accounts=["default", "default"])  # applied before the webhook ran
    api = client_for("operators")
    response = api.patch(f"{NAMESPACED_URL}{row.pk}/", {"spec": {"secretName": "ecr-pull"}}, format="json")
    assert response.status_code == 200, response.content


# -- filters -------------------------------------------------------------------------------------
def test_filters_by_service_account_and_registry_account():
    cluster = Cluster.default()
    for name, accounts, registries in (
        ("a", ["default", "builder"], REGISTRIES[:1]),
        ("b", ["*"], REGISTRIES[1:]),
        ("c", ["default-x"], []),
        ("d", [], REGISTRIES),
    ):
        ClusterPullSecret.objects.create(
            cluster=cluster,
            name=name,
            uid=name,
            secret_name="s",
            region="eu-west-1",
            namespaces=["x"],
            service_accounts=accounts,
            registries=registries,
        )
    api = client_for("viewers")

    def names(**params):
        response = api.get(CLUSTER_URL, params)
        assert response.status_code == 200, response.content
        return sorted(r["metadata"]["name"] for r in response.json()["results"])

    assert names(serviceAccount="default") == ["a", "b"]  # listed, or every ServiceAccount
    assert names(serviceAccount="default-x") == ["b", "c"]
    assert names(serviceAccount="*") == ["b"]
    assert names(registryAccount="123456789012") == ["a", "d"]
    assert names(registryAccount="210987654321", serviceAccount="builder") == ["b"]
    assert names(registryAccount="999999999999") == []
    assert names(registryAccount="210987654321") == ["b", "d"]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"serviceAccount": "De fault"}, "serviceAccount"),
        ({"serviceAccount": ""}, "serviceAccount"),
        ({"serviceAccount": '"'}, "serviceAccount"),
        ({"registryAccount": "1234"}, "registryAccount"),
        ({"registryAccount": "12345678901x"}, "registryAccount"),
    ],
)
def test_a_malformed_filter_value_is_a_400_naming_the_parameter(params, field):
    for url in (CLUSTER_URL, NAMESPACED_URL):
        response = client_for("viewers").get(url, params)
        assert response.status_code == 400, response.content
        assert list(response.json()) == [field]


def test_the_schema_documents_the_reach_fields_and_filters():
    schema = client_for("viewers").get("/api/schema/?format=json").json()
    components = schema["components"]["schemas"]
    spec = components["ClusterSpec"]["properties"]
    assert {"namespaceSelector", "serviceAccounts", "registries"} <= set(spec)
    assert "namespaces" not in components["ClusterSpec"].get("required", [])
    assert set(components["NamespacedSpec"]["properties"]) >= {"serviceAccounts", "registries"}
    assert "namespaceSelector" not in components["NamespacedSpec"]["properties"]
    assert components["Registry"]["properties"]["accountId"]["pattern"] == "^[0-9]{12}$"
    assert components["OperatorEnum"]["enum"] == ["In", "NotIn", "Exists", "DoesNotExist"]
    assert components["ClusterSpec"]["properties"]["namespaceSelector"]["nullable"] is True
    assert "serviceAccounts" in components["NamespaceResult"]["properties"]
    parameters = {p["name"] for p in schema["paths"][CLUSTER_URL]["get"]["parameters"]}
    assert {"serviceAccount", "registryAccount"} <= parameters


# -- the mirror and the writer -------------------------------------------------------------------
def cluster_body_applied(**spec) -> dict:
    return {
        "metadata": {"name": "shared", "uid": "u1", "resourceVersion": "5", "generation": 1},
        "spec": {"secretName": "ecr", "awsAccess": {"region": "eu-west-1"}, **spec},
    }


def test_the_mirror_fills_the_reach_fields_from_the_spec():
    row, _ = mirror.upsert(
        Cluster.default(),
        CLUSTER,
        cluster_body_applied(namespaceSelector=SELECTOR, serviceAccounts=["default"], registries=REGISTRIES),
    )
    assert row.namespace_selector == SELECTOR and row.namespaces == []
    assert row.service_accounts == ["default"] and row.registries == REGISTRIES
    row, _ = mirror.upsert(Cluster.default(), CLUSTER, cluster_body_applied(namespaces=["a"]))
    assert row.namespace_selector is None and row.service_accounts == [] and row.registries == []
    body = cluster_body_applied(namespaceSelector={})
    body["metadata"].update(namespace="team-a", name="pull")
    row, _ = mirror.upsert(Cluster.default(), NAMESPACED, body)
    assert isinstance(row, NamespacedPullSecret) and not hasattr(row, "namespace_selector")


def test_the_writer_writes_the_reach_fields_and_leaves_unset_ones_out():
    row = ClusterPullSecret(
        cluster=Cluster.default(),
        name="shared",
        secret_name="ecr",
        region="eu-west-1",
        identity_kind="ambient",
        namespaces=[],
        namespace_selector={},
        service_accounts=["*"],
        registries=REGISTRIES,
    )
    spec = _spec(row, None, "")
    assert spec["namespaceSelector"] == {} and "namespaces" not in spec
    assert spec["serviceAccounts"] == ["*"] and spec["registries"] == REGISTRIES
    row.namespaces, row.namespace_selector, row.service_accounts, row.registries = ["a"], None, [], []
    base = {"spec": {"namespaceSelector": SELECTOR, "serviceAccounts": ["x"], "registries": REGISTRIES}}
    assert _spec(row, base, "") == {
        "awsAccess": {"region": "eu-west-1"},
        "secretName": "ecr",
        "namespaces": ["a"],
    }


def test_a_resource_without_the_reach_fields_is_written_as_before():
    row = namespaced_row()
    current = {
        "spec": {"awsAccess": {"accessKeyId": "AKIAEXAMPLE", "secretAccessKey": "k", "region": "eu-west-1"}}
    }
    assert set(_spec(row, current, "")) == {"awsAccess", "secretName"}


def test_api_server_messages_about_list_items_land_under_the_item():
    message = (
        'ClusterAWSECRImagePullSecret.aws.zakariaamine.com "x" is invalid: spec.registries[2].accountId: '
        "Invalid value: \"12\": should match '^[0-9]{12}$'"
    )
    assert list(field_errors(message)) == ["spec.registries.2.accountId"]
    assert spec_edits.problems(CLUSTER, "", {"namespaces": ["a"]}) == {}
