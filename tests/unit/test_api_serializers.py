"""The REST API's serializers: the representation, and every kind of bad input refused per field
before anything is sent to the cluster."""

from __future__ import annotations

import pytest

from secrets_app.api.errors import nested
from secrets_app.api.serializers import ClusterPullSecretSerializer, NamespacedPullSecretSerializer
from secrets_app.models import Cluster, ClusterPullSecret, ManagedSecret
from secrets_app.services import specs

from .conftest import CANARY, namespaced_body, namespaced_row

pytestmark = pytest.mark.django_db


def errors_of(serializer_class, data, instance=None, partial=False) -> dict:
    serializer = serializer_class(instance, data=data, partial=partial)
    assert not serializer.is_valid()
    return serializer.errors


@pytest.fixture(autouse=True)
def one_cluster():
    Cluster.default()


def test_a_valid_body_gives_the_row_fields_and_the_key_apart():
    serializer = NamespacedPullSecretSerializer(data=namespaced_body())
    assert serializer.is_valid(), serializer.errors
    data = dict(serializer.validated_data)
    assert data.pop("cluster").name == "local"
    assert data == {
        "name": "pull",
        "namespace": "team-a",
        "access_key_id": "AKIAEXAMPLE",
        "secret_access_key": CANARY,
        "region": "eu-west-1",
        "secret_name": "ecr-pull",
    }


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            lambda b: b["spec"]["awsAccess"].update(region="Europe"),
            {
                "spec": {
                    "awsAccess": {
                        "region": ["'Europe' is not an AWS region name: use one such as eu-west-1."]
                    }
                }
            },
        ),
        (
            lambda b: b["spec"].update(secretName="Ecr_Pull"),
            {"spec": {"secretName": [specs.MSG_NOT_SUBDOMAIN.format(value="Ecr_Pull")]}},
        ),
        (
            lambda b: b["metadata"].update(namespace="team.a"),
            {"metadata": {"namespace": [specs.MSG_NOT_LABEL.format(value="team.a")]}},
        ),
        (lambda b: b["metadata"].update(name=42), {"metadata": {"name": ["must be a string."]}}),
        (lambda b: b["spec"].update(secretName=True), {"spec": {"secretName": ["must be a string."]}}),
        (
            lambda b: b["spec"].update(secretName="x" * 300),
            {"spec": {"secretName": ["Ensure this field has no more than 253 characters."]}},
        ),
        (
            lambda b: b["spec"]["awsAccess"].pop("secretAccessKey"),
            {
                "spec": {
                    "awsAccess": {
                        "secretAccessKey": [
                            "required to create the resource: the secret access key of accessKeyId."
                        ]
                    }
                }
            },
        ),
        (
            lambda b: b["spec"].update(awsAccess="AKIA"),
            {
                "spec": {
                    "awsAccess": {"non_field_errors": ["Invalid data. Expected a dictionary, but got str."]}
                }
            },
        ),
        (
            lambda b: b["spec"].update(secretNmae="typo"),
            {
                "spec": {
                    "secretNmae": [
                        "unknown field: remove it (see the schema at /api/schema/ for the fields there are)."
                    ]
                }
            },
        ),
        (
            lambda b: b.update(labels={}),
            {
                "labels": [
                    "unknown field: remove it (see the schema at /api/schema/ for the fields there are)."
                ]
            },
        ),
        (lambda b: b.pop("spec"), {"spec": ["This field is required."]}),
    ],
)
def test_bad_input_is_refused_on_the_field_it_concerns(change, expected):
    body = namespaced_body()
    change(body)
    assert errors_of(NamespacedPullSecretSerializer, body) == expected


def test_every_problem_is_reported_at_once():
    body = namespaced_body(secretName="Bad_Name", extra=1)
    body["spec"]["awsAccess"]["region"] = "nowhere"
    errors = errors_of(NamespacedPullSecretSerializer, body)
    assert set(errors["spec"]) == {"secretName", "extra", "awsAccess"}


def test_no_error_message_echoes_the_secret_key():
    for key in ([CANARY], {"k": CANARY}, CANARY * 30):
        body = namespaced_body()
        body["spec"]["awsAccess"]["secretAccessKey"] = key
        assert CANARY not in str(errors_of(NamespacedPullSecretSerializer, body))


def test_namespaces_are_checked_one_by_one_and_repeats_dropped():
    body = namespaced_body(namespaces=["a", "B_", "a", "c"])
    body["metadata"] = {"name": "shared"}
    assert errors_of(ClusterPullSecretSerializer, body) == {
        "spec": {
            "namespaces": {
                1: [
                    "'B_' is not a valid namespace name: use at most 63 lower-case letters, "
                    "digits and '-', starting and ending with a letter or digit (e.g. team-a)."
                ]
            }
        }
    }
    body["spec"]["namespaces"] = ["a", "b", "a"]
    serializer = ClusterPullSecretSerializer(data=body)
    assert serializer.is_valid(), serializer.errors
    assert serializer.validated_data["namespaces"] == ["a", "b"]
    body["spec"]["namespaces"] = []
    assert errors_of(ClusterPullSecretSerializer, body) == {
        "spec": {"namespaces": ["Ensure this field has at least 1 elements."]}
    }


def test_a_partial_update_needs_only_what_changes():
    row = namespaced_row()
    serializer = NamespacedPullSecretSerializer(
        row, data={"spec": {"awsAccess": {"region": "us-east-1"}}}, partial=True
    )
    assert serializer.is_valid(), serializer.errors
    assert dict(serializer.validated_data) == {"region": "us-east-1"}


def test_the_representation_has_metadata_spec_status_and_never_the_key():
    row = namespaced_row(ready=True, reason="SecretsUpdated", observed_generation=2)
    ManagedSecret.objects.create(
        cluster=row.cluster,
        namespace="team-a",
        name="ecr-pull",
        owner_kind="AWSECRImagePullSecret",
        owner_namespace="team-a",
        owner_name="pull",
        owner_uid="uid-a",
        state="synced",
    )
    data = NamespacedPullSecretSerializer(row).data
    assert set(data) == {"id", "apiVersion", "kind", "metadata", "spec", "status", "syncedAt"}
    assert data["spec"]["awsAccess"] == {"accessKeyId": "AKIAEXAMPLE", "region": "eu-west-1"}
    status = data["status"]
    assert (status["ready"], status["reason"], status["observedGeneration"]) == (True, "SecretsUpdated", 2)
    assert status["namespaces"][0]["namespace"] == "team-a" and status["namespaces"][0]["state"] == "synced"


def test_a_list_loads_every_rows_secrets_in_one_query(django_assert_num_queries):
    rows = [
        ClusterPullSecret.objects.create(
            cluster=Cluster.default(),
            name=f"c{i}",
            uid=f"u{i}",
            secret_name="s",
            access_key_id="A",
            region="eu-west-1",
            namespaces=["a", "b"],
        )
        for i in range(5)
    ]
    with django_assert_num_queries(1):
        data = ClusterPullSecretSerializer(rows, many=True).data
    assert [len(d["status"]["namespaces"]) for d in data] == [2] * 5


def test_writer_field_paths_become_nested_errors():
    assert nested(
        {
            "spec.secretName": ["taken"],
            "spec.awsAccess": ["refused"],
            "spec.awsAccess.region": ["not served"],
            "": ["whole"],
        }
    ) == {
        "spec": {
            "secretName": ["taken"],
            "awsAccess": {"non_field_errors": ["refused"], "region": ["not served"]},
        }
    }
